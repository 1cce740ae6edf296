/* limit_server.c - the limit of a heartbeat on this machine: the fastest heartbeat server we know how to write on
 * colony's engine (h2o 2.2, the same number of I/O threads) and database (the same SQLite file settings: WAL,
 * synchronous=NORMAL; the same PostgreSQL cluster), so that colony's heartbeat divided by this is at most 1.0.
 * `make bench` runs both in the same run with the same load (bench/run.py); a ratio above 1.0 means this is wrong.
 *
 * What it does, per request: find the "workspace_id" string in the body (memmem, no JSON parser) and queue it.
 * What it does for all of them: group commit, like colony's heartbeat (base/batch.c + model/registry.c) and then
 * some. WRITERS threads, each with its own database connection, take everything queued (up to 256 requests, the
 * size of colony's groups), write the distinct ids with ONE statement in ONE transaction (a multi-row
 * INSERT … ON CONFLICT (id) DO UPDATE in id order, so concurrent writers lock rows in one order; one round trip on
 * PostgreSQL, a prepared statement per group size), and hand the answers back to each owning loop with ONE
 * message per loop per group (colony posts one per request). I/O threads never touch the database.
 *
 * What it does not do (colony does, and must): authenticate the bearer token (hash it, prove it in the statement),
 * parse or validate the JSON body, write the other heartbeat columns (error rate, sample error, tasks, uptime),
 * detect status or task changes and record events, count metrics, write access logs, build a JSON answer, run on
 * a general worker pool. Its table (id, at, active) is three columns and one index; colony's workspaces row is
 * wide.
 *
 * usage: limit_server PORT THREADS WRITERS DB    (DB: a SQLite path or a postgres:// URL) */
#define _GNU_SOURCE /* memmem */
#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bare.h"

enum { GROUP_MAX = 256, LOOPS_MAX = 64, WRITERS_MAX = 16, SQL_MAX = GROUP_MAX * 24 + 256 };

static const char ZERO_ID[] = "00000000-0000-0000-0000-000000000000";
static const char REPLY[] = "{\"status\":\"ok\"}";

/* One waiting heartbeat. Lives until both its answer ran and h2o disposed of the request (on the owning loop, so
 * refs needs no atomics): a client that hangs up first leaves req NULL. */
typedef struct pending {
    h2o_req_t *req;
    int refs, loop;
    char id[sizeof(ZERO_ID)];
    struct pending *next; /* in a done list */
} pending;

typedef struct {
    h2o_multithread_message_t super; /* first */
    pending *head;
    int ok;
} done_msg;

static h2o_multithread_receiver_t receivers[LOOPS_MAX];
static const char *db_url;
static bool is_pg;

static pthread_mutex_t queue_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_cv = PTHREAD_COND_INITIALIZER;
static pending **queue;
static size_t queued, queue_cap;

static void unref(pending *p)
{
    if (--p->refs == 0)
        free(p);
}

static void on_disposed(void *slot)
{
    pending *p = *(pending **)slot;
    p->req = NULL;
    unref(p);
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    pending *p = calloc(1, sizeof(*p));
    p->req = req;
    p->refs = 2;
    p->loop = bare_index(req->conn->ctx);
    memcpy(p->id, ZERO_ID, sizeof(ZERO_ID));
    const char *b = req->entity.base, *end = b + (b ? req->entity.len : 0);
    const char *k = b ? memmem(b, req->entity.len, "\"workspace_id\"", 14) : NULL;
    const char *q = k ? memchr(k + 14, '"', (size_t)(end - (k + 14))) : NULL;
    if (q != NULL && q + 1 + 36 <= end)
        memcpy(p->id, q + 1, 36);
    *(pending **)h2o_mem_alloc_shared(&req->pool, sizeof(pending *), on_disposed) = p;
    pthread_mutex_lock(&queue_mu);
    if (queued == queue_cap) {
        queue_cap = queue_cap ? 2 * queue_cap : 1024;
        queue = realloc(queue, queue_cap * sizeof(*queue));
    }
    queue[queued++] = p;
    pthread_cond_signal(&queue_cv);
    pthread_mutex_unlock(&queue_mu);
    return 0;
}

static void on_done(h2o_multithread_receiver_t *rx, h2o_linklist_t *messages)
{
    (void)rx;
    while (!h2o_linklist_is_empty(messages)) {
        done_msg *m = H2O_STRUCT_FROM_MEMBER(done_msg, super.link, messages->next);
        h2o_linklist_unlink(&m->super.link);
        for (pending *p = m->head, *next; p != NULL; p = next) {
            next = p->next;
            if (p->req != NULL)
                bare_reply(p->req, m->ok ? 200 : 503, "application/json", h2o_iovec_init(REPLY, sizeof(REPLY) - 1));
            unref(p);
        }
        free(m);
    }
}

static void thread_init(int index, h2o_context_t *ctx)
{
    h2o_multithread_register_receiver(ctx->queue, &receivers[index], on_done);
}

/* ---- writing a group ------------------------------------------------------------------------------------------
 */

typedef struct {
    sqlite3 *lite;
    PGconn *pg;
    sqlite3_stmt *stmt[GROUP_MAX + 1]; /* by row count */
    bool prepared[GROUP_MAX + 1];
} writer;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* INSERT of n rows; parameter 1 is the time, 2..n+1 the ids (SQLite: ?N, PostgreSQL: $N). */
static void upsert_sql(char *sql, int n)
{
    size_t len = (size_t)snprintf(sql, SQL_MAX, "INSERT INTO hb (id, at, active) VALUES ");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(sql + len, SQL_MAX - len, "%s(%c%d, %c1, 1)", i ? ", " : "", is_pg ? '$' : '?',
                                i + 2, is_pg ? '$' : '?');
    snprintf(sql + len, SQL_MAX - len,
             " ON CONFLICT (id) DO UPDATE SET at = excluded.at, active = excluded.active");
}

