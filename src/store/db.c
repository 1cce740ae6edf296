/* db.c - driver dispatch and the helpers both drivers share. */
#include "store/db.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "base/metrics.h"
#include "store/db_internal.h"

void db_set_timeout(long ms) { db__pg_set_timeout(ms); }
void db_set_background_checkpoints(bool on) { db__sqlite_background_checkpoints(on); }

cl_err db_checkpoint(db_t *db, cl_error *err) { return db->ops->checkpoint ? db->ops->checkpoint(db, err) : CL_OK; }

bool db_url_is_postgres(const char *url)
{
    return strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0;
}

cl_err db_open(const char *url, db_t **out, cl_error *err)
{
    *out = NULL;
    if (db_url_is_postgres(url))
        return db_pg_ops.open(url, out, err);
    if (strncmp(url, "sqlite:", 7) == 0)
        url += 7;
    if (*url == '\0')
        return cl_fail(err, CL_INVALID, "empty database path");
    return db_sqlite_ops.open(url, out, err);
}

void db_close(db_t *db)
{
    if (db != NULL)
        db->ops->close(db);
}

db_driver db_kind(const db_t *db) { return db->kind; }

cl_err db_prepare(db_t *db, arena_t *a, const char *sql, db_stmt_t **out, cl_error *err)
{
    *out = NULL; /* SQLite's own contract: on failure the statement is NULL, and db_finish(NULL) does nothing */
    cl_err e = db->ops->prepare(db, a, sql, out, err);
    if (e != CL_OK) {
        *out = NULL;
        return e;
    }
    db_stmt_t *st = *out;
    db->owner = pthread_self();
    st->prev = NULL;
    st->next = db->open;
    if (db->open != NULL)
        db->open->prev = st;
    db->open = st;
    return CL_OK;
}

void db_finish(db_stmt_t *st)
{
    if (st != NULL && !st->finished) {
        st->finished = true;
        db_t *db = st->db;
        if (st->prev != NULL)
            st->prev->next = st->next;
        else
            db->open = st->next;
        if (st->next != NULL)
            st->next->prev = st->prev;
        db->ops->finish(st);
    }
}

void db__finish_from_arena(void *p)
{
    db_stmt_t *st = p;
    if (st->finished)
        return;
    if (!pthread_equal(st->db->owner, pthread_self())) {
        log_error("a statement was left open and its arena freed on another thread", NULL);
        assert(!"statement finished from another thread");
        return;
    }
    db_finish(st);
}

void db_reset(db_t *db)
{
    while (db->open != NULL)
        db_finish(db->open);
    if (db->tx_depth > 0) {
        log_error("a transaction was left open; rolling it back", "depth=%d", db->tx_depth);
        while (db->tx_depth > 0)
            db_tx_rollback(db);
    }
}

void db_bind_text(db_stmt_t *st, int idx, const char *s, size_t len)
{
    st->db->ops->bind(st, idx, s == NULL ? DB_T_NULL : DB_T_TEXT, s, len, 0, 0);
}

void db_bind_str(db_stmt_t *st, int idx, const char *s) { db_bind_text(st, idx, s, s == NULL ? 0 : strlen(s)); }
void db_bind_int64(db_stmt_t *st, int idx, int64_t v) { st->db->ops->bind(st, idx, DB_T_INT64, NULL, 0, v, 0); }
void db_bind_double(db_stmt_t *st, int idx, double v) { st->db->ops->bind(st, idx, DB_T_DOUBLE, NULL, 0, 0, v); }
void db_bind_bool(db_stmt_t *st, int idx, bool v) { st->db->ops->bind(st, idx, DB_T_BOOL, NULL, 0, v, 0); }
void db_bind_null(db_stmt_t *st, int idx) { st->db->ops->bind(st, idx, DB_T_NULL, NULL, 0, 0, 0); }

void db_bind_blob(db_stmt_t *st, int idx, const void *p, size_t len)
{
    st->db->ops->bind(st, idx, p == NULL ? DB_T_NULL : DB_T_BLOB, p, len, 0, 0);
}

cl_err db_step(db_stmt_t *st, bool *row, cl_error *err) { return st->db->ops->step(st, row, err); }

cl_err db_exec(db_stmt_t *st, cl_error *err)
{
    bool row = true;
    cl_err e = CL_OK;
    while (row && (e = db_step(st, &row, err)) == CL_OK) {
    }
    return e;
}

cl_err db_one(db_stmt_t *st, cl_error *err)
{
    bool row;
    cl_err e = db_step(st, &row, err);
    if (e != CL_OK)
        return e;
    return row ? CL_OK : cl_fail(err, CL_NOT_FOUND, "no row");
}

