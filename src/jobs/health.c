/* health.c - see health.h. */
#include "jobs/health.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/log.h"
#include "base/thread.h"
#include "model/node.h"
#include "store/db.h"

struct health {
    char *url;
    db_t *db;
    pthread_t tid;
    atomic_bool stop;
};

static void probe(health_t *h)
{
    cl_error e;
    if (h->db == NULL && db_open(h->url, &h->db, &e) != CL_OK) {
        node_note_db_down();
        return;
    }
    if (node_check_db(h->db, &e) != CL_OK) { /* a broken connection is reset by the driver on the next try */
        log_warn("database check failed", "error=\"%s\"", db_last_error(h->db));
        return;
    }
    if (db_checkpoint(h->db, &e) != CL_OK) /* SQLite's log, copied back off the writers' path */
        log_warn("checkpoint failed", "error=\"%s\"", db_last_error(h->db));
}

static void *run(void *arg)
{
    health_t *h = arg;
    while (!atomic_load(&h->stop)) {
        for (int i = 0; i < HEALTH_PROBE_MS / 50 && !atomic_load(&h->stop); i++)
            usleep(50 * 1000);
        if (!atomic_load(&h->stop))
            probe(h);
    }
    return NULL;
}

health_t *health_start(const char *db_url, cl_error *err)
{
    health_t *h = xcalloc(1, sizeof(*h));
    h->url = xstrdup(db_url);
    atomic_init(&h->stop, false);
    probe(h);
    if (thread_start_quiet(&h->tid, run, h) != 0) {
        cl_fail(err, CL_INTERNAL, "cannot start the health prober thread");
        db_close(h->db);
        free(h->url);
        free(h);
        return NULL;
    }
    return h;
}

void health_stop(health_t *h)
{
    if (h == NULL)
        return;
    atomic_store(&h->stop, true);
    pthread_join(h->tid, NULL);
    db_close(h->db);
    free(h->url);
    free(h);
}
