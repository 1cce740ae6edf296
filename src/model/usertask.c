/* usertask.c - see usertask.h. */
#include "model/usertask.h"

#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "base/time.h"
#include "model/event.h"
#include "model/workspace.h"

#define T_COLUMNS "t.id, t.workspace_id, t.title, t.detail, t.status, t.resolved_by, t.created_at, t.resolved_at"

/* Only into a live workspace, under the tree lock held shared (see approval.c). */
static const char SQL_INSERT[] =
    "INSERT INTO user_tasks (id, workspace_id, title, detail, created_at) SELECT $1, w.id, $3, $4,"
    " CAST($5 AS BIGINT) FROM workspaces w WHERE w.id = $2 AND w.status <> 'removed' RETURNING id";
/* newest first, keyset pages on (created_at, id): idx_user_tasks_workspace, _pending */
static const char SQL_LIST[] = "SELECT " T_COLUMNS ", NULL FROM user_tasks t WHERE t.workspace_id = $1"
                               " AND (t.created_at, t.id) < (CAST($2 AS BIGINT), CAST($3 AS TEXT))"
                               " ORDER BY t.created_at DESC, t.id DESC LIMIT $4";
static const char SQL_PENDING[] =
    "SELECT " T_COLUMNS ", w.name FROM user_tasks t JOIN workspaces w ON w.id = t.workspace_id"
    " WHERE t.status = 'pending' AND (t.created_at, t.id) < (CAST($1 AS BIGINT), CAST($2 AS TEXT))"
    " ORDER BY t.created_at DESC, t.id DESC LIMIT $3";
static const char SQL_STATE[] = "SELECT status FROM user_tasks WHERE id = $1 AND workspace_id = $2";
static const char SQL_RESOLVE[] =
    "UPDATE user_tasks SET status = $3, resolved_at = $4, resolved_by = $5"
    " WHERE id = $1 AND workspace_id = $2 AND status = 'pending' AND EXISTS (SELECT 1 FROM inbox_transitions t"
    " WHERE t.store = 'user_task' AND t.from_status = user_tasks.status AND t.to_status = $3)";
/* Compare-and-set on the status read just before ($3): a resolution racing the update makes it read again. */
static const char SQL_UPDATE[] =
    "UPDATE user_tasks SET title = COALESCE($4, title),"
    " detail = CASE WHEN CAST($5 AS TEXT) IS NULL THEN detail ELSE NULLIF($5, '') END, status = $6,"
    " resolved_at = CASE WHEN status = 'pending' AND $6 <> 'pending' THEN CAST($7 AS BIGINT) ELSE resolved_at END,"
    " resolved_by = CASE WHEN status = 'pending' AND $6 <> 'pending' THEN $8 ELSE resolved_by END"
    " WHERE id = $1 AND workspace_id = $2 AND status = $3";
static const char SQL_DELETE[] = "DELETE FROM user_tasks WHERE id = $1 AND workspace_id = $2";
static const char SQL_ON_REMOVED[] =
    "UPDATE user_tasks SET status = 'dismissed', resolved_at = $3, resolved_by = $2"
    " WHERE workspace_id = $1 AND status = 'pending' RETURNING id";

static void read_row(db_stmt_t *st, arena_t *a, void *row)
{
    user_task_row *r = row;
    r->id = db_col_dup(st, a, 0);
    r->workspace_id = db_col_dup(st, a, 1);
    r->title = db_col_dup(st, a, 2);
    r->detail = db_col_dup(st, a, 3);
    r->status = db_col_dup(st, a, 4);
    r->resolved_by = db_col_dup(st, a, 5);
    r->created_at = db_col_int64(st, 6);
    r->resolved_at = db_col_is_null(st, 7) ? 0 : db_col_int64(st, 7);
    r->workspace_name = db_col_dup(st, a, 8);
}

static cl_err resolved(db_t *db, arena_t *a, const char *ws, const char *id, const char *status, const char *by,
                       cl_error *err)
{
    return inbox_event(db, a, EV_USER_TASK_RESOLVED, ws,
                       json_pack("{s:s, s:s, s:s}", "user_task_id", id, "status", status, "resolved_by", by), err);
}

/* The task's status, or CL_NOT_FOUND with `not_found`. */
static cl_err state(db_t *db, arena_t *a, const char *ws, const char *id, const char *not_found,
                    const char **status, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_STATE, "ss", id, ws);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK)
        *status = db_col_dup(st, a, 0);
    db_finish(st);
    return e == CL_NOT_FOUND ? cl_fail(err, CL_NOT_FOUND, "%s", not_found) : e;
}

cl_err user_task_create(db_t *db, arena_t *a, const char *workspace_id, const char *title, const char *detail,
                        const char **id, cl_error *err)
{
    if (inbox_text("title", title, INBOX_TITLE_MAX, true, err) != CL_OK ||
        inbox_text("detail", detail, INBOX_TEXT_MAX, false, err) != CL_OK)
        return CL_INVALID;
    char fresh[ID_UUID_LEN + 1];
    id_uuid4(fresh);
    db_stmt_t *st = NULL;
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    if ((e = db_tx_lock_shared(db, WS_TREE_LOCK, err)) == CL_OK &&
        (e = db_query(db, a, &st, err, SQL_INSERT, "ssssi", fresh, workspace_id, title,
                      detail && detail[0] ? detail : NULL, time_now_ms())) == CL_OK &&
        (e = db_one(st, err)) == CL_OK) {
        *id = db_col_dup(st, a, 0);
        e = db_exec(st, err);
    }
    db_finish(st);
    if (e == CL_NOT_FOUND)
        e = cl_fail(err, CL_NOT_FOUND, "workspace not found");
    if (e == CL_OK)
        e = inbox_event(db, a, EV_USER_TASK_REQUESTED, workspace_id,
                        json_pack("{s:s, s:s}", "user_task_id", *id, "title", title), err);
    return db_tx_end(db, e, err);
}