int64_t db_changes(db_stmt_t *st) { return st->db->ops->changes(st); }
bool db_col_is_null(db_stmt_t *st, int col) { return st->db->ops->is_null(st, col); }
const char *db_col_text(db_stmt_t *st, int col) { return st->db->ops->text(st, col, NULL); }

int64_t db_col_int64(db_stmt_t *st, int col) { return st->db->ops->int64(st, col); }
double db_col_double(db_stmt_t *st, int col) { return st->db->ops->dbl(st, col); }

bool db_col_bool(db_stmt_t *st, int col)
{
    const char *t = db_col_text(st, col); /* SQLite gives "0"/"1", PostgreSQL booleans give "f"/"t" */
    return t != NULL && (t[0] == 't' || (t[0] >= '1' && t[0] <= '9'));
}

const void *db_col_blob(db_stmt_t *st, arena_t *a, int col, size_t *len)
{
    return st->db->ops->blob(st, a, col, len);
}

char *db_col_dup(db_stmt_t *st, arena_t *a, int col)
{
    size_t len = 0;
    const char *t = st->db->ops->text(st, col, &len);
    return t == NULL ? NULL : arena_strndup(a, t, len);
}

cl_err db_exec_script(db_t *db, const char *sql, cl_error *err) { return db->ops->exec_script(db, sql, err); }


/* Transactions nest: the outermost is BEGIN/COMMIT, inner ones are savepoints, so a model function that runs
 * "in a transaction" composes with a caller that already holds one (org import around the resolver). */
cl_err db_tx_begin(db_t *db, cl_error *err)
{
    char sql[48];
    if (db->tx_depth == 0)
        snprintf(sql, sizeof(sql), "%s", db->ops->begin_sql);
    else
        snprintf(sql, sizeof(sql), "SAVEPOINT colony_sp%d", db->tx_depth);
    cl_err e = db_exec_script(db, sql, err);
    if (e == CL_OK)
        db->tx_depth++;
    return e;
}

/* Hooks and locks are kept per savepoint level, as the database keeps them: a RELEASE hands the released level's
 * entries to its parent, a ROLLBACK TO drops them, and only the outermost COMMIT makes them real. */

void db_after_commit(db_t *db, void (*fn)(void *arg, int64_t value), void *arg, int64_t value)
{
    if (db->tx_depth == 0) {
        fn(arg, value);
        return;
    }
    for (int i = 0; i < db->nhooks; i++) {
        struct db_hook *h = &db->hooks[i];
        if (h->fn == fn && h->arg == arg && h->depth == db->tx_depth) {
            if (value > h->value)
                h->value = value;
            return;
        }
    }
    if (db->nhooks == DB_MAX_COMMIT_HOOKS) { /* hook kinds × nesting depth: cannot happen; a wake-up early is benign */
        log_warn("too many commit hooks; running one early", NULL);
        fn(arg, value);
        return;
    }
    db->hooks[db->nhooks++] = (struct db_hook){fn, arg, value, db->tx_depth};
}

/* RELEASE of level `depth`: its hooks and locks now belong to depth - 1 (merged with what is already there). */
static void hand_to_parent(db_t *db, int depth)
{
    int k = 0;
    for (int i = 0; i < db->nhooks; i++) {
        struct db_hook h = db->hooks[i];
        if (h.depth == depth) {
            h.depth = depth - 1;
            int j = 0;
            while (j < k && !(db->hooks[j].fn == h.fn && db->hooks[j].arg == h.arg && db->hooks[j].depth == h.depth))
                j++;
            if (j < k) {
                if (h.value > db->hooks[j].value)
                    db->hooks[j].value = h.value;
                continue;
            }
        }
        db->hooks[k++] = h;
    }
    db->nhooks = k;
    for (int i = 0; i < db->nlocks; i++)
        if (db->locks[i].depth == depth)
            db->locks[i].depth = depth - 1; /* a duplicate entry is harmless: lookups take any match */
}

/* ROLLBACK (TO SAVEPOINT) of level `depth`: what it and its inner levels registered is gone. */
static void drop_level(db_t *db, int depth)
{
    int k = 0;
    for (int i = 0; i < db->nhooks; i++)
        if (db->hooks[i].depth < depth)
            db->hooks[k++] = db->hooks[i];
    db->nhooks = k;
    k = 0;
    for (int i = 0; i < db->nlocks; i++)
        if (db->locks[i].depth < depth)
            db->locks[k++] = db->locks[i];
    db->nlocks = k;
}

