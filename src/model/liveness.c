/* liveness.c - see liveness.h. */
#include "model/liveness.h"

#include <string.h>

#include "base/time.h"
#include "model/event.h"
#include "model/workspace.h"

static const char SQL_STALE[] =
    "SELECT id, runtime, status FROM workspaces WHERE status IN ('online', 'degraded')"
    " AND COALESCE(last_heartbeat_at, updated_at) < $1 ORDER BY id LIMIT 1000";
static const char SQL_FLIP[] =
    "UPDATE workspaces SET status = $2, updated_at = $4 WHERE id = $1 AND status = $3"
    " AND COALESCE(last_heartbeat_at, updated_at) < $5";
static const char SQL_PHANTOM[] =
    "UPDATE workspaces SET active_tasks = 0, current_task = '', updated_at = $1"
    " WHERE active_tasks > 0 AND status <> 'removed' AND COALESCE(last_activity_at, 0) < $2"
    " AND COALESCE(last_heartbeat_at, 0) < $2";

cl_err liveness_sweep(db_t *db, arena_t *a, int64_t stale_ms, int64_t *flipped, cl_error *err)
{
    int64_t now = time_now_ms(), cutoff = now - stale_ms;
    *flipped = 0;
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_STALE, "i", cutoff);
    const char **ids = NULL, **runtimes = NULL, **statuses = NULL;
    size_t n = 0, c1 = 0, c2 = 0, c3 = 0;
    bool row = true;
    while (e == CL_OK && (e = db_step(st, &row, err)) == CL_OK && row) {
        ids = arena_grow(a, ids, n, &c1, sizeof(char *));
        runtimes = arena_grow(a, runtimes, n, &c2, sizeof(char *));
        statuses = arena_grow(a, statuses, n, &c3, sizeof(char *));
        ids[n] = db_col_dup(st, a, 0);
        runtimes[n] = db_col_dup(st, a, 1);
        statuses[n++] = db_col_dup(st, a, 2);
    }
    db_finish(st);
    for (size_t i = 0; e == CL_OK && i < n; i++) {
        const char *to = ws_runtime_external_like(runtimes[i]) ? "awaiting_agent" : "offline";
        if ((e = db_tx_begin(db, err)) != CL_OK)
            break;
        int64_t changed = 0;
        e = db_run(db, a, &changed, err, SQL_FLIP, "sssii", ids[i], to, statuses[i], now, cutoff);
        if (e == CL_OK && changed == 1) {
            const char *payload = arena_sprintf(a, "{\"reason\":\"heartbeat stale\",\"stale_after_s\":%lld,"
                                                   "\"status\":\"%s\"}",
                                                (long long)(stale_ms / 1000), to);
            e = event_record(db, a, EV_WORKSPACE_OFFLINE, ids[i], payload, NULL, err);
        }
        if (e == CL_OK && (e = db_tx_commit(db, err)) == CL_OK)
            *flipped += changed;
        else
            db_tx_rollback(db);
    }
    return e;
}

cl_err liveness_reset_phantom_busy(db_t *db, arena_t *a, int64_t idle_ms, int64_t *reset, cl_error *err)
{
    int64_t now = time_now_ms();
    return db_run(db, a, reset, err, SQL_PHANTOM, "ii", now, now - idle_ms);
}
