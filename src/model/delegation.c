/* delegation.c - see delegation.h. */
#include "model/delegation.h"

#include <jansson.h>
#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "base/metrics.h"
#include "base/time.h"
#include "base/utf8.h"
#include "model/activity.h"
#include "model/event.h"
#include "model/registry.h"

const char *const DELEG_STATUSES[6] = {"queued", "dispatched", "in_progress", "completed", "failed", "stuck"};

#define D_COLUMNS                                                                                                  \
    "delegation_id, caller_id, callee_id, task_preview, status, result_preview, error_detail, last_heartbeat,"     \
    " deadline, retry_count, created_at, updated_at"

static const char SQL_CALLEE[] = "SELECT name FROM workspaces WHERE id = $1 AND status <> 'removed'";
static const char SQL_BY_KEY[] = "SELECT " D_COLUMNS " FROM delegations WHERE caller_id = $1 AND idempotency_key = $2";
static const char SQL_BY_ID[] = "SELECT " D_COLUMNS " FROM delegations WHERE delegation_id = $1"
                                " AND (CAST($2 AS TEXT) IS NULL OR caller_id = $2)";
static const char SQL_DROP_FAILED[] = "DELETE FROM delegations WHERE caller_id = $1 AND idempotency_key = $2"
                                      " AND status = 'failed'";
static const char SQL_INSERT[] =
    "INSERT INTO delegations (delegation_id, caller_id, callee_id, task_preview, deadline, idempotency_key,"
    " created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT DO NOTHING RETURNING " D_COLUMNS;
/* Along an edge of the state machine only: the database refuses every other move, whoever asks. */
static const char SQL_MOVE[] =
    "UPDATE delegations SET status = $2, error_detail = NULLIF($3, ''), result_preview = NULLIF($4, ''),"
    " updated_at = $5 WHERE delegation_id = $1 AND EXISTS (SELECT 1 FROM delegation_transitions t"
    " WHERE t.from_status = delegations.status AND t.to_status = $2)";
/* The same status again: only fill what is missing. */
static const char SQL_BACKFILL[] =
    "UPDATE delegations SET error_detail = COALESCE(error_detail, NULLIF($3, '')),"
    " result_preview = COALESCE(result_preview, NULLIF($4, '')), updated_at = $5 WHERE delegation_id = $1"
    " AND status = $2 AND ((error_detail IS NULL AND NULLIF($3, '') IS NOT NULL)"
    " OR (result_preview IS NULL AND NULLIF($4, '') IS NOT NULL))";
static const char SQL_INTENT[] =
    "UPDATE activity_logs SET status = $3, error_detail = COALESCE(NULLIF($4, ''), error_detail)"
    " WHERE workspace_id = $1 AND message_id = $2 AND method = 'delegate'";
static const char SQL_ALIVE[] =
    "UPDATE delegations SET last_heartbeat = $2 WHERE callee_id = $1 AND status IN ('dispatched', 'in_progress')";
/* newest first, keyset pages on (created_at, delegation_id): idx_delegations_caller_order, _status_order */
static const char SQL_LIST[] =
    "SELECT " D_COLUMNS " FROM delegations WHERE caller_id = $1"
    " AND (created_at, delegation_id) < (CAST($2 AS BIGINT), CAST($3 AS TEXT))"
    " ORDER BY created_at DESC, delegation_id DESC LIMIT $4";
static const char SQL_ADMIN[] =
    "SELECT " D_COLUMNS " FROM delegations WHERE status IN ($1, $2, $3)"
    " AND (created_at, delegation_id) < (CAST($4 AS BIGINT), CAST($5 AS TEXT))"
    " ORDER BY created_at DESC, delegation_id DESC LIMIT $6";
static const char SQL_STATS[] = "SELECT status, count(*) FROM delegations GROUP BY status";
/* Silence is read from the callee's own heartbeat (workspaces.last_heartbeat_at): the hot heartbeat path writes
 * nothing extra, and a delegation is stuck exactly when the agent working on it has gone quiet. */
static const char SQL_OVERDUE[] =
    "SELECT d.delegation_id, d.caller_id, d.callee_id, d.task_preview, d.status, d.result_preview, d.error_detail,"
    " COALESCE(w.last_heartbeat_at, d.last_heartbeat, d.updated_at), d.deadline, d.retry_count, d.created_at,"
    " d.updated_at FROM delegations d LEFT JOIN workspaces w ON w.id = d.callee_id"
    " WHERE d.status IN ('queued', 'dispatched', 'in_progress') AND (d.deadline < $1 OR (d.status = 'in_progress'"
    " AND COALESCE(w.last_heartbeat_at, d.last_heartbeat, d.updated_at) < $2))";

