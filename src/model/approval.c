/* approval.c - see approval.h. */
#include "model/approval.h"

#include <stdio.h>
#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "base/time.h"
#include "model/event.h"
#include "model/workspace.h"

#define A_COLUMNS                                                                                                  \
    "a.id, a.workspace_id, a.task_id, a.action, a.reason, a.status, a.decided_by, a.decided_at, a.created_at"

/* Only into a live workspace. The caller holds the tree lock shared, so a removal either sees the new row (and
 * withdraws it) or is seen by this insert (which then inserts nothing). A gate row (request_hash set) finds the
 * pending one of the same operation instead of asking twice. */
static const char SQL_INSERT[] =
    "INSERT INTO approval_requests (id, workspace_id, task_id, action, reason, context, requested_by, created_at,"
    " request_hash) SELECT $1, w.id, $3, $4, $5, $6, $7, CAST($8 AS BIGINT), $9 FROM workspaces w"
    " WHERE w.id = $2 AND w.status <> 'removed'"
    " ON CONFLICT (workspace_id, action, request_hash) WHERE status = 'pending' AND request_hash IS NOT NULL"
    " DO NOTHING RETURNING id";
static const char SQL_PARENT[] = "SELECT parent_id FROM workspaces WHERE id = $1";
/* newest first, keyset pages on (created_at, id): idx_approval_requests_workspace, _pending */
static const char SQL_LIST[] = "SELECT " A_COLUMNS ", NULL FROM approval_requests a WHERE a.workspace_id = $1"
                               " AND (a.created_at, a.id) < (CAST($2 AS BIGINT), CAST($3 AS TEXT))"
                               " ORDER BY a.created_at DESC, a.id DESC LIMIT $4";
static const char SQL_PENDING[] =
    "SELECT " A_COLUMNS ", w.name FROM approval_requests a JOIN workspaces w ON w.id = a.workspace_id"
    " WHERE a.status = 'pending' AND (a.created_at, a.id) < (CAST($1 AS BIGINT), CAST($2 AS TEXT))"
    " ORDER BY a.created_at DESC, a.id DESC LIMIT $3";
/* Along an edge of the state machine, and never by the asking credential or its workspace (the schema refuses
 * both too): of concurrent decisions, the first to lock the row changes it and the others find it decided. */
static const char SQL_DECIDE[] =
    "UPDATE approval_requests SET status = $3, decided_by = $4, decided_at = $5, decider = $6"
    " WHERE id = $1 AND workspace_id = $2 AND status = 'pending' AND requested_by <> $6"
    " AND ('workspace:' || workspace_id) <> $6 AND EXISTS (SELECT 1 FROM inbox_transitions t"
    " WHERE t.store = 'approval' AND t.from_status = approval_requests.status AND t.to_status = $3)";
static const char SQL_STATE[] =
    "SELECT status, requested_by FROM approval_requests WHERE id = $1 AND workspace_id = $2";
static const char SQL_WITHDRAW[] =
    "UPDATE approval_requests SET status = 'withdrawn', decided_by = 'requester', decided_at = $3, decider = $4"
    " WHERE id = $1 AND workspace_id = $2 AND status = 'pending'";
static const char SQL_ON_REMOVED[] =
    "UPDATE approval_requests SET status = 'withdrawn', decided_by = $2, decided_at = $3, decider = $2"
    " WHERE workspace_id = $1 AND status = 'pending' RETURNING id";
/* The newest approved, unconsumed approval of the operation; the outer guard makes a concurrent consumer that
 * picked the same row come back empty (it then asks anew) instead of consuming it twice. */
static const char SQL_CONSUME[] =
    "UPDATE approval_requests SET consumed_at = $4 WHERE consumed_at IS NULL AND id = (SELECT id FROM"
    " approval_requests WHERE workspace_id = $1 AND action = $2 AND request_hash = $3 AND status = 'approved'"
    " AND consumed_at IS NULL ORDER BY decided_at DESC, id LIMIT 1) RETURNING id";
static const char SQL_GATE_PENDING[] =
    "SELECT id FROM approval_requests WHERE workspace_id = $1 AND action = $2 AND request_hash = $3"
    " AND status = 'pending'";

