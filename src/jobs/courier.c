/* courier.c - see courier.h. */
#include "jobs/courier.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/thread.h"
#include "base/time.h"
#include "model/channel_wire.h"

enum {
    BATCH = 64,                /* rows of each kind one look takes */
    REAP_EVERY_MS = 10 * 1000, /* housekeeping and busy agents' replies: at most this far apart… */
    REAP_TURNS = 20,           /* …and at least this many turns apart */
};

struct courier {
    courier_config cfg;
    pthread_t tid;
    atomic_bool stop;
    db_t *db;
    http_client *client;
    /* touched only by this thread (the client's callbacks run on it); each capped apart, so relays to hanging agents
     * never hold back sends */
    int64_t relays, sends;
    int64_t next_reap;
};

/* One send on its way: its own arena, freed by its callback. */
typedef struct {
    courier_t *c;
    arena_t *a;
    chan_send s;
    int64_t upto; /* the end of the chunk posted */
} sending;

static void finished(void *arg)
{
    courier_t *c = arg;
    c->relays--;
}

static void settle_send(sending *q, chan_verdict v, int64_t wait_ms, const char *error)
{
    courier_t *c = q->c;
    const char *state;
    cl_error err;
    /* a provider's words may quote what it was sent: never a credential into a row or a log */
    error = chan_scrub(q->a, error, q->s.ch.secret);
    if (chan_outbox_settle(c->db, q->a, &q->s, v, q->upto, wait_ms, error, time_now_ms(), &state, &err) != CL_OK) {
        metric_inc(METRIC_CHAN_ERRORS);
        log_warn("channel send not recorded", "outbox=%s error=\"%s\"", q->s.id, err.msg);
    } else if (strcmp(state, "sent") == 0) {
        metric_inc(METRIC_CHAN_SENT);
    } else if (strcmp(state, "failed") == 0) {
        metric_inc(METRIC_CHAN_SEND_FAILED);
        log_warn("channel send failed", "outbox=%s channel=%s error=\"%s\"", q->s.id, q->s.ch.id, error);
    } else if (v == CHAN_RETRY) {
        metric_inc(METRIC_CHAN_SEND_RETRIED);
    }
    if (strcmp(state, "pending") == 0)
        chan_wake(); /* its next chunk, or its retry: looked for on time */
}

static void on_sent(void *arg, void *ctx, const http_call_result *r)
{
    (void)ctx;
    sending *q = arg;
    courier_t *c = q->c;
    int64_t wait = -1;
    const char *error = NULL;
    if (r->outcome == HTTP_CALL_CANCELLED) {
        /* shutting down: left as it is, taken back by a reap after its lease */
    } else if (r->outcome == HTTP_CALL_OK || r->outcome == HTTP_CALL_TOO_LARGE) {
        size_t len = r->outcome == HTTP_CALL_OK ? r->body_len : 0; /* a body past the cap is not read */
        chan_verdict v = chan_response(q->a, q->s.ch.type, r->status, r->body, len, r->retry_after_ms, &wait, &error);
        settle_send(q, v, wait, error);
    } else {
        error = arena_sprintf(q->a, "%s", r->error && r->error[0] ? r->error : "the provider could not be reached");
        settle_send(q, r->outcome == HTTP_CALL_REFUSED ? CHAN_FAILED : CHAN_RETRY, -1, error);
    }
    arena_free(q->a);
    free(q);
    c->sends--;
}

static void send_one(courier_t *c, const char *id)
{
    sending *q = xcalloc(1, sizeof(*q));
    q->c = c;
    q->a = arena_new();
    cl_error err;
    int64_t lease = 2 * c->cfg.send_timeout_ms + 10000;
    cl_err e = chan_outbox_claim(c->db, q->a, id, time_now_ms(), lease, &q->s, &err);
    if (e != CL_OK) {
        if (e != CL_NOT_FOUND) {
            metric_inc(METRIC_CHAN_ERRORS);
            log_warn("channel send claim failed", "outbox=%s error=\"%s\"", id, err.msg);
        }
        arena_free(q->a);
        free(q);
        return;
    }
    c->sends++;
    if (q->s.ch.secret == NULL) { /* sealed under a key this node lacks: another node may hold it */
        q->upto = q->s.sent_bytes;
        settle_send(q, CHAN_RETRY, -1, "the channel's credentials do not open on this node");
        arena_free(q->a);
        free(q);
        c->sends--;
        return;
    }
    size_t len = strlen(q->s.text), from = (size_t)q->s.sent_bytes;
    size_t end = chan_chunk_end(q->s.ch.type, q->s.text, len, from);
    q->upto = (int64_t)end;
    chan_request rq;
    chan_request_build(q->a, q->s.ch.type, q->s.ch.clear, q->s.ch.secret, q->s.target, q->s.thread,
                       q->s.text + from, end - from, &rq);
    if (rq.url == NULL) { /* a config without the field a send needs (the config check makes this rare) */
        settle_send(q, CHAN_FAILED, -1, "the channel has nowhere to send to");
        arena_free(q->a);
        free(q);
        c->sends--;
        return;
    }
    http_call call = {.url = rq.url,
                      .content_type = rq.content_type,
                      .authorization = rq.authorization,
                      .body = rq.body,
                      .body_len = rq.body_len,
                      .max_response = 64 * 1024,
                      .brief = true};
    http_client_post(c->client, &call, on_sent, q);
}