static void read_row(db_stmt_t *st, arena_t *a, deleg_row *r)
{
    r->delegation_id = db_col_dup(st, a, 0);
    r->caller_id = db_col_dup(st, a, 1);
    r->callee_id = db_col_dup(st, a, 2);
    r->task_preview = db_col_dup(st, a, 3);
    r->status = db_col_dup(st, a, 4);
    r->result_preview = db_col_dup(st, a, 5);
    r->error_detail = db_col_dup(st, a, 6);
    r->last_heartbeat = db_col_is_null(st, 7) ? 0 : db_col_int64(st, 7);
    r->deadline = db_col_int64(st, 8);
    r->retry_count = db_col_int64(st, 9);
    r->created_at = db_col_int64(st, 10);
    r->updated_at = db_col_int64(st, 11);
}

/* Rows of `st` (already bound) into an arena array. */
static cl_err read_rows(db_stmt_t *st, arena_t *a, deleg_row **rows, size_t *count, cl_error *err)
{
    size_t cap = 0;
    bool row;
    cl_err e;
    *rows = NULL;
    *count = 0;
    while ((e = db_step(st, &row, err)) == CL_OK && row) {
        *rows = arena_grow(a, *rows, *count, &cap, sizeof(deleg_row));
        read_row(st, a, &(*rows)[(*count)++]);
    }
    db_finish(st);
    return e;
}

static cl_err one_row(db_t *db, arena_t *a, const char *sql, const char *p1, const char *p2, deleg_row *out,
                      cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, sql, "ss", p1, p2);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK)
        read_row(st, a, out);
    db_finish(st);
    return e;
}

static cl_err record(db_t *db, arena_t *a, event_type t, const char *ws, json_t *payload, cl_error *err)
{
    json_own(a, payload);
    return event_record(db, a, t, ws, json_dump_arena(a, payload, NULL), NULL, err);
}

cl_err deleg_create(db_t *db, arena_t *a, const char *caller, const char *callee, const char *task,
                    const char *delegation_id, const char *idempotency_key, deleg_row *out, bool *hit,
                    cl_error *err)
{
    *hit = false;
    if (strcmp(caller, callee) == 0)
        return cl_fail(err, CL_INVALID, "self-delegation not permitted");
    if (strlen(task) > DELEG_TASK_MAX)
        return cl_fail(err, CL_TOO_LARGE, "task is longer than %d bytes", DELEG_TASK_MAX);
    bool allowed;
    cl_err e = reg_can_communicate(db, a, caller, callee, &allowed, err);
    if (e != CL_OK)
        return e;
    if (!allowed)
        return cl_fail(err, CL_FORBIDDEN, "access denied: workspaces cannot communicate per hierarchy rules");
    char idbuf[ID_UUID_LEN + 1];
    if (delegation_id == NULL) {
        id_uuid4(idbuf);
        delegation_id = idbuf;
    }
    const char *callee_name = NULL;
    db_stmt_t *st;
    e = db_query(db, a, &st, err, SQL_CALLEE, "s", callee);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK)
        callee_name = db_col_dup(st, a, 0);
    db_finish(st);
    if (e == CL_NOT_FOUND)
        return cl_fail(err, CL_NOT_FOUND, "target workspace not found");
    if (e != CL_OK || (e = db_tx_begin(db, err)) != CL_OK)
        return e;
    if (idempotency_key != NULL) {
        e = db_run(db, a, NULL, err, SQL_DROP_FAILED, "ss", caller, idempotency_key); /* a failed try is retried */
        if (e == CL_OK && (e = one_row(db, a, SQL_BY_KEY, caller, idempotency_key, out, err)) == CL_OK)
            *hit = true;
        else if (e == CL_NOT_FOUND)
            e = CL_OK;
    }
    int64_t now = time_now_ms();
    if (e == CL_OK && !*hit) {
        e = db_query(db, a, &st, err, SQL_INSERT, "ssssisi", delegation_id, caller, callee,
                     utf8_cut_copy(a, task, DELEG_PREVIEW_MAX, false), now + DELEG_DEFAULT_DEADLINE_MS, idempotency_key, now);
        if (e == CL_OK && (e = db_one(st, err)) == CL_OK) {
            read_row(st, a, out);
            db_exec(st, err);
        }
        db_finish(st);
        if (e == CL_NOT_FOUND) { /* the id or the key is taken: the earlier delegation is the answer */
            *hit = true;
            e = idempotency_key ? one_row(db, a, SQL_BY_KEY, caller, idempotency_key, out, err)
                                : one_row(db, a, SQL_BY_ID, delegation_id, caller, out, err);
            if (e == CL_NOT_FOUND)
                e = cl_fail(err, CL_CONFLICT, "delegation id already used by another workspace");
        }
    }
    if (e == CL_OK && !*hit) {
        activity_row r = {.workspace_id = caller, .activity_type = "delegation", .source_id = caller,
                          .target_id = callee, .method = "delegate", .status = "pending",
                          .message_id = out->delegation_id,
                          .summary = arena_sprintf(a, "Delegating to %s", callee_name),
                          .request_body = json_dump_arena(
                              a, json_own(a, json_pack("{s:s, s:s}", "task", task, "delegation_id", out->delegation_id)),
                              NULL),
                          .response_body = json_dump_arena(
                              a, json_own(a, json_pack("{s:s}", "delegation_id", out->delegation_id)), NULL)};
        e = activity_record(db, a, &r, err);
        if (e == CL_OK)
            e = record(db, a, EV_DELEGATION_SENT, caller,
                       json_pack("{s:s, s:s, s:s}", "delegation_id", out->delegation_id, "target_id", callee,
                                 "task_preview", utf8_cut_copy(a, task, 100, true)),
                       err);
    }
    return db_tx_end(db, e, err);
}

