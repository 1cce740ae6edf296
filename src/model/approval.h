/* approval.h - approvals (shared/api/inbox.md §2-§3): a workspace asks for a human decision on an action; an
 * operator approves or denies it once; the requester may withdraw it while it is pending. The same table gates
 * admin operations: a gated request becomes a pending approval and proceeds, once, when it is repeated after an
 * approval.
 *
 * No self-approval (README difference 11): an approval is never decided by the credential that asked for it, nor
 * by a token of its own workspace — refused here (CL_FORBIDDEN) and by the schema. A decision is recorded once:
 * every status write is one UPDATE guarded by the state machine (inbox_transitions), so of any number of
 * concurrent decisions exactly one changes the row and the others are CL_CONFLICT.
 *
 * Actors are credentials as recorded: "workspace:<id>", "admin-token" or "org-token:<token id>". */
#ifndef COLONY_MODEL_APPROVAL_H
#define COLONY_MODEL_APPROVAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "model/inbox.h"
#include "store/db.h"

/* One approval (arena-owned strings, NULL where the column is NULL; times in ms, 0 = null). workspace_name is
 * filled by the pending list only. */
typedef struct {
    const char *id, *workspace_id, *workspace_name, *task_id, *action, *reason, *status, *decided_by;
    int64_t created_at, decided_at;
} approval_row;

/* What a workspace asks (task_id, reason: NULL store ""; context: a JSON object or NULL for {}). */
typedef struct {
    const char *task_id, *action, *reason;
    const json_t *context;
} approval_spec;

/* Ask: a pending approval of live workspace `workspace_id` by `actor`, APPROVAL_REQUESTED on it and, when it has
 * a parent, APPROVAL_ESCALATED on the parent, in one transaction. CL_INVALID for a missing or over-long field
 * (inbox.h bounds), CL_NOT_FOUND "workspace not found" for a missing or removed workspace. */
cl_err approval_create(db_t *db, arena_t *a, const char *workspace_id, const approval_spec *s, const char *actor,
                       const char **id, cl_error *err);

/* A workspace's approvals, any status, newest first, before `before` (NULL: from the newest), at most `limit`. */
cl_err approval_list(db_t *db, arena_t *a, const char *workspace_id, const inbox_key *before, int64_t limit,
                     approval_row **rows, size_t *count, cl_error *err);
/* Pending approvals of live workspaces, with their workspace's name, in the same order. */
cl_err approval_list_pending(db_t *db, arena_t *a, const inbox_key *before, int64_t limit, approval_row **rows,
                             size_t *count, cl_error *err);

/* Decide approval `id` of `workspace_id`: `decision` approved or denied (else CL_INVALID "decision must be
 * 'approved' or 'denied'"), `decided_by` the decider's name (NULL or "": "human"). CL_NOT_FOUND "approval not found
 * or already decided" when the workspace has no such approval; CL_FORBIDDEN when `actor` asked for it or is its
 * workspace; CL_CONFLICT "approval not pending (already decided or withdrawn)". Records APPROVAL_APPROVED or
 * APPROVAL_DENIED with the decision. */
cl_err approval_decide(db_t *db, arena_t *a, const char *workspace_id, const char *id, const char *decision,
                       const char *decided_by, const char *actor, cl_error *err);

/* The requester pulls a pending approval back: CL_NOT_FOUND "approval not found" (none of that workspace),
 * CL_CONFLICT "approval not pending (already decided or withdrawn)"; records APPROVAL_WITHDRAWN. */
cl_err approval_withdraw(db_t *db, arena_t *a, const char *workspace_id, const char *id, const char *actor,
                         cl_error *err);

/* An admin operation gated behind an approval (inbox.md §3). The approval is anchored on workspace `anchor`
 * (NULL: the live platform root; neither → CL_INVALID) and matched by (anchor, action, SHA-256 of the anchor, the
 * action and the context's canonical JSON). */
typedef struct {
    const char *anchor, *action, *reason, *actor;
    const json_t *context;
} approval_gate;

/* The gated operation, run inside the gate's transaction once an approval has been consumed for it. */
typedef cl_err (*approval_gated_fn)(db_t *db, arena_t *a, void *arg, cl_error *err);

/* Run `fn` if an approved, unconsumed approval matches: the approval is consumed in the same transaction, so a
 * failed operation leaves it unconsumed, and two concurrent requests never both consume one (*pending_id NULL).
 * Otherwise the matching pending approval, or a new one (APPROVAL_REQUESTED, and ESCALATED to the anchor's
 * parent), is the answer: *pending_id names it and nothing else happens. */
cl_err approval_gated(db_t *db, arena_t *a, const approval_gate *g, approval_gated_fn fn, void *arg,
                      const char **pending_id, cl_error *err);

/* Removal of workspace `id` (inside its transaction): its pending approvals are withdrawn by INBOX_REMOVED_BY,
 * each with APPROVAL_WITHDRAWN. */
cl_err approval_on_removed(db_t *db, arena_t *a, const char *id, cl_error *err);

#endif
