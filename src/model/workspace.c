/* workspace.c - see workspace.h. */
#include "model/workspace.h"

#include <jansson.h>
#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "base/time.h"
#include "model/event.h"
#include "model/inbox.h"

enum { RESOLVE_ATTEMPTS = 3, CASCADE_MAX_DEPTH = 10000 };

static const char *const RUNTIMES[] = {"claude-code", "hermes",     "openclaw", "codex",  "google-adk",
                                       "langgraph",   "crewai",     "autogen",  "deepagents", "gemini-cli",
                                       "mock",        "external",   "kimi",     "kimi-cli"};
static const char *const EXTERNAL_LIKE[] = {"external", "kimi", "kimi-cli"};
static const char *const STATUSES[] = {"provisioning", "online", "offline",    "degraded",    "failed",
                                       "removed",      "paused", "hibernated", "hibernating", "awaiting_agent"};

#define WS_COLUMNS                                                                                                 \
    "w.id, w.name, w.role, w.kind, w.parent_id, w.status, w.runtime, w.model, w.template, w.url, w.delivery_mode," \
    " w.agent_card, w.current_task, w.last_sample_error, w.workspace_dir, w.workspace_access, w.compute, w.tier,"  \
    " w.active_tasks, w.max_concurrent_tasks, w.uptime_seconds, w.budget_limit, w.monthly_spend,"                  \
    " w.broadcast_enabled, w.talk_to_user_enabled, w.last_error_rate, COALESCE(l.x, 0), COALESCE(l.y, 0),"         \
    " COALESCE(l.collapsed, 0), w.last_heartbeat_at, w.last_outbound_at, w.created_at, w.updated_at, w.removed_at"
#define WS_FROM " FROM workspaces w LEFT JOIN canvas_layouts l ON l.workspace_id = w.id"

static const char SQL_GET[] = "SELECT " WS_COLUMNS WS_FROM " WHERE w.id = $1";
/* a keyset page over idx_workspaces_live_order: (created_at, id) is unique and never changes */
static const char SQL_PAGE[] = "SELECT " WS_COLUMNS WS_FROM " WHERE w.status <> 'removed'"
                               " AND (w.created_at, w.id) > (CAST($1 AS BIGINT), CAST($2 AS TEXT))"
                               " ORDER BY w.created_at, w.id LIMIT $3";
/* peers of $1 (parent $2): live siblings (group 0), children (1), then the parent (2), each in creation order */
#define PEER_GROUP "CASE WHEN w.id = $2 THEN 2 WHEN w.parent_id = $1 THEN 1 ELSE 0 END"
static const char SQL_PEERS[] =
    "SELECT " WS_COLUMNS WS_FROM " WHERE w.status <> 'removed'"
    " AND ((w.parent_id = $2 AND w.id <> $1) OR w.parent_id = $1 OR w.id = $2)"
    " AND (" PEER_GROUP ", w.created_at, w.id) > (CAST($3 AS BIGINT), CAST($4 AS BIGINT), CAST($5 AS TEXT))"
    " ORDER BY " PEER_GROUP ", w.created_at, w.id LIMIT $6";

static const char SQL_INSERT[] =
    "INSERT INTO workspaces (id, name, role, kind, parent_id, status, tier, runtime, model, template, url,"
    " delivery_mode, workspace_dir, workspace_access, budget_limit, max_concurrent_tasks, created_at, updated_at)"
    " SELECT $1, $2, $3, $4, $5, $6, CAST($7 AS INTEGER), $8, $9, $10, $11, $12, $13, $14, CAST($15 AS BIGINT),"
    " CAST($16 AS INTEGER), CAST($17 AS BIGINT), CAST($17 AS BIGINT)"
    " WHERE CAST($5 AS TEXT) IS NULL"
    "    OR EXISTS (SELECT 1 FROM workspaces p WHERE p.id = $5 AND p.status <> 'removed')"
    " ON CONFLICT DO NOTHING RETURNING id";
static const char SQL_LAYOUT_POSITION[] = "INSERT INTO canvas_layouts (workspace_id, x, y) VALUES ($1, $2, $3)"
                                          " ON CONFLICT (workspace_id) DO UPDATE SET x = excluded.x, y = excluded.y";
