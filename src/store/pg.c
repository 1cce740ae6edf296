/* pg.c - the PostgreSQL driver over libpq: parameters travel as text (blobs as binary bytea), results come back
 * as text. Every round trip is bounded: the connection is non-blocking and each statement waits for its result at
 * most db_timeout_ms (a database that hangs, say a stopped server, fails the statement instead of the thread); the
 * server gets the same bound as its statement_timeout. A connection that timed out or broke is reset before the
 * next statement that runs outside a transaction; inside one, the transaction is lost and fails at once. */
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/db_internal.h"

enum { PG_BYTEA_OID = 17, PG_MIGRATION_LOCK_KEY = 0x636f6c6e /* "coln" */ };

/* Statements are prepared once per connection (named "c<slot>") and executed by name afterwards. */
enum { PG_CACHE_SLOTS = 128 };

typedef struct {
    char *sql; /* heap copy; NULL = free slot */
    uint64_t last_use;
} pg_cached;

typedef struct {
    struct db base;
    PGconn *h;
    bool broken; /* a statement timed out: the session's state is unknown */
    pg_cached cache[PG_CACHE_SLOTS];
    uint64_t clock;
} pg_db;

static long round_trip_ms = DB_DEFAULT_TIMEOUT_MS; /* set once at start-up (db_set_timeout) */

void db__pg_set_timeout(long ms) { round_trip_ms = ms; }

typedef struct {
    struct db_stmt base;
    const char *sql;
    arena_t *arena;
    int nparams;
    const char **values;
    int *lengths, *formats;
    Oid *types;
    PGresult *res;
    int row, nrows;
    int64_t changes;
} pg_stmt;

static cl_err fail_res(db_t *db, cl_error *err, PGresult *res, PGconn *h, const char *what, const char *sql)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    cl_err e = CL_UNAVAILABLE;
    if (state != NULL && strcmp(state, "23505") == 0)
        e = CL_CONFLICT;
    else if (state != NULL && strncmp(state, "23", 2) == 0)
        e = CL_INVALID;
    const char *detail = res ? PQresultErrorMessage(res) : PQerrorMessage(h);
    return db__fail(db, err, e, "postgres", what, detail && *detail ? detail : PQerrorMessage(h), sql);
}

static void quiet_notices(void *arg, const char *msg) { (void)arg, (void)msg; }

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Connect with the keepalive and connect-timeout settings colony wants; the URL's own parameters win. */
static PGconn *connect_url(const char *url)
{
    char timeout[24];
    snprintf(timeout, sizeof(timeout), "%ld", (round_trip_ms + 999) / 1000 < 2 ? 2 : (round_trip_ms + 999) / 1000);
    const char *keys[] = {"connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval",
                          "keepalives_count", "application_name", "dbname", NULL};
    const char *vals[] = {timeout, "1", "10", "5", "3", "colony", url, NULL};
    return PQconnectdbParams(keys, vals, 1);
}

static PGresult *await(pg_db *p, bool sent);

/* Session settings every connection gets, and again after every reset. */
static bool configure(pg_db *p)
{
    PQsetNoticeProcessor(p->h, quiet_notices, NULL);
    if (PQsetnonblocking(p->h, 1) != 0)
        return false;
    char sql[64];
    snprintf(sql, sizeof(sql), "SET statement_timeout = %ld", round_trip_ms);
    PGresult *r = await(p, PQsendQuery(p->h, sql) == 1);
    bool ok = r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    return ok;
}

static cl_err pg_open(const char *url, db_t **out, cl_error *err)
{
    pg_db *p = xcalloc(1, sizeof(*p));
    p->base.ops = &db_pg_ops;
    p->base.kind = DB_POSTGRES;
    p->h = connect_url(url);
    if (PQstatus(p->h) != CONNECTION_OK || !configure(p)) {
        char msg[200];
        snprintf(msg, sizeof(msg), "%s", p->broken ? "no answer in time" : PQerrorMessage(p->h));
        msg[strcspn(msg, "\n")] = '\0';
        PQfinish(p->h);
        free(p);
        return cl_fail(err, CL_UNAVAILABLE, "cannot connect to PostgreSQL: %s", msg);
    }
    *out = &p->base;
    return CL_OK;
}

static void forget_prepared(pg_db *p)
{
    for (int i = 0; i < PG_CACHE_SLOTS; i++) {
        free(p->cache[i].sql);
        p->cache[i].sql = NULL;
    }
}

static void pg_close(db_t *db)
{
    pg_db *p = (pg_db *)db;
    forget_prepared(p);
    PQfinish(p->h);
    free(p);
}

