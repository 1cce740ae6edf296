/* pool.c - see pool.h. One mutex and condition variable per lane; the queue is an intrusive FIFO of the callers'
 * jobs, so submitting allocates nothing. */
#include "base/pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "base/arena.h"
#include "base/metrics.h"
#include "base/thread.h"

typedef struct lane {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pool_job *head, *tail;
    size_t queued;
    metric_id gauge;
    bool stopping;
} lane;

typedef struct worker {
    pool_t *pool;
    lane *ln;
    pthread_t tid;
    void *ctx;
    cl_error err;
    bool started; /* the thread exists and must be joined */
} worker;

struct pool {
    pool_config cfg;
    lane lanes[POOL__LANES];
    worker *workers;
    int nworkers;
    /* start-up handshake: each thread says whether its context opened */
    pthread_mutex_t start_mu;
    pthread_cond_t start_cv;
    int opened, failed;
};

static void *worker_main(void *arg)
{
    worker *w = arg;
    pool_t *p = w->pool;
    w->ctx = p->cfg.ctx_open ? p->cfg.ctx_open(p->cfg.ctx_arg, &w->err) : NULL;
    bool ok = p->cfg.ctx_open == NULL || w->ctx != NULL;
    pthread_mutex_lock(&p->start_mu);
    if (ok)
        p->opened++;
    else
        p->failed++;
    pthread_cond_broadcast(&p->start_cv);
    pthread_mutex_unlock(&p->start_mu);
    if (!ok)
        return NULL;
    lane *ln = w->ln;
    for (;;) {
        pthread_mutex_lock(&ln->mu);
        while (ln->head == NULL && !ln->stopping)
            pthread_cond_wait(&ln->cv, &ln->mu);
        pool_job *j = ln->head;
        if (j == NULL) { /* stopping and nothing left */
            pthread_mutex_unlock(&ln->mu);
            break;
        }
        ln->head = j->next;
        if (ln->head == NULL)
            ln->tail = NULL;
        ln->queued--;
        metric_add(ln->gauge, -1);
        pthread_mutex_unlock(&ln->mu);
        j->next = NULL;
        j->fn(w->ctx, j);
        if (p->cfg.ctx_reset != NULL)
            p->cfg.ctx_reset(w->ctx);
    }
    if (p->cfg.ctx_close != NULL && w->ctx != NULL)
        p->cfg.ctx_close(w->ctx);
    return NULL;
}

static void free_pool(pool_t *p)
{
    for (int i = 0; i < POOL__LANES; i++) {
        pthread_mutex_destroy(&p->lanes[i].mu);
        pthread_cond_destroy(&p->lanes[i].cv);
    }
    pthread_mutex_destroy(&p->start_mu);
    pthread_cond_destroy(&p->start_cv);
    free(p->workers);
    free(p);
}

/* Cancel every queued job of `ln` (stopping is set, so nothing new arrives). */
static void cancel_queued(lane *ln)
{
    pthread_mutex_lock(&ln->mu);
    pool_job *j = ln->head;
    ln->head = ln->tail = NULL;
    metric_add(ln->gauge, -(int64_t)ln->queued);
    ln->queued = 0;
    pthread_mutex_unlock(&ln->mu);
    while (j != NULL) {
        pool_job *next = j->next;
        j->next = NULL;
        if (j->cancel != NULL)
            j->cancel(j);
        j = next;
    }
}

static void stop_and_join(pool_t *p)
{
    for (int i = 0; i < POOL__LANES; i++) {
        lane *ln = &p->lanes[i];
        pthread_mutex_lock(&ln->mu);
        ln->stopping = true;
        pthread_cond_broadcast(&ln->cv);
        pthread_mutex_unlock(&ln->mu);
        cancel_queued(ln);
    }
    for (int i = 0; i < p->nworkers; i++)
        if (p->workers[i].started)
            pthread_join(p->workers[i].tid, NULL);
}

pool_t *pool_start(const pool_config *c, cl_error *err)
{
    pool_t *p = xcalloc(1, sizeof(*p));
    p->cfg = *c;
    pthread_mutex_init(&p->start_mu, NULL);
    pthread_cond_init(&p->start_cv, NULL);
    for (int i = 0; i < POOL__LANES; i++) {
        pthread_mutex_init(&p->lanes[i].mu, NULL);
        pthread_cond_init(&p->lanes[i].cv, NULL);
        p->lanes[i].gauge = i == POOL_FAST ? METRIC_POOL_QUEUED_FAST : METRIC_POOL_QUEUED_SLOW;
        p->nworkers += c->threads[i] > 0 ? c->threads[i] : 1;
    }
    p->workers = xcalloc((size_t)p->nworkers, sizeof(worker));
    int k = 0, created = 0;
    for (int i = 0; i < POOL__LANES; i++) {
        for (int n = 0; n < (c->threads[i] > 0 ? c->threads[i] : 1); n++, k++) {
            worker *w = &p->workers[k];
            w->pool = p;
            w->ln = &p->lanes[i];
            if (thread_start_quiet(&w->tid, worker_main, w) != 0)
                break;
            w->started = true;
            created++;
        }
    }
    pthread_mutex_lock(&p->start_mu);
    while (p->opened + p->failed < created)
        pthread_cond_wait(&p->start_cv, &p->start_mu);
    pthread_mutex_unlock(&p->start_mu);
    if (created == p->nworkers && p->failed == 0)
        return p;
    if (created < p->nworkers)
        cl_fail(err, CL_INTERNAL, "cannot start the worker threads");
    for (int i = 0; i < p->nworkers; i++) {
        if (p->workers[i].started && p->workers[i].err.msg[0] != '\0') {
            *err = p->workers[i].err;
            break;
        }
    }
    stop_and_join(p);
    free_pool(p);
    return NULL;
}

void pool_submit(pool_t *p, pool_lane lane_id, pool_job *job)
{
    lane *ln = &p->lanes[lane_id];
    job->next = NULL;
    pthread_mutex_lock(&ln->mu);
    if (ln->stopping) {
        pthread_mutex_unlock(&ln->mu);
        if (job->cancel != NULL)
            job->cancel(job);
        return;
    }
    if (ln->tail != NULL)
        ln->tail->next = job;
    else
        ln->head = job;
    ln->tail = job;
    ln->queued++;
    metric_add(ln->gauge, 1);
    pthread_cond_signal(&ln->cv);
    pthread_mutex_unlock(&ln->mu);
}

void pool_stop(pool_t *p)
{
    if (p != NULL)
        stop_and_join(p);
}

void pool_free(pool_t *p)
{
    if (p != NULL)
        free_pool(p);
}

size_t pool_queued(pool_t *p, pool_lane lane_id)
{
    lane *ln = &p->lanes[lane_id];
    pthread_mutex_lock(&ln->mu);
    size_t n = ln->queued;
    pthread_mutex_unlock(&ln->mu);
    return n;
}
