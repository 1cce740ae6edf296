/* stream.c - see stream.h. Everything here runs on the owning I/O thread, except wake(), which the hub calls from
 * the publishing thread and which only posts one message to the thread's queue. */
#include "http/stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/time.h"
#include "bus/hub.h"
#include "http/engine.h"

#include <h2o/websocket.h>

static stream_fetch_fn fetch_events;
static int64_t max_lag = STREAM_MAX_LAG; /* set once at start-up */

void stream_set_source(stream_fetch_fn fetch) { fetch_events = fetch; }
void stream_set_max_lag(int64_t events) { max_lag = events; }

typedef enum { SUB_WS, SUB_SSE } sub_kind;

typedef struct stream_sub {
    stream_link link; /* first: the worker's list is of stream_link */
    worker_t *w;
    sub_kind kind;
    int64_t cursor; /* last event id delivered (or skipped by the filter) */
    bool all, closing;
    char **ids; /* sorted workspace ids this subscriber may see */
    size_t nids;
    /* WebSocket */
    h2o_websocket_conn_t *ws;
    /* SSE */
    h2o_req_t *req;
    engine_req *ereq;
    h2o_generator_t gen;
    buf_t pending, sending;
    bool writing;
} stream_sub;

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static stream_sub *new_sub(worker_t *w, sub_kind kind, int64_t since, const stream_filter *f)
{
    stream_sub *s = xcalloc(1, sizeof(*s));
    s->w = w;
    s->kind = kind;
    s->cursor = since >= 0 ? since : hub_latest();
    s->all = f->all;
    if (!f->all) {
        s->nids = f->count < STREAM_MAX_FILTER_IDS ? f->count : STREAM_MAX_FILTER_IDS;
        s->ids = xcalloc(s->nids ? s->nids : 1, sizeof(char *));
        for (size_t i = 0; i < s->nids; i++)
            s->ids[i] = xstrdup(f->workspace_ids[i]);
        qsort(s->ids, s->nids, sizeof(char *), cmp_str);
    }
    buf_init(&s->pending, STREAM_MAX_QUEUED);
    buf_init(&s->sending, STREAM_MAX_QUEUED);
    s->link.next = w->subs.next;
    s->link.prev = &w->subs;
    w->subs.next->prev = &s->link;
    w->subs.next = &s->link;
    atomic_fetch_add(&w->nsubs, 1);
    metric_inc(kind == SUB_WS ? METRIC_WS_CONNECTIONS : METRIC_SSE_CONNECTIONS);
    return s;
}

static void free_sub(stream_sub *s)
{
    s->link.prev->next = s->link.next;
    s->link.next->prev = s->link.prev;
    atomic_fetch_sub(&s->w->nsubs, 1);
    metric_add(s->kind == SUB_WS ? METRIC_WS_CONNECTIONS : METRIC_SSE_CONNECTIONS, -1);
    for (size_t i = 0; i < s->nids; i++)
        free(s->ids[i]);
    free(s->ids);
    buf_free(&s->pending);
    buf_free(&s->sending);
    free(s);
}

static bool admits(const stream_sub *s, const stream_event *ev)
{
    if (s->all)
        return true;
    if (ev->workspace_id == NULL)
        return false;
    return bsearch(&ev->workspace_id, s->ids, s->nids, sizeof(char *), cmp_str) != NULL;
}

/* ---- WebSocket ---------------------------------------------------------------------------------------------- */

static void ws_close_with(stream_sub *s, uint16_t code, const char *reason)
{
    if (s->closing)
        return;
    s->closing = true;
    wslay_event_queue_close(s->ws->ws_ctx, code, (const uint8_t *)reason, strlen(reason));
    if (s->ws->sock != NULL)
        h2o_websocket_proceed(s->ws);
}

static void on_ws_message(h2o_websocket_conn_t *conn, const struct wslay_event_on_msg_recv_arg *arg)
{
    stream_sub *s = conn->data;
    if (arg == NULL) { /* closed: by the peer, by us, or on error */
        h2o_websocket_close(conn);
        free_sub(s);
        return;
    }
    /* frames from clients carry nothing colony acts on; wslay answers pings and closes itself */
}

static void ws_send(stream_sub *s, const stream_event *ev)
{
    char ts[TIME_RFC3339_MAX], line[512];
    time_format_rfc3339(ev->created_at, ts);
    int head = snprintf(line, sizeof(line), "{\"id\":%lld,\"event\":\"%s\",\"workspace_id\":%s%s%s,\"timestamp\":\"%s\","
                                            "\"payload\":",
                        (long long)ev->id, ev->type, ev->workspace_id ? "\"" : "",
                        ev->workspace_id ? ev->workspace_id : "null", ev->workspace_id ? "\"" : "", ts);
    buf_reset(&s->pending);
    if (head < 0 || !buf_append(&s->pending, line, (size_t)head) || !buf_puts(&s->pending, ev->payload) ||
        !buf_putc(&s->pending, '}'))
        return;
    struct wslay_event_msg msg = {WSLAY_TEXT_FRAME, (const uint8_t *)s->pending.data, s->pending.len};
    wslay_event_queue_msg(s->ws->ws_ctx, &msg); /* wslay copies the frame */
}