static const char SQL_LAYOUT_COLLAPSED[] = "INSERT INTO canvas_layouts (workspace_id, collapsed) VALUES ($1, $2)"
                                           " ON CONFLICT (workspace_id) DO UPDATE SET collapsed = excluded.collapsed";
static const char SQL_BY_ID[] = "SELECT parent_id, name, status FROM workspaces WHERE id = $1";
static const char SQL_LIVE_BY_NAME[] =
    "SELECT id FROM workspaces WHERE COALESCE(parent_id, '00000000-0000-0000-0000-000000000000')"
    " = COALESCE(CAST($1 AS TEXT), '00000000-0000-0000-0000-000000000000') AND name = $2 AND status <> 'removed'";
static const char SQL_LIVE_EXISTS[] = "SELECT 1 FROM workspaces WHERE id = $1 AND status <> 'removed'";
static const char SQL_PLATFORM[] = "SELECT id FROM workspaces WHERE kind = 'platform' AND status <> 'removed'";
/* Walks up to the top however deep the tree is (creation bounds no depth): UNION, not UNION ALL, so that a row is
 * visited once and even a cycle ends the walk. */
static const char SQL_IS_ANCESTOR[] =
    "WITH RECURSIVE anc(id, parent_id) AS ("
    " SELECT id, parent_id FROM workspaces WHERE id = $1"
    " UNION SELECT w.id, w.parent_id FROM workspaces w JOIN anc ON w.id = anc.parent_id)"
    " SELECT count(*) FROM anc WHERE id = $2";
static const char SQL_SUBTREE[] =
    "WITH RECURSIVE sub(id, depth) AS ("
    " SELECT id, 0 FROM workspaces WHERE id = $1"
    " UNION ALL SELECT w.id, sub.depth + 1 FROM workspaces w JOIN sub ON w.parent_id = sub.id"
    " WHERE w.status <> 'removed' AND sub.depth < 10000)"
    " SELECT id FROM sub ORDER BY depth DESC";
static const char SQL_CHILDREN[] =
    "SELECT id, name FROM workspaces WHERE parent_id = $1 AND status <> 'removed' ORDER BY created_at, id";
static const char SQL_MARK_REMOVED[] =
    "UPDATE workspaces SET status = 'removed', removed_at = $2, updated_at = $2 WHERE id = $1";
static const char SQL_DROP_LAYOUT[] = "DELETE FROM canvas_layouts WHERE workspace_id = $1";
static const char SQL_REVOKE_TOKENS[] =
    "UPDATE workspace_auth_tokens SET revoked_at = $2 WHERE workspace_id = $1 AND revoked_at IS NULL";
static const char SQL_DELETE_TOKENS[] = "DELETE FROM workspace_auth_tokens WHERE workspace_id = $1";
static const char SQL_ORPHAN_CHILDREN[] = "UPDATE workspaces SET parent_id = NULL WHERE parent_id = $1";
/* a removed workspace's schedules stop (a purge deletes them with the row) */
static const char SQL_STOP_SCHEDULES[] =
    "UPDATE workspace_schedules SET enabled = 0, updated_at = $2 WHERE workspace_id = $1 AND enabled = 1";
/* a removed workspace's channels send and relay nothing more: queued sends and open incoming messages are closed
 * (a send or relay in flight then settles nothing, so no retry goes out and no reply is posted) */
static const char SQL_CLOSE_CHANNEL_SENDS[] =
    "UPDATE channel_outbox SET status = 'failed', last_error = 'workspace removed', updated_at = $2"
    " WHERE channel_id IN (SELECT id FROM workspace_channels WHERE workspace_id = $1)"
    " AND status IN ('pending', 'sending')";
static const char SQL_CLOSE_CHANNEL_MESSAGES[] =
    "UPDATE channel_messages SET status = 'failed', error = 'workspace removed', updated_at = $2"
    " WHERE channel_id IN (SELECT id FROM workspace_channels WHERE workspace_id = $1)"
    " AND status IN ('received', 'relaying', 'awaiting')";
static const char SQL_DELETE_ROW[] = "DELETE FROM workspaces WHERE id = $1";

/* ---- field rules ------------------------------------------------------------------------------------------- */

static bool in(const char *s, const char *const *set, size_t n)
{
    for (size_t i = 0; s != NULL && i < n; i++)
        if (strcmp(s, set[i]) == 0)
            return true;
    return false;
}