static bool write_lite(writer *w, const char **ids, int n)
{
    if (w->stmt[n] == NULL) {
        char sql[SQL_MAX];
        upsert_sql(sql, n);
        if (sqlite3_prepare_v3(w->lite, sql, -1, SQLITE_PREPARE_PERSISTENT, &w->stmt[n], NULL) != SQLITE_OK)
            return false;
    }
    sqlite3_stmt *s = w->stmt[n];
    sqlite3_bind_int64(s, 1, now_ms());
    for (int i = 0; i < n; i++)
        sqlite3_bind_text(s, i + 2, ids[i], 36, SQLITE_STATIC);
    bool ok = sqlite3_step(s) == SQLITE_DONE;
    sqlite3_reset(s);
    return ok;
}

static bool write_pg(writer *w, const char **ids, int n)
{
    char name[16], at[24];
    snprintf(name, sizeof(name), "u%d", n);
    if (!w->prepared[n]) {
        char sql[SQL_MAX];
        upsert_sql(sql, n);
        PGresult *r = PQprepare(w->pg, name, sql, 0, NULL);
        w->prepared[n] = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (!w->prepared[n])
            return false;
    }
    const char *vals[GROUP_MAX + 1];
    snprintf(at, sizeof(at), "%lld", now_ms());
    vals[0] = at;
    memcpy(vals + 1, ids, (size_t)n * sizeof(*ids));
    PGresult *r = PQexecPrepared(w->pg, name, n + 1, vals, NULL, NULL, 0);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    return ok;
}

static int by_id(const void *a, const void *b)
{
    return strcmp((*(pending *const *)a)->id, (*(pending *const *)b)->id);
}

/* One message per loop carries that loop's answers. */
static void answer(pending **group, size_t k, bool ok)
{
    done_msg *msg[LOOPS_MAX] = {0};
    for (size_t i = 0; i < k; i++) {
        pending *p = group[i];
        if (msg[p->loop] == NULL) {
            msg[p->loop] = calloc(1, sizeof(done_msg));
            msg[p->loop]->ok = ok;
        }
        p->next = msg[p->loop]->head;
        msg[p->loop]->head = p;
    }
    for (int l = 0; l < LOOPS_MAX; l++)
        if (msg[l] != NULL)
            h2o_multithread_send_message(&receivers[l], &msg[l]->super);
}

static void *write_loop(void *arg)
{
    writer *w = arg;
    pending *group[GROUP_MAX];
    const char *ids[GROUP_MAX];
    for (;;) {
        pthread_mutex_lock(&queue_mu);
        while (queued == 0)
            pthread_cond_wait(&queue_cv, &queue_mu);
        size_t k = queued < GROUP_MAX ? queued : GROUP_MAX;
        memcpy(group, queue, k * sizeof(*group));
        memmove(queue, queue + k, (queued - k) * sizeof(*queue));
        queued -= k;
        pthread_mutex_unlock(&queue_mu);
        /* one row per workspace (a statement may not upsert a row twice), in id order */
        qsort(group, k, sizeof(*group), by_id);
        int n = 0;
        for (size_t i = 0; i < k; i++)
            if (n == 0 || strcmp(ids[n - 1], group[i]->id) != 0)
                ids[n++] = group[i]->id;
        answer(group, k, w->pg ? write_pg(w, ids, n) : write_lite(w, ids, n));
    }
    return NULL;
}

static bool open_writer(writer *w)
{
    if (is_pg) {
        w->pg = PQconnectdb(db_url);
        return PQstatus(w->pg) == CONNECTION_OK;
    }
    if (sqlite3_open(db_url, &w->lite) != SQLITE_OK)
        return false;
    sqlite3_busy_timeout(w->lite, 5000);
    return sqlite3_exec(w->lite, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL, NULL) ==
           SQLITE_OK;
}

static bool create_table(void)
{
    static const char DDL[] = "CREATE TABLE IF NOT EXISTS hb (id TEXT PRIMARY KEY, at BIGINT, active INT)";
    writer w = {0};
    bool ok = open_writer(&w);
    if (ok && is_pg) {
        PGresult *r = PQexec(w.pg, DDL);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
    } else if (ok) {
        ok = sqlite3_exec(w.lite, DDL, NULL, NULL, NULL) == SQLITE_OK;
    }
    PQfinish(w.pg);
    sqlite3_close(w.lite);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: limit_server PORT THREADS WRITERS DB\n");
        return 2;
    }
    int writers = atoi(argv[3]);
    db_url = argv[4];
    is_pg = strncmp(db_url, "postgres", 8) == 0;
    if (writers < 1 || writers > WRITERS_MAX || !create_table()) {
        fprintf(stderr, "limit_server: bad WRITERS or cannot open %s\n", db_url);
        return 1;
    }
    for (int i = 0; i < writers; i++) {
        writer *w = calloc(1, sizeof(*w));
        if (!open_writer(w)) {
            fprintf(stderr, "limit_server: cannot open %s\n", db_url);
            return 1;
        }
        pthread_t tid;
        pthread_create(&tid, NULL, write_loop, w);
    }
    bare_config c = {.thread_init = thread_init, .on_req = on_req};
    return bare_serve("limit_server", atoi(argv[1]), atoi(argv[2]), &c);
}
