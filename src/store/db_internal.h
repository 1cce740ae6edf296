/* db_internal.h - the driver interface behind db.h; only store/ includes it. */
#ifndef COLONY_STORE_DB_INTERNAL_H
#define COLONY_STORE_DB_INTERNAL_H

#include <pthread.h>

#include "store/db.h"

typedef struct {
    cl_err (*open)(const char *url, db_t **out, cl_error *err);
    void (*close)(db_t *db);
    cl_err (*prepare)(db_t *db, arena_t *a, const char *sql, db_stmt_t **out, cl_error *err);
    void (*finish)(db_stmt_t *st);
    void (*bind)(db_stmt_t *st, int idx, int type, const void *p, size_t len, int64_t i, double d);
    cl_err (*step)(db_stmt_t *st, bool *row, cl_error *err);
    int64_t (*changes)(db_stmt_t *st);
    bool (*is_null)(db_stmt_t *st, int col);
    const char *(*text)(db_stmt_t *st, int col, size_t *len);
    const void *(*blob)(db_stmt_t *st, arena_t *a, int col, size_t *len);
    int64_t (*int64)(db_stmt_t *st, int col);
    double (*dbl)(db_stmt_t *st, int col);
    cl_err (*exec_script)(db_t *db, const char *sql, cl_error *err);
    cl_err (*migration_lock)(db_t *db, bool acquire, cl_error *err);
    cl_err (*notify)(db_t *db, const char *channel, const char *payload, cl_error *err);
    cl_err (*listen)(db_t *db, const char *channel, cl_error *err);
    cl_err (*wait_notify)(db_t *db, int timeout_ms, char *payload, size_t cap, bool *got, cl_error *err);
    cl_err (*checkpoint)(db_t *db, cl_error *err); /* NULL: nothing to do */
    const char *begin_sql;
} db_ops;

/* Bound value types for db_ops.bind. */
enum { DB_T_NULL, DB_T_TEXT, DB_T_INT64, DB_T_DOUBLE, DB_T_BLOB, DB_T_BOOL };

/* Every connection and statement starts with its ops table, so db.c can dispatch without knowing the driver. */
struct db {
    const db_ops *ops;
    db_driver kind;
    int tx_depth;
    char last_error[256]; /* the database's own text of the last failure, for operators (migrations, logs) */
    struct db_hook {
        void (*fn)(void *arg, int64_t value);
        void *arg;
        int64_t value;
        int depth; /* the savepoint level that owns it: released levels hand it to their parent */
    } hooks[DB_MAX_COMMIT_HOOKS]; /* run after the outermost commit, dropped on rollback */
    int nhooks;
    struct db_lock {
        int64_t key;
        bool exclusive;
        int depth;
    } locks[DB_MAX_TX_LOCKS]; /* transaction locks held (PostgreSQL), so that a second ask costs no round trip */
    int nlocks;
    struct db_stmt *open; /* statements prepared and not finished yet (db_reset finishes them) */
    pthread_t owner;      /* the thread that prepared last: a connection is one thread's at a time */
    struct db_notification {
        const char *channel; /* static */
        int64_t value;
    } notify[DB_MAX_NOTIFY_CHANNELS]; /* db_notify_max: sent before the outermost COMMIT */
    int nnotify;
};
struct db_stmt {
    db_t *db;
    bool finished;
    struct db_stmt *prev, *next; /* in db->open while unfinished */
};

extern const db_ops db_sqlite_ops;
extern const db_ops db_pg_ops;

/* SQLite connections opened from now on leave WAL checkpoints to db_checkpoint. */
void db__sqlite_background_checkpoints(bool on);

/* The PostgreSQL driver's bound on one round trip (db_set_timeout). */
void db__pg_set_timeout(long ms);

/* Shared by the drivers: count a database failure and log the database's text (never the bound values). */
cl_err db__fail(db_t *db, cl_error *err, cl_err e, const char *driver, const char *what, const char *detail, const char *sql);
/* The arena cleanup of a statement (both drivers register it): finishes it if still open, on the connection's own
 * thread only. An arena freed on another thread with a statement still open is a bug (the statement's model code
 * forgot db_finish, and the connection may be in use there): debug builds abort, release builds log and leak. */
void db__finish_from_arena(void *st);

/* Highest $N placeholder in `sql` outside quotes; -1 if a placeholder is malformed or out of range. */
int db__max_param(const char *sql);

#endif
