/* sqlite.c - the SQLite driver: WAL, foreign keys on, a busy timeout, $N placeholders rewritten to ?N. */
#define _GNU_SOURCE /* memmem */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "store/db_internal.h"

/* Prepared statements are kept per connection, keyed by their SQL text: parsing and planning happen once. */
enum { SQ_CACHE_SLOTS = 128 };

typedef struct {
    char *sql; /* heap copy; NULL = free slot */
    sqlite3_stmt *h;
    bool busy; /* handed to a live db_stmt_t */
    uint64_t last_use;
} sq_cached;

typedef struct {
    struct db base;
    sqlite3 *h;
    sq_cached cache[SQ_CACHE_SLOTS];
    uint64_t clock;
} sq_db;

typedef struct {
    struct db_stmt base;
    sqlite3_stmt *h;
    int64_t changes;
    const char *sql;
    sq_cached *slot; /* NULL: not cached, finalised when done */
} sq_stmt;

static cl_err fail(db_t *db, cl_error *err, sqlite3 *h, int rc, const char *what, const char *sql)
{
    cl_err e;
    switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        e = CL_CONFLICT;
        break;
    default:
        e = (rc & 0xFF) == SQLITE_CONSTRAINT ? CL_INVALID : CL_UNAVAILABLE;
    }
    return db__fail(db, err, e, "sqlite", what, h ? sqlite3_errmsg(h) : sqlite3_errstr(rc), sql);
}

static void sq_close(db_t *db)
{
    sq_db *s = (sq_db *)db;
    for (int i = 0; i < SQ_CACHE_SLOTS; i++) {
        sqlite3_finalize(s->cache[i].h);
        free(s->cache[i].sql);
    }
    sqlite3_close_v2(s->h);
    sqlite3_free(s);
}

static cl_err sq_exec_script(db_t *db, const char *sql, cl_error *err)
{
    sq_db *s = (sq_db *)db;
    int rc = sqlite3_exec(s->h, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? CL_OK : fail(db, err, s->h, sqlite3_extended_errcode(s->h), "exec", sql);
}

static bool background_checkpoints; /* set once at start-up */

void db__sqlite_background_checkpoints(bool on) { background_checkpoints = on; }

static cl_err sq_checkpoint(db_t *db, cl_error *err)
{
    sq_db *s = (sq_db *)db;
    int rc = sqlite3_wal_checkpoint_v2(s->h, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return rc == SQLITE_OK || rc == SQLITE_BUSY ? CL_OK
                                                : fail(db, err, s->h, sqlite3_extended_errcode(s->h), "checkpoint", "");
}

/* colony_count(text, pattern): how many times `pattern` occurs in `text`, without overlaps, left to right (0 for an
 * empty pattern, NULL for a NULL argument) - what PostgreSQL's colony_count of migration 0025 computes with
 * replace(), counted here without building the replaced copy. */
static void count_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL || sqlite3_value_type(argv[1]) == SQLITE_NULL) {
        sqlite3_result_null(ctx);
        return;
    }
    const char *t = (const char *)sqlite3_value_text(argv[0]), *p = (const char *)sqlite3_value_text(argv[1]);
    size_t n = (size_t)sqlite3_value_bytes(argv[0]), k = (size_t)sqlite3_value_bytes(argv[1]);
    int64_t hits = 0;
    for (const char *at = t; k > 0 && t != NULL && p != NULL && (at = memmem(at, n - (size_t)(at - t), p, k)) != NULL;
         at += k)
        hits++;
    sqlite3_result_int64(ctx, hits);
}

