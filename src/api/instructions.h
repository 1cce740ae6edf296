/* instructions.h - platform instructions (surface.md §10). */
#ifndef COLONY_API_INSTRUCTIONS_H
#define COLONY_API_INSTRUCTIONS_H

#include "http/request.h"

void api_instructions_list(http_req *rq);
void api_instructions_create(http_req *rq);
void api_instructions_update(http_req *rq);
void api_instructions_delete(http_req *rq);
void api_instructions_resolve(http_req *rq);

#endif
