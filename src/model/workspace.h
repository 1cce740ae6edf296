/* workspace.h - the org tree: one resolver that every creating path goes through, reads, updates that keep the
 * tree a tree, and the soft cascade delete. The database enforces the invariants (see migration 0003); this
 * module turns their verdicts into cl_err values. */
#ifndef COLONY_MODEL_WORKSPACE_H
#define COLONY_MODEL_WORKSPACE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "model/secret.h"
#include "store/db.h"

enum {
    WS_NAME_MAX = 255,
    WS_ROLE_MAX = 1000,
    WS_MODEL_MAX = 100,
    WS_RUNTIME_MAX = 100,
    WS_DIR_MAX = 4096,
    WS_TIER_MIN = 1,
    WS_TIER_MAX = 4,
    WS_TIER_DEFAULT = 3, /* self-hosted */
    WS_MAX_DEPTH = 64,   /* ancestor walks stop here */
};

/* Transaction lock key of the tree's shape, across nodes. Changes of shape (re-parent, cascade delete, platform
 * install, reconciling import) take it exclusively, so that concurrent moves can never close a cycle or strand a
 * root; everything that adds to the tree (every insert of the resolver, every token mint, an import) takes it
 * shared, so that it never adds under a parent, or to a workspace, whose removal commits at the same time. On
 * PostgreSQL each statement after the lock sees what the last holder of the exclusive lock committed; SQLite's
 * single writer gives the same order. */
#define WS_TREE_LOCK ((int64_t)0x636f6c6e7472) /* "colntr" */

/* One workspace row (arena-owned strings; NULL where the column is NULL). Times: ms since the epoch, 0 = null. */
typedef struct {
    const char *id, *name, *role, *kind, *parent_id, *status, *runtime, *model, *template_name, *url, *delivery_mode,
        *agent_card, *current_task, *last_sample_error, *workspace_dir, *workspace_access, *compute;
    int64_t tier, active_tasks, max_concurrent_tasks, uptime_seconds, budget_limit, monthly_spend;
    bool has_budget_limit, collapsed, broadcast_enabled, talk_to_user_enabled;
    double last_error_rate, x, y;
    int64_t last_heartbeat_at, last_outbound_at, created_at, updated_at, removed_at;
} ws_row;

/* What a creating path asks for. `id` is optional (a client-chosen id makes retries converge); NULL strings take
 * the column defaults. */
typedef struct {
    const char *id, *name, *role, *kind, *parent_id, *status, *runtime, *model, *template_name, *url, *delivery_mode,
        *workspace_dir, *workspace_access;
    int64_t tier, max_concurrent_tasks, budget_limit;
    bool has_budget_limit, has_canvas;
    bool own_event; /* the caller records the creation event itself (register adds the agent card) */
    bool default_parent; /* parent_id NULL: the live platform root is the parent when there is one, read inside the
                            insert's transaction under the tree lock, so a concurrent install cannot miss it */
    double x, y;
    const secret_pair *secrets; /* stored, sealed, in the insert's transaction when the row is created (never on */
    size_t nsecrets;            /* an existing one); a failure undoes the insert */
    const secret_actor *secrets_by;
} ws_spec;

typedef enum { WS_CREATED, WS_EXISTING } ws_outcome;

/* Field rules shared by every entry point (shared/api/vectors.md §3.7). CL_INVALID with the reason. */
cl_err ws_validate_name(const char *name, cl_error *err);
cl_err ws_validate_role(const char *role, cl_error *err);
cl_err ws_validate_dir(const char *dir, cl_error *err);
bool ws_runtime_known(const char *runtime);
bool ws_runtime_external_like(const char *runtime);
bool ws_status_valid(const char *status);

/* Create-or-resolve. Inserts the row (and its first event) in one transaction, holding the tree lock shared, with
 * INSERT … ON CONFLICT DO NOTHING RETURNING, and on the skip path re-selects what is there:
 *   - spec->id given: the row with that id. Same parent and name → WS_EXISTING; removed → CL_GONE; a different
 *     parent or name, or (parent, name) held by another id → CL_CONFLICT. out->id is the holder's id.
 *   - no id: the live row with (parent, name) → WS_EXISTING.
 * An unknown or removed parent is CL_NOT_FOUND. Never inserts twice, on any number of nodes. */
