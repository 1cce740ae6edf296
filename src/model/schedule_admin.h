/* schedule_admin.h - the operators' views of every schedule (schedules-mcp.md §3, admin rows): their health, the
 * schedules of removed workspaces, and the repair that moves or stops those. */
#ifndef COLONY_MODEL_SCHEDULE_ADMIN_H
#define COLONY_MODEL_SCHEDULE_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "store/db.h"

enum { SCHED_ADMIN_MAX = 20000 }; /* rows of one page of an admin view */

/* A schedule with its workspace, for the admin views. */
typedef struct {
    const char *workspace_id, *workspace_name, *id, *name, *cron_expr, *timezone, *source;
    bool enabled;
    int64_t last_run_at, next_run_at; /* ms, 0 for NULL */
} sched_admin_row;

/* Schedules of live workspaces by workspace name, schedule name and id: those after the schedule `after_id` in that
 * order (NULL: from the first; CL_GONE when that schedule no longer exists), at most `limit`. */
cl_err sched_admin_health(db_t *db, arena_t *a, const char *after_id, int64_t limit, sched_admin_row **rows,
                          size_t *count, cl_error *err);
/* Schedules of removed workspaces by schedule name and id, paged the same way. */
cl_err sched_admin_orphans(db_t *db, arena_t *a, const char *after_id, int64_t limit, sched_admin_row **rows,
                           size_t *count, cl_error *err);

/* Twice the gap between the next two runs after now_ms, in seconds (0 when the expression does not read or has no
 * second run): a run older than that is overdue. */
int64_t sched_stale_threshold_s(const char *expr, const char *timezone, int64_t now_ms);

/* The reference's repair, in one transaction: each runtime schedule of a removed workspace moves to the live
 * workspace most recently updated with the same parent and the same (non-NULL) role, unless it has a schedule of
 * that name or no room left; then every schedule of a removed workspace that is still enabled is disabled. */
cl_err sched_reap_orphans(db_t *db, arena_t *a, int64_t *repointed, int64_t *disabled, cl_error *err);

#endif