/* Look for work (`woken`: something was queued or answered on this node); returns how long to sleep before the next
 * look. */
static int64_t tick(courier_t *c, bool woken)
{
    cl_error err;
    if (c->db == NULL && db_open(c->cfg.db_url, &c->db, &err) != CL_OK) {
        metric_inc(METRIC_CHAN_ERRORS);
        log_warn("channel courier cannot reach the database", "error=\"%s\"", err.msg);
        return c->cfg.interval_ms;
    }
    metric_set(METRIC_TICK_COURIER, time_now_ms());
    arena_t *a = arena_new();
    int64_t now = time_now_ms(), reaped = 0, replied = 0, expired = 0;
    bool housekeeping = now >= c->next_reap;
    if (housekeeping) {
        int64_t every = REAP_TURNS * c->cfg.interval_ms;
        c->next_reap = now + (every < REAP_EVERY_MS ? every : REAP_EVERY_MS);
        if (chan_reap(c->db, a, now, 2 * c->cfg.send_timeout_ms + 10000, &reaped, &err) != CL_OK) {
            metric_inc(METRIC_CHAN_ERRORS);
            log_warn("channel housekeeping failed", "error=\"%s\"", err.msg);
        }
    }
    /* replies stored since: at once when one landed on this node (a notify naming its message), else on the
     * housekeeping turn (one that landed on another node, or that no wake announced) */
    if ((housekeeping || woken) && chan_awaiting_check(c->db, a, now, BATCH, &replied, &expired, &err) != CL_OK) {
        metric_inc(METRIC_CHAN_ERRORS);
        log_warn("channel replies not looked for", "error=\"%s\"", err.msg);
    }
    const char **ids;
    size_t n = 0;
    bool full = false;
    if (chan_inbound_due(c->db, a, BATCH, &ids, &n, &err) != CL_OK) {
        metric_inc(METRIC_CHAN_ERRORS);
        log_warn("channel courier could not read incoming messages", "error=\"%s\"", err.msg);
    }
    for (size_t i = 0; i < n && !atomic_load(&c->stop); i++) {
        if (c->relays >= c->cfg.max_inflight) {
            full = true;
            break;
        }
        chan_inbound_row r;
        cl_err e = chan_inbound_claim(c->db, a, ids[i], time_now_ms(), &r, &err);
        if (e == CL_NOT_FOUND)
            continue;
        if (e != CL_OK) {
            metric_inc(METRIC_CHAN_ERRORS);
            log_warn("channel relay claim failed", "message=%s error=\"%s\"", ids[i], err.msg);
            continue;
        }
        metric_inc(METRIC_CHAN_RELAYED);
        c->relays++;
        c->cfg.relay(c->db, c->client, &r, finished, c);
    }
    n = 0;
    if (chan_outbox_due(c->db, a, time_now_ms(), BATCH, &ids, &n, &err) != CL_OK) {
        metric_inc(METRIC_CHAN_ERRORS);
        log_warn("channel courier could not read outgoing messages", "error=\"%s\"", err.msg);
    }
    for (size_t i = 0; i < n && !atomic_load(&c->stop); i++) {
        if (c->sends >= c->cfg.max_inflight) {
            full = true;
            break;
        }
        send_one(c, ids[i]);
    }
    arena_free(a);
    return full ? 50 : c->cfg.interval_ms;
}

static void *loop(void *arg)
{
    courier_t *c = arg;
    int64_t next = 0;
    c->client = http_client_new(); /* made here: h2o ties a loop's buffers to the thread that creates them */
    while (!atomic_load(&c->stop)) {
        bool woken = chan_take_wake();
        if (woken || time_mono_ms() >= next)
            next = time_mono_ms() + tick(c, woken);
        int64_t wait = next - time_mono_ms();
        http_client_run(c->client, wait < 1 ? 1 : wait > 20 ? 20 : wait);
    }
    http_client_free(c->client);
    db_close(c->db);
    return NULL;
}

courier_t *courier_start(const courier_config *cfg, cl_error *err)
{
    courier_t *c = xcalloc(1, sizeof(*c));
    c->cfg = *cfg;
    if (thread_start_quiet(&c->tid, loop, c) != 0) {
        free(c);
        cl_fail(err, CL_INTERNAL, "cannot start the channel courier thread");
        return NULL;
    }
    return c;
}

void courier_stop(courier_t *c)
{
    if (c == NULL)
        return;
    atomic_store(&c->stop, true);
    pthread_join(c->tid, NULL);
    free(c);
}
