/* pool.h - a pool of worker threads in lanes, for the work an event loop must not do itself (database round trips,
 * anything O(n) in user data). Each lane has its own threads and its own FIFO queue, so a job in one lane never
 * waits behind a job of another: a 10,000-node import in the slow lane cannot delay a heartbeat in the fast lane.
 *
 * Every thread owns a context that the pool's owner opens for it (in colony: a database connection) through a
 * hook, so the pool knows nothing of what the context is. Jobs are the caller's memory (embed a pool_job in the
 * struct the job works on); a job runs exactly once, or is cancelled when the pool stops first. */
#ifndef COLONY_BASE_POOL_H
#define COLONY_BASE_POOL_H

#include <stddef.h>

#include "base/error.h"

typedef struct pool pool_t;

typedef enum { POOL_FAST, POOL_SLOW, POOL__LANES } pool_lane;

/* fn runs on a worker with that worker's context; cancel (may be NULL) runs instead when the pool stops with the
 * job still queued. Either may free the memory the job lives in. */
typedef struct pool_job {
    struct pool_job *next;
    void (*fn)(void *ctx, struct pool_job *job);
    void (*cancel)(struct pool_job *job);
} pool_job;

typedef struct {
    int threads[POOL__LANES]; /* >= 1 each */
    /* The context of one worker thread, opened on that thread before it takes jobs; NULL with err set refuses
     * the start. close runs on the same thread when it ends. */
    void *(*ctx_open)(void *arg, cl_error *err);
    void (*ctx_close)(void *ctx);
    /* After every job, on its thread (may be NULL): put the context back in shape (release what the job left). */
    void (*ctx_reset)(void *ctx);
    void *ctx_arg;
} pool_config;

/* Start every thread and open every context; NULL (err set, nothing left running) when one cannot be opened. */
pool_t *pool_start(const pool_config *c, cl_error *err);
/* Queue `job` (borrowed until it runs or is cancelled). Thread-safe. After pool_stop began, cancels it at once. */
void pool_submit(pool_t *p, pool_lane lane, pool_job *job);
/* Stop taking jobs: cancel what is queued (and, from now on, what is submitted), wait for the running ones, close
 * the contexts, join. The pool stays valid for pool_submit (which cancels at once) until pool_free. */
void pool_stop(pool_t *p);
void pool_free(pool_t *p);
/* Jobs waiting in a lane now (for metrics). */
size_t pool_queued(pool_t *p, pool_lane lane);

#endif
