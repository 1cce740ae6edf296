/* db.h - one SQL API over two drivers (SQLite and PostgreSQL). A db_t is one connection, used by one thread at a
 * time. SQL is written once, with PostgreSQL-style placeholders ($1, $2, …), and every value is bound.
 *
 * Results: CL_OK; CL_NOT_FOUND only from db_one when there is no row; CL_CONFLICT for a unique violation;
 * CL_INVALID for another constraint violation; CL_UNAVAILABLE for anything else the database says (connection,
 * lock, serialization...). The database's own text is logged, never handed to clients. */
#ifndef COLONY_STORE_DB_H
#define COLONY_STORE_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"

typedef enum { DB_SQLITE, DB_POSTGRES } db_driver;

typedef struct db db_t;
typedef struct db_stmt db_stmt_t;

enum {
    DB_MAX_PARAMS = 4096,
    DB_BUSY_TIMEOUT_MS = 5000,
    DB_MAX_COMMIT_HOOKS = 64,
    DB_MAX_TX_LOCKS = 16,
    DB_DEFAULT_TIMEOUT_MS = 10000,
    DB_MAX_NOTIFY_CHANNELS = 4,
};

/* How long one PostgreSQL connect or statement may take before it fails with CL_UNAVAILABLE (process-wide; set
 * once before connections are opened). SQLite waits for its file lock up to DB_BUSY_TIMEOUT_MS. */
void db_set_timeout(long ms);

/* SQLite: connections opened from now on do not copy the write-ahead log back into the database themselves (a
 * writer that crosses the threshold would do it inside its commit, with an fsync, while every other writer waits);
 * a background thread calls db_checkpoint instead. Process-wide, set once at start-up. */
void db_set_background_checkpoints(bool on);
/* Copy what the write-ahead log holds back into the database without waiting for anyone (SQLite's PASSIVE
 * checkpoint); nothing to do on PostgreSQL. */
cl_err db_checkpoint(db_t *db, cl_error *err);

/* Open a connection to `url`: "postgres://…"/"postgresql://…" (libpq), else a SQLite file path (an optional
 * "sqlite:" prefix is stripped). *out is the caller's, closed with db_close. */
cl_err db_open(const char *url, db_t **out, cl_error *err);
void db_close(db_t *db);
db_driver db_kind(const db_t *db);
/* True when `url` names PostgreSQL. */
bool db_url_is_postgres(const char *url);

/* Prepare `sql` (static or arena-owned text that outlives the statement). The statement is owned by `a`: it is
 * finalised when the arena is freed, or earlier by db_finish (or db_reset). *out is NULL on failure, and
 * db_finish(NULL) does nothing, so callers may finish unconditionally. */
cl_err db_prepare(db_t *db, arena_t *a, const char *sql, db_stmt_t **out, cl_error *err);
void db_finish(db_stmt_t *st);
/* Put a connection back in shape between two jobs of a worker thread: finish every statement still open (so an
 * arena freed later, on another thread, never touches this connection) and roll back a transaction left open (a
 * bug, logged). */
void db_reset(db_t *db);

/* Bind parameter $idx (1-based). Text and blobs are not copied: they must outlive the statement's execution. */
void db_bind_text(db_stmt_t *st, int idx, const char *s, size_t len);
void db_bind_str(db_stmt_t *st, int idx, const char *s); /* NULL binds SQL NULL */
void db_bind_int64(db_stmt_t *st, int idx, int64_t v);
void db_bind_double(db_stmt_t *st, int idx, double v);
void db_bind_bool(db_stmt_t *st, int idx, bool v);
void db_bind_blob(db_stmt_t *st, int idx, const void *p, size_t len);
void db_bind_null(db_stmt_t *st, int idx);

/* Advance to the next row: *row is true while there is one. */
cl_err db_step(db_stmt_t *st, bool *row, cl_error *err);
/* Run to completion, ignoring rows. */
cl_err db_exec(db_stmt_t *st, cl_error *err);
/* Step once and expect a row: CL_NOT_FOUND when there is none. */
cl_err db_one(db_stmt_t *st, cl_error *err);
/* Rows changed by the last execution of `st`. */
int64_t db_changes(db_stmt_t *st);

/* Column access on the current row (0-based). Text is NUL-terminated and lives until the next step. */
bool db_col_is_null(db_stmt_t *st, int col);
const char *db_col_text(db_stmt_t *st, int col); /* NULL for SQL NULL */
int64_t db_col_int64(db_stmt_t *st, int col);
double db_col_double(db_stmt_t *st, int col);
bool db_col_bool(db_stmt_t *st, int col);
/* Blob bytes copied into `a` (SQL NULL gives NULL, len 0). */
const void *db_col_blob(db_stmt_t *st, arena_t *a, int col, size_t *len);
/* Text copied into `a`, or NULL for SQL NULL. */
char *db_col_dup(db_stmt_t *st, arena_t *a, int col);

