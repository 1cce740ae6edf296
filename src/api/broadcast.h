/* broadcast.h - POST /workspaces/:id/broadcast (surface.md §14). */
#ifndef COLONY_API_BROADCAST_H
#define COLONY_API_BROADCAST_H

#include "http/request.h"

void api_broadcast(http_req *rq);

#endif