#define IN(s, set) in((s), (set), sizeof(set) / sizeof((set)[0]))

bool ws_runtime_known(const char *runtime) { return IN(runtime, RUNTIMES); }
bool ws_runtime_external_like(const char *runtime) { return IN(runtime, EXTERNAL_LIKE); }
bool ws_status_valid(const char *status) { return IN(status, STATUSES); }

static cl_err text_rules(const char *field, const char *v, size_t max, bool no_specials, cl_error *err)
{
    size_t len = strlen(v);
    if (len > max)
        return cl_fail(err, CL_INVALID, "%s must be at most %zu bytes", field, max);
    if (strpbrk(v, "\r\n") != NULL)
        return cl_fail(err, CL_INVALID, "%s must not contain CR or LF", field);
    if (no_specials && strpbrk(v, "{}[]|>*&!") != NULL)
        return cl_fail(err, CL_INVALID, "%s must not contain any of { } [ ] | > * & !", field);
    return CL_OK;
}

cl_err ws_validate_name(const char *name, cl_error *err)
{
    if (name == NULL || name[strspn(name, " \t")] == '\0')
        return cl_fail(err, CL_INVALID, "name is required");
    return text_rules("name", name, WS_NAME_MAX, true, err);
}

cl_err ws_validate_role(const char *role, cl_error *err) { return text_rules("role", role, WS_ROLE_MAX, true, err); }

cl_err ws_validate_dir(const char *dir, cl_error *err)
{
    static const char *const forbidden[] = {"/etc", "/var", "/proc", "/sys", "/dev", "/boot", "/sbin", "/bin",
                                            "/lib", "/usr"};
    if (dir[0] != '/' || strlen(dir) > WS_DIR_MAX || strstr(dir, "..") != NULL || strpbrk(dir, "\r\n") != NULL)
        return cl_fail(err, CL_INVALID, "invalid workspace directory");
    for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++)
        if (strncmp(dir, forbidden[i], strlen(forbidden[i])) == 0)
            return cl_fail(err, CL_INVALID, "invalid workspace directory");
    return CL_OK;
}

/* ---- reading ----------------------------------------------------------------------------------------------- */

static int64_t opt_int(db_stmt_t *st, int col) { return db_col_is_null(st, col) ? 0 : db_col_int64(st, col); }

/* Text column `col`: copied into `a`, or borrowed from the statement (valid until its next step) when a is NULL. */
static const char *text(db_stmt_t *st, arena_t *a, int col) { return a ? db_col_dup(st, a, col) : db_col_text(st, col); }

static void read_row(db_stmt_t *st, arena_t *a, ws_row *r)
{
    memset(r, 0, sizeof(*r));
    r->id = text(st, a, 0);
    r->name = text(st, a, 1);
    r->role = text(st, a, 2);
    r->kind = text(st, a, 3);
    r->parent_id = text(st, a, 4);
    r->status = text(st, a, 5);
    r->runtime = text(st, a, 6);
    r->model = text(st, a, 7);
    r->template_name = text(st, a, 8);
    r->url = text(st, a, 9);
    r->delivery_mode = text(st, a, 10);
    r->agent_card = text(st, a, 11);
    r->current_task = text(st, a, 12);
    r->last_sample_error = text(st, a, 13);
    r->workspace_dir = text(st, a, 14);
    r->workspace_access = text(st, a, 15);
    r->compute = text(st, a, 16);
    r->tier = db_col_int64(st, 17);
    r->active_tasks = db_col_int64(st, 18);
    r->max_concurrent_tasks = db_col_int64(st, 19);
    r->uptime_seconds = db_col_int64(st, 20);
    r->has_budget_limit = !db_col_is_null(st, 21);
    r->budget_limit = opt_int(st, 21);
    r->monthly_spend = db_col_int64(st, 22);
    r->broadcast_enabled = db_col_bool(st, 23);
    r->talk_to_user_enabled = db_col_bool(st, 24);
    r->last_error_rate = db_col_double(st, 25);
    r->x = db_col_double(st, 26);
    r->y = db_col_double(st, 27);
    r->collapsed = db_col_bool(st, 28);
    r->last_heartbeat_at = opt_int(st, 29);
    r->last_outbound_at = opt_int(st, 30);
    r->created_at = db_col_int64(st, 31);
    r->updated_at = db_col_int64(st, 32);
    r->removed_at = opt_int(st, 33);
}

