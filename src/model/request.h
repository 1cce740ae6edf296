/* request.h - the requests inbox (shared/api/inbox.md §5-§6): an agent asks a user or another agent for a task or
 * an approval; the recipient answers once (done, approved or rejected), either side may ask for more information
 * in the request's thread, the requester may cancel it while it is open (pending or info_requested). Answers and
 * questions reach an agent requester as a notification turn; an idle agent with requests waiting is nudged.
 *
 * Parties are (type, id): ("agent", workspace id) or ("user", any name; "" is the org's user). On the workspace
 * surface the caller is bound to (agent, :id) — `as_agent` below — and sees only requests it is party to (another
 * request is CL_NOT_FOUND, as an unknown one); operators (`as_agent` NULL) see and answer every request, naming
 * the responder or author themselves. No party answers its own request (schema and model). */
#ifndef COLONY_MODEL_REQUEST_H
#define COLONY_MODEL_REQUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "model/inbox.h"
#include "store/db.h"

enum {
    REQUEST_THREAD_MAX = 200,       /* messages shown with a request: the newest, oldest first */
    REQUEST_NUDGE_AGENTS_MAX = 200, /* agents nudged per sweep */
};

/* One request (arena-owned strings, NULL where the column is NULL; times in ms, 0 = null). workspace_name: the
 * requester agent's workspace, filled by the pending list only (NULL otherwise). */
typedef struct {
    const char *id, *kind, *requester_type, *requester_id, *org_id, *recipient_type, *recipient_id, *title, *detail,
        *status, *responder_type, *responder_id, *workspace_name;
    bool has_priority;
    int64_t priority, created_at, updated_at, responded_at;
} request_row;

typedef struct {
    const char *id, *request_id, *author_type, *author_id, *body;
    int64_t created_at;
} request_msg;

/* What an agent asks. recipient_id NULL is "". */
typedef struct {
    const char *kind, *recipient_type, *recipient_id, *title, *detail;
    bool has_priority;
    int64_t priority;
} request_spec;

/* Agent `requester` (a live workspace, else CL_NOT_FOUND "workspace not found") asks: REQUEST_CREATED in the same
 * transaction. CL_INVALID "request: kind must be 'task' or 'approval'", "request: type must be 'user' or 'agent'",
 * for a bad title, detail, recipient id or priority, and for a request to itself; an agent recipient must be a live
 * workspace (CL_NOT_FOUND "recipient workspace not found") the requester may talk to (CL_FORBIDDEN, the hierarchy
 * rule of A2A). The request's org is the requester's root. */
cl_err request_create(db_t *db, arena_t *a, const char *requester, const request_spec *s, const char **id,
                      cl_error *err);

typedef enum { REQUEST_OUTGOING, REQUEST_INCOMING } request_side;
/* The requests agent `agent` made (OUTGOING) or was asked (INCOMING), newest first, with `status` (NULL: any;
 * else one of the six, or CL_INVALID naming them), before `before` (NULL: from the newest), at most `limit`. */
cl_err request_list(db_t *db, arena_t *a, request_side side, const char *agent, const char *status,
                    const inbox_key *before, int64_t limit, request_row **rows, size_t *count, cl_error *err);
/* Open requests (pending, info_requested) of every party, newest first: of `kind` (NULL: both; else task or
 * approval, or CL_INVALID "kind must be 'task' or 'approval'") and org `org_id` (NULL: any). */
cl_err request_list_pending(db_t *db, arena_t *a, const char *kind, const char *org_id, const inbox_key *before,
                            int64_t limit, request_row **rows, size_t *count, cl_error *err);

/* A request and its thread (the newest REQUEST_THREAD_MAX messages, oldest first). CL_NOT_FOUND "request not
 * found" also when `as_agent` is not a party. */
cl_err request_get(db_t *db, arena_t *a, const char *id, const char *as_agent, request_row *row, request_msg **msgs,
                   size_t *count, cl_error *err);

/* Answer an open request with `action` (approval: approved | rejected; task: done | rejected). On the workspace
 * surface the responder is (agent, as_agent), who must be its recipient (another party: CL_FORBIDDEN "not the
 * recipient"); operators name it (type NULL or "": user, else user | agent; id NULL or "": "human"). CL_NOT_FOUND
 * "request not found or already resolved", CL_INVALID "request: responder cannot be the requester" or "request:
 * invalid action for this request kind", CL_CONFLICT "request not pending (already resolved)" for the loser of a
 * race and every later answer. REQUEST_RESPONDED, and a notification turn to an agent requester. */
cl_err request_respond(db_t *db, arena_t *a, const char *id, const char *as_agent, const char *responder_type,
                       const char *responder_id, const char *action, cl_error *err);

/* Add a message to the thread (author (agent, as_agent), a party; or named by an operator: type user | agent, id
 * NULL as ""). A message not written by the requester asks it for more information: an open request becomes
 * info_requested, and an agent requester gets a notification turn. REQUEST_MESSAGE. CL_NOT_FOUND "request not
 * found". */
cl_err request_add_message(db_t *db, arena_t *a, const char *id, const char *as_agent, const char *author_type,
                           const char *author_id, const char *body, const char **message_id, cl_error *err);

/* The requester (agent as_agent; any for an operator) cancels an open request: CL_NOT_FOUND "request not found or
 * already resolved", CL_FORBIDDEN "not the requester", CL_CONFLICT "request not pending (already resolved)". No
 * event, as the reference. */
cl_err request_cancel(db_t *db, arena_t *a, const char *id, const char *as_agent, cl_error *err);

/* Nudge idle agents: each online agent with no active task whose open requests have waited longer than
 * `after_ms` (and were not nudged within `repeat_ms`) gets one notification turn naming how many wait, and those
 * requests are stamped in the same transaction — on any number of nodes an item is counted in one nudge per
 * period. A request in info_requested counts only once its requester has written last (the recipient owes the
 * next move). At most REQUEST_NUDGE_AGENTS_MAX agents per call; *agents and *items count what was nudged. */
cl_err request_nudge_sweep(db_t *db, arena_t *a, int64_t after_ms, int64_t repeat_ms, int64_t *agents,
                           int64_t *items, cl_error *err);

/* Removal of workspace `id` (inside its transaction): open requests it raised or was asked are cancelled; with
 * `purge` every request it is party to is deleted, thread included. */
cl_err request_on_removed(db_t *db, arena_t *a, const char *id, bool purge, cl_error *err);

#endif
