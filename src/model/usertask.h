/* usertask.h - user tasks (shared/api/inbox.md §4): an agent asks its user for something ("give me the staging
 * password"); the user resolves it once, done or dismissed. The REST routes and the MCP tools (request_user_action,
 * list_user_tasks, update_user_task, delete_user_task) call these functions, which check every input themselves.
 * A workspace sees and changes only its own tasks: another workspace's task is CL_NOT_FOUND, as an unknown one.
 *
 * Statuses move forward only (pending → done | dismissed), in the schema as in these functions: a resolution is
 * recorded once, with its time, resolver and USER_TASK_RESOLVED event, by resolve or by an update that sets the
 * status; a resolved task is never reopened. */
#ifndef COLONY_MODEL_USERTASK_H
#define COLONY_MODEL_USERTASK_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "model/inbox.h"
#include "store/db.h"

/* One task (arena-owned strings, NULL where the column is NULL; times in ms, 0 = null). workspace_name is filled
 * by the pending list only. */
typedef struct {
    const char *id, *workspace_id, *workspace_name, *title, *detail, *status, *resolved_by;
    int64_t created_at, resolved_at;
} user_task_row;

/* Ask: a pending task of live workspace `workspace_id` (detail NULL or "": none) and USER_TASK_REQUESTED, in one
 * transaction. CL_INVALID for a missing or over-long title or an over-long detail (inbox.h bounds), CL_NOT_FOUND
 * "workspace not found" for a missing or removed workspace. */
cl_err user_task_create(db_t *db, arena_t *a, const char *workspace_id, const char *title, const char *detail,
                        const char **id, cl_error *err);

/* A workspace's tasks, any status, newest first, before `before` (NULL: from the newest), at most `limit`. */
cl_err user_task_list(db_t *db, arena_t *a, const char *workspace_id, const inbox_key *before, int64_t limit,
                      user_task_row **rows, size_t *count, cl_error *err);
/* Pending tasks of every live workspace, with its name, in the same order. */
cl_err user_task_list_pending(db_t *db, arena_t *a, const inbox_key *before, int64_t limit, user_task_row **rows,
                              size_t *count, cl_error *err);

/* Resolve a pending task: `status` done or dismissed (else CL_INVALID "status must be 'done' or 'dismissed'"),
 * `resolved_by` (NULL or "": "human"); USER_TASK_RESOLVED. CL_NOT_FOUND "user task not found or already resolved"
 * when the workspace has no such task, CL_CONFLICT "user task not pending (already resolved)" when it is
 * resolved (once only, whoever races). */
cl_err user_task_resolve(db_t *db, arena_t *a, const char *workspace_id, const char *id, const char *status,
                         const char *resolved_by, cl_error *err);

/* A partial update: NULL leaves a field as it is. */
typedef struct {
    const char *title;  /* non-empty */
    const char *detail; /* "" clears it */
    const char *status; /* pending, done or dismissed */
} user_task_patch;

/* Apply `p` to a task of the workspace. A status outside the three is CL_INVALID "status must be 'pending',
 * 'done' or 'dismissed'"; a move the state machine refuses (a resolved task reopened or re-resolved) is
 * CL_INVALID naming the moves allowed from where it is; pending → done | dismissed resolves it by `resolved_by`
 * (as user_task_resolve, event included). CL_NOT_FOUND "user task not found". */
cl_err user_task_update(db_t *db, arena_t *a, const char *workspace_id, const char *id, const user_task_patch *p,
                        const char *resolved_by, cl_error *err);

/* Delete a task of the workspace, any status. CL_NOT_FOUND "user task not found". */
cl_err user_task_delete(db_t *db, arena_t *a, const char *workspace_id, const char *id, cl_error *err);

/* Removal of workspace `id` (inside its transaction): its pending tasks are dismissed by INBOX_REMOVED_BY, each
 * with USER_TASK_RESOLVED. */
cl_err user_task_on_removed(db_t *db, arena_t *a, const char *id, cl_error *err);

#endif
