/* broadcast.h - POST /workspaces/:id/broadcast (surface.md §14). */
#ifndef COLONY_API_BROADCAST_H
#define COLONY_API_BROADCAST_H

#include "http/request.h"

/* Each sending workspace may broadcast `per_minute` times a minute (a token bucket, per node). */
void api_broadcast_init(long per_minute);
void api_broadcast_fini(void);
void api_broadcast(http_req *rq);

#endif
