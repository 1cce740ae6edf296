/* pgnotify.c - see pgnotify.h. */
#include "bus/pgnotify.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/log.h"
#include "base/thread.h"
#include "base/metrics.h"
#include "bus/hub.h"
#include "store/db.h"

enum { WAIT_MS = 250, RETRY_MS = 1000 };

struct pgnotify {
    char *url, *channel;
    pgnotify_latest_fn latest;
    pthread_t tid;
    atomic_bool stop;
};

/* The newest id in the table: what a freshly (re)connected listener may have missed is at most this. */
static void catch_up(pgnotify_t *p, db_t *db)
{
    arena_t *a = arena_new();
    int64_t id = 0;
    cl_error e;
    if (p->latest(db, a, &id, &e) == CL_OK)
        hub_publish(id);
    arena_free(a);
}

static void *loop(void *arg)
{
    pgnotify_t *p = arg;
    db_t *db = NULL;
    while (!atomic_load(&p->stop)) {
        cl_error e;
        if (db == NULL) {
            if (db_open(p->url, &db, &e) != CL_OK || db_listen(db, p->channel, &e) != CL_OK) {
                log_warn("event listener cannot connect; retrying", "error=\"%s\"", e.msg);
                db_close(db);
                db = NULL;
                usleep(RETRY_MS * 1000);
                continue;
            }
            catch_up(p, db);
            log_info("event listener connected", "channel=%s", p->channel);
        }
        char payload[64];
        bool got = false;
        if (db_wait_notify(db, WAIT_MS, payload, sizeof(payload), &got, &e) != CL_OK) {
            log_warn("event listener lost its connection; reconnecting", "error=\"%s\"", db_last_error(db));
            db_close(db);
            db = NULL;
            continue;
        }
        if (got) {
            char *end;
            long long id = strtoll(payload, &end, 10);
            if (*end == '\0' && id > 0)
                hub_publish(id);
        }
    }
    db_close(db);
    return NULL;
}

pgnotify_t *pgnotify_start(const char *db_url, const char *channel, pgnotify_latest_fn latest, cl_error *err)
{
    pgnotify_t *p = xcalloc(1, sizeof(*p));
    p->latest = latest;
    p->url = xstrdup(db_url);
    p->channel = xstrdup(channel);
    atomic_init(&p->stop, false);
    int rc = thread_start_quiet(&p->tid, loop, p);
    if (rc != 0) {
        cl_fail(err, CL_INTERNAL, "cannot start the event listener thread");
        free(p->url);
        free(p->channel);
        free(p);
        return NULL;
    }
    return p;
}

void pgnotify_stop(pgnotify_t *p)
{
    if (p == NULL)
        return;
    atomic_store(&p->stop, true);
    pthread_join(p->tid, NULL);
    free(p->url);
    free(p->channel);
    free(p);
}
