/* sweepers.c - see sweepers.h. */
#include "jobs/sweepers.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "base/arena.h"
#include "base/log.h"
#include "base/thread.h"
#include "base/metrics.h"
#include "base/time.h"
#include "model/a2a.h"
#include "model/delegation.h"
#include "model/liveness.h"
#include "model/memadmin.h"
#include "model/request.h"
#include "model/upload.h"
#include "store/db.h"

struct sweepers {
    sweepers_config cfg;
    pthread_t tid;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
};

static void sweep_uploads(db_t *db, const sweepers_config *cfg)
{
    arena_t *a = arena_new();
    int64_t acked = 0, expired = 0;
    cl_error e;
    if (upload_sweep(db, a, cfg->upload_retention_ms, &acked, &expired, &e) != CL_OK) {
        metric_inc(METRIC_UPLOADS_SWEPT_ERROR);
        log_warn("upload sweep failed", "error=\"%s\"", db_last_error(db));
    } else {
        metric_add(METRIC_UPLOADS_SWEPT_ACKED, acked);
        metric_add(METRIC_UPLOADS_SWEPT_EXPIRED, expired);
        if (acked || expired)
            log_info("upload sweep", "acked=%lld expired=%lld", (long long)acked, (long long)expired);
    }
    arena_free(a);
}

/* Busy queue: expired rows fail, interrupted deliveries are requeued. Every liveness tick: it is one cheap
 * statement each. */
static void sweep_queue(db_t *db, const sweepers_config *cfg)
{
    arena_t *a = arena_new();
    int64_t expired = 0, reaped = 0;
    cl_error e;
    metric_inc(METRIC_SWEEPS_A2A);
    if (a2a_queue_sweep(db, a, cfg->a2a_orphan_ms, &expired, &reaped, &e) != CL_OK) {
        metric_inc(METRIC_SWEEP_ERRORS_A2A);
        log_warn("a2a queue sweep failed", "error=\"%s\"", e.msg);
    } else {
        metric_add(METRIC_QUEUE_FAILED, expired);
        metric_add(METRIC_QUEUE_REAPED, reaped);
        if (expired || reaped)
            log_info("a2a queue sweep", "expired=%lld requeued=%lld", (long long)expired, (long long)reaped);
    }
    arena_free(a);
}

static void sweep_delegations(db_t *db, const sweepers_config *cfg)
{
    arena_t *a = arena_new();
    int64_t failed = 0, stuck = 0;
    cl_error e;
    metric_inc(METRIC_SWEEPS_DELEGATIONS);
    if (deleg_sweep(db, a, cfg->delegation_stuck_ms, &failed, &stuck, &e) != CL_OK) {
        metric_inc(METRIC_SWEEP_ERRORS_DELEGATIONS);
        log_warn("delegation sweep failed", "error=\"%s\"", e.msg);
    } else if (failed || stuck) {
        log_info("delegation sweep", "failed=%lld stuck=%lld", (long long)failed, (long long)stuck);
    }
    arena_free(a);
}

/* Idle agents with inbox requests waiting get one nudge each (request.h). */
static void sweep_nudges(db_t *db, const sweepers_config *cfg)
{
    arena_t *a = arena_new();
    int64_t agents = 0, items = 0;
    cl_error e;
    metric_inc(METRIC_SWEEPS_REQUEST_NUDGES);
    if (request_nudge_sweep(db, a, cfg->nudge_after_ms, cfg->nudge_repeat_ms, &agents, &items, &e) != CL_OK) {
        metric_inc(METRIC_SWEEP_ERRORS_REQUEST_NUDGES);
        log_warn("request nudge sweep failed", "error=\"%s\"", e.msg);
    }
    metric_add(METRIC_REQUEST_NUDGES, agents);
    metric_add(METRIC_REQUEST_NUDGED_ITEMS, items);
    if (agents)
        log_info("request nudge sweep", "agents=%lld requests=%lld", (long long)agents, (long long)items);
    arena_free(a);
}

/* Expired memories and key/value entries go (model/memadmin.h), a batch at a time until none is left. */
static void sweep_memory(db_t *db)
{
    arena_t *a = arena_new();
    int64_t records = MEM_SWEEP_BATCH, values = MEM_SWEEP_BATCH, total = 0;
    cl_error e;
    metric_inc(METRIC_SWEEPS_MEMORY);
    while (records == MEM_SWEEP_BATCH || values == MEM_SWEEP_BATCH) {
        if (mem_sweep_expired(db, a, &records, &values, &e) != CL_OK) {
            metric_inc(METRIC_SWEEP_ERRORS_MEMORY);
            log_warn("memory expiry sweep failed", "error=\"%s\"", e.msg);
            break;
        }
        metric_add(METRIC_MEMORY_EXPIRED, records);
        metric_add(METRIC_MEMORY_KV_EXPIRED, values);
        total += records + values;
    }
    if (total)
        log_info("memory expiry sweep", "deleted=%lld", (long long)total);
    arena_free(a);
}

