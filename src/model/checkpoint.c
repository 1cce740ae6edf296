/* checkpoint.c - see checkpoint.h. */
#include "model/checkpoint.h"

#include <string.h>

#include "base/id.h"
#include "base/time.h"

#define C_COLUMNS "id, workspace_id, workflow_id, step_name, step_index, completed_at, payload"

/* one statement: only into a live workspace, and a rewrite of a step keeps its id */
static const char SQL_UPSERT[] =
    "INSERT INTO workflow_checkpoints (id, workspace_id, workflow_id, step_name, step_index, payload, completed_at)"
    " SELECT $1, w.id, $3, $4, CAST($5 AS INTEGER), $6, CAST($7 AS BIGINT) FROM workspaces w"
    " WHERE w.id = $2 AND w.status <> 'removed'"
    " ON CONFLICT (workspace_id, workflow_id, step_name) DO UPDATE SET step_index = excluded.step_index,"
    " payload = excluded.payload, completed_at = excluded.completed_at RETURNING " C_COLUMNS;
static const char SQL_LATEST[] = "SELECT " C_COLUMNS " FROM workflow_checkpoints WHERE workspace_id = $1"
                                 " ORDER BY completed_at DESC, id DESC LIMIT 1";
static const char SQL_STEPS[] =
    "SELECT " C_COLUMNS " FROM workflow_checkpoints WHERE workspace_id = $1 AND workflow_id = $2"
    " AND (step_index < CAST($3 AS BIGINT) OR (step_index = CAST($3 AS BIGINT) AND step_name > $4))"
    " ORDER BY step_index DESC, step_name LIMIT $5";
static const char SQL_ANY[] = "SELECT 1 FROM workflow_checkpoints WHERE workspace_id = $1 AND workflow_id = $2";
static const char SQL_DELETE[] = "DELETE FROM workflow_checkpoints WHERE workspace_id = $1 AND workflow_id = $2";

static void read_row(db_stmt_t *st, arena_t *a, checkpoint_row *r)
{
    r->id = db_col_dup(st, a, 0);
    r->workspace_id = db_col_dup(st, a, 1);
    r->workflow_id = db_col_dup(st, a, 2);
    r->step_name = db_col_dup(st, a, 3);
    r->step_index = db_col_int64(st, 4);
    r->completed_at = db_col_int64(st, 5);
    r->payload = db_col_dup(st, a, 6);
}

/* The one row of a statement that `e` says was prepared (CL_NOT_FOUND without one). */
static cl_err one_of(arena_t *a, db_stmt_t *st, cl_err e, checkpoint_row *out, cl_error *err)
{
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK) {
        read_row(st, a, out);
        e = db_exec(st, err);
    }
    db_finish(st);
    return e;
}

cl_err checkpoint_upsert(db_t *db, arena_t *a, const char *workspace_id, const char *workflow_id,
                         const char *step_name, int64_t step_index, const char *payload, checkpoint_row *out,
                         cl_error *err)
{
    if (workflow_id == NULL || workflow_id[0] == '\0' || step_name == NULL || step_name[0] == '\0')
        return cl_fail(err, CL_INVALID, "invalid request body");
    if (strlen(workflow_id) > CHECKPOINT_ID_MAX || strlen(step_name) > CHECKPOINT_ID_MAX)
        return cl_fail(err, CL_INVALID, "workflow_id and step_name must be at most %d bytes", CHECKPOINT_ID_MAX);
    if (payload != NULL && strlen(payload) > CHECKPOINT_PAYLOAD_MAX)
        return cl_fail(err, CL_INVALID, "payload must be at most %d bytes of JSON", CHECKPOINT_PAYLOAD_MAX);
    if (step_index < INT32_MIN || step_index > INT32_MAX)
        return cl_fail(err, CL_INVALID, "step_index must be an integer from %d to %d", INT32_MIN, INT32_MAX);
    char fresh[ID_UUID_LEN + 1];
    id_uuid4(fresh);
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_UPSERT, "ssssisi", fresh, workspace_id, workflow_id, step_name,
                        step_index, payload ? payload : "null", time_now_ms());
    e = one_of(a, st, e, out, err);
    return e == CL_NOT_FOUND ? cl_fail(err, CL_NOT_FOUND, "workspace not found") : e;
}

cl_err checkpoint_latest(db_t *db, arena_t *a, const char *workspace_id, checkpoint_row *out, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_LATEST, "s", workspace_id);
    e = one_of(a, st, e, out, err);
    return e == CL_NOT_FOUND ? cl_fail(err, CL_NOT_FOUND, "no checkpoints found for workspace") : e;
}

cl_err checkpoint_list(db_t *db, arena_t *a, const char *workspace_id, const char *workflow_id,
                       const checkpoint_key *after, int64_t limit, checkpoint_row **rows, size_t *count,
                       cl_error *err)
{
    db_stmt_t *st;
    *rows = arena_alloc(a, (size_t)(limit > 0 ? limit : 1) * sizeof(**rows));
    *count = 0;
    cl_err e = db_query(db, a, &st, err, SQL_STEPS, "ssisi", workspace_id, workflow_id,
                        after ? after->step_index : INT64_MAX, after ? after->step_name : "", limit);
    bool row = true;
    while (e == CL_OK && (e = db_step(st, &row, err)) == CL_OK && row && (int64_t)*count < limit)
        read_row(st, a, &(*rows)[(*count)++]);
    db_finish(st);
    if (e == CL_OK && *count == 0) { /* an empty page past the last step is not "no checkpoints" */
        e = db_query(db, a, &st, err, SQL_ANY, "ss", workspace_id, workflow_id);
        if (e == CL_OK && (e = db_one(st, err)) == CL_NOT_FOUND)
            e = cl_fail(err, CL_NOT_FOUND, "no checkpoints found for workflow");
        db_finish(st);
    }
    return e;
}

cl_err checkpoint_delete(db_t *db, arena_t *a, const char *workspace_id, const char *workflow_id, int64_t *deleted,
                         cl_error *err)
{
    cl_err e = db_run(db, a, deleted, err, SQL_DELETE, "ss", workspace_id, workflow_id);
    if (e == CL_OK && *deleted == 0)
        e = cl_fail(err, CL_NOT_FOUND, "no checkpoints found for workflow");
    return e;
}
