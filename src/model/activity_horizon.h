/* activity_horizon.h - how far the activity log is settled: the bound an ascending read (since_id, an ascending
 * cursor) stops at, so that it never hands out a seq while a smaller one may still commit (ARCHITECTURE.md, "The
 * activity horizon"). */
#ifndef COLONY_MODEL_ACTIVITY_HORIZON_H
#define COLONY_MODEL_ACTIVITY_HORIZON_H

#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "store/db.h"

enum { ACTIVITY_SETTLE_WAIT_MS = 1000 }; /* the longest a read waits for transactions that may hold a smaller seq */

/* *upto: every activity seq at or below it is committed or never will be. SQLite: INT64_MAX (one writer: seqs
 * commit in order). PostgreSQL: the last seq drawn, once every transaction that may hold a seq up to it (those
 * writing activity_logs when it was read) has ended — waiting up to `wait_ms`, a few ms between looks. Past the
 * wait, the highest bound this process has proven so far (behind the cursor, perhaps: then the page is empty); a
 * transaction a wait already timed out on is not waited for again while it runs. Runs on a worker (it sleeps);
 * `db` not in a transaction. */
cl_err activity_settled_upto(db_t *db, arena_t *a, int64_t wait_ms, int64_t *upto, cl_error *err);

#endif