static cl_err sq_open(const char *path, db_t **out, cl_error *err)
{
    sqlite3 *h = NULL;
    int rc = sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        cl_fail(err, CL_UNAVAILABLE, "cannot open SQLite database %s: %s", path,
                h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
        sqlite3_close_v2(h);
        return CL_UNAVAILABLE;
    }
    sqlite3_extended_result_codes(h, 1);
    sqlite3_busy_timeout(h, DB_BUSY_TIMEOUT_MS);
    sqlite3_create_function(h, "colony_count", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
                            count_fn, NULL, NULL);
    sq_db *s = sqlite3_malloc(sizeof(*s));
    if (s == NULL) {
        sqlite3_close_v2(h);
        return cl_fail(err, CL_INTERNAL, "out of memory");
    }
    memset(s, 0, sizeof(*s));
    s->base.ops = &db_sqlite_ops;
    s->base.kind = DB_SQLITE;
    s->h = h;
    cl_error e2;
    if (sq_exec_script(&s->base,
                       "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                       " PRAGMA temp_store=MEMORY;",
                       &e2) != CL_OK) {
        cl_fail(err, CL_UNAVAILABLE, "cannot configure SQLite database %s: %s", path, sqlite3_errmsg(h));
        sq_close(&s->base);
        return CL_UNAVAILABLE;
    }
    if (background_checkpoints)
        sqlite3_wal_autocheckpoint(h, 0); /* a thread of its own copies the WAL back (db_checkpoint), not a writer */
    *out = &s->base;
    return CL_OK;
}

static void sq_finish(db_stmt_t *stmt)
{
    sq_stmt *st = (sq_stmt *)stmt;
    if (st->slot == NULL) {
        sqlite3_finalize(st->h);
        return;
    }
    sqlite3_reset(st->h);
    sqlite3_clear_bindings(st->h);
    st->slot->busy = false;
}

/* A free cached statement for `sql`, or the slot to keep a new one in (the least recently used idle one). */
static sq_cached *cache_find(sq_db *s, const char *sql, bool *hit)
{
    sq_cached *victim = NULL;
    *hit = false;
    for (int i = 0; i < SQ_CACHE_SLOTS; i++) {
        sq_cached *c = &s->cache[i];
        if (c->sql != NULL && !c->busy && strcmp(c->sql, sql) == 0) {
            *hit = true;
            return c;
        }
        if (!c->busy && (victim == NULL || c->sql == NULL || (victim->sql != NULL && c->last_use < victim->last_use)))
            victim = c;
    }
    return victim;
}


/* Rewrite $N to ?N outside quotes: SQLite's ?NNN is exactly a numbered parameter. */
static char *rewrite(arena_t *a, const char *sql)
{
    size_t n = strlen(sql);
    char *out = arena_alloc(a, n + 1), quote = 0;
    for (size_t i = 0; i <= n; i++) {
        char c = sql[i];
        if (quote) {
            if (c == quote)
                quote = 0;
        } else if (c == '\'' || c == '"') {
            quote = c;
        } else if (c == '$' && sql[i + 1] >= '0' && sql[i + 1] <= '9') {
            c = '?';
        }
        out[i] = c;
    }
    return out;
}

static cl_err sq_prepare(db_t *db, arena_t *a, const char *sql, db_stmt_t **out, cl_error *err)
{
    sq_db *s = (sq_db *)db;
    *out = NULL;
    if (db__max_param(sql) < 0)
        return cl_fail(err, CL_INTERNAL, "malformed placeholder in SQL");
    sq_stmt *st = arena_calloc(a, 1, sizeof(*st));
    bool hit;
    sq_cached *slot = cache_find(s, sql, &hit);
    if (hit) {
        st->h = slot->h;
    } else {
        int rc = sqlite3_prepare_v3(s->h, rewrite(a, sql), -1, slot ? SQLITE_PREPARE_PERSISTENT : 0, &st->h, NULL);
        if (rc != SQLITE_OK)
            return fail(db, err, s->h, sqlite3_extended_errcode(s->h), "prepare", sql);
        if (slot != NULL) {
            sqlite3_finalize(slot->h);
            free(slot->sql);
            slot->sql = xstrdup(sql);
            slot->h = st->h;
        }
    }
    if (slot != NULL) {
        slot->busy = true;
        slot->last_use = ++s->clock;
        st->slot = slot;
    }
    st->base.db = db;
    st->sql = sql;
    arena_defer(a, db__finish_from_arena, st);
    *out = &st->base;
    return CL_OK;
}

