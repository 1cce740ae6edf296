/* pgnotify.h - multi-node fan-out: a thread LISTENs on the event channel with its own PostgreSQL connection and
 * raises this node's hub for every id another node committed. After a lost connection it reconnects and raises
 * the hub to the newest id in the table, so subscribers (cursors into the log) catch up on whatever they missed. */
#ifndef COLONY_BUS_PGNOTIFY_H
#define COLONY_BUS_PGNOTIFY_H

#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "store/db.h"

typedef struct pgnotify pgnotify_t;

/* The newest committed event id, read on the listener's own connection (the application's, e.g. event_latest_id). */
typedef cl_err (*pgnotify_latest_fn)(db_t *db, arena_t *a, int64_t *id, cl_error *err);

/* Start listening on `channel` of `db_url` (a postgres:// URL). NULL with err set when the thread cannot start. */
pgnotify_t *pgnotify_start(const char *db_url, const char *channel, pgnotify_latest_fn latest, cl_error *err);
/* Stop, join, free. NULL is a no-op. */
void pgnotify_stop(pgnotify_t *p);

#endif