cl_err ws_get(db_t *db, arena_t *a, const char *id, ws_row *out, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_GET, "s", id);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK)
        read_row(st, a, out);
    if (e == CL_NOT_FOUND)
        cl_fail(err, e, "workspace not found");
    db_finish(st);
    return e;
}

/* Hand up to `limit` rows of `st` to fn, reading one more to tell whether there is more. */
static cl_err page(db_stmt_t *st, cl_err e, int64_t limit, ws_row_fn fn, void *arg, bool *more, cl_error *err)
{
    bool row = true;
    *more = false;
    for (int64_t n = 0; e == CL_OK && (e = db_step(st, &row, err)) == CL_OK && row; n++) {
        ws_row r;
        read_row(st, NULL, &r);
        if (n == limit || !fn(arg, &r)) {
            *more = true;
            break;
        }
    }
    db_finish(st);
    return e;
}

cl_err ws_list_page(db_t *db, arena_t *a, const ws_key *after, int64_t limit, ws_row_fn fn, void *arg, bool *more,
                    cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_PAGE, "isi", after ? after->created_at : INT64_MIN, after ? after->id : "",
                        limit + 1);
    return page(st, e, limit, fn, arg, more, err);
}

int ws_peer_group(const char *self_id, const char *self_parent, const ws_row *row)
{
    if (self_parent != NULL && strcmp(row->id, self_parent) == 0)
        return 2;
    return row->parent_id != NULL && strcmp(row->parent_id, self_id) == 0 ? 1 : 0;
}

cl_err ws_peers_page(db_t *db, arena_t *a, const char *self_id, const char *self_parent, const ws_key *after,
                     int64_t limit, ws_row_fn fn, void *arg, bool *more, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_PEERS, "ssiisi", self_id, self_parent, after ? after->group : INT64_MIN,
                        after ? after->created_at : INT64_MIN, after ? after->id : "", limit + 1);
    return page(st, e, limit, fn, arg, more, err);
}

cl_err ws_platform_id(db_t *db, arena_t *a, const char **id, cl_error *err)
{
    db_stmt_t *st;
    *id = NULL;
    cl_err e = db_query(db, a, &st, err, SQL_PLATFORM, "");
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK)
        *id = db_col_dup(st, a, 0);
    db_finish(st);
    return e == CL_NOT_FOUND ? CL_OK : e;
}

cl_err ws_children(db_t *db, arena_t *a, const char *id, const char ***ids, const char ***names, size_t *count,
                   cl_error *err)
{
    db_stmt_t *st;
    size_t n = 0, icap = 0, ncap = 0;
    const char **i_out = NULL, **n_out = NULL;
    cl_err e = db_query(db, a, &st, err, SQL_CHILDREN, "s", id);
    bool row = true;
    while (e == CL_OK && (e = db_step(st, &row, err)) == CL_OK && row) {
        i_out = arena_grow(a, i_out, n, &icap, sizeof(char *));
        n_out = arena_grow(a, n_out, n, &ncap, sizeof(char *));
        i_out[n] = db_col_dup(st, a, 0);
        n_out[n++] = db_col_dup(st, a, 1);
    }
    db_finish(st);
    *ids = i_out, *names = n_out, *count = n;
    return e;
}

/* ---- the resolver ------------------------------------------------------------------------------------------ */

static bool same_parent(const char *a, const char *b) { return (a == NULL && b == NULL) || (a && b && !strcmp(a, b)); }

static event_type created_event(const char *status)
{
    if (strcmp(status, "online") == 0)
        return EV_WORKSPACE_ONLINE;
    if (strcmp(status, "offline") == 0)
        return EV_WORKSPACE_OFFLINE;
    if (strcmp(status, "provisioning") == 0)
        return EV_WORKSPACE_PROVISIONING;
    return EV_WORKSPACE_AWAITING_AGENT;
}

/* One insert attempt in its own transaction, under the tree lock (shared): a removal of the parent either committed
 * before (the insert sees the parent removed and does nothing) or waits for this insert to commit (and removes the
 * new row with its parent). *inserted tells whether the row is new; *parent receives the parent it was tried
 * under (the platform root for a default parent). */
