/* events.h - live events: GET /ws (WebSocket) and GET /workspaces/:id/events/stream (server-sent events), both
 * resumable and both authenticated (difference 5). */
#ifndef COLONY_API_EVENTS_H
#define COLONY_API_EVENTS_H

#include <stdbool.h>

#include "http/request.h"
#include "http/stream.h"

/* `open_on_loopback`: anonymous canvas connections from loopback are allowed (--dev-open-events). */
void api_events_init(bool open_on_loopback);
/* The event source for http/stream.c. */
cl_err api_events_fetch(db_t *db, arena_t *a, int64_t after, size_t max, stream_event **out, size_t *n,
                        cl_error *err);

void api_ws(http_req *rq);
void api_events_stream(http_req *rq);

#endif
