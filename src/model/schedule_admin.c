/* schedule_admin.c - see schedule_admin.h. */
#include "model/schedule_admin.h"

#include <string.h>

#include "base/cron.h"
#include "base/time.h"
#include "base/tz.h"
#include "model/schedule.h"
#include "model/workspace.h"

#define A_COLUMNS                                                                                                  \
    "s.workspace_id, w.name, s.id, s.name, s.cron_expr, s.timezone, s.source, s.enabled, s.last_run_at,"          \
    " s.next_run_at"
/* a page starts after the row of the cursor's schedule, wherever its names now place it */
static const char SQL_HEALTH[] =
    "SELECT " A_COLUMNS " FROM workspace_schedules s JOIN workspaces w ON w.id = s.workspace_id"
    " WHERE w.status <> 'removed' AND (CAST($1 AS TEXT) IS NULL OR (w.name, s.name, s.id) >"
    " (SELECT w2.name, s2.name, s2.id FROM workspace_schedules s2 JOIN workspaces w2 ON w2.id = s2.workspace_id"
    " WHERE s2.id = $1)) ORDER BY w.name, s.name, s.id LIMIT $2";
static const char SQL_ORPHANS[] =
    "SELECT " A_COLUMNS " FROM workspace_schedules s JOIN workspaces w ON w.id = s.workspace_id"
    " WHERE w.status = 'removed' AND (CAST($1 AS TEXT) IS NULL OR (s.name, s.id) >"
    " (SELECT s2.name, s2.id FROM workspace_schedules s2 WHERE s2.id = $1)) ORDER BY s.name, s.id LIMIT $2";
static const char SQL_CURSOR_EXISTS[] = "SELECT 1 FROM workspace_schedules WHERE id = $1";
static const char SQL_STRAYS[] =
    "SELECT s.id, s.workspace_id, w.parent_id, w.role FROM workspace_schedules s JOIN workspaces w"
    " ON w.id = s.workspace_id WHERE w.status = 'removed' AND s.source = 'runtime' AND w.role IS NOT NULL"
    " ORDER BY s.created_at, s.id";
static const char SQL_SUCCESSOR[] =
    "SELECT id FROM workspaces WHERE status <> 'removed' AND role = $1"
    " AND COALESCE(parent_id, '') = COALESCE(CAST($2 AS TEXT), '') ORDER BY updated_at DESC, id LIMIT 1";
static const char SQL_MOVE[] =
    "UPDATE workspace_schedules SET workspace_id = $2, updated_at = $4 WHERE id = $1 AND workspace_id = $5"
    " AND NOT EXISTS (SELECT 1 FROM workspace_schedules x WHERE x.workspace_id = $2 AND x.name <> ''"
    " AND x.name = workspace_schedules.name)"
    " AND (SELECT count(*) FROM workspace_schedules y WHERE y.workspace_id = $2) < $3";
static const char SQL_STOP_ORPHANS[] =
    "UPDATE workspace_schedules SET enabled = 0, updated_at = $1 WHERE enabled = 1"
    " AND workspace_id IN (SELECT id FROM workspaces WHERE status = 'removed')";

static cl_err page(db_t *db, arena_t *a, const char *sql, const char *after_id, int64_t limit, sched_admin_row **rows,
                   size_t *count, cl_error *err)
{
    db_stmt_t *st;
    *count = 0;
    if (after_id != NULL) {
        cl_err e = db_query(db, a, &st, err, SQL_CURSOR_EXISTS, "s", after_id);
        if (e == CL_OK)
            e = db_one(st, err);
        db_finish(st);
        if (e == CL_NOT_FOUND)
            return cl_fail(err, CL_GONE, "the schedule this page starts after was deleted; start again");
        if (e != CL_OK)
            return e;
    }
    sched_admin_row *out = arena_calloc(a, (size_t)limit + 1, sizeof(*out));
    size_t n = 0;
    bool row = true;
    cl_err e = db_query(db, a, &st, err, sql, "si", after_id, limit);
    while (e == CL_OK && (e = db_step(st, &row, err)) == CL_OK && row && n < (size_t)limit) {
        sched_admin_row *r = &out[n++];
        r->workspace_id = db_col_dup(st, a, 0);
        r->workspace_name = db_col_dup(st, a, 1);
        r->id = db_col_dup(st, a, 2);
        r->name = db_col_dup(st, a, 3);
        r->cron_expr = db_col_dup(st, a, 4);
        r->timezone = db_col_dup(st, a, 5);
        r->source = db_col_dup(st, a, 6);
        r->enabled = db_col_int64(st, 7) != 0;
        r->last_run_at = db_col_is_null(st, 8) ? 0 : db_col_int64(st, 8);
        r->next_run_at = db_col_is_null(st, 9) ? 0 : db_col_int64(st, 9);
    }
    db_finish(st);
    *rows = out, *count = n;
    return e;
}