/* Outside a transaction a dead or timed-out connection is worth one reset; inside one the transaction is lost. */
static void revive(pg_db *p)
{
    if ((p->broken || PQstatus(p->h) == CONNECTION_BAD) && p->base.tx_depth == 0) {
        forget_prepared(p); /* a new session has none of them */
        PQreset(p->h);
        p->broken = false;
        p->broken = PQstatus(p->h) != CONNECTION_OK || !configure(p);
    }
}

static bool failed(const PGresult *r)
{
    ExecStatusType s = PQresultStatus(r);
    return s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK && s != PGRES_EMPTY_QUERY;
}

/* Wait until the socket is readable (and writable, while `out` says libpq still has bytes to send), or the deadline
 * passes: false then. */
static bool wait_socket(pg_db *p, bool out, int64_t deadline)
{
    int64_t left = deadline - mono_ms();
    if (left <= 0)
        return false;
    struct pollfd pfd = {PQsocket(p->h), (short)(POLLIN | (out ? POLLOUT : 0)), 0};
    if (pfd.fd < 0)
        return false;
    int rc = poll(&pfd, 1, (int)(left > INT32_MAX ? INT32_MAX : left));
    return rc > 0 || (rc < 0 && errno == EINTR);
}

/* The outcome of the query just sent (PQsend*): its last result, or its first error, as PQexec would give; NULL
 * when the deadline passed (the connection is then marked broken: its state is unknown) or it broke. */
static PGresult *await(pg_db *p, bool sent)
{
    int64_t deadline = mono_ms() + round_trip_ms;
    if (!sent)
        return NULL;
    int flush;
    while ((flush = PQflush(p->h)) == 1) {
        if (!wait_socket(p, true, deadline) || !PQconsumeInput(p->h))
            goto timed_out;
    }
    if (flush < 0)
        return NULL;
    PGresult *keep = NULL;
    for (;;) {
        while (PQisBusy(p->h)) {
            if (!wait_socket(p, false, deadline))
                goto timed_out_with;
            if (!PQconsumeInput(p->h))
                break; /* the connection broke: PQgetResult reports it */
        }
        PGresult *r = PQgetResult(p->h);
        if (r == NULL)
            return keep;
        if (keep != NULL && failed(keep)) { /* the first error is the outcome, as with PQexec */
            PQclear(r);
        } else {
            PQclear(keep);
            keep = r;
        }
    }
timed_out_with:
    PQclear(keep);
timed_out:
    p->broken = true;
    return NULL;
}

/* A failure without a result: timed out, broken, or refused to send. */
static cl_err fail_io(pg_db *p, cl_error *err, const char *what, const char *sql)
{
    char detail[160];
    if (p->broken)
        snprintf(detail, sizeof(detail), "no answer within %ld ms", round_trip_ms);
    else
        snprintf(detail, sizeof(detail), "%s", PQerrorMessage(p->h));
    return db__fail(&p->base, err, CL_UNAVAILABLE, "postgres", what, detail, sql);
}

static cl_err pg_exec_script(db_t *db, const char *sql, cl_error *err)
{
    pg_db *p = (pg_db *)db;
    revive(p);
    if (p->broken)
        return fail_io(p, err, "exec", sql);
    PGresult *res = await(p, PQsendQuery(p->h, sql) == 1);
    if (res == NULL)
        return fail_io(p, err, "exec", sql);
    ExecStatusType s = PQresultStatus(res);
    cl_err e = CL_OK;
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
        e = fail_res(db, err, res, p->h, "exec", sql);
    else if (strcmp(sql, "COMMIT") == 0 && strcmp(PQcmdStatus(res), "ROLLBACK") == 0) /* it had failed already */
        e = db__fail(db, err, CL_UNAVAILABLE, "postgres", "commit", "the transaction was rolled back", sql);
    PQclear(res);
    return e;
}

static void pg_finish(db_stmt_t *stmt)
{
    pg_stmt *st = (pg_stmt *)stmt;
    PQclear(st->res);
    st->res = NULL;
}


static cl_err pg_prepare(db_t *db, arena_t *a, const char *sql, db_stmt_t **out, cl_error *err)
{
    int n = db__max_param(sql);
    *out = NULL;
    if (n < 0)
        return cl_fail(err, CL_INTERNAL, "malformed placeholder in SQL");
    pg_stmt *st = arena_calloc(a, 1, sizeof(*st));
    st->base.db = db;
    st->sql = sql;
    st->arena = a;
    st->nparams = n;
    st->values = arena_calloc(a, (size_t)n + 1, sizeof(*st->values));
    st->lengths = arena_calloc(a, (size_t)n + 1, sizeof(*st->lengths));
    st->formats = arena_calloc(a, (size_t)n + 1, sizeof(*st->formats));
    st->types = arena_calloc(a, (size_t)n + 1, sizeof(*st->types));
    st->row = -1;
    arena_defer(a, db__finish_from_arena, st);
    *out = &st->base;
    return CL_OK;
}