cl_err ws_resolve(db_t *db, arena_t *a, const ws_spec *spec, ws_row *out, ws_outcome *how, cl_error *err);

/* The one live platform row's id, or NULL. */
cl_err ws_platform_id(db_t *db, arena_t *a, const char **id, cl_error *err);

/* Read one row (removed ones too); CL_NOT_FOUND when there is none. */
cl_err ws_get(db_t *db, arena_t *a, const char *id, ws_row *out, cl_error *err);
/* A position in the order of a list: group (peers only; 0 otherwise), creation time, then id. */
typedef struct {
    int64_t group, created_at;
    const char *id;
} ws_key;

/* Takes one row of a list; its strings are borrowed and valid only until it returns. False stops the list. */
typedef bool (*ws_row_fn)(void *arg, const ws_row *row);

/* Live rows in creation order (created_at, then id), those after `after` (NULL: from the first), at most `limit`,
 * each handed to fn. *more tells whether rows remain after the last one fn accepted (fn stopping counts). */
cl_err ws_list_page(db_t *db, arena_t *a, const ws_key *after, int64_t limit, ws_row_fn fn, void *arg, bool *more,
                    cl_error *err);
/* The peers of a workspace (runtime.md §3.4) as ws_list_page hands rows: its live siblings (group 0), then its live
 * children (1), then its live parent (2, none for a root), each group in creation order. */
cl_err ws_peers_page(db_t *db, arena_t *a, const char *self_id, const char *self_parent, const ws_key *after,
                     int64_t limit, ws_row_fn fn, void *arg, bool *more, cl_error *err);
/* The group of one of those rows. */
int ws_peer_group(const char *self_id, const char *self_parent, const ws_row *row);

/* Who may move a workspace to another parent. A move changes what the workspace may read (its team's and org's
 * memories follow the tree), so the zero value may move nothing. */
typedef enum {
    WS_MOVER_NONE = 0, /* a workspace's own token (or unknown): no move */
    WS_MOVER_ORG,      /* an org token anchored to an org: within that org only (mover_org = its root) */
    WS_MOVER_OPERATOR, /* the admin token or an unanchored org token: anywhere */
} ws_mover;

/* A partial update: each `has_*` says whether that field is set. */
typedef struct {
    bool has_name, has_role, has_tier, has_parent, has_position, has_collapsed, has_runtime, has_dir;
    const char *name, *role, *parent_id, *runtime, *workspace_dir; /* parent_id NULL = make it a root */
    int64_t tier;
    double x, y;
    bool collapsed;
    ws_mover mover;
    const char *mover_org;
} ws_patch;

/* Apply `p` in one transaction. Unknown or removed → CL_NOT_FOUND; a parent that is the row itself or one of its
 * descendants → CL_INVALID; a live sibling with the new name → CL_CONFLICT (conflict_id receives its id); a parent
 * change `p->mover` may not make → CL_FORBIDDEN (naming the current parent is no change); *needs_restart tells
 * whether a runtime-visible field changed. */
cl_err ws_update(db_t *db, arena_t *a, const char *id, const ws_patch *p, bool *needs_restart,
                 const char **conflict_id, cl_error *err);

/* Live direct children, as ids and names (arena-owned arrays). */
cl_err ws_children(db_t *db, arena_t *a, const char *id, const char ***ids, const char ***names, size_t *count,
                   cl_error *err);

/* Soft cascade delete in one transaction: the row and every live descendant become `removed` (first, so a late
 * register cannot resurrect them), their canvas layouts go, their tokens are revoked, their pending approvals, user
 * tasks and requests are settled (inbox.h), and each gets a WORKSPACE_REMOVED event. With `purge`, the rows and what hangs off them are deleted instead. *cascaded receives
 * the number of descendants (excluding the row itself). */
cl_err ws_delete(db_t *db, arena_t *a, const char *id, bool purge, int64_t *cascaded, cl_error *err);

/* The top of the tree `id` belongs to (the platform root once installed, else its root; `id` itself for a root):
 * the org that a broadcast reaches and whose plugin allowlist applies. CL_NOT_FOUND for an unknown id. */
cl_err ws_org_root(db_t *db, arena_t *a, const char *id, const char **root, cl_error *err);

#endif
