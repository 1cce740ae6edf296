/* scheduler.c - see scheduler.h. */
#include "jobs/scheduler.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "base/arena.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/thread.h"
#include "base/time.h"

struct scheduler {
    scheduler_config cfg;
    pthread_t tid;
    atomic_bool stop;
    db_t *db;
    http_client *client;
    int64_t inflight; /* touched only by this thread (the client's callbacks run on it) */
};

static void finished(void *arg)
{
    scheduler_t *s = arg;
    s->inflight--;
}

/* Claim and fire what is due; returns how long to sleep before the next look. */
static int64_t tick(scheduler_t *s)
{
    cl_error err;
    if (s->db == NULL && db_open(s->cfg.db_url, &s->db, &err) != CL_OK) {
        metric_inc(METRIC_SCHED_ERRORS);
        log_warn("scheduler cannot reach the database", "error=\"%s\"", err.msg);
        return s->cfg.interval_ms;
    }
    metric_inc(METRIC_SCHED_TICKS);
    metric_set(METRIC_TICK_SCHEDULER, time_now_ms()); /* GET /admin/liveness */
    arena_t *a = arena_new();
    const char **ids;
    size_t n = 0, i = 0;
    int64_t now = time_now_ms(), soonest = 0;
    if (sched_due(s->db, a, now, SCHED_DUE_BATCH, &ids, &n, &soonest, &err) != CL_OK) {
        metric_inc(METRIC_SCHED_ERRORS);
        log_warn("scheduler could not read due schedules", "error=\"%s\"", err.msg);
        arena_free(a);
        return s->cfg.interval_ms;
    }
    for (; i < n && s->inflight < s->cfg.max_inflight && !atomic_load(&s->stop); i++) {
        sched_fire f;
        sched_claim_result r;
        if (sched_claim(s->db, a, ids[i], time_now_ms(), &f, &r, &err) != CL_OK) {
            metric_inc(METRIC_SCHED_ERRORS);
            log_warn("schedule claim failed", "schedule=%s error=\"%s\"", ids[i], err.msg);
        } else if (r == SCHED_NOT_DUE) {
            metric_inc(METRIC_SCHED_CLAIMS_LOST);
        } else if (r == SCHED_BROKEN) {
            metric_inc(METRIC_SCHED_SKIPPED);
            log_warn("schedule stopped: its expression no longer reads", "schedule=%s", ids[i]);
        } else {
            metric_inc(METRIC_SCHED_FIRED);
            metric_add(METRIC_SCHED_SKIPPED, f.missed);
            if (f.missed > 0)
                log_info("schedule missed occurrences", "schedule=%s missed=%lld fired=%s", f.schedule_id,
                         (long long)f.missed, f.message_id);
            s->inflight++;
            s->cfg.fire(s->db, s->client, &f, finished, s);
        }
    }
    arena_free(a);
    if (i < n) /* at the cap of runs in flight: look again once some have ended */
        return s->cfg.interval_ms < 100 ? s->cfg.interval_ms : 100;
    if (n == SCHED_DUE_BATCH) /* more may be due than one look takes */
        return 0;
    int64_t wait = soonest > 0 ? soonest - time_now_ms() : s->cfg.interval_ms;
    return wait < 0 ? 0 : wait > s->cfg.interval_ms ? s->cfg.interval_ms : wait;
}

static void *loop(void *arg)
{
    scheduler_t *s = arg;
    int64_t next = 0;
    /* made here: h2o ties a loop's socket buffers to the thread that creates them */
    s->client = http_client_new();
    while (!atomic_load(&s->stop)) {
        if (time_mono_ms() >= next)
            next = time_mono_ms() + tick(s);
        int64_t wait = next - time_mono_ms();
        http_client_run(s->client, wait < 1 ? 1 : wait > 100 ? 100 : wait);
    }
    http_client_free(s->client); /* runs waiting for agents end here, recorded with the connection still open */
    db_close(s->db);
    return NULL;
}

scheduler_t *scheduler_start(const scheduler_config *cfg, cl_error *err)
{
    scheduler_t *s = xcalloc(1, sizeof(*s));
    s->cfg = *cfg;
    if (thread_start_quiet(&s->tid, loop, s) != 0) {
        free(s);
        cl_fail(err, CL_INTERNAL, "cannot start the scheduler thread");
        return NULL;
    }
    return s;
}

void scheduler_stop(scheduler_t *s)
{
    if (s == NULL)
        return;
    atomic_store(&s->stop, true);
    pthread_join(s->tid, NULL);
    free(s);
}