static void run_hooks(db_t *db)
{
    int n = db->nhooks;
    db->nhooks = 0;
    db->nlocks = 0; /* transaction locks end with the transaction */
    for (int i = 0; i < n; i++)
        db->hooks[i].fn(db->hooks[i].arg, db->hooks[i].value);
}

/* The notifications a transaction asked for, sent just before it commits (NOTIFY is delivered at commit). */
static cl_err send_notifications(db_t *db, cl_error *err)
{
    cl_err e = CL_OK;
    for (int i = 0; i < db->nnotify && e == CL_OK; i++) {
        char text[24];
        snprintf(text, sizeof(text), "%lld", (long long)db->notify[i].value);
        e = db->ops->notify(db, db->notify[i].channel, text, err);
    }
    db->nnotify = 0;
    return e;
}

cl_err db_notify_max(db_t *db, const char *channel, int64_t value, cl_error *err)
{
    if (db->tx_depth == 0) {
        char text[24];
        snprintf(text, sizeof(text), "%lld", (long long)value);
        return db->ops->notify(db, channel, text, err);
    }
    for (int i = 0; i < db->nnotify; i++) {
        if (db->notify[i].channel == channel || strcmp(db->notify[i].channel, channel) == 0) {
            if (value > db->notify[i].value)
                db->notify[i].value = value;
            return CL_OK;
        }
    }
    if (db->nnotify == DB_MAX_NOTIFY_CHANNELS) {
        char text[24];
        snprintf(text, sizeof(text), "%lld", (long long)value);
        return db->ops->notify(db, channel, text, err);
    }
    db->notify[db->nnotify++] = (struct db_notification){channel, value};
    return CL_OK;
}

cl_err db_tx_commit(db_t *db, cl_error *err)
{
    char sql[48];
    if (db->tx_depth == 1)
        snprintf(sql, sizeof(sql), "COMMIT");
    else
        snprintf(sql, sizeof(sql), "RELEASE SAVEPOINT colony_sp%d", db->tx_depth - 1);
    cl_err e = db->tx_depth == 1 ? send_notifications(db, err) : CL_OK;
    if (e == CL_OK)
        e = db_exec_script(db, sql, err);
    if (e != CL_OK) {
        db_tx_rollback(db);
        return e;
    }
    if (db->tx_depth > 1)
        hand_to_parent(db, db->tx_depth);
    db->tx_depth--;
    if (db->tx_depth == 0)
        run_hooks(db);
    return CL_OK;
}

void db_tx_rollback(db_t *db)
{
    if (db->tx_depth == 0)
        return;
    cl_error ignored;
    char sql[96];
    if (db->tx_depth == 1)
        snprintf(sql, sizeof(sql), "ROLLBACK");
    else
        snprintf(sql, sizeof(sql), "ROLLBACK TO SAVEPOINT colony_sp%d; RELEASE SAVEPOINT colony_sp%d",
                 db->tx_depth - 1, db->tx_depth - 1);
    db_exec_script(db, sql, &ignored);
    drop_level(db, db->tx_depth);
    if (db->tx_depth == 1)
        db->nnotify = 0; /* a savepoint's may stay: a notification that names nothing new only wakes a reader */
    db->tx_depth--;
}

cl_err db_tx_end(db_t *db, cl_err e, cl_error *err)
{
    if (e == CL_OK)
        return db_tx_commit(db, err);
    db_tx_rollback(db);
    return e;
}

bool db_in_tx(const db_t *db) { return db->tx_depth > 0; }

cl_err db_migration_lock(db_t *db, bool acquire, cl_error *err) { return db->ops->migration_lock(db, acquire, err); }

cl_err db__fail(db_t *db, cl_error *err, cl_err e, const char *driver, const char *what, const char *detail,
                const char *sql)
{
    char qd[512], qs[256];
    if (db != NULL) {
        snprintf(db->last_error, sizeof(db->last_error), "%s", detail);
        db->last_error[strcspn(db->last_error, "\n")] = '\0';
    }
    if (e != CL_CONFLICT && e != CL_INVALID)
        metric_inc(METRIC_DB_ERRORS);
    log_emit(e == CL_CONFLICT ? LOG_DEBUG : LOG_WARN, "database error", "driver=%s op=%s detail=\"%s\" sql=\"%s\"",
             driver, what, log_quote(qd, sizeof(qd), detail, strlen(detail)),
             log_quote(qs, sizeof(qs), sql ? sql : "", sql ? strlen(sql) : 0));
    switch (e) {
    case CL_CONFLICT:
        return cl_fail(err, e, "unique constraint violated");
    case CL_INVALID:
        return cl_fail(err, e, "constraint violated");
    default:
        return cl_fail(err, e, "database unavailable");
    }
}

