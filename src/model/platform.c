/* platform.c - see platform.h. */
#include "model/platform.h"

#include <string.h>

#include "base/json.h"
#include "base/time.h"
#include "model/event.h"
#include "model/workspace.h"

static const char SQL_DEMOTE[] = "UPDATE workspaces SET kind = 'workspace' WHERE kind = 'platform' AND id <> $1";
static const char SQL_EXISTS[] = "SELECT status FROM workspaces WHERE id = $1";
static const char SQL_PROMOTE[] = "UPDATE workspaces SET kind = 'platform', parent_id = NULL, runtime = 'claude-code',"
                                  " template = 'platform-agent', updated_at = $2 WHERE id = $1";
static const char SQL_OTHER_ROOTS[] = "SELECT id FROM workspaces WHERE parent_id IS NULL AND id <> $1 ORDER BY id";
static const char SQL_REPARENT[] = "UPDATE workspaces SET parent_id = $2, updated_at = $3 WHERE id = $1";
static const char SQL_MOVE_TOKENS[] = "UPDATE org_api_tokens SET org_id = $2 WHERE org_id = $1";
static const char SQL_COPY_ALLOW[] = "INSERT INTO org_plugin_allowlist (org_id, plugin_name, enabled_by, enabled_at)"
                                     " SELECT $2, plugin_name, enabled_by, enabled_at FROM org_plugin_allowlist"
                                     " WHERE org_id = $1 ON CONFLICT DO NOTHING";
static const char SQL_DROP_ALLOW[] = "DELETE FROM org_plugin_allowlist WHERE org_id = $1";
static const char SQL_ALLOW_LIST[] =
    "SELECT plugin_name, enabled_by, enabled_at FROM org_plugin_allowlist WHERE org_id = $1 ORDER BY plugin_name";
static const char SQL_ALLOW_ADD[] = "INSERT INTO org_plugin_allowlist (org_id, plugin_name, enabled_by, enabled_at)"
                                    " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";

static cl_err install(db_t *db, arena_t *a, const char *id, const char *name, cl_error *err)
{
    cl_err e = db_tx_lock(db, WS_TREE_LOCK, err);
    if (e == CL_OK)
        e = db_run(db, a, NULL, err, SQL_DEMOTE, "s", id);
    if (e != CL_OK)
        return e;
    db_stmt_t *st;
    if ((e = db_query(db, a, &st, err, SQL_EXISTS, "s", id)) != CL_OK)
        return e;
    e = db_one(st, err);
    db_finish(st);
    if (e == CL_OK) { /* an existing row keeps its name and status; it becomes the root */
        if ((e = db_run(db, a, NULL, err, SQL_PROMOTE, "si", id, time_now_ms())) != CL_OK)
            return e == CL_CONFLICT ? cl_fail(err, e, "another root already has this workspace's name") : e;
    } else if (e == CL_NOT_FOUND) {
        ws_spec s = {.id = id, .name = name, .kind = "platform", .status = "offline", .runtime = "claude-code",
                     .template_name = "platform-agent", .tier = WS_TIER_DEFAULT};
        ws_row row;
        ws_outcome how;
        if ((e = ws_resolve(db, a, &s, &row, &how, err)) != CL_OK)
            return e;
    } else {
        return e;
    }
    if ((e = db_query(db, a, &st, err, SQL_OTHER_ROOTS, "s", id)) != CL_OK)
        return e;
    const char **roots = NULL;
    size_t n = 0, cap = 0;
    bool row = true;
    while ((e = db_step(st, &row, err)) == CL_OK && row) {
        roots = arena_grow(a, roots, n, &cap, sizeof(char *));
        roots[n++] = db_col_dup(st, a, 0);
    }
    db_finish(st);
    int64_t now = time_now_ms();
    for (size_t i = 0; e == CL_OK && i < n; i++) {
        e = db_run(db, a, NULL, err, SQL_REPARENT, "ssi", roots[i], id, now);
        if (e == CL_CONFLICT)
            return cl_fail(err, e, "root %s has the name of a workspace already under the platform root", roots[i]);
        if (e == CL_OK)
            e = db_run(db, a, NULL, err, SQL_MOVE_TOKENS, "ss", roots[i], id);
        if (e == CL_OK)
            e = db_run(db, a, NULL, err, SQL_COPY_ALLOW, "ss", roots[i], id);
        if (e == CL_OK)
            e = db_run(db, a, NULL, err, SQL_DROP_ALLOW, "s", roots[i]);
        if (e == CL_OK) {
            json_t *p = json_own(a, json_pack("{s:s, s:n}", "parent_id", id, "old_parent_id"));
            e = event_record(db, a, EV_AGENT_MOVED, roots[i], json_dump_arena(a, p, NULL), NULL, err);
        }
    }
    return e;
}

cl_err platform_install(db_t *db, arena_t *a, const char *id, const char *name, cl_error *err)
{
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    return db_tx_end(db, install(db, a, id, name, err), err);
}

bool plugin_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > PLUGIN_NAME_MAX || name[0] == '.' || strstr(name, "..") != NULL)
        return false;
    return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@/-") == n;
}

static cl_err org_exists(db_t *db, arena_t *a, const char *org_id, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_EXISTS, "s", org_id);
    if (e == CL_OK)
        e = db_one(st, err);
    db_finish(st);
    return e == CL_NOT_FOUND ? cl_fail(err, e, "org not found") : e;
}

cl_err allowlist_get(db_t *db, arena_t *a, const char *org_id, allowlist_entry **out, size_t *count, cl_error *err)
{
    cl_err e = org_exists(db, a, org_id, err);
    db_stmt_t *st = NULL;
    size_t n = 0, cap = 0;
    allowlist_entry *rows = NULL;
    if (e == CL_OK)
        e = db_query(db, a, &st, err, SQL_ALLOW_LIST, "s", org_id);
    bool row = true;
    while (e == CL_OK && (e = db_step(st, &row, err)) == CL_OK && row) {
        rows = arena_grow(a, rows, n, &cap, sizeof(*rows));
        rows[n++] = (allowlist_entry){db_col_dup(st, a, 0), db_col_dup(st, a, 1), db_col_int64(st, 2)};
    }
    db_finish(st);
    *out = rows, *count = n;
    return e;
}

cl_err allowlist_put(db_t *db, arena_t *a, const char *org_id, const char *const *names, size_t n,
                     const char *enabled_by, cl_error *err)
{
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    e = org_exists(db, a, org_id, err);
    if (e == CL_OK)
        e = db_run(db, a, NULL, err, SQL_DROP_ALLOW, "s", org_id);
    int64_t now = time_now_ms();
    for (size_t i = 0; e == CL_OK && i < n; i++)
        e = db_run(db, a, NULL, err, SQL_ALLOW_ADD, "sssi", org_id, names[i], enabled_by, now);
    return db_tx_end(db, e, err);
}