static void pg_bind(db_stmt_t *stmt, int idx, int type, const void *p, size_t len, int64_t i, double d)
{
    pg_stmt *st = (pg_stmt *)stmt;
    if (idx < 1 || idx > st->nparams)
        return;
    int k = idx - 1;
    st->formats[k] = 0;
    st->types[k] = 0;
    switch (type) {
    case DB_T_TEXT:
        st->values[k] = arena_strndup(st->arena, p, len); /* libpq wants NUL-terminated text */
        break;
    case DB_T_BLOB:
        st->values[k] = p;
        st->lengths[k] = (int)len;
        st->formats[k] = 1;
        st->types[k] = PG_BYTEA_OID;
        break;
    case DB_T_INT64:
    case DB_T_BOOL:
        st->values[k] = arena_sprintf(st->arena, "%lld", (long long)i);
        break;
    case DB_T_DOUBLE:
        st->values[k] = arena_sprintf(st->arena, "%.17g", d);
        break;
    default:
        st->values[k] = NULL;
    }
}

/* The slot of st's SQL, preparing it there first if needed; -1 to run it unprepared, -2 on failure. A prepare
 * inside a failed transaction would fail too, so the cache is only filled when the session is healthy. */
static int prepared_slot(pg_db *p, pg_stmt *st, cl_error *err)
{
    int victim = -1;
    for (int i = 0; i < PG_CACHE_SLOTS; i++) {
        if (p->cache[i].sql != NULL && strcmp(p->cache[i].sql, st->sql) == 0) {
            p->cache[i].last_use = ++p->clock;
            return i;
        }
        if (victim < 0 || p->cache[i].sql == NULL ||
            (p->cache[victim].sql != NULL && p->cache[i].last_use < p->cache[victim].last_use))
            victim = i;
    }
    if (PQtransactionStatus(p->h) == PQTRANS_INERROR)
        return -1;
    char name[16];
    snprintf(name, sizeof(name), "c%d", victim);
    if (p->cache[victim].sql != NULL) { /* evict: the name is reused */
        char sql[48];
        snprintf(sql, sizeof(sql), "DEALLOCATE %s", name);
        PQclear(await(p, PQsendQuery(p->h, sql) == 1));
        if (p->broken)
            return -2;
        free(p->cache[victim].sql);
        p->cache[victim].sql = NULL;
    }
    PGresult *res = await(p, PQsendPrepare(p->h, name, st->sql, st->nparams, st->types) == 1);
    if (res == NULL) {
        fail_io(p, err, "prepare", st->sql);
        return -2;
    }
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        fail_res(st->base.db, err, res, p->h, "prepare", st->sql);
        PQclear(res);
        return -2;
    }
    PQclear(res);
    p->cache[victim].sql = xstrdup(st->sql);
    p->cache[victim].last_use = ++p->clock;
    return victim;
}

static cl_err pg_step(db_stmt_t *stmt, bool *row, cl_error *err)
{
    pg_stmt *st = (pg_stmt *)stmt;
    pg_db *p = (pg_db *)stmt->db;
    *row = false;
    if (st->res == NULL) {
        revive(p);
        if (p->broken)
            return fail_io(p, err, "step", st->sql);
        int slot = prepared_slot(p, st, err);
        if (slot == -2)
            return CL_UNAVAILABLE;
        if (slot >= 0) {
            char name[16];
            snprintf(name, sizeof(name), "c%d", slot);
            st->res = await(p, PQsendQueryPrepared(p->h, name, st->nparams, st->values, st->lengths, st->formats,
                                                   0) == 1);
        } else {
            st->res = await(p, PQsendQueryParams(p->h, st->sql, st->nparams, st->types, st->values, st->lengths,
                                                 st->formats, 0) == 1);
        }
        if (st->res == NULL)
            return fail_io(p, err, "step", st->sql);
        ExecStatusType s = PQresultStatus(st->res);
        if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
            cl_err e = fail_res(stmt->db, err, st->res, p->h, "step", st->sql);
            PQclear(st->res);
            st->res = NULL;
            return e;
        }
        st->nrows = PQntuples(st->res);
        const char *ct = PQcmdTuples(st->res);
        st->changes = ct && *ct ? strtoll(ct, NULL, 10) : 0;
        st->row = -1;
    }
    if (st->row + 1 < st->nrows) {
        st->row++;
        *row = true;
        return CL_OK;
    }
    /* done: the next step re-executes, as an SQLite statement would after its reset */
    PQclear(st->res);
    st->res = NULL;
    return CL_OK;
}

static int64_t pg_changes(db_stmt_t *st) { return ((pg_stmt *)st)->changes; }

static bool pg_is_null(db_stmt_t *stmt, int col)
{
    pg_stmt *st = (pg_stmt *)stmt;
    return st->res == NULL || PQgetisnull(st->res, st->row, col);
}