static cl_err try_insert(db_t *db, arena_t *a, const ws_spec *s, const char *id, bool *inserted, const char **parent,
                         cl_error *err)
{
    const char *status = s->status ? s->status : "awaiting_agent";
    const char *runtime = s->runtime ? s->runtime : "claude-code";
    int64_t tier = s->tier ? s->tier : WS_TIER_DEFAULT;
    db_stmt_t *st;
    *inserted = false;
    *parent = s->parent_id;
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    if ((e = db_tx_lock_shared(db, WS_TREE_LOCK, err)) == CL_OK && s->parent_id == NULL && s->default_parent)
        e = ws_platform_id(db, a, parent, err); /* under the lock a racing install is either done or not begun */
    if (e != CL_OK) {
        db_tx_rollback(db);
        return e;
    }
    e = db_query(db, a, &st, err, SQL_INSERT, "ssssssisssssss" "sii", id, s->name, s->role,
                 s->kind ? s->kind : "workspace", *parent, status, tier, runtime, s->model ? s->model : "",
                 s->template_name ? s->template_name : "", s->url ? s->url : "",
                 s->delivery_mode ? s->delivery_mode : "push", s->workspace_dir,
                 s->workspace_access ? s->workspace_access : "none", (const char *)NULL,
                 s->max_concurrent_tasks > 0 ? s->max_concurrent_tasks : 1, time_now_ms());
    if (e == CL_OK && s->has_budget_limit)
        db_bind_int64(st, 15, s->budget_limit);
    bool row = false;
    if (e == CL_OK)
        e = db_step(st, &row, err);
    if (e == CL_OK && row)
        e = db_exec(st, err);
    db_finish(st);
    if (e == CL_OK && row && s->has_canvas)
        e = db_run(db, a, NULL, err, SQL_LAYOUT_POSITION, "sdd", id, s->x, s->y);
    if (e == CL_OK && row && !s->own_event) {
        json_t *p = json_own(a, json_pack("{s:s, s:I, s:s}", "name", s->name, "tier", (json_int_t)tier, "runtime",
                                          runtime));
        e = event_record(db, a, created_event(status), id, json_dump_arena(a, p, NULL), NULL, err);
    }
    if (e == CL_OK && row && s->nsecrets > 0)
        e = secret_put(db, a, id, s->secrets, s->nsecrets, s->secrets_by, err);
    if (e == CL_OK && row)
        e = db_tx_commit(db, err);
    else
        db_tx_rollback(db);
    *inserted = e == CL_OK && row;
    return e;
}

static cl_err live_holder(db_t *db, arena_t *a, const char *parent, const char *name, const char **holder,
                          cl_error *err)
{
    db_stmt_t *st;
    *holder = NULL;
    cl_err e = db_query(db, a, &st, err, SQL_LIVE_BY_NAME, "ss", parent, name);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK)
        *holder = db_col_dup(st, a, 0);
    db_finish(st);
    return e == CL_NOT_FOUND ? CL_OK : e;
}

static cl_err exists_live(db_t *db, arena_t *a, const char *id, bool *yes, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_LIVE_EXISTS, "s", id);
    if (e == CL_OK)
        e = db_one(st, err);
    db_finish(st);
    *yes = e == CL_OK;
    return e == CL_NOT_FOUND ? CL_OK : e;
}

/* The skip path: say what is there instead, for the spec tried under `parent`. CL_OK with *done false means
 * "nothing there, try again". */
