/* events.h - live events: GET /ws (WebSocket) and GET /workspaces/:id/events/stream (server-sent events), both
 * resumable and both authenticated (difference 5); and the event source behind them (http/stream.h). */
#ifndef COLONY_API_EVENTS_H
#define COLONY_API_EVENTS_H

#include <stdbool.h>

#include "http/request.h"
#include "http/stream.h"

/* `open_on_loopback`: anonymous canvas connections from loopback are allowed (--dev-open-events). Fills the
 * source functions of `c` (read, start, check); the caller sets the limits. */
void api_events_init(bool open_on_loopback, stream_config *c);

void api_ws(http_req *rq);
void api_events_stream(http_req *rq);

/* The credential of the request's caller as a stream knows it (stream_filter.key and .group: what its caps count
 * and what revokes it), for other streams of a route that authenticated it. */
void api_events_credential(http_req *rq, stream_filter *f);

#endif