static void read_row(db_stmt_t *st, arena_t *a, void *row)
{
    approval_row *r = row;
    r->id = db_col_dup(st, a, 0);
    r->workspace_id = db_col_dup(st, a, 1);
    r->task_id = db_col_dup(st, a, 2);
    r->action = db_col_dup(st, a, 3);
    r->reason = db_col_dup(st, a, 4);
    r->status = db_col_dup(st, a, 5);
    r->decided_by = db_col_dup(st, a, 6);
    r->decided_at = db_col_is_null(st, 7) ? 0 : db_col_int64(st, 7);
    r->created_at = db_col_int64(st, 8);
    r->workspace_name = db_col_dup(st, a, 9);
}

/* APPROVAL_REQUESTED on the workspace and, when it has a parent, APPROVAL_ESCALATED there. `task_id` NULL: a
 * gate approval, whose payload has none. */
static cl_err announce(db_t *db, arena_t *a, const char *ws, const char *id, const char *action, const char *reason,
                       const char *task_id, cl_error *err)
{
    json_t *p = json_pack("{s:s, s:s, s:s?}", "approval_id", id, "action", action, "reason", reason);
    if (task_id)
        json_object_set_new(p, "task_id", json_string(task_id));
    cl_err e = inbox_event(db, a, EV_APPROVAL_REQUESTED, ws, p, err);
    const char *parent = NULL;
    db_stmt_t *st = NULL;
    if (e == CL_OK && (e = db_query(db, a, &st, err, SQL_PARENT, "s", ws)) == CL_OK &&
        (e = db_one(st, err)) == CL_OK)
        parent = db_col_dup(st, a, 0);
    db_finish(st);
    if (e == CL_OK && parent)
        e = inbox_event(db, a, EV_APPROVAL_ESCALATED, parent,
                        json_pack("{s:s, s:s, s:s, s:s?}", "approval_id", id, "from_workspace_id", ws, "action",
                                  action, "reason", reason),
                        err);
    return e;
}

/* Insert one approval (a gate row when `hash` is set); *id NULL when none was inserted (the workspace is not live,
 * or a gate row of the same operation is pending). */
static cl_err insert(db_t *db, arena_t *a, const char *ws, const char *task_id, const char *action,
                     const char *reason, const char *context, const char *actor, const char *hash, const char **id,
                     cl_error *err)
{
    char fresh[ID_UUID_LEN + 1];
    id_uuid4(fresh);
    *id = NULL;
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_INSERT, "sssssssis", fresh, ws, task_id, action, reason, context,
                        actor, time_now_ms(), hash);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK) {
        *id = db_col_dup(st, a, 0);
        db_exec(st, err);
    }
    db_finish(st);
    return e == CL_NOT_FOUND ? CL_OK : e;
}

cl_err approval_create(db_t *db, arena_t *a, const char *workspace_id, const approval_spec *s, const char *actor,
                       const char **id, cl_error *err)
{
    const char *context = s->context ? json_dump_arena(a, s->context, NULL) : "{}";
    if (inbox_text("action", s->action, INBOX_TITLE_MAX, true, err) != CL_OK ||
        inbox_text("task_id", s->task_id, INBOX_NAME_MAX, false, err) != CL_OK ||
        inbox_text("reason", s->reason, INBOX_TEXT_MAX, false, err) != CL_OK ||
        inbox_text("context", context, INBOX_CONTEXT_MAX, false, err) != CL_OK)
        return CL_INVALID;
    if (s->context && !json_is_object(s->context))
        return cl_fail(err, CL_INVALID, "context must be an object");
    const char *task_id = s->task_id ? s->task_id : "", *reason = s->reason ? s->reason : "";
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    if ((e = db_tx_lock_shared(db, WS_TREE_LOCK, err)) == CL_OK &&
        (e = insert(db, a, workspace_id, task_id, s->action, reason, context, actor, NULL, id, err)) == CL_OK &&
        *id == NULL)
        e = cl_fail(err, CL_NOT_FOUND, "workspace not found");
    if (e == CL_OK)
        e = announce(db, a, workspace_id, *id, s->action, reason, task_id, err);
    return db_tx_end(db, e, err);
}

cl_err approval_list(db_t *db, arena_t *a, const char *workspace_id, const inbox_key *before, int64_t limit,
                     approval_row **rows, size_t *count, cl_error *err)
{
    return inbox_list(db, a, SQL_LIST, &workspace_id, 1, before, limit, sizeof(**rows), read_row, rows, count, err);
}

