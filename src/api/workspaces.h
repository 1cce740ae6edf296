/* workspaces.h - the org tree over HTTP: list, read, create (through the resolver), patch, delete, state. */
#ifndef COLONY_API_WORKSPACES_H
#define COLONY_API_WORKSPACES_H

#include "http/request.h"

void api_ws_list(http_req *rq);
void api_ws_get(http_req *rq);
void api_ws_create(http_req *rq);
void api_ws_patch(http_req *rq);
void api_ws_delete(http_req *rq);
void api_ws_state(http_req *rq);

#endif