static cl_err after_move(db_t *db, arena_t *a, const deleg_row *d, const char *status, const char *error,
                         const char *preview, const char *via, cl_error *err)
{
    cl_err e = db_run(db, a, NULL, err, SQL_INTENT, "ssss", d->caller_id, d->delegation_id, status, error);
    if (e != CL_OK)
        return e;
    bool done = strcmp(status, "completed") == 0, failed = strcmp(status, "failed") == 0;
    if (done || failed) {
        activity_row r = {.workspace_id = d->caller_id, .activity_type = "delegation", .source_id = d->callee_id,
                          .target_id = d->caller_id, .method = "delegate_result", .status = done ? "ok" : "error",
                          .error_detail = failed ? error : NULL,
                          .summary = done ? arena_sprintf(a, "Delegation completed (%s)", utf8_cut_copy(a, preview, 80, true))
                                          : arena_sprintf(a, "Delegation failed: %s", utf8_cut_copy(a, error, 200, true)),
                          .response_body = json_dump_arena(
                              a, json_own(a, json_pack("{s:s?, s:s}", "text", done ? preview : NULL, "delegation_id",
                                                       d->delegation_id)),
                              NULL)};
        if ((e = activity_record(db, a, &r, err)) != CL_OK)
            return e;
    }
    if (done)
        return record(db, a, EV_DELEGATION_COMPLETE, d->caller_id,
                      json_pack("{s:s, s:s, s:s, s:s?}", "delegation_id", d->delegation_id, "target_id", d->callee_id,
                                "response_preview", utf8_cut_copy(a, preview, 200, true), "via", via),
                      err);
    if (failed)
        return record(db, a, EV_DELEGATION_FAILED, d->caller_id,
                      json_pack("{s:s, s:s, s:s}", "delegation_id", d->delegation_id, "target_id", d->callee_id,
                                "error", error),
                      err);
    return record(db, a, EV_DELEGATION_STATUS, d->caller_id,
                  json_pack("{s:s, s:s, s:s}", "delegation_id", d->delegation_id, "target_id", d->callee_id,
                            "status", status),
                  err);
}

cl_err deleg_set_status(db_t *db, arena_t *a, const char *delegation_id, const char *caller, const char *status,
                        const char *error, const char *preview, const char *via, bool *moved, cl_error *err)
{
    *moved = false;
    error = error ? error : "";
    size_t plen = preview ? strlen(preview) : 0;
    if (preview != NULL && !utf8_valid(preview, plen)) { /* an agent's raw reply (PostgreSQL refuses it): its head */
        plen = plen < DELEG_PREVIEW_MAX ? plen : DELEG_PREVIEW_MAX;
        char *clean = arena_alloc(a, 3 * plen + 1);
        clean[utf8_sanitize(preview, plen, clean)] = '\0';
        preview = clean;
    }
    const char *kept = preview ? utf8_cut_copy(a, preview, DELEG_PREVIEW_MAX, false) : "";
    deleg_row d;
    cl_err e = db_tx_begin(db, err);
    if (e == CL_OK && (e = one_row(db, a, SQL_BY_ID, delegation_id, caller, &d, err)) == CL_NOT_FOUND)
        cl_fail(err, CL_NOT_FOUND, "delegation not found");
    int64_t changed = 0;
    if (e == CL_OK && strcmp(d.status, status) == 0) {
        e = db_run(db, a, NULL, err, SQL_BACKFILL, "ssssi", delegation_id, status, error, kept, time_now_ms());
    } else if (e == CL_OK) {
        e = db_run(db, a, &changed, err, SQL_MOVE, "ssssi", delegation_id, status, error, kept, time_now_ms());
        if (e == CL_OK && changed == 1) {
            *moved = true;
            if (strcmp(status, "completed") == 0)
                metric_inc(METRIC_DELEG_COMPLETED);
            else if (strcmp(status, "failed") == 0)
                metric_inc(METRIC_DELEG_FAILED);
            else if (strcmp(status, "stuck") == 0)
                metric_inc(METRIC_DELEG_STUCK);
            e = after_move(db, a, &d, status, error, preview ? preview : "", via, err);
        }
    }
    return db_tx_end(db, e, err);
}