int db__max_param(const char *sql)
{
    int max = 0;
    char quote = 0;
    for (const char *p = sql; *p; p++) {
        if (quote) {
            if (*p == quote)
                quote = 0;
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
        } else if (*p == '$' && p[1] >= '0' && p[1] <= '9') {
            int n = 0;
            while (p[1] >= '0' && p[1] <= '9') {
                n = n * 10 + (*++p - '0');
                if (n > DB_MAX_PARAMS)
                    return -1;
            }
            if (n == 0)
                return -1;
            if (n > max)
                max = n;
        }
    }
    return max;
}

const char *db_last_error(const db_t *db) { return db->last_error; }

static void bind_va(db_stmt_t *st, const char *types, va_list ap)
{
    for (int i = 0; types[i] != '\0'; i++) {
        switch (types[i]) {
        case 's':
            db_bind_str(st, i + 1, va_arg(ap, const char *));
            break;
        case 'i':
            db_bind_int64(st, i + 1, va_arg(ap, int64_t));
            break;
        case 'd':
            db_bind_double(st, i + 1, va_arg(ap, double));
            break;
        case 'b':
            db_bind_bool(st, i + 1, va_arg(ap, int));
            break;
        default:
            db_bind_null(st, i + 1);
        }
    }
}

cl_err db_query(db_t *db, arena_t *a, db_stmt_t **out, cl_error *err, const char *sql, const char *types, ...)
{
    cl_err e = db_prepare(db, a, sql, out, err); /* *out is NULL on failure: db_finish(NULL) is a no-op */
    if (e != CL_OK)
        return e;
    va_list ap;
    va_start(ap, types);
    bind_va(*out, types, ap);
    va_end(ap);
    return CL_OK;
}

cl_err db_run(db_t *db, arena_t *a, int64_t *changes, cl_error *err, const char *sql, const char *types, ...)
{
    db_stmt_t *st;
    cl_err e = db_prepare(db, a, sql, &st, err);
    if (e != CL_OK)
        return e;
    va_list ap;
    va_start(ap, types);
    bind_va(st, types, ap);
    va_end(ap);
    if ((e = db_exec(st, err)) == CL_OK && changes != NULL)
        *changes = db_changes(st);
    db_finish(st);
    return e;
}

/* Take transaction lock `key` (PostgreSQL advisory; SQLite's BEGIN IMMEDIATE already serialises writers), unless
 * this transaction already holds it at least as strongly: a 5,000-node import asks once per node. */
static cl_err tx_lock(db_t *db, int64_t key, bool exclusive, cl_error *err)
{
    if (db->kind != DB_POSTGRES || db->tx_depth == 0)
        return CL_OK;
    for (int i = 0; i < db->nlocks; i++)
        if (db->locks[i].key == key && (db->locks[i].exclusive || !exclusive))
            return CL_OK;
    arena_t *a = arena_new();
    cl_err e = db_run(db, a, NULL, err,
                      exclusive ? "SELECT pg_advisory_xact_lock($1)" : "SELECT pg_advisory_xact_lock_shared($1)", "i",
                      key);
    arena_free(a);
    if (e == CL_OK && db->nlocks < DB_MAX_TX_LOCKS) /* past the cap we only lose the shortcut */
        db->locks[db->nlocks++] = (struct db_lock){key, exclusive, db->tx_depth};
    return e;
}

cl_err db_tx_lock(db_t *db, int64_t key, cl_error *err) { return tx_lock(db, key, true, err); }
cl_err db_tx_lock_shared(db_t *db, int64_t key, cl_error *err) { return tx_lock(db, key, false, err); }

int64_t db_lock_key(uint16_t tag, const char *id)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const char *p = id; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return (int64_t)((uint64_t)tag << 48 | (h & 0xFFFFFFFFFFFFULL));
}

cl_err db_notify(db_t *db, const char *channel, const char *payload, cl_error *err)
{
    return db->ops->notify(db, channel, payload, err);
}

cl_err db_listen(db_t *db, const char *channel, cl_error *err) { return db->ops->listen(db, channel, err); }

cl_err db_wait_notify(db_t *db, int timeout_ms, char *payload, size_t cap, bool *got, cl_error *err)
{
    return db->ops->wait_notify(db, timeout_ms, payload, cap, got, err);
}