cl_err approval_list_pending(db_t *db, arena_t *a, const inbox_key *before, int64_t limit, approval_row **rows,
                             size_t *count, cl_error *err)
{
    return inbox_list(db, a, SQL_PENDING, NULL, 0, before, limit, sizeof(**rows), read_row, rows, count, err);
}

/* Why approval `id` of `ws` was not changed: it is not there, `actor` may not decide it, or it is decided. */
static cl_err why_unchanged(db_t *db, arena_t *a, const char *ws, const char *id, const char *actor,
                            const char *not_found, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_STATE, "ss", id, ws);
    bool self = false;
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK && actor != NULL) {
        const char *by = db_col_text(st, 1);
        self = strcmp(by, actor) == 0 || (strncmp(actor, "workspace:", 10) == 0 && strcmp(actor + 10, ws) == 0);
    }
    db_finish(st);
    if (e == CL_NOT_FOUND)
        return cl_fail(err, CL_NOT_FOUND, "%s", not_found);
    if (e != CL_OK)
        return e;
    if (self)
        return cl_fail_code(err, CL_FORBIDDEN, "self_approval",
                            "an approval cannot be decided by the workspace or the credential that asked for it");
    return cl_fail(err, CL_CONFLICT, "approval not pending (already decided or withdrawn)");
}

cl_err approval_decide(db_t *db, arena_t *a, const char *workspace_id, const char *id, const char *decision,
                       const char *decided_by, const char *actor, cl_error *err)
{
    bool approved = decision && strcmp(decision, "approved") == 0;
    if (!approved && !(decision && strcmp(decision, "denied") == 0))
        return cl_fail(err, CL_INVALID, "decision must be 'approved' or 'denied'");
    if (inbox_text("decided_by", decided_by, INBOX_NAME_MAX, false, err) != CL_OK)
        return CL_INVALID;
    decided_by = decided_by && decided_by[0] ? decided_by : "human";
    int64_t changed = 0;
    cl_err e = db_tx_begin(db, err);
    if (e == CL_OK)
        e = db_run(db, a, &changed, err, SQL_DECIDE, "ssssis", id, workspace_id, decision, decided_by,
                   time_now_ms(), actor);
    if (e == CL_OK && changed == 0)
        e = why_unchanged(db, a, workspace_id, id, actor, "approval not found or already decided", err);
    if (e == CL_OK)
        e = inbox_event(
            db, a, approved ? EV_APPROVAL_APPROVED : EV_APPROVAL_DENIED, workspace_id,
            json_pack("{s:s, s:s, s:s}", "approval_id", id, "decision", decision, "decided_by", decided_by), err);
    return db_tx_end(db, e, err);
}

cl_err approval_withdraw(db_t *db, arena_t *a, const char *workspace_id, const char *id, const char *actor,
                         cl_error *err)
{
    int64_t changed = 0;
    cl_err e = db_tx_begin(db, err);
    if (e == CL_OK)
        e = db_run(db, a, &changed, err, SQL_WITHDRAW, "ssis", id, workspace_id, time_now_ms(), actor);
    if (e == CL_OK && changed == 0)
        e = why_unchanged(db, a, workspace_id, id, NULL, "approval not found", err);
    if (e == CL_OK)
        e = inbox_event(db, a, EV_APPROVAL_WITHDRAWN, workspace_id,
                        json_pack("{s:s, s:s}", "approval_id", id, "decided_by", "requester"), err);
    return db_tx_end(db, e, err);
}

cl_err approval_on_removed(db_t *db, arena_t *a, const char *id, cl_error *err)
{
    const char **ids;
    size_t n;
    cl_err e = inbox_settle(db, a, SQL_ON_REMOVED, id, &ids, &n, err);
    for (size_t i = 0; e == CL_OK && i < n; i++)
        e = inbox_event(db, a, EV_APPROVAL_WITHDRAWN, id,
                        json_pack("{s:s, s:s}", "approval_id", ids[i], "decided_by", INBOX_REMOVED_BY), err);
    return e;
}

/* ---- the gate of admin operations ---------------------------------------------------------------------------- */

/* Lower-case hex SHA-256 of anchor 0x00 action 0x00 canonical JSON of the context (keys sorted, compact): the same
 * operation asked again gives the same hash. */