static cl_err explain_skip(db_t *db, arena_t *a, const ws_spec *s, const char *parent_id, ws_row *out,
                           ws_outcome *how, bool *done, cl_error *err)
{
    db_stmt_t *st;
    const char *holder;
    cl_err e;
    *done = true;
    if (s->id != NULL) {
        if ((e = db_query(db, a, &st, err, SQL_BY_ID, "s", s->id)) != CL_OK)
            return e;
        e = db_one(st, err);
        if (e == CL_OK) {
            const char *parent = db_col_dup(st, a, 0), *name = db_col_dup(st, a, 1), *status = db_col_dup(st, a, 2);
            db_finish(st);
            out->id = s->id;
            if (strcmp(status, "removed") == 0)
                return cl_fail(err, CL_GONE, "workspace removed");
            if (!same_parent(parent, parent_id) || strcmp(name, s->name) != 0)
                return cl_fail(err, CL_CONFLICT, "workspace %s exists with a different parent or name", s->id);
            *how = WS_EXISTING;
            return ws_get(db, a, s->id, out, err);
        }
        db_finish(st);
        if (e != CL_NOT_FOUND)
            return e;
    }
    if ((e = live_holder(db, a, parent_id, s->name, &holder, err)) != CL_OK)
        return e;
    if (holder != NULL) {
        if (s->id != NULL) { /* the caller's id is free but the name is not */
            out->id = holder;
            return cl_fail(err, CL_CONFLICT, "workspace name already in use");
        }
        *how = WS_EXISTING;
        return ws_get(db, a, holder, out, err);
    }
    if (parent_id != NULL) {
        bool live;
        if ((e = exists_live(db, a, parent_id, &live, err)) != CL_OK)
            return e;
        if (!live)
            return cl_fail(err, CL_NOT_FOUND, "parent workspace not found");
    }
    if (s->kind != NULL && strcmp(s->kind, "platform") == 0) {
        const char *pid;
        if ((e = ws_platform_id(db, a, &pid, err)) != CL_OK)
            return e;
        if (pid != NULL) {
            out->id = pid;
            return cl_fail(err, CL_CONFLICT, "a platform root already exists");
        }
    }
    *done = false; /* the conflicting row went away between our insert and this look: insert again */
    return CL_OK;
}

cl_err ws_resolve(db_t *db, arena_t *a, const ws_spec *s, ws_row *out, ws_outcome *how, cl_error *err)
{
    char fresh[ID_UUID_LEN + 1];
    const char *id = s->id;
    if (id == NULL) {
        id_uuid4(fresh);
        id = arena_strdup(a, fresh);
    }
    memset(out, 0, sizeof(*out));
    for (int attempt = 0; attempt < RESOLVE_ATTEMPTS; attempt++) {
        bool inserted = false, done = false;
        const char *parent = NULL;
        cl_err e = try_insert(db, a, s, id, &inserted, &parent, err);
        if (e != CL_OK)
            return e;
        if (inserted) {
            *how = WS_CREATED;
            return ws_get(db, a, id, out, err);
        }
        if ((e = explain_skip(db, a, s, parent, out, how, &done, err)) != CL_OK || done)
            return e;
    }
    return cl_fail(err, CL_UNAVAILABLE, "workspace create did not settle; retry");
}

/* ---- updates ------------------------------------------------------------------------------------------------ */

static cl_err set_text(db_t *db, arena_t *a, const char *column, const char *id, const char *v, cl_error *err)
{
    /* `column` is one of this file's literals, never input */
    const char *sql = arena_sprintf(a, "UPDATE workspaces SET %s = $2, updated_at = $3 WHERE id = $1", column);
    return db_run(db, a, NULL, err, sql, "ssi", id, v, time_now_ms());
}

static cl_err check_new_parent(db_t *db, arena_t *a, const char *id, const char *parent, cl_error *err)
{
    if (strcmp(parent, id) == 0)
        return cl_fail(err, CL_INVALID, "a workspace cannot be its own parent");
    bool live;
    cl_err e = exists_live(db, a, parent, &live, err);
    if (e != CL_OK)
        return e;
    if (!live)
        return cl_fail(err, CL_NOT_FOUND, "parent workspace not found");
    db_stmt_t *st;
    if ((e = db_query(db, a, &st, err, SQL_IS_ANCESTOR, "ss", parent, id)) != CL_OK || (e = db_one(st, err)) != CL_OK)
        return e;
    int64_t hits = db_col_int64(st, 0);
    db_finish(st);
    return hits > 0 ? cl_fail(err, CL_INVALID, "parent change would create a cycle") : CL_OK;
}

/* May p->mover move `cur` under p->parent_id? An anchored org token keeps both ends inside its org: the row's root
 * and the new parent's root are its org, and a new root (parent null) is a move out of it. */
