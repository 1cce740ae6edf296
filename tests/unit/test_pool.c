/* test_pool.c - the threads behind the engine: the worker pool and its lanes (base/pool.c), leader/follower group
 * commit (base/batch.c), and the hub that wakes the event feed (bus/hub.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/batch.h"
#include "base/pool.h"
#include "bus/hub.h"

/* ---- the pool ----------------------------------------------------------------------------------------------- */

static atomic_int opened, closed, resets;

static void *open_ctx(void *arg, cl_error *err)
{
    (void)err;
    atomic_fetch_add(&opened, 1);
    return arg;
}
static void close_ctx(void *ctx) { (void)ctx, atomic_fetch_add(&closed, 1); }
static void reset_ctx(void *ctx) { (void)ctx, atomic_fetch_add(&resets, 1); }

typedef struct {
    pool_job job;
    atomic_int *ran, *cancelled;
    void *ctx_seen;
    pthread_mutex_t *gate; /* held by the test: the job waits on it */
} counting_job;

static void run_job(void *ctx, pool_job *j)
{
    counting_job *c = (counting_job *)j;
    c->ctx_seen = ctx;
    if (c->gate != NULL) {
        pthread_mutex_lock(c->gate);
        pthread_mutex_unlock(c->gate);
    }
    atomic_fetch_add(c->ran, 1);
}

static void cancel_job(pool_job *j) { atomic_fetch_add(((counting_job *)j)->cancelled, 1); }

static void test_every_job_runs_once_with_its_threads_context(void **state)
{
    (void)state;
    static int ctx_value;
    atomic_store(&opened, 0), atomic_store(&closed, 0), atomic_store(&resets, 0);
    cl_error err;
    pool_t *p = pool_start(&(pool_config){{2, 1}, open_ctx, close_ctx, reset_ctx, &ctx_value}, &err);
    assert_non_null(p);
    assert_int_equal(atomic_load(&opened), 3);
    atomic_int ran = 0, cancelled = 0;
    counting_job jobs[200];
    for (int i = 0; i < 200; i++) {
        jobs[i] = (counting_job){{NULL, run_job, cancel_job}, &ran, &cancelled, NULL, NULL};
        pool_submit(p, i % 2 ? POOL_SLOW : POOL_FAST, &jobs[i].job);
    }
    while (atomic_load(&ran) < 200)
        usleep(1000);
    for (int i = 0; i < 200; i++)
        assert_ptr_equal(jobs[i].ctx_seen, &ctx_value);
    pool_stop(p);
    pool_free(p);
    assert_int_equal(atomic_load(&ran), 200);
    assert_int_equal(atomic_load(&cancelled), 0);
    assert_int_equal(atomic_load(&resets), 200); /* the context is put back in shape after every job */
    assert_int_equal(atomic_load(&closed), 3);
}

static void test_a_busy_slow_lane_never_delays_the_fast_one(void **state)
{
    (void)state;
    cl_error err;
    pool_t *p = pool_start(&(pool_config){{1, 1}, NULL, NULL, NULL, NULL}, &err);
    assert_non_null(p);
    pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&gate);
    atomic_int slow_ran = 0, fast_ran = 0, cancelled = 0;
    counting_job slow[3], fast;
    for (int i = 0; i < 3; i++) { /* the first holds the only slow worker; the others wait behind it */
        slow[i] = (counting_job){{NULL, run_job, cancel_job}, &slow_ran, &cancelled, NULL, &gate};
        pool_submit(p, POOL_SLOW, &slow[i].job);
    }
    while (pool_queued(p, POOL_SLOW) != 2) /* the slow worker has taken the first and is held by it */
        usleep(1000);
    fast = (counting_job){{NULL, run_job, cancel_job}, &fast_ran, &cancelled, NULL, NULL};
    pool_submit(p, POOL_FAST, &fast.job);
    while (atomic_load(&fast_ran) == 0)
        usleep(1000);
    assert_int_equal(atomic_load(&slow_ran), 0);
    pthread_mutex_unlock(&gate); /* stopping cancels what is still queued and waits for what runs */
    pool_stop(p);
    pool_free(p);
    assert_int_equal(atomic_load(&slow_ran) + atomic_load(&cancelled), 3);
}

