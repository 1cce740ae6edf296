/* canvas.h - GET/PUT /canvas/viewport. */
#ifndef COLONY_API_CANVAS_H
#define COLONY_API_CANVAS_H

#include "http/request.h"

void api_viewport_get(http_req *rq);
void api_viewport_put(http_req *rq);

#endif