static cl_err check_mover(db_t *db, arena_t *a, const ws_row *cur, const ws_patch *p, cl_error *err)
{
    if (same_parent(cur->parent_id, p->parent_id) || p->mover == WS_MOVER_OPERATOR)
        return CL_OK;
    if (p->mover != WS_MOVER_ORG || p->mover_org == NULL)
        return cl_fail(err, CL_FORBIDDEN, "only an operator (admin or org token) may change a workspace's parent");
    const char *from, *to = NULL;
    cl_err e = ws_org_root(db, a, cur->id, &from, err);
    if (e == CL_OK && p->parent_id != NULL && (e = ws_org_root(db, a, p->parent_id, &to, err)) == CL_NOT_FOUND)
        return cl_fail(err, CL_NOT_FOUND, "parent workspace not found");
    if (e != CL_OK)
        return e;
    if (to == NULL || strcmp(from, p->mover_org) != 0 || strcmp(to, p->mover_org) != 0)
        return cl_fail(err, CL_FORBIDDEN, "an org token may move workspaces only within its own org");
    return CL_OK;
}

static cl_err apply_patch(db_t *db, arena_t *a, const char *id, const ws_patch *p, const char **conflict_id,
                          cl_error *err)
{
    bool live;
    cl_err e = exists_live(db, a, id, &live, err);
    if (e != CL_OK)
        return e;
    if (!live)
        return cl_fail(err, CL_NOT_FOUND, "workspace not found");
    ws_row cur;
    if ((e = ws_get(db, a, id, &cur, err)) != CL_OK)
        return e;
    if (p->has_parent && (e = check_mover(db, a, &cur, p, err)) != CL_OK)
        return e;
    if (p->has_parent && p->parent_id != NULL && (e = check_new_parent(db, a, id, p->parent_id, err)) != CL_OK)
        return e;
    if (p->has_name && (e = set_text(db, a, "name", id, p->name, err)) != CL_OK)
        goto conflict;
    if (p->has_parent && (e = set_text(db, a, "parent_id", id, p->parent_id, err)) != CL_OK)
        goto conflict;
    if (p->has_role && (e = set_text(db, a, "role", id, p->role, err)) != CL_OK)
        return e;
    if (p->has_runtime && (e = set_text(db, a, "runtime", id, p->runtime, err)) != CL_OK)
        return e;
    if (p->has_dir && (e = set_text(db, a, "workspace_dir", id, p->workspace_dir, err)) != CL_OK)
        return e;
    if (p->has_tier && (e = db_run(db, a, NULL, err, "UPDATE workspaces SET tier = $2 WHERE id = $1", "si", id,
                                   p->tier)) != CL_OK)
        return e;
    if (p->has_position && (e = db_run(db, a, NULL, err, SQL_LAYOUT_POSITION, "sdd", id, p->x, p->y)) != CL_OK)
        return e;
    if (p->has_collapsed && (e = db_run(db, a, NULL, err, SQL_LAYOUT_COLLAPSED, "sb", id, p->collapsed)) != CL_OK)
        return e;
    if (p->has_parent && !same_parent(cur.parent_id, p->parent_id)) {
        json_t *ev = json_own(a, json_pack("{s:s?, s:s?}", "parent_id", p->parent_id, "old_parent_id", cur.parent_id));
        e = event_record(db, a, EV_AGENT_MOVED, id, json_dump_arena(a, ev, NULL), NULL, err);
    }
    return e;
conflict:
    if (e == CL_CONFLICT) { /* name taken among the (new) siblings: name the holder */
        const char *name = p->has_name ? p->name : cur.name;
        const char *parent = p->has_parent ? p->parent_id : cur.parent_id;
        db_tx_rollback(db);
        cl_error ignored;
        if (live_holder(db, a, parent, name, conflict_id, &ignored) == CL_OK)
            return cl_fail(err, CL_CONFLICT, "workspace name already in use");
    } else if (e == CL_INVALID) {
        return cl_fail(err, CL_CONFLICT, "change violates a workspace invariant (platform root has no parent)");
    }
    return e;
}

cl_err ws_update(db_t *db, arena_t *a, const char *id, const ws_patch *p, bool *needs_restart,
                 const char **conflict_id, cl_error *err)
{
    *needs_restart = p->has_runtime || p->has_dir;
    *conflict_id = NULL;
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    if (p->has_parent && (e = db_tx_lock(db, WS_TREE_LOCK, err)) != CL_OK) {
        db_tx_rollback(db);
        return e;
    }
    e = apply_patch(db, a, id, p, conflict_id, err);
    return db_tx_end(db, e, err);
}

