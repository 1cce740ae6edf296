/* delegation.h - the delegation ledger (runtime.md §5): one row per task a workspace hands to another, moving only
 * forward along queued → dispatched → in_progress → completed | failed | stuck. The edges are rows of the
 * delegation_transitions table and every status write is one guarded UPDATE, so a late or repeated update can
 * never move a row backwards, whichever node sends it. Each move is an event on the caller (DELEGATION_*), and the
 * caller's activity log keeps an intent row (activity_type delegation, method delegate) that follows the status. */
#ifndef COLONY_MODEL_DELEGATION_H
#define COLONY_MODEL_DELEGATION_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "store/db.h"

enum {
    DELEG_PREVIEW_MAX = 4096,        /* task and result previews kept in the ledger (bytes, UTF-8 safe) */
    DELEG_TASK_MAX = 256 * 1024,     /* a task longer than this is refused */
    DELEG_ADMIN_LIMIT_MAX = 1000,
    DELEG_DEFAULT_DEADLINE_MS = 6 * 3600 * 1000,
};

typedef struct {
    const char *delegation_id, *caller_id, *callee_id, *task_preview, *status, *result_preview, *error_detail;
    int64_t last_heartbeat, deadline, retry_count, created_at, updated_at; /* last_heartbeat 0: never */
} deleg_row;

/* Record a new delegation from caller to callee: ledger row (queued), intent activity row, DELEGATION_SENT, in one
 * transaction. With an idempotency key already used by this caller, *hit is set and *out is the earlier row
 * (a failed one is replaced by the new delegation). `delegation_id` may be NULL (one is made). CL_INVALID for
 * self-delegation; CL_FORBIDDEN "access denied: workspaces cannot communicate per hierarchy rules" when the
 * hierarchy rule (reg_can_communicate) keeps them apart, whoever asks (the REST routes and the MCP tools);
 * CL_NOT_FOUND when the callee is not a live workspace. */
cl_err deleg_create(db_t *db, arena_t *a, const char *caller, const char *callee, const char *task,
                    const char *delegation_id, const char *idempotency_key, deleg_row *out, bool *hit,
                    cl_error *err);

/* Move a delegation to `status` (events, intent row and, for completed/failed, a delegate_result row follow).
 * Same status again only fills a missing preview or error. A move the state machine refuses changes nothing and
 * sets *moved false (not an error: updates race). `caller` (may be NULL) must own the row; `via` (may be NULL)
 * is added to DELEGATION_COMPLETE. CL_NOT_FOUND when there is no such delegation (of that caller). */
cl_err deleg_set_status(db_t *db, arena_t *a, const char *delegation_id, const char *caller, const char *status,
                        const char *error, const char *preview, const char *via, bool *moved, cl_error *err);

/* The delegation `delegation_id` made by `caller` (NULL: anyone's). CL_NOT_FOUND "delegation not found" otherwise. */
cl_err deleg_get(db_t *db, arena_t *a, const char *delegation_id, const char *caller, deleg_row *out, cl_error *err);

/* The callee holds its open delegations now (their last_heartbeat); later silence is read from its heartbeats. */
cl_err deleg_callee_alive(db_t *db, arena_t *a, const char *callee, cl_error *err);

/* A position in the lists below: they run newest first, by (created_at, delegation_id) descending. */
typedef struct {
    int64_t created_at;
    const char *delegation_id;
} deleg_key;

/* The delegations `caller` made, newest first, those before `before` (NULL: from the newest), at most `limit`. */
cl_err deleg_list(db_t *db, arena_t *a, const char *caller, const deleg_key *before, int64_t limit, deleg_row **rows,
                  size_t *count, cl_error *err);
/* Admin view, in the same order: `filter` is in_flight (queued, dispatched, in_progress), stuck, failed or
 * completed. */
cl_err deleg_admin_list(db_t *db, arena_t *a, const char *filter, const deleg_key *before, int64_t limit,
                        deleg_row **rows, size_t *count, cl_error *err);
/* Rows per status, in the order queued, dispatched, in_progress, completed, failed, stuck. */
extern const char *const DELEG_STATUSES[6];
cl_err deleg_stats(db_t *db, arena_t *a, int64_t counts[6], cl_error *err);

/* The sweeper: open rows past their deadline → failed "deadline exceeded by sweeper"; in_progress rows whose
 * callee has not heartbeaten for stuck_after_ms → stuck "no heartbeat for 10m30s". */
cl_err deleg_sweep(db_t *db, arena_t *a, int64_t stuck_after_ms, int64_t *failed, int64_t *stuck, cl_error *err);

#endif
