/* stream.h - live event subscribers (WebSocket and server-sent events), owned by the I/O thread that accepted
 * them. Each subscriber is a cursor into the durable event log: the node's feed (feed.h) reads new events once and
 * the I/O threads write them to every subscriber whose filter admits them, in id order, exactly once. A
 * subscriber that starts (or falls) behind the feed's in-memory ring is paged through the log from the database,
 * one bounded page at a time, so no start point is too old and nothing is skipped.
 *
 * Bounds: at most one write of at most `max_queued` bytes is in flight per subscriber (ring entries are shared by
 * reference, pages count against `memory_max` for the whole node); a subscriber that stops reading while more than
 * `max_lag` events wait for it, or for longer than `stall_ms`, is closed with a reason naming the id to resume
 * from (the last event it was sent, so a resume neither skips nor repeats). Streams are capped per credential and
 * in total, and a stream whose credential stops being valid (token revoked, workspace removed) is closed within
 * about a second. An agent's filter (the workspaces it may talk to) is shared by its credential's streams and
 * follows the tree: the feed recomputes it every few seconds. */
#ifndef COLONY_HTTP_STREAM_H
#define COLONY_HTTP_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "http/request.h"

enum {
    STREAM_MAX_FILTER_IDS = 100000,   /* workspaces one agent subscriber may see */
    STREAM_WS_CLOSE_TOO_SLOW = 4008,  /* close code: fell behind, resume with `since` */
    STREAM_WS_CLOSE_REVOKED = 4001,   /* close code: the credential is no longer valid */
    STREAM_WS_CLOSE_GOING_AWAY = 1001,
    STREAM_KEY_MAX = 128,             /* bytes of a credential key */
};

typedef struct {
    int64_t id, created_at;
    const char *type, *workspace_id, *payload; /* payload: JSON text */
} stream_event;

/* Where events come from (the application's functions, run on pool or feed threads with their context):
 *  - read: events with id > after, oldest first, at most max. With upto < 0 the source applies its safe horizon
 *    (the feed's own read) and sets *settling when it held events back behind a transaction still running (the
 *    feed reads again soon); with upto >= 0 it reads plainly up to that id (every id at or below the feed's head is
 *    final).
 *  - start: the id the feed starts after (events already in the log are history).
 *  - check: valid[i] = false when streams opened with keys[i] must close (revoked token, removed workspace). */
typedef struct {
    cl_err (*read)(void *ctx, arena_t *a, int64_t after, int64_t upto, size_t max, stream_event **out, size_t *n,
                   bool *settling, cl_error *err);
    cl_err (*start)(void *ctx, arena_t *a, int64_t *after, cl_error *err);
    cl_err (*check)(void *ctx, arena_t *a, const char *const *keys, size_t n, bool *valid, cl_error *err);
    /* refilter: the workspaces a stream that follows `follow` may see now (its filter is refreshed with them). */
    cl_err (*refilter)(void *ctx, arena_t *a, const char *follow, const char ***ids, size_t *count, cl_error *err);
    int64_t max_lag;    /* events a blocked subscriber may have waiting before it is closed */
    int64_t stall_ms;   /* how long a subscriber may not read while events wait before it is closed */
    size_t max_queued;  /* bytes of one write to one subscriber (at least one event) */
    size_t memory_max;  /* bytes all pages being written may hold on this node */
    int max_streams;    /* open subscribers on this node */
    int max_per_key;    /* open subscribers of one credential on this node */
    int64_t keepalive_ms; /* between two pings of a keep-alive stream (stream_sse_keepalive) */
} stream_config;

/* Set once before the server starts; the server runs the feed only when a source is configured. */
void stream_configure(const stream_config *c);
const stream_config *stream_config_get(void);

/* Which events a subscriber sees, and who opened it. */
typedef struct {
    bool all;
    const char *const *workspace_ids; /* copied */
    size_t count;
    const char *key;    /* the credential ("org:<token id>", "ws:<token id>", "admin", "anon:<address>"): it is
                           revalidated by it */
    const char *group;  /* what the per-credential cap counts (a workspace, whatever tokens it mints); NULL: key */
    const char *follow; /* the filter follows the tree from here (the source's refilter); NULL: fixed */
} stream_filter;

/* Upgrade `rq` to a WebSocket that receives events after `since` (-1: from now) as text frames
 * {"id","event","workspace_id","timestamp","payload"}. False (nothing sent) when rq is not a WebSocket handshake;
 * otherwise rq is answered (101, or 429 over a cap). Any thread. */
bool stream_ws_subscribe(http_req *rq, int64_t since, const stream_filter *f);
/* Answer `rq` with an event stream: ": ping", then "id: N" / "data: {"type","timestamp","data"}" per event, or 429
 * over a cap. Any thread. */
void stream_sse_subscribe(http_req *rq, int64_t since, const stream_filter *f);
/* Answer `rq` with an event stream that carries no events: `first` (whole SSE records, copied), then a ": ping"
 * comment every keepalive_ms until the client goes away, or until its credential stops being valid (the end of the
 * stream, as for the others). It counts against the same caps, or is refused 429. Any thread. */
void stream_sse_keepalive(http_req *rq, const char *first, const stream_filter *f);

#endif
