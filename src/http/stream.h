/* stream.h - live event subscribers (WebSocket and server-sent events), owned by the I/O thread that accepted
 * them. Each subscriber is a cursor into the durable event log: when the hub says newer events are committed, the
 * thread reads them once (with its own database connection) for all its subscribers and writes each the ones its
 * filter admits, in id order, exactly once. A subscriber that falls more than STREAM_MAX_LAG events or
 * STREAM_MAX_QUEUED bytes behind is disconnected with a reason naming the id to resume from. */
#ifndef COLONY_HTTP_STREAM_H
#define COLONY_HTTP_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "http/request.h"
#include "store/db.h"

enum {
    STREAM_BATCH = 500,               /* events read per query */
    STREAM_MAX_LAG = 20000,           /* default: events behind the newest before a subscriber is dropped */
    STREAM_MAX_QUEUED = 8 << 20,      /* bytes written but not yet sent before a subscriber is dropped */
    STREAM_MAX_FILTER_IDS = 100000,   /* workspaces one agent subscriber may see */
    STREAM_WS_CLOSE_TOO_SLOW = 4008,  /* close code: fell behind, resume with `since` */
    STREAM_WS_CLOSE_GOING_AWAY = 1001,
};

typedef struct {
    int64_t id, created_at;
    const char *type, *workspace_id, *payload; /* payload: JSON text */
} stream_event;

/* Where events come from (set once by the application): up to `max` events with id > after, oldest first. */
typedef cl_err (*stream_fetch_fn)(db_t *db, arena_t *a, int64_t after, size_t max, stream_event **out, size_t *n,
                                  cl_error *err);
void stream_set_source(stream_fetch_fn fetch);
/* How many events behind the newest a subscriber may fall before it is dropped (default STREAM_MAX_LAG). */
void stream_set_max_lag(int64_t events);

/* Which events a subscriber sees: all, or those of the listed workspaces (copied). */
typedef struct {
    bool all;
    const char *const *workspace_ids;
    size_t count;
} stream_filter;

/* Upgrade `rq` to a WebSocket that receives events after `since` as text frames
 * {"id","event","workspace_id","timestamp","payload"}. False (nothing sent) when rq is not a WebSocket handshake. */
bool stream_ws_subscribe(http_req *rq, int64_t since, const stream_filter *f);
/* Answer `rq` with an event stream: ": ping", then "id: N" / "data: {"type","timestamp","data"}" per event. */
void stream_sse_subscribe(http_req *rq, int64_t since, const stream_filter *f);

#endif