/* Prepare `sql` and bind one argument per letter of `types`, in order from $1: 's' const char * (NULL binds SQL
 * NULL), 'i' int64_t, 'd' double, 'b' bool (as int), 'n' SQL NULL (no argument). The statement is ready to step;
 * on failure *out is NULL, as with db_prepare. */
cl_err db_query(db_t *db, arena_t *a, db_stmt_t **out, cl_error *err, const char *sql, const char *types, ...);
/* The same, run to completion; *changes (may be NULL) receives the rows changed. */
cl_err db_run(db_t *db, arena_t *a, int64_t *changes, cl_error *err, const char *sql, const char *types, ...);

/* SQL both drivers understand alike beyond the standard: colony_count(text, pattern), the number of
 * non-overlapping occurrences of pattern in text, left to right (0 for an empty pattern; SQLite registers it on
 * every connection, PostgreSQL gets it from migration 0025). */

/* Run a parameterless script of one or more statements (migrations). */
cl_err db_exec_script(db_t *db, const char *sql, cl_error *err);

/* Transactions. The outermost begin takes the write lock at once on SQLite (BEGIN IMMEDIATE) so that two writers
 * never deadlock on lock upgrade; a begin inside a transaction opens a savepoint, so transactional functions
 * compose. rollback never fails loudly: it is the cleanup path. */
cl_err db_tx_begin(db_t *db, cl_error *err);
cl_err db_tx_commit(db_t *db, cl_error *err);
void db_tx_rollback(db_t *db);
/* End the transaction begun with db_tx_begin: commit when `e` is CL_OK, else roll back. Returns the outcome. */
cl_err db_tx_end(db_t *db, cl_err e, cl_error *err);
bool db_in_tx(const db_t *db);

/* Run fn(arg, value) once the work in progress is durable: at once outside a transaction, after the outermost
 * COMMIT inside one, never if it (or a savepoint that registered it) rolls back. A hook belongs to the savepoint
 * level that registered it; releasing the savepoint hands it to the enclosing level, so a later rollback of a
 * sibling savepoint does not drop it. Hooks with the same fn and arg coalesce to the largest value of the levels
 * that survive, so a thousand events in one transaction wake subscribers once. */
void db_after_commit(db_t *db, void (*fn)(void *arg, int64_t value), void *arg, int64_t value);

/* The database's own text of the last failure on this connection (for operators; never sent to clients). */
const char *db_last_error(const db_t *db);

/* Inside a transaction: serialise with every other transaction that takes the same key, across processes
 * (PostgreSQL transaction advisory lock, held to the end of the transaction or the rollback of the savepoint that
 * took it; SQLite's BEGIN IMMEDIATE already serialises writers). The shared form excludes only the exclusive one:
 * many transactions may hold it at once, none while another holds the key exclusively. Taking a lock the
 * transaction already holds (as strongly) costs nothing. Outside a transaction both do nothing. */
cl_err db_tx_lock(db_t *db, int64_t key, cl_error *err);
cl_err db_tx_lock_shared(db_t *db, int64_t key, cl_error *err);
/* The lock key of one object of a family: `tag` (two letters naming the family) above 48 bits of the FNV-1a hash
 * of its id. Keys of different objects may collide: they then only take turns needlessly. */
int64_t db_lock_key(uint16_t tag, const char *id);

/* Cross-node signals. notify inside a transaction is delivered when it commits (PostgreSQL NOTIFY); on SQLite,
 * a single-node database, it is a no-op. listen/wait_notify are PostgreSQL-only (CL_INVALID elsewhere):
 * wait_notify blocks up to timeout_ms and sets *got with the payload (truncated to cap) when one arrived. */
cl_err db_notify(db_t *db, const char *channel, const char *payload, cl_error *err);
cl_err db_listen(db_t *db, const char *channel, cl_error *err);
/* Notify `channel` (a static string) with the largest `value` asked for: inside a transaction, once, just before
 * the outermost COMMIT (so a transaction that writes a thousand events notifies once); outside one, at once. A
 * savepoint rolled back may leave its value in: a notification only wakes a reader, which reads what committed. */
cl_err db_notify_max(db_t *db, const char *channel, int64_t value, cl_error *err);
cl_err db_wait_notify(db_t *db, int timeout_ms, char *payload, size_t cap, bool *got, cl_error *err);

/* Hold a cross-process lock that serialises schema migrations (PostgreSQL advisory lock; SQLite's own write
 * lock needs nothing). */
cl_err db_migration_lock(db_t *db, bool acquire, cl_error *err);

#endif