cl_err deleg_get(db_t *db, arena_t *a, const char *delegation_id, const char *caller, deleg_row *out, cl_error *err)
{
    cl_err e = one_row(db, a, SQL_BY_ID, delegation_id, caller, out, err);
    return e == CL_NOT_FOUND ? cl_fail(err, CL_NOT_FOUND, "delegation not found") : e;
}

cl_err deleg_callee_alive(db_t *db, arena_t *a, const char *callee, cl_error *err)
{
    return db_run(db, a, NULL, err, SQL_ALIVE, "si", callee, time_now_ms());
}

cl_err deleg_list(db_t *db, arena_t *a, const char *caller, const deleg_key *before, int64_t limit, deleg_row **rows,
                  size_t *count, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_LIST, "sisi", caller, before ? before->created_at : INT64_MAX,
                        before ? before->delegation_id : "", limit);
    return e == CL_OK ? read_rows(st, a, rows, count, err) : e;
}

cl_err deleg_admin_list(db_t *db, arena_t *a, const char *filter, const deleg_key *before, int64_t limit,
                        deleg_row **rows, size_t *count, cl_error *err)
{
    const char *s[3];
    if (strcmp(filter, "in_flight") == 0) {
        s[0] = "queued", s[1] = "dispatched", s[2] = "in_progress";
    } else if (strcmp(filter, "stuck") == 0 || strcmp(filter, "failed") == 0 || strcmp(filter, "completed") == 0) {
        s[0] = s[1] = s[2] = filter;
    } else {
        return cl_fail(err, CL_INVALID, "status must be one of in_flight, stuck, failed, completed");
    }
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_ADMIN, "sssisi", s[0], s[1], s[2], before ? before->created_at : INT64_MAX,
                        before ? before->delegation_id : "", limit);
    return e == CL_OK ? read_rows(st, a, rows, count, err) : e;
}

cl_err deleg_stats(db_t *db, arena_t *a, int64_t counts[6], cl_error *err)
{
    memset(counts, 0, 6 * sizeof(int64_t));
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_STATS, "");
    bool row;
    while (e == CL_OK && (e = db_step(st, &row, err)) == CL_OK && row) {
        for (int i = 0; i < 6; i++)
            if (strcmp(db_col_text(st, 0), DELEG_STATUSES[i]) == 0)
                counts[i] = db_col_int64(st, 1);
    }
    db_finish(st);
    return e;
}

/* "10m30s", the way the reference prints a duration (whole seconds). */
static const char *duration(arena_t *a, int64_t ms)
{
    int64_t s = ms / 1000, h = s / 3600, m = (s % 3600) / 60;
    s %= 60;
    if (h > 0)
        return arena_sprintf(a, "%lldh%lldm%llds", (long long)h, (long long)m, (long long)s);
    if (m > 0)
        return arena_sprintf(a, "%lldm%llds", (long long)m, (long long)s);
    return arena_sprintf(a, "%llds", (long long)s);
}

cl_err deleg_sweep(db_t *db, arena_t *a, int64_t stuck_after_ms, int64_t *failed, int64_t *stuck, cl_error *err)
{
    *failed = *stuck = 0;
    int64_t now = time_now_ms();
    deleg_row *rows;
    size_t n;
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_OVERDUE, "ii", now, now - stuck_after_ms);
    if (e == CL_OK)
        e = read_rows(st, a, &rows, &n, err);
    for (size_t i = 0; e == CL_OK && i < n; i++) {
        bool moved, late = rows[i].deadline < now;
        e = late ? deleg_set_status(db, a, rows[i].delegation_id, NULL, "failed", "deadline exceeded by sweeper",
                                    NULL, NULL, &moved, err)
                 : deleg_set_status(db, a, rows[i].delegation_id, NULL, "stuck",
                                    arena_sprintf(a, "no heartbeat for %s",
                                                  duration(a, now - rows[i].last_heartbeat)),
                                    NULL, NULL, &moved, err);
        if (e == CL_OK && moved)
            (*(late ? failed : stuck))++;
    }
    return e;
}