static const char *gate_hash(arena_t *a, const char *anchor, const char *action, const char *context)
{
    size_t la = strlen(anchor), lb = strlen(action), lc = strlen(context);
    char *buf = arena_alloc(a, la + lb + lc + 2);
    memcpy(buf, anchor, la);
    buf[la] = '\0';
    memcpy(buf + la + 1, action, lb);
    buf[la + 1 + lb] = '\0';
    memcpy(buf + la + lb + 2, context, lc);
    uint8_t sum[ID_SHA256_LEN];
    id_sha256(buf, la + lb + lc + 2, sum);
    char *hex = arena_alloc(a, 2 * ID_SHA256_LEN + 1);
    for (size_t i = 0; i < ID_SHA256_LEN; i++)
        snprintf(hex + 2 * i, 3, "%02x", sum[i]);
    return hex;
}

static const char *canonical_json(arena_t *a, const json_t *v)
{
    size_t flags = JSON_COMPACT | JSON_SORT_KEYS, n = json_dumpb(v, NULL, 0, flags);
    char *out = arena_alloc(a, n + 1);
    json_dumpb(v, out, n, flags);
    out[n] = '\0';
    return out;
}

/* The approved, unconsumed approval of the operation, consumed now; *id NULL when there is none. */
static cl_err consume(db_t *db, arena_t *a, const char *anchor, const char *action, const char *hash,
                      const char **id, cl_error *err)
{
    *id = NULL;
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_CONSUME, "sssi", anchor, action, hash, time_now_ms());
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK) {
        *id = db_col_dup(st, a, 0);
        db_exec(st, err);
    }
    db_finish(st);
    return e == CL_NOT_FOUND ? CL_OK : e;
}

/* The pending approval of the operation: a new one (announced), or the one already asked. */
static cl_err ask(db_t *db, arena_t *a, const approval_gate *g, const char *anchor, const char *context,
                  const char *hash, const char **id, cl_error *err)
{
    cl_err e = db_tx_lock_shared(db, WS_TREE_LOCK, err);
    /* the pending row that made the insert skip may be decided before it is read: ask again */
    for (int tries = 0; e == CL_OK && tries < 3; tries++) {
        if ((e = insert(db, a, anchor, NULL, g->action, g->reason, context, g->actor, hash, id, err)) != CL_OK)
            return e;
        if (*id != NULL)
            return announce(db, a, anchor, *id, g->action, g->reason, NULL, err);
        db_stmt_t *st;
        e = db_query(db, a, &st, err, SQL_GATE_PENDING, "sss", anchor, g->action, hash);
        if (e == CL_OK && (e = db_one(st, err)) == CL_OK)
            *id = db_col_dup(st, a, 0);
        db_finish(st);
        if (e != CL_NOT_FOUND)
            return e;
        ws_row w;
        e = ws_get(db, a, anchor, &w, err);
        if (e == CL_NOT_FOUND || (e == CL_OK && strcmp(w.status, "removed") == 0))
            return cl_fail(err, CL_INVALID, "approval anchor workspace %s not found", anchor);
    }
    return e == CL_OK ? cl_fail(err, CL_UNAVAILABLE, "approval gate failed") : e;
}

cl_err approval_gated(db_t *db, arena_t *a, const approval_gate *g, approval_gated_fn fn, void *arg,
                      const char **pending_id, cl_error *err)
{
    *pending_id = NULL;
    const char *anchor = g->anchor;
    cl_err e;
    if (anchor == NULL && (e = ws_platform_id(db, a, &anchor, err)) != CL_OK)
        return e;
    if (anchor == NULL)
        return cl_fail(err, CL_INVALID,
                       "this operation needs an approval, and there is no workspace to anchor it "
                       "(an org token with an org, a platform workspace id, or a platform root)");
    const char *context = canonical_json(a, g->context), *hash = gate_hash(a, anchor, g->action, context);
    const char *consumed;
    if ((e = db_tx_begin(db, err)) != CL_OK)
        return e;
    e = consume(db, a, anchor, g->action, hash, &consumed, err);
    if (e == CL_OK && consumed != NULL)
        e = fn(db, a, arg, err);
    else if (e == CL_OK)
        e = ask(db, a, g, anchor, context, hash, pending_id, err);
    return db_tx_end(db, e, err);
}