/* ---- delete ------------------------------------------------------------------------------------------------- */

/* Run `sql` once per id with ($1 = id, $2 = now), reusing one prepared statement. */
static cl_err each(db_t *db, arena_t *a, const char *sql, const char **ids, size_t n, int64_t now, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_prepare(db, a, sql, &st, err);
    for (size_t i = 0; e == CL_OK && i < n; i++) {
        db_bind_str(st, 1, ids[i]);
        db_bind_int64(st, 2, now); /* statements without $2 ignore it */
        e = db_exec(st, err);
    }
    db_finish(st);
    return e;
}

static cl_err cascade(db_t *db, arena_t *a, const char *id, bool purge, int64_t *cascaded, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_tx_lock(db, WS_TREE_LOCK, err);
    if (e != CL_OK || (e = db_query(db, a, &st, err, SQL_SUBTREE, "s", id)) != CL_OK)
        return e;
    size_t n = 0, cap = 0;
    const char **ids = NULL;
    bool row = true;
    while ((e = db_step(st, &row, err)) == CL_OK && row) {
        ids = arena_grow(a, ids, n, &cap, sizeof(char *));
        ids[n++] = db_col_dup(st, a, 0);
    }
    db_finish(st);
    if (e != CL_OK)
        return e;
    if (n == 0)
        return cl_fail(err, CL_NOT_FOUND, "workspace not found");
    int64_t now = time_now_ms();
    /* removed first, so that a register or heartbeat racing this delete cannot bring a row back */
    if ((e = each(db, a, SQL_MARK_REMOVED, ids, n, now, err)) != CL_OK ||
        (e = each(db, a, SQL_DROP_LAYOUT, ids, n, now, err)) != CL_OK ||
        (e = each(db, a, purge ? SQL_DELETE_TOKENS : SQL_REVOKE_TOKENS, ids, n, now, err)) != CL_OK ||
        (e = inbox_on_removed(db, a, ids, n, purge, err)) != CL_OK || /* settle (or delete) their pending asks */
        (e = each(db, a, SQL_STOP_SCHEDULES, ids, n, now, err)) != CL_OK ||
        (e = each(db, a, SQL_CLOSE_CHANNEL_SENDS, ids, n, now, err)) != CL_OK ||
        (e = each(db, a, SQL_CLOSE_CHANNEL_MESSAGES, ids, n, now, err)) != CL_OK)
        return e;
    if (purge && ((e = each(db, a, SQL_ORPHAN_CHILDREN, ids, n, now, err)) != CL_OK ||
                  (e = each(db, a, SQL_DELETE_ROW, ids, n, now, err)) != CL_OK))
        return e;
    /* ids are deepest first; the requested row is last */
    for (size_t i = 0; e == CL_OK && i < n; i++) {
        const char *payload = i + 1 == n ? arena_sprintf(a, "{\"cascade_deleted\":%zu}", n - 1) : "{}";
        e = event_record(db, a, EV_WORKSPACE_REMOVED, ids[i], payload, NULL, err);
    }
    *cascaded = (int64_t)n - 1;
    return e;
}

cl_err ws_delete(db_t *db, arena_t *a, const char *id, bool purge, int64_t *cascaded, cl_error *err)
{
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    return db_tx_end(db, cascade(db, a, id, purge, cascaded, err), err);
}

/* The top of the walk (as SQL_IS_ANCESTOR, any depth): the row without a parent, or whose parent is gone. */
static const char SQL_ORG_ROOT[] =
    "WITH RECURSIVE anc(id, parent_id) AS ("
    " SELECT id, parent_id FROM workspaces WHERE id = $1"
    " UNION SELECT w.id, w.parent_id FROM workspaces w JOIN anc ON w.id = anc.parent_id)"
    " SELECT id FROM anc WHERE parent_id IS NULL OR parent_id NOT IN (SELECT id FROM anc) LIMIT 1";

cl_err ws_org_root(db_t *db, arena_t *a, const char *id, const char **root, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_ORG_ROOT, "s", id);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK)
        *root = db_col_dup(st, a, 0);
    db_finish(st);
    return e == CL_NOT_FOUND ? cl_fail(err, CL_NOT_FOUND, "workspace not found") : e;
}
