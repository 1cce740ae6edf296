/* seq_horizon.c - see seq_horizon.h.
 *
 * On PostgreSQL a seq is drawn when a transaction inserts and becomes visible when it commits, in any order. A
 * transaction takes its RowExclusiveLock on the table before it draws a seq and keeps it until it ends; so once
 * the last seq drawn (M) has been read, the transactions that may still hold a seq at or below M are among those
 * holding that lock at the next look. When all of those have ended, every seq up to M is committed or lost for
 * good. Transactions that start later draw seqs above M; transactions that write no row of the table hold no such
 * lock and delay nothing. */
#include "model/seq_horizon.h"

#include <string.h>
#include <time.h>

#include "base/time.h"

/* non-transactional: every seq of table $1 drawn so far, committed or not, is at or below it */
static const char SQL_LAST[] =
    "SELECT COALESCE(pg_sequence_last_value(CAST(pg_get_serial_sequence($1, 'seq') AS regclass)), 0)";
/* the other transactions of this database writing table $1 now (a prepared transaction has no pid) */
#define HOLDERS                                                                                                    \
    " FROM pg_locks WHERE locktype = 'relation' AND mode = 'RowExclusiveLock' AND granted"                         \
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"                             \
    " AND relation = CAST($1 AS regclass) AND pid IS DISTINCT FROM pg_backend_pid()"
static const char SQL_HOLDERS[] =
    "SELECT COALESCE(string_agg(virtualtransaction, ','), ''),"
    " count(*) FILTER (WHERE virtualtransaction = ANY(string_to_array($2, ',')))" HOLDERS;
/* those of a list still running (a virtual transaction id is never reused for a later transaction) */
static const char SQL_RUNNING[] = "SELECT COALESCE(string_agg(virtualtransaction, ','), '')" HOLDERS
                                  " AND virtualtransaction = ANY(string_to_array($2, ','))";

/* The one row of `sql` with $1 = the table and $2 = `list` (when not NULL). */
static cl_err read_one(db_t *db, arena_t *a, const char *sql, const char *table, const char *list,
                       const char **text, int64_t *n, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, sql, list ? "ss" : "s", table, list);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK) {
        if (text != NULL)
            *text = db_col_dup(st, a, 0);
        if (n != NULL)
            *n = db_col_int64(st, text != NULL ? 1 : 0);
    }
    db_finish(st);
    return e == CL_NOT_FOUND ? cl_fail(err, CL_INTERNAL, "seq horizon query returned no row") : e;
}

static int64_t proven(seq_horizon *h, int64_t upto)
{
    pthread_mutex_lock(&h->lock);
    if (upto > h->settled)
        h->settled = upto;
    upto = h->settled;
    pthread_mutex_unlock(&h->lock);
    return upto;
}

/* Remember the holders a wait timed out on (cut at a comma: one forgotten costs a wait, no more). */
static void remember_stuck(seq_horizon *h, const char *holders)
{
    pthread_mutex_lock(&h->lock);
    size_t n = strlen(holders);
    if (n >= SEQ_STUCK_MAX) {
        n = SEQ_STUCK_MAX - 1;
        while (n > 0 && holders[n] != ',')
            n--;
    }
    memcpy(h->stuck, holders, n);
    h->stuck[n] = '\0';
    pthread_mutex_unlock(&h->lock);
}

cl_err seq_settled_upto(db_t *db, arena_t *a, seq_horizon *h, int64_t wait_ms, int64_t *upto, cl_error *err)
{
    *upto = INT64_MAX;
    if (db_kind(db) != DB_POSTGRES)
        return CL_OK;
    pthread_mutex_lock(&h->lock);
    const char *known_stuck = arena_strdup(a, h->stuck);
    pthread_mutex_unlock(&h->lock);
    int64_t last, blocked = 0;
    const char *holders = "";
    /* the last seq first: the holders are looked at after it */
    cl_err e = read_one(db, a, SQL_LAST, h->table, NULL, NULL, &last, err);
    if (e == CL_OK)
        e = read_one(db, a, SQL_HOLDERS, h->table, known_stuck, &holders, &blocked, err);
    int64_t deadline = time_mono_ms() + wait_ms, pause_ms = 1;
    while (e == CL_OK && holders[0] != '\0' && blocked == 0 && time_mono_ms() < deadline) {
        struct timespec ts = {0, pause_ms * 1000 * 1000};
        nanosleep(&ts, NULL);
        pause_ms = pause_ms < 16 ? pause_ms * 2 : pause_ms;
        e = read_one(db, a, SQL_RUNNING, h->table, holders, &holders, NULL, err);
    }
    if (e != CL_OK)
        return e;
    if (holders[0] == '\0') {
        *upto = proven(h, last);
        return CL_OK;
    }
    if (blocked == 0) /* this wait timed out: the next reader does not wait for the same transactions */
        remember_stuck(h, holders);
    *upto = proven(h, 0);
    return CL_OK;
}