static const char *pg_text(db_stmt_t *stmt, int col, size_t *len)
{
    pg_stmt *st = (pg_stmt *)stmt;
    if (pg_is_null(stmt, col)) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = (size_t)PQgetlength(st->res, st->row, col);
    return PQgetvalue(st->res, st->row, col);
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static const void *pg_blob(db_stmt_t *stmt, arena_t *a, int col, size_t *len)
{
    size_t n;
    const char *t = pg_text(stmt, col, &n);
    *len = 0;
    if (t == NULL)
        return NULL;
    if (n < 2 || t[0] != '\\' || t[1] != 'x') /* bytea_output = hex is the server default since 9.0 */
        return NULL;
    size_t out_len = (n - 2) / 2;
    unsigned char *out = arena_alloc(a, out_len);
    for (size_t i = 0; i < out_len; i++) {
        int hi = hexval(t[2 + 2 * i]), lo = hexval(t[3 + 2 * i]);
        if (hi < 0 || lo < 0)
            return NULL;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    *len = out_len;
    return out;
}

static int64_t pgd_int64(db_stmt_t *stmt, int col)
{
    const char *t = pg_text(stmt, col, NULL);
    if (t == NULL)
        return 0;
    if (t[0] == 't' || t[0] == 'f')
        return t[0] == 't';
    return strtoll(t, NULL, 10);
}

static double pgd_double(db_stmt_t *stmt, int col)
{
    const char *t = pg_text(stmt, col, NULL);
    return t ? strtod(t, NULL) : 0;
}

static cl_err pg_migration_lock(db_t *db, bool acquire, cl_error *err)
{
    char sql[80];
    snprintf(sql, sizeof(sql), "SELECT pg_advisory_%s(%d)", acquire ? "lock" : "unlock", PG_MIGRATION_LOCK_KEY);
    return pg_exec_script(db, sql, err);
}

static cl_err pg_notify(db_t *db, const char *channel, const char *payload, cl_error *err)
{
    pg_db *p = (pg_db *)db;
    const char *values[2] = {channel, payload};
    PGresult *res = await(p, PQsendQueryParams(p->h, "SELECT pg_notify($1, $2)", 2, NULL, values, NULL, NULL, 0) == 1);
    if (res == NULL)
        return fail_io(p, err, "notify", "pg_notify");
    cl_err e = PQresultStatus(res) == PGRES_TUPLES_OK ? CL_OK : fail_res(db, err, res, p->h, "notify", "pg_notify");
    PQclear(res);
    return e;
}

static cl_err pg_listen(db_t *db, const char *channel, cl_error *err)
{
    pg_db *p = (pg_db *)db;
    char *ident = PQescapeIdentifier(p->h, channel, strlen(channel));
    if (ident == NULL)
        return cl_fail(err, CL_INVALID, "bad channel name");
    char sql[128];
    snprintf(sql, sizeof(sql), "LISTEN %s", ident);
    PQfreemem(ident);
    return pg_exec_script(db, sql, err);
}

static cl_err pg_wait_notify(db_t *db, int timeout_ms, char *payload, size_t cap, bool *got, cl_error *err)
{
    pg_db *p = (pg_db *)db;
    *got = false;
    PGnotify *n = PQnotifies(p->h);
    if (n == NULL) {
        struct pollfd pfd = {PQsocket(p->h), POLLIN, 0};
        if (pfd.fd < 0)
            return cl_fail(err, CL_UNAVAILABLE, "PostgreSQL connection lost");
        int rc = poll(&pfd, 1, timeout_ms);
        if (rc < 0)
            return errno == EINTR ? CL_OK : cl_fail(err, CL_UNAVAILABLE, "poll failed");
        if (rc == 0)
            return CL_OK;
        if (!PQconsumeInput(p->h))
            return fail_res(db, err, NULL, p->h, "listen", "LISTEN");
        n = PQnotifies(p->h);
    }
    if (n != NULL) {
        snprintf(payload, cap, "%s", n->extra);
        *got = true;
        PQfreemem(n);
    }
    return CL_OK;
}

const db_ops db_pg_ops = {
    .open = pg_open,
    .close = pg_close,
    .prepare = pg_prepare,
    .finish = pg_finish,
    .bind = pg_bind,
    .step = pg_step,
    .changes = pg_changes,
    .is_null = pg_is_null,
    .text = pg_text,
    .blob = pg_blob,
    .int64 = pgd_int64,
    .dbl = pgd_double,
    .exec_script = pg_exec_script,
    .migration_lock = pg_migration_lock,
    .notify = pg_notify,
    .listen = pg_listen,
    .wait_notify = pg_wait_notify,
    .checkpoint = NULL, /* the server checkpoints itself */
    .begin_sql = "BEGIN",
};