cl_err sched_admin_health(db_t *db, arena_t *a, const char *after_id, int64_t limit, sched_admin_row **rows,
                          size_t *count, cl_error *err)
{
    return page(db, a, SQL_HEALTH, after_id, limit, rows, count, err);
}

cl_err sched_admin_orphans(db_t *db, arena_t *a, const char *after_id, int64_t limit, sched_admin_row **rows,
                           size_t *count, cl_error *err)
{
    return page(db, a, SQL_ORPHANS, after_id, limit, rows, count, err);
}

int64_t sched_stale_threshold_s(const char *expr, const char *timezone, int64_t now_ms)
{
    cron_expr e;
    const tz_zone *z;
    size_t pos;
    cl_error ignore;
    int64_t first, second;
    if (tz_get(timezone, strlen(timezone), &z, &pos, &ignore) != CL_OK ||
        cron_parse(expr, strlen(expr), true, &e, &pos, &ignore) != CL_OK ||
        !cron_next(&e, z, now_ms / 1000, &first) || !cron_next(&e, z, first, &second))
        return 0;
    return 2 * (second - first);
}

typedef struct {
    const char *id, *workspace_id, *parent_id, *role;
} stray;

cl_err sched_reap_orphans(db_t *db, arena_t *a, int64_t *repointed, int64_t *disabled, cl_error *err)
{
    *repointed = *disabled = 0;
    int64_t now = time_now_ms();
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    /* exclusive: no create counts a workspace's schedules, and no delete removes one, while schedules move */
    e = db_tx_lock(db, WS_TREE_LOCK, err);
    db_stmt_t *st = NULL;
    stray *strays = NULL;
    size_t n = 0, cap = 0;
    bool row = true;
    if (e == CL_OK)
        e = db_query(db, a, &st, err, SQL_STRAYS, "");
    while (e == CL_OK && (e = db_step(st, &row, err)) == CL_OK && row) {
        strays = arena_grow(a, strays, n, &cap, sizeof(*strays));
        strays[n++] = (stray){db_col_dup(st, a, 0), db_col_dup(st, a, 1), db_col_dup(st, a, 2), db_col_dup(st, a, 3)};
    }
    db_finish(st);
    int64_t limit = sched_max_per_workspace();
    for (size_t i = 0; e == CL_OK && i < n; i++) {
        const char *to = NULL;
        if ((e = db_query(db, a, &st, err, SQL_SUCCESSOR, "ss", strays[i].role, strays[i].parent_id)) == CL_OK &&
            (e = db_one(st, err)) == CL_OK)
            to = db_col_dup(st, a, 0);
        db_finish(st);
        if (e == CL_NOT_FOUND) {
            e = CL_OK;
            continue;
        }
        int64_t moved = 0;
        if (e == CL_OK)
            e = db_run(db, a, &moved, err, SQL_MOVE, "ssiis", strays[i].id, to, limit, now, strays[i].workspace_id);
        *repointed += moved;
    }
    if (e == CL_OK)
        e = db_run(db, a, disabled, err, SQL_STOP_ORPHANS, "i", now);
    if (e != CL_OK)
        *repointed = *disabled = 0;
    return db_tx_end(db, e, err);
}
