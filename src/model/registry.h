/* registry.h - agent runtimes announce themselves: register (upsert through the resolver, never resurrecting a
 * removed row), heartbeat (the hottest path: one short write, an event only when the status changes), agent
 * cards, discovery, peers, and the hierarchy rule of who may talk to whom (runtime.md §1, §3). */
#ifndef COLONY_MODEL_REGISTRY_H
#define COLONY_MODEL_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "model/workspace.h"
#include "store/db.h"

enum { REG_CARD_MAX = 64 * 1024, REG_ANCESTOR_HOPS = 32 };

typedef struct {
    const char *id, *url, *agent_card, *delivery_mode, *kind; /* agent_card: JSON object text */
    bool bootstrap; /* an unauthenticated caller: only a new row may be made, never an existing one taken */
} reg_register;

typedef struct {
    const char *delivery_mode; /* effective */
} reg_result;

/* Register or re-register `r->id`: online, heartbeat now, card and URL stored, WORKSPACE_ONLINE recorded, all in
 * one transaction. CL_GONE for a removed row (nothing written); CL_FORBIDDEN when kind "platform" is asked for a
 * row that is not the platform root; CL_UNAUTHORIZED for a bootstrap whose id exists by the time it writes (another
 * caller created it first: the database's insert decides, on any number of nodes). */
cl_err reg_register_ws(db_t *db, arena_t *a, const reg_register *r, reg_result *out, cl_error *err);

typedef struct {
    const char *workspace_id, *sample_error, *current_task, *runtime_state;
    double error_rate;
    int64_t active_tasks, uptime_seconds;
    int64_t monthly_spend; /* cumulative cents this month, 0…BUDGET_LIMIT_MAX; 0: not reported */
    bool has_current_task;
} reg_heartbeat;

/* Record a heartbeat. CL_NOT_FOUND for an unknown id, CL_GONE for a removed one. *status receives the status
 * after the heartbeat; a change (recovery to online, degradation) is recorded as one event, a changed current_task
 * as TASK_UPDATED {current_task, active_tasks}, and what a reported monthly_spend added as a row of the budget
 * ledger (budget.h), in the transaction of the write. */
cl_err reg_heartbeat_ws(db_t *db, arena_t *a, const reg_heartbeat *h, const char **status, cl_error *err);

/* The hot path, with group commit: heartbeats of workspaces presenting their own token, each proven and written by
 * one statement (the token check is part of the UPDATE, so a revoked token fails at once), many in one transaction
 * with the TASK_UPDATED events of the tasks they change; then the status moves they cause, each in its own
 * transaction. An item whose token is not a live token of that live workspace is left unproved and unwritten (the
 * caller takes the general path). One bad item never fails the others: when the database refuses the group, each
 * item is written alone, and one that fails again is left unproved too, for the general path to answer with its
 * own error. Returns CL_OK: every outcome is in the items. */
typedef struct {
    reg_heartbeat h;
    const char *bearer;
    bool proved;
    const char *status;
} reg_hb_item;
cl_err reg_heartbeat_group(db_t *db, arena_t *a, reg_hb_item *items, size_t n, cl_error *err);

/* Replace the agent card; AGENT_CARD_UPDATED. CL_NOT_FOUND / CL_GONE as above. */
cl_err reg_update_card(db_t *db, arena_t *a, const char *id, const char *card, cl_error *err);

/* The hierarchy rule: self; siblings under the same parent; parent and child; any ancestor and descendant
 * (REG_ANCESTOR_HOPS at most). Two roots are not siblings. Unknown ids are denied. */
cl_err reg_can_communicate(db_t *db, arena_t *a, const char *caller, const char *target, bool *allowed,
                           cl_error *err);

/* Every workspace `id` may talk to under reg_can_communicate: itself, its ancestors, its descendants and its
 * siblings (live or not; the set filters events). */
cl_err reg_reachable(db_t *db, arena_t *a, const char *id, const char ***ids, size_t *count, cl_error *err);

/* Whether a peer (ws_peers_page) passes the `q` filter of GET /registry/:id/peers: a case-folded substring of its
 * name or role; NULL or empty passes all. */
bool reg_peer_matches(const ws_row *w, const char *q);

#endif