cl_err user_task_list(db_t *db, arena_t *a, const char *workspace_id, const inbox_key *before, int64_t limit,
                      user_task_row **rows, size_t *count, cl_error *err)
{
    return inbox_list(db, a, SQL_LIST, &workspace_id, 1, before, limit, sizeof(**rows), read_row, rows, count, err);
}

cl_err user_task_list_pending(db_t *db, arena_t *a, const inbox_key *before, int64_t limit, user_task_row **rows,
                              size_t *count, cl_error *err)
{
    return inbox_list(db, a, SQL_PENDING, NULL, 0, before, limit, sizeof(**rows), read_row, rows, count, err);
}

cl_err user_task_resolve(db_t *db, arena_t *a, const char *workspace_id, const char *id, const char *status,
                         const char *resolved_by, cl_error *err)
{
    if (status == NULL || (strcmp(status, "done") != 0 && strcmp(status, "dismissed") != 0))
        return cl_fail(err, CL_INVALID, "status must be 'done' or 'dismissed'");
    if (inbox_text("resolved_by", resolved_by, INBOX_NAME_MAX, false, err) != CL_OK)
        return CL_INVALID;
    resolved_by = resolved_by && resolved_by[0] ? resolved_by : "human";
    int64_t changed = 0;
    const char *now;
    cl_err e = db_tx_begin(db, err);
    if (e == CL_OK)
        e = db_run(db, a, &changed, err, SQL_RESOLVE, "sssis", id, workspace_id, status, time_now_ms(),
                   resolved_by);
    if (e == CL_OK && changed == 0 &&
        (e = state(db, a, workspace_id, id, "user task not found or already resolved", &now, err)) == CL_OK)
        e = cl_fail(err, CL_CONFLICT, "user task not pending (already resolved)");
    if (e == CL_OK)
        e = resolved(db, a, workspace_id, id, status, resolved_by, err);
    return db_tx_end(db, e, err);
}

cl_err user_task_update(db_t *db, arena_t *a, const char *workspace_id, const char *id, const user_task_patch *p,
                        const char *resolved_by, cl_error *err)
{
    const char *to = p->status;
    if (to && strcmp(to, "pending") != 0 && strcmp(to, "done") != 0 && strcmp(to, "dismissed") != 0)
        return cl_fail(err, CL_INVALID, "status must be 'pending', 'done' or 'dismissed'");
    if ((p->title && inbox_text("title", p->title, INBOX_TITLE_MAX, true, err) != CL_OK) ||
        inbox_text("detail", p->detail, INBOX_TEXT_MAX, false, err) != CL_OK ||
        inbox_text("resolved_by", resolved_by, INBOX_NAME_MAX, true, err) != CL_OK)
        return CL_INVALID;
    const char *from = NULL;
    int64_t changed = 0;
    cl_err e = db_tx_begin(db, err);
    /* a resolution that lands between the read and the write makes the write miss: read again */
    for (int tries = 0; e == CL_OK && changed == 0 && tries < 3; tries++) {
        if ((e = state(db, a, workspace_id, id, "user task not found", &from, err)) != CL_OK ||
            (e = inbox_check_move(db, a, "user_task", "user task", from, to ? to : from, err)) != CL_OK)
            break;
        e = db_run(db, a, &changed, err, SQL_UPDATE, "ssssssis", id, workspace_id, from, p->title, p->detail,
                   to ? to : from, time_now_ms(), resolved_by);
    }
    if (e == CL_OK && changed == 0)
        e = cl_fail(err, CL_UNAVAILABLE, "user task changed while it was updated; try again");
    if (e == CL_OK && to && strcmp(from, "pending") == 0 && strcmp(to, "pending") != 0)
        e = resolved(db, a, workspace_id, id, to, resolved_by, err);
    return db_tx_end(db, e, err);
}

cl_err user_task_delete(db_t *db, arena_t *a, const char *workspace_id, const char *id, cl_error *err)
{
    int64_t changed = 0;
    cl_err e = db_run(db, a, &changed, err, SQL_DELETE, "ss", id, workspace_id);
    if (e == CL_OK && changed == 0)
        return cl_fail(err, CL_NOT_FOUND, "user task not found");
    return e;
}

cl_err user_task_on_removed(db_t *db, arena_t *a, const char *id, cl_error *err)
{
    const char **ids;
    size_t n;
    cl_err e = inbox_settle(db, a, SQL_ON_REMOVED, id, &ids, &n, err);
    for (size_t i = 0; e == CL_OK && i < n; i++)
        e = resolved(db, a, id, ids[i], "dismissed", INBOX_REMOVED_BY, err);
    return e;
}
