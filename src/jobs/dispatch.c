/* dispatch.c - see dispatch.h. */
#include "jobs/dispatch.h"

#include <stdatomic.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/thread.h"
#include "base/time.h"
#include "http/client.h"
#include "model/a2a.h"
#include "model/urlcheck.h"
#include "store/db.h"

struct dispatcher {
    dispatch_config cfg;
    pthread_t tid;
    atomic_bool stop;
    db_t *db;
    http_client *client;
    int64_t inflight;
};

/* One claimed row on its way. */
typedef struct {
    dispatcher_t *d;
    arena_t *arena;
    a2a_queue_row row;
} delivery;

static void settle(delivery *v, cl_err e, const cl_error *err, const char *what)
{
    if (e != CL_OK)
        log_warn("a2a queue update failed", "queue_id=%s step=%s error=\"%s\"", v->row.id, what, err->msg);
    v->d->inflight--;
    arena_free(v->arena);
    free(v);
}

static void on_reply(void *arg, void *ctx, const http_call_result *r)
{
    delivery *v = arg;
    cl_error err = {0};
    cl_err e;
    if (v->d->db == NULL) { /* stopping: the row stays dispatched and is requeued by the orphan rule */
        settle(v, CL_OK, &err, "cancel");
        return;
    }
    if (r->outcome == HTTP_CALL_OK && r->status < 300 && r->body_len > 0) {
        metric_inc(METRIC_QUEUE_DELIVERED);
        e = a2a_complete(v->d->db, v->arena, &v->row, arena_strndup(v->arena, r->body, r->body_len), r->duration_ms,
                         &err);
        settle(v, e, &err, "complete");
        return;
    }
    const char *why = r->outcome == HTTP_CALL_OK
                          ? arena_sprintf(v->arena, "agent answered %d%s", r->status,
                                          r->status < 300 ? " with an empty body" : "")
                          : r->error;
    metric_inc(METRIC_QUEUE_RETRIES);
    e = a2a_retry_later(v->d->db, v->arena, &v->row, why, &err);
    settle(v, e, &err, "retry");
}

/* Claim what is due and start it. */
static void tick(dispatcher_t *d)
{
    cl_error err;
    if (d->db == NULL && db_open(d->cfg.db_url, &d->db, &err) != CL_OK) {
        log_warn("dispatcher cannot reach the database", "error=\"%s\"", err.msg);
        return;
    }
    while (d->inflight < d->cfg.max_inflight && !atomic_load(&d->stop)) {
        delivery *v = xcalloc(1, sizeof(*v));
        v->d = d;
        v->arena = arena_new();
        cl_err e = a2a_claim(d->db, v->arena, &v->row, &err);
        if (e != CL_OK) {
            if (e != CL_NOT_FOUND)
                log_warn("a2a queue claim failed", "error=\"%s\"", err.msg);
            arena_free(v->arena);
            free(v);
            break;
        }
        d->inflight++;
        const a2a_queue_row *q = &v->row;
        if (q->target_status == NULL || strcmp(q->target_status, "removed") == 0) {
            metric_inc(METRIC_QUEUE_FAILED);
            e = a2a_fail(d->db, v->arena, q, "target workspace is gone", &err);
            settle(v, e, &err, "fail");
            continue;
        }
        if (q->url == NULL || q->url[0] == '\0' || url_check_agent(q->url, &err) != CL_OK) {
            metric_inc(METRIC_QUEUE_RETRIES);
            e = a2a_retry_later(d->db, v->arena, q, q->url && q->url[0] ? "workspace URL refused" : "workspace has no URL",
                                &err);
            settle(v, e, &err, "retry");
            continue;
        }
        /* the budget gate again, and its metering lease (model/budget.h); a hibernated target is woken */
        bool held;
        if ((e = a2a_meter_queued(d->db, v->arena, &v->row, &held, &err)) == CL_PAYMENT_REQUIRED) {
            metric_inc(METRIC_QUEUE_FAILED);
            e = a2a_fail(d->db, v->arena, q, "workspace budget limit exceeded", &err);
            settle(v, e, &err, "fail");
            continue;
        }
        if (e != CL_OK || held) {
            metric_inc(METRIC_QUEUE_RETRIES);
            e = a2a_retry_later(d->db, v->arena, q, e != CL_OK ? "budget check failed" : "target waking or metered",
                                &err);
            settle(v, e, &err, "retry");
            continue;
        }
        http_call c = {.url = q->url, .content_type = "application/json", .body = q->body, .body_len = strlen(q->body),
                       .max_response = d->cfg.max_response};
        http_client_post(d->client, &c, on_reply, v);
    }
    metric_set(METRIC_TICK_DISPATCHER, time_now_ms()); /* GET /admin/liveness */
    arena_t *a = arena_new();
    int64_t depth;
    if (a2a_queue_depth(d->db, a, &depth, &err) == CL_OK)
        metric_add(METRIC_QUEUE_DEPTH, depth - metric_get(METRIC_QUEUE_DEPTH));
    arena_free(a);
}

static void *loop(void *arg)
{
    dispatcher_t *d = arg;
    int64_t next = 0;
    /* made here, not by the starting thread: h2o ties a loop's socket buffers to the thread that creates them */
    d->client = http_client_new();
    while (!atomic_load(&d->stop)) {
        if (time_mono_ms() >= next) {
            tick(d);
            next = time_mono_ms() + d->cfg.interval_ms;
        }
        int64_t wait = next - time_mono_ms();
        http_client_run(d->client, wait < 1 ? 1 : wait > 100 ? 100 : wait);
    }
    db_t *db = d->db;
    d->db = NULL; /* callbacks of cancelled deliveries leave their rows to the orphan rule */
    http_client_free(d->client);
    db_close(db);
    return NULL;
}

dispatcher_t *dispatch_start(const dispatch_config *cfg, cl_error *err)
{
    dispatcher_t *d = xcalloc(1, sizeof(*d));
    d->cfg = *cfg;
    if (thread_start_quiet(&d->tid, loop, d) != 0) {
        free(d);
        cl_fail(err, CL_INTERNAL, "cannot start the dispatcher thread");
        return NULL;
    }
    return d;
}

void dispatch_stop(dispatcher_t *d)
{
    if (d == NULL)
        return;
    atomic_store(&d->stop, true);
    pthread_join(d->tid, NULL);
    free(d);
}