/* ---- server-sent events ------------------------------------------------------------------------------------- */

static void sse_flush(stream_sub *s);

static void on_sse_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
    (void)req;
    stream_sub *s = H2O_STRUCT_FROM_MEMBER(stream_sub, gen, gen);
    s->writing = false;
    buf_reset(&s->sending);
    sse_flush(s);
}

static void on_sse_stop(h2o_generator_t *gen, h2o_req_t *req)
{
    (void)req;
    stream_sub *s = H2O_STRUCT_FROM_MEMBER(stream_sub, gen, gen);
    engine_finish(s->ereq, 200, 0); /* the client went away */
    free_sub(s);
}

/* Send what is pending, or the end of the stream when closing; one h2o_send in flight at a time. */
static void sse_flush(stream_sub *s)
{
    if (s->writing)
        return;
    if (s->pending.len == 0 && !s->closing)
        return;
    buf_t t = s->sending;
    s->sending = s->pending;
    s->pending = t;
    h2o_iovec_t iov = h2o_iovec_init(s->sending.data ? s->sending.data : "", s->sending.len);
    if (s->closing) {
        h2o_req_t *req = s->req;
        engine_finish(s->ereq, 200, 0);
        /* after a final send h2o calls neither proceed nor stop: the bytes must outlive s, so hand them to the
         * request's pool */
        h2o_iovec_t last = h2o_strdup(&req->pool, iov.base, iov.len);
        free_sub(s);
        h2o_send(req, &last, last.len ? 1 : 0, H2O_SEND_STATE_FINAL);
        return;
    }
    s->writing = true;
    h2o_send(s->req, &iov, 1, H2O_SEND_STATE_IN_PROGRESS);
}

static void sse_send(stream_sub *s, const stream_event *ev)
{
    if (!buf_printf(&s->pending, "id: %lld\ndata: {\"type\":\"%s\",\"timestamp\":%lld,\"data\":", (long long)ev->id,
                    ev->type, (long long)ev->created_at) ||
        !buf_puts(&s->pending, ev->payload) || !buf_puts(&s->pending, "}\n\n"))
        s->closing = true; /* over STREAM_MAX_QUEUED: end the stream; the client resumes with Last-Event-ID */
}

/* ---- the pump ---------------------------------------------------------------------------------------------- */

static size_t queued_bytes(const stream_sub *s)
{
    return s->kind == SUB_WS ? wslay_event_get_queued_msg_length(s->ws->ws_ctx) : s->pending.len + s->sending.len;
}

static void drop(stream_sub *s, const char *why)
{
    char reason[120];
    snprintf(reason, sizeof(reason), "%s; resume with since=%lld", why, (long long)s->cursor);
    metric_inc(METRIC_SUBSCRIBERS_DROPPED);
    log_info("event subscriber dropped", "reason=\"%s\"", reason);
    if (s->kind == SUB_WS) {
        ws_close_with(s, STREAM_WS_CLOSE_TOO_SLOW, reason);
    } else {
        s->closing = true;
        sse_flush(s);
    }
}

#define SUB(l) ((stream_sub *)(l))

static void pump(worker_t *w)
{
    if (atomic_load(&w->nsubs) == 0 || fetch_events == NULL)
        return;
    int64_t latest = hub_latest();
    for (stream_link *l = w->subs.next, *next; l != &w->subs; l = next) { /* first let go of the laggards */
        next = l->next;
        if (!SUB(l)->closing && latest - SUB(l)->cursor > max_lag)
            drop(SUB(l), "subscriber fell too far behind"); /* may free it */
    }
    for (int round = 0; round < 8; round++) { /* bounded work per wake-up; a later wake continues */
        int64_t from = INT64_MAX;
        for (stream_link *l = w->subs.next; l != &w->subs; l = l->next)
            if (!SUB(l)->closing && SUB(l)->cursor < from)
                from = SUB(l)->cursor;
        if (from == INT64_MAX || from >= latest)
            return;
        arena_t *a = arena_new();
        stream_event *evs;
        size_t n = 0;
        cl_error e;
        if (fetch_events(w->db, a, from, STREAM_BATCH, &evs, &n, &e) != CL_OK || n == 0) {
            arena_free(a);
            return; /* a database error is retried on the next wake-up */
        }
        for (stream_link *l = w->subs.next, *next; l != &w->subs; l = next) {
            next = l->next;
            stream_sub *s = SUB(l);
            if (s->closing)
                continue;
            for (size_t i = 0; i < n && !s->closing; i++) {
                if (evs[i].id <= s->cursor)
                    continue;
                if (admits(s, &evs[i])) {
                    if (s->kind == SUB_WS)
                        ws_send(s, &evs[i]);
                    else
                        sse_send(s, &evs[i]);
                    metric_inc(METRIC_EVENTS_DELIVERED);
                }
                s->cursor = evs[i].id;
            }
            if (queued_bytes(s) > STREAM_MAX_QUEUED)
                drop(s, "subscriber cannot keep up"); /* may free s */
            else if (s->kind == SUB_WS && s->ws->sock != NULL)
                h2o_websocket_proceed(s->ws); /* may close and free s (on_ws_message) */
            else if (s->kind == SUB_SSE)
                sse_flush(s); /* may free s */
        }
        int64_t last = evs[n - 1].id;
        arena_free(a);
        if (n < STREAM_BATCH && last >= latest)
            return;
    }
    stream_worker_wake(w); /* more to do: yield to other work on this loop first */
}

