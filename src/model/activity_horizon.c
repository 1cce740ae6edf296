/* activity_horizon.c - see activity_horizon.h.
 *
 * On PostgreSQL a seq is drawn when a transaction inserts and becomes visible when it commits, in any order. A
 * transaction takes its RowExclusiveLock on activity_logs before it draws a seq and keeps it until it ends; so once
 * the last seq drawn (M) has been read, the transactions that may still hold a seq at or below M are among those
 * holding that lock at the next look. When all of those have ended, every seq up to M is committed or lost for
 * good. Transactions that start later draw seqs above M; transactions that write no activity row (an import) hold
 * no such lock and delay nothing. */
#include "model/activity_horizon.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "base/time.h"

enum { STUCK_MAX = 4096 };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t settled;       /* the highest bound proven so far: seqs up to it are final forever */
static char stuck[STUCK_MAX]; /* virtual transaction ids a wait timed out on, comma-separated */

/* non-transactional: every seq drawn so far, committed or not, is at or below it */
static const char SQL_LAST[] =
    "SELECT COALESCE(pg_sequence_last_value(CAST(pg_get_serial_sequence('activity_logs', 'seq') AS regclass)), 0)";
/* the other transactions of this database writing activity_logs now (a prepared transaction has no pid) */
#define HOLDERS                                                                                                    \
    " FROM pg_locks WHERE locktype = 'relation' AND mode = 'RowExclusiveLock' AND granted"                         \
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"                             \
    " AND relation = CAST('activity_logs' AS regclass) AND pid IS DISTINCT FROM pg_backend_pid()"
static const char SQL_HOLDERS[] =
    "SELECT COALESCE(string_agg(virtualtransaction, ','), ''),"
    " count(*) FILTER (WHERE virtualtransaction = ANY(string_to_array($1, ',')))" HOLDERS;
/* those of a list still running (a virtual transaction id is never reused for a later transaction) */
static const char SQL_RUNNING[] = "SELECT COALESCE(string_agg(virtualtransaction, ','), '')" HOLDERS
                                  " AND virtualtransaction = ANY(string_to_array($1, ','))";

static cl_err read_one(db_t *db, arena_t *a, const char *sql, const char *arg, const char **text, int64_t *n,
                       cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, sql, arg ? "s" : "", arg);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK) {
        if (text != NULL)
            *text = db_col_dup(st, a, 0);
        if (n != NULL)
            *n = db_col_int64(st, text != NULL ? 1 : 0);
    }
    db_finish(st);
    return e == CL_NOT_FOUND ? cl_fail(err, CL_INTERNAL, "activity horizon query returned no row") : e;
}

static int64_t proven(int64_t upto)
{
    pthread_mutex_lock(&lock);
    if (upto > settled)
        settled = upto;
    upto = settled;
    pthread_mutex_unlock(&lock);
    return upto;
}

/* Remember the holders a wait timed out on (cut at a comma: one forgotten costs a wait, no more). */
static void remember_stuck(const char *holders)
{
    pthread_mutex_lock(&lock);
    size_t n = strlen(holders);
    if (n >= STUCK_MAX) {
        n = STUCK_MAX - 1;
        while (n > 0 && holders[n] != ',')
            n--;
    }
    memcpy(stuck, holders, n);
    stuck[n] = '\0';
    pthread_mutex_unlock(&lock);
}

cl_err activity_settled_upto(db_t *db, arena_t *a, int64_t wait_ms, int64_t *upto, cl_error *err)
{
    *upto = INT64_MAX;
    if (db_kind(db) != DB_POSTGRES)
        return CL_OK;
    pthread_mutex_lock(&lock);
    const char *known_stuck = arena_strdup(a, stuck);
    pthread_mutex_unlock(&lock);
    int64_t last, blocked = 0;
    const char *holders = "";
    cl_err e = read_one(db, a, SQL_LAST, NULL, NULL, &last, err); /* first: holders are looked at after it */
    if (e == CL_OK)
        e = read_one(db, a, SQL_HOLDERS, known_stuck, &holders, &blocked, err);
    int64_t deadline = time_mono_ms() + wait_ms, pause_ms = 1;
    while (e == CL_OK && holders[0] != '\0' && blocked == 0 && time_mono_ms() < deadline) {
        struct timespec ts = {0, pause_ms * 1000 * 1000};
        nanosleep(&ts, NULL);
        pause_ms = pause_ms < 16 ? pause_ms * 2 : pause_ms;
        e = read_one(db, a, SQL_RUNNING, holders, &holders, NULL, err);
    }
    if (e != CL_OK)
        return e;
    if (holders[0] == '\0') {
        *upto = proven(last);
        return CL_OK;
    }
    if (blocked == 0) /* this wait timed out: the next reader does not wait for the same transactions */
        remember_stuck(holders);
    *upto = proven(0);
    return CL_OK;
}