/* When each slower sweeper is due next (monotonic ms; 0: at once). */
typedef struct {
    int64_t upload, deleg, nudge, memory;
} sweep_times;

static void run_once(db_t **db, const sweepers_config *cfg, sweep_times *next)
{
    cl_error e;
    if (*db == NULL && db_open(cfg->db_url, db, &e) != CL_OK) {
        metric_inc(METRIC_SWEEP_ERRORS_LIVENESS);
        log_warn("sweeper cannot reach the database", "error=\"%s\"", e.msg);
        return;
    }
    arena_t *a = arena_new();
    int64_t flipped = 0, reset = 0;
    metric_inc(METRIC_SWEEPS_LIVENESS);
    if (liveness_sweep(*db, a, cfg->stale_after_ms, &flipped, &e) != CL_OK) {
        metric_inc(METRIC_SWEEP_ERRORS_LIVENESS);
        log_warn("liveness sweep failed", "error=\"%s\"", db_last_error(*db));
    }
    if (liveness_reset_phantom_busy(*db, a, PHANTOM_BUSY_IDLE_MS, &reset, &e) != CL_OK) {
        metric_inc(METRIC_SWEEP_ERRORS_LIVENESS);
        log_warn("phantom-busy sweep failed", "error=\"%s\"", db_last_error(*db));
    }
    metric_set(METRIC_TICK_LIVENESS, time_now_ms()); /* GET /admin/liveness */
    metric_add(METRIC_LIVENESS_OFFLINE, flipped);
    metric_add(METRIC_PHANTOM_BUSY_RESETS, reset);
    if (flipped || reset)
        log_info("liveness sweep", "offline=%lld phantom_busy_reset=%lld", (long long)flipped, (long long)reset);
    arena_free(a);
    if (time_mono_ms() >= next->upload) { /* its own, slower cadence; also once at start */
        sweep_uploads(*db, cfg);
        metric_set(METRIC_TICK_UPLOADS, time_now_ms());
        next->upload = time_mono_ms() + cfg->upload_interval_ms;
    }
    sweep_queue(*db, cfg);
    metric_set(METRIC_TICK_QUEUE, time_now_ms());
    if (time_mono_ms() >= next->deleg) {
        sweep_delegations(*db, cfg);
        metric_set(METRIC_TICK_DELEGATIONS, time_now_ms());
        next->deleg = time_mono_ms() + cfg->delegation_interval_ms;
    }
    if (cfg->nudge_interval_ms > 0 && time_mono_ms() >= next->nudge) {
        sweep_nudges(*db, cfg);
        metric_set(METRIC_TICK_NUDGES, time_now_ms());
        next->nudge = time_mono_ms() + cfg->nudge_interval_ms;
    }
    if (cfg->memory_interval_ms > 0 && time_mono_ms() >= next->memory) {
        sweep_memory(*db);
        next->memory = time_mono_ms() + cfg->memory_interval_ms;
    }
}

static void *loop(void *arg)
{
    sweepers_t *s = arg;
    db_t *db = NULL;
    sweep_times next = {0, 0, 0, 0};
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        pthread_mutex_unlock(&s->mu);
        run_once(&db, &s->cfg, &next);
        pthread_mutex_lock(&s->mu);
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += s->cfg.interval_ms / 1000;
        until.tv_nsec += (s->cfg.interval_ms % 1000) * 1000000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        while (!s->stop && pthread_cond_timedwait(&s->cv, &s->mu, &until) != ETIMEDOUT) {
        }
    }
    pthread_mutex_unlock(&s->mu);
    db_close(db);
    return NULL;
}

sweepers_t *sweepers_start(const sweepers_config *cfg, cl_error *err)
{
    sweepers_t *s = xcalloc(1, sizeof(*s));
    s->cfg = *cfg;
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    int rc = thread_start_quiet(&s->tid, loop, s);
    if (rc != 0) {
        cl_fail(err, CL_INTERNAL, "cannot start the sweeper thread");
        free(s);
        return NULL;
    }
    return s;
}

void sweepers_stop(sweepers_t *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->tid, NULL);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