static void on_wake_message(h2o_multithread_receiver_t *rx, h2o_linklist_t *messages)
{
    worker_t *w = H2O_STRUCT_FROM_MEMBER(worker_t, stream_rx, rx);
    while (!h2o_linklist_is_empty(messages))
        h2o_linklist_unlink(messages->next);
    atomic_store(&w->stream_pending, 0);
    pump(w);
}

void stream_worker_wake(void *arg)
{
    worker_t *w = arg;
    if (atomic_load(&w->nsubs) == 0)
        return;
    if (atomic_exchange(&w->stream_pending, 1) == 0)
        h2o_multithread_send_message(&w->stream_rx, &w->stream_msg);
}

void stream_worker_init(worker_t *w)
{
    w->subs.next = w->subs.prev = &w->subs;
    h2o_multithread_register_receiver(w->ctx.queue, &w->stream_rx, on_wake_message);
    w->hub = hub_listen(stream_worker_wake, w);
}

void stream_worker_stop(worker_t *w)
{
    for (stream_link *l = w->subs.next, *next; l != &w->subs; l = next) {
        next = l->next;
        stream_sub *s = SUB(l);
        if (s->kind == SUB_WS) {
            ws_close_with(s, STREAM_WS_CLOSE_GOING_AWAY, "server shutting down");
        } else {
            s->closing = true;
            sse_flush(s);
        }
    }
}

void stream_worker_dispose(worker_t *w)
{
    hub_unlisten(w->hub);
    w->hub = NULL;
    while (w->subs.next != &w->subs) { /* past the shutdown deadline: let go of what is left */
        stream_sub *s = SUB(w->subs.next);
        if (s->kind == SUB_WS)
            h2o_websocket_close(s->ws);
        free_sub(s);
    }
    while (!h2o_linklist_is_empty(&w->stream_rx._messages))
        h2o_linklist_unlink(w->stream_rx._messages.next);
    h2o_multithread_unregister_receiver(w->ctx.queue, &w->stream_rx);
}

/* ---- subscribing ------------------------------------------------------------------------------------------- */

bool stream_ws_subscribe(http_req *rq, int64_t since, const stream_filter *f)
{
    engine_req *e = (engine_req *)rq;
    const char *key;
    if (h2o_is_websocket_handshake(e->req, &key) != 0 || key == NULL)
        return false;
    stream_sub *s = new_sub(e->w, SUB_WS, since, f);
    if (e->conn != NULL)
        e->conn->upgraded = true;
    s->ws = h2o_upgrade_to_websocket(e->req, key, s, on_ws_message);
    rq->responded = true;
    engine_finish(e, 101, 0);
    stream_worker_wake(e->w); /* deliver the backlog after `since` */
    return true;
}

void stream_sse_subscribe(http_req *rq, int64_t since, const stream_filter *f)
{
    engine_req *e = (engine_req *)rq;
    h2o_req_t *req = e->req;
    stream_sub *s = new_sub(e->w, SUB_SSE, since, f);
    s->req = req;
    s->ereq = e;
    s->gen.proceed = on_sse_proceed;
    s->gen.stop = on_sse_stop;
    rq->responded = true;
    req->res.status = 200;
    req->res.reason = "OK";
    static const struct {
        const char *name, *value;
    } headers[] = {{"content-type", "text/event-stream"}, {"cache-control", "no-cache"}, {"x-accel-buffering", "no"}};
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++)
        h2o_add_header_by_str(&req->pool, &req->res.headers, headers[i].name, strlen(headers[i].name), 1, NULL,
                              headers[i].value, strlen(headers[i].value));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-request-id"), 1, NULL, rq->request_id,
                          strlen(rq->request_id));
    h2o_start_response(req, &s->gen);
    buf_puts(&s->pending, ": ping\n\n");
    sse_flush(s);
    stream_worker_wake(e->w);
}
