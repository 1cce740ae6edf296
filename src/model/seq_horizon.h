/* seq_horizon.h - how far a table paged by its `seq` is settled: the bound an ascending read (a resume cursor)
 * stops at, so that it never hands out a seq while a smaller one may still commit (ARCHITECTURE.md, "The seq
 * horizon"). Used by activity pages and the memory export. */
#ifndef COLONY_MODEL_SEQ_HORIZON_H
#define COLONY_MODEL_SEQ_HORIZON_H

#include <pthread.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "store/db.h"

enum {
    SEQ_SETTLE_WAIT_MS = 1000, /* the longest a read waits for transactions that may hold a smaller seq */
    SEQ_STUCK_MAX = 4096,
};

/* One table's horizon, shared by this process's readers of it (a file-scope static of its model). */
typedef struct seq_horizon {
    const char *table;         /* its `seq` is drawn from its serial sequence */
    pthread_mutex_t lock;      /* guards the two below */
    int64_t settled;           /* the highest bound proven so far: seqs up to it are final forever */
    char stuck[SEQ_STUCK_MAX]; /* virtual transaction ids a wait timed out on, comma-separated */
} seq_horizon;
#define SEQ_HORIZON_INIT(t) {.table = (t), .lock = PTHREAD_MUTEX_INITIALIZER}

/* *upto: every seq of h->table at or below it is committed or never will be. SQLite: INT64_MAX (one writer: seqs
 * commit in order). PostgreSQL: the last seq drawn, once every transaction that may hold a seq up to it (those
 * writing the table when it was read) has ended — waiting up to `wait_ms`, a few ms between looks. Past the wait,
 * the highest bound this process has proven so far (behind the cursor, perhaps: then the page is empty); a
 * transaction a wait already timed out on is not waited for again while it runs. Runs on a worker (it sleeps);
 * `db` not in a transaction. */
cl_err seq_settled_upto(db_t *db, arena_t *a, seq_horizon *h, int64_t wait_ms, int64_t *upto, cl_error *err);

#endif
