/* files.h - a workspace's files (data.md §5, surface.md §7), kept by colony (model/wsfiles.h). */
#ifndef COLONY_API_FILES_H
#define COLONY_API_FILES_H

#include "http/request.h"

void api_files_list(http_req *rq);
void api_file_get(http_req *rq);
void api_file_put(http_req *rq);
void api_file_delete(http_req *rq);
void api_files_replace(http_req *rq);

#endif