static void *fail_open(void *arg, cl_error *err)
{
    (void)arg;
    cl_fail(err, CL_UNAVAILABLE, "no database today");
    return NULL;
}

static void test_a_context_that_cannot_open_refuses_the_start(void **state)
{
    (void)state;
    cl_error err = {0};
    assert_null(pool_start(&(pool_config){{2, 2}, fail_open, NULL, NULL, NULL}, &err));
    assert_int_equal(err.err, CL_UNAVAILABLE);
    assert_string_equal(err.msg, "no database today");
}

/* ---- group commit ------------------------------------------------------------------------------------------- */

typedef struct {
    int groups, items;
    size_t largest;
    batch_t *b;
    int reentrant_adds; /* items added from inside a flush (they must join the next round) */
} flush_log;

static flush_log flog;

static void flush(void *ctx, void **items, size_t n)
{
    assert_ptr_equal(ctx, &flog);
    flog.groups++;
    flog.items += (int)n;
    if (n > flog.largest)
        flog.largest = n;
    for (size_t i = 0; i < n; i++)
        free(items[i]);
    if (flog.reentrant_adds > 0) {
        flog.reentrant_adds--;
        batch_add(flog.b, &flog, malloc(1)); /* a flush running already: queued, not flushed inside */
    }
}

static int schedules;
static void schedule(void *arg)
{
    (void)arg;
    schedules++;
}

static void test_the_first_writer_flushes_and_later_ones_ride_along(void **state)
{
    (void)state;
    memset(&flog, 0, sizeof(flog));
    flog.b = batch_new(4, flush, 1);
    flog.reentrant_adds = 5;
    batch_add(flog.b, &flog, malloc(1)); /* flushes itself, then the five added during the flushes */
    assert_int_equal(flog.items, 6);
    assert_int_equal(flog.groups, 6);
    /* from a thread without a context: one schedule per idle batch, however many items wait */
    schedules = 0;
    for (int i = 0; i < 10; i++)
        batch_add_elsewhere(flog.b, malloc(1), schedule, NULL);
    assert_int_equal(schedules, 1);
    flog.groups = flog.items = 0;
    flog.largest = 0;
    batch_drain(flog.b, &flog);
    assert_int_equal(flog.items, 10);
    assert_int_equal(flog.largest, 4); /* at most max_items per group */
    assert_int_equal(flog.groups, 3);
    batch_add_elsewhere(flog.b, malloc(1), schedule, NULL); /* idle again: schedules again */
    assert_int_equal(schedules, 2);
    batch_drain(flog.b, &flog);
    batch_free(flog.b);
}

/* ---- the hub ------------------------------------------------------------------------------------------------ */

static atomic_int woken;
static void wake(void *arg) { atomic_fetch_add((atomic_int *)arg, 1); }

static void test_the_hub_raises_the_mark_and_wakes_its_listeners(void **state)
{
    (void)state;
    atomic_store(&woken, 0);
    hub_listener *l = hub_listen(wake, &woken);
    int64_t before = hub_latest();
    hub_publish(before + 5);
    hub_publish(before + 3); /* never lowered */
    assert_int_equal(hub_latest(), before + 5);
    assert_int_equal(atomic_load(&woken), 2);
    hub_unlisten(l);
    hub_publish(before + 9);
    assert_int_equal(atomic_load(&woken), 2);
    assert_int_equal(hub_latest(), before + 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_job_runs_once_with_its_threads_context),
        cmocka_unit_test(test_a_busy_slow_lane_never_delays_the_fast_one),
        cmocka_unit_test(test_a_context_that_cannot_open_refuses_the_start),
        cmocka_unit_test(test_the_first_writer_flushes_and_later_ones_ride_along),
        cmocka_unit_test(test_the_hub_raises_the_mark_and_wakes_its_listeners),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
