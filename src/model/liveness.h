/* liveness.h - truthful status without Redis (difference 9): staleness is computed from last_heartbeat_at. */
#ifndef COLONY_MODEL_LIVENESS_H
#define COLONY_MODEL_LIVENESS_H

#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "store/db.h"

enum { LIVENESS_DEFAULT_STALE_S = 180, PHANTOM_BUSY_IDLE_MS = 10 * 60 * 1000 };

/* Flip every online/degraded workspace whose heartbeat is older than `stale_ms` to offline (awaiting_agent for
 * external-like runtimes), one WORKSPACE_OFFLINE event each. Each flip is a guarded UPDATE, so sweepers on several
 * nodes never flip (or record) a row twice. *flipped receives how many moved. */
cl_err liveness_sweep(db_t *db, arena_t *a, int64_t stale_ms, int64_t *flipped, cl_error *err);

/* Reset active_tasks/current_task of live workspaces that report work but logged no activity for `idle_ms`. */
cl_err liveness_reset_phantom_busy(db_t *db, arena_t *a, int64_t idle_ms, int64_t *reset, cl_error *err);

#endif