static void sq_bind(db_stmt_t *stmt, int idx, int type, const void *p, size_t len, int64_t i, double d)
{
    sqlite3_stmt *h = ((sq_stmt *)stmt)->h;
    switch (type) {
    case DB_T_TEXT:
        sqlite3_bind_text64(h, idx, p, len, SQLITE_STATIC, SQLITE_UTF8);
        break;
    case DB_T_BLOB:
        sqlite3_bind_blob64(h, idx, p, len, SQLITE_STATIC);
        break;
    case DB_T_INT64:
    case DB_T_BOOL:
        sqlite3_bind_int64(h, idx, i);
        break;
    case DB_T_DOUBLE:
        sqlite3_bind_double(h, idx, d);
        break;
    default:
        sqlite3_bind_null(h, idx);
    }
}

static cl_err sq_step(db_stmt_t *stmt, bool *row, cl_error *err)
{
    sq_stmt *st = (sq_stmt *)stmt;
    sqlite3 *h = ((sq_db *)stmt->db)->h;
    int rc = sqlite3_step(st->h);
    if (rc == SQLITE_ROW) {
        *row = true;
        return CL_OK;
    }
    *row = false;
    if (rc == SQLITE_DONE) {
        st->changes = sqlite3_changes64(h);
        sqlite3_reset(st->h); /* release read locks now, not when the arena goes */
        return CL_OK;
    }
    int ext = sqlite3_extended_errcode(h);
    sqlite3_reset(st->h);
    return fail(stmt->db, err, h, ext, "step", st->sql);
}

static int64_t sq_changes(db_stmt_t *st) { return ((sq_stmt *)st)->changes; }
static bool sq_is_null(db_stmt_t *st, int col) { return sqlite3_column_type(((sq_stmt *)st)->h, col) == SQLITE_NULL; }

static const char *sq_text(db_stmt_t *st, int col, size_t *len)
{
    sqlite3_stmt *h = ((sq_stmt *)st)->h;
    const char *t = (const char *)sqlite3_column_text(h, col);
    if (len != NULL)
        *len = t ? (size_t)sqlite3_column_bytes(h, col) : 0;
    return t;
}

static const void *sq_blob(db_stmt_t *st, arena_t *a, int col, size_t *len)
{
    sqlite3_stmt *h = ((sq_stmt *)st)->h;
    const void *p = sqlite3_column_blob(h, col);
    size_t n = p ? (size_t)sqlite3_column_bytes(h, col) : 0;
    *len = n;
    if (p == NULL)
        return NULL;
    void *copy = arena_alloc(a, n);
    memcpy(copy, p, n);
    return copy;
}

static int64_t sq_int64(db_stmt_t *st, int col) { return sqlite3_column_int64(((sq_stmt *)st)->h, col); }
static double sq_double(db_stmt_t *st, int col) { return sqlite3_column_double(((sq_stmt *)st)->h, col); }

static cl_err sq_migration_lock(db_t *db, bool acquire, cl_error *err)
{
    (void)db, (void)acquire, (void)err; /* each migration runs under BEGIN IMMEDIATE: the write lock serialises */
    return CL_OK;
}

static cl_err sq_notify(db_t *db, const char *channel, const char *payload, cl_error *err)
{
    (void)db, (void)channel, (void)payload, (void)err; /* one file, one node: nobody else to tell */
    return CL_OK;
}

static cl_err sq_listen(db_t *db, const char *channel, cl_error *err)
{
    (void)db, (void)channel;
    return cl_fail(err, CL_INVALID, "LISTEN needs PostgreSQL");
}

static cl_err sq_wait_notify(db_t *db, int timeout_ms, char *payload, size_t cap, bool *got, cl_error *err)
{
    (void)db, (void)timeout_ms, (void)payload, (void)cap;
    *got = false;
    return cl_fail(err, CL_INVALID, "LISTEN needs PostgreSQL");
}

const db_ops db_sqlite_ops = {
    .open = sq_open,
    .close = sq_close,
    .prepare = sq_prepare,
    .finish = sq_finish,
    .bind = sq_bind,
    .step = sq_step,
    .changes = sq_changes,
    .is_null = sq_is_null,
    .text = sq_text,
    .blob = sq_blob,
    .int64 = sq_int64,
    .dbl = sq_double,
    .exec_script = sq_exec_script,
    .migration_lock = sq_migration_lock,
    .notify = sq_notify,
    .listen = sq_listen,
    .wait_notify = sq_wait_notify,
    .checkpoint = sq_checkpoint,
    .begin_sql = "BEGIN IMMEDIATE",
};
