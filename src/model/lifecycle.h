/* lifecycle.h - pause, resume, hibernate and restart of a workspace on a platform that runs no containers
 * (surface.md §6, workspaces.md §3.8). There is nothing to stop or start: each is a guarded status change and its
 * event, in one transaction. What the states mean here:
 *   paused      no A2A message is delivered (a push message waits in the busy queue; a2a.h) and liveness leaves it
 *               alone; resume (README difference 13: the reference needs a provisioner) brings it back to online
 *               when its agent heartbeated within the liveness window, else awaiting_agent, and the busy queue
 *               then drains its messages at once;
 *   hibernated  the next A2A message wakes it the same way (the reference's "background restart") and is told to
 *               retry in 15 s.
 * The agent's URL is kept (the reference clears it with the stopped container; here the runtime keeps running), so
 * nothing has to re-register for deliveries to resume. */
#ifndef COLONY_MODEL_LIFECYCLE_H
#define COLONY_MODEL_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "store/db.h"

/* The liveness window (--liveness-stale-after): a resumed or woken workspace whose heartbeat is older is
 * awaiting_agent, not online. Set once at start-up. */
void lifecycle_set_stale_ms(int64_t ms);

/* A workspace named in a refusal. */
typedef struct {
    const char *id, *name;
} lifecycle_ref;

/* Pause the workspace and, with `cascade`, every live descendant not paused yet: status paused and
 * WORKSPACE_PAUSED {name} each; *count receives how many. CL_NOT_FOUND "workspace not found or already paused";
 * without `cascade`, live descendants that are not paused make it CL_CONFLICT with them in *blockers. */
cl_err lifecycle_pause(db_t *db, arena_t *a, const char *id, bool cascade, int64_t *count, lifecycle_ref **blockers,
                       size_t *nblockers, cl_error *err);

/* Resume a paused workspace and, with `cascade`, its paused descendants: each becomes online (heartbeat within the
 * window) or awaiting_agent, with WORKSPACE_ONLINE / WORKSPACE_AWAITING_AGENT {resumed_from: "paused"}, and its
 * queued messages are due at once. *status is the workspace's new status, *count how many resumed.
 * CL_NOT_FOUND "workspace not found or not paused"; CL_CONFLICT when an ancestor is paused (the message names it)
 * or, without `cascade`, when descendants are paused (*blockers). */
cl_err lifecycle_resume(db_t *db, arena_t *a, const char *id, bool cascade, const char **status, int64_t *count,
                        lifecycle_ref **blockers, size_t *nblockers, cl_error *err);

/* online/degraded → hibernated with WORKSPACE_HIBERNATED {name, tier}. CL_NOT_FOUND "workspace not found or not in
 * a hibernatable state (must be online or degraded)"; active tasks without `force`: CL_CONFLICT with
 * *active_tasks. */
cl_err lifecycle_hibernate(db_t *db, arena_t *a, const char *id, bool force, int64_t *active_tasks, cl_error *err);

/* hibernated → online or awaiting_agent, with its event (an A2A message woke it). Nothing when it is not
 * hibernated. In the caller's transaction. */
cl_err lifecycle_wake(db_t *db, arena_t *a, const char *id, cl_error *err);

/* What a restart needs to know: the runtime of a live workspace. CL_NOT_FOUND "workspace not found" (missing or
 * removed); CL_CONFLICT `parent workspace "<name>" is paused — resume it first` when an ancestor is paused. */
cl_err lifecycle_restart_check(db_t *db, arena_t *a, const char *id, const char **runtime, cl_error *err);

#endif
