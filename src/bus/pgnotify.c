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
    pthread_t tid;
    atomic_bool stop;
};

/* The newest id in the table: what a freshly (re)connected listener may have missed is at most this. */
static void catch_up(db_t *db)
{
    arena_t *a = arena_new();
    db_stmt_t *st;
    cl_error e;
    if (db_query(db, a, &st, &e, "SELECT COALESCE(max(id), 0) FROM events", "") == CL_OK && db_one(st, &e) == CL_OK)
        hub_publish(db_col_int64(st, 0));
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
            catch_up(db);
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

pgnotify_t *pgnotify_start(const char *db_url, const char *channel, cl_error *err)
{
    pgnotify_t *p = xcalloc(1, sizeof(*p));
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
