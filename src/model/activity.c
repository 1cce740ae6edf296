/* activity.c - see activity.h. */
#include "model/activity.h"

#include <jansson.h>
#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "base/time.h"
#include "base/utf8.h"
#include "model/event.h"

#define ACT_COLUMNS                                                                                                \
    "id, workspace_id, activity_type, source_id, target_id, method, summary, request_body, response_body, status," \
    " error_detail, duration_ms, created_at, seq"

static const char SQL_INSERT[] =
    "INSERT INTO activity_logs (id, workspace_id, activity_type, source_id, target_id, method, summary, request_body,"
    " response_body, status, error_detail, duration_ms, created_at, message_id) VALUES ($1, $2, $3, $4, $5, $6, $7,"
    " $8, $9, $10, $11, CAST($12 AS BIGINT), $13, $14)"
    " ON CONFLICT (workspace_id, COALESCE(source_id, ''), message_id) WHERE message_id IS NOT NULL DO UPDATE SET"
    " response_body = COALESCE(excluded.response_body, activity_logs.response_body), status = excluded.status,"
    " duration_ms = COALESCE(excluded.duration_ms, activity_logs.duration_ms), error_detail = excluded.error_detail"
    " RETURNING seq, id";
static const char SQL_TOUCH[] = "UPDATE workspaces SET last_activity_at = $2 WHERE id = $1";
static const char SQL_CURSOR[] = "SELECT seq FROM activity_logs WHERE id = $1 AND workspace_id = $2";
static const char SQL_LIST[] =
    "SELECT " ACT_COLUMNS " FROM activity_logs WHERE workspace_id = $1"
    " AND (CAST($2 AS TEXT) IS NULL OR activity_type = $2)"
    " AND ($3 = 0 OR ($3 = 1 AND source_id IS NULL) OR ($3 = 2 AND source_id IS NOT NULL))"
    " AND (CAST($4 AS TEXT) IS NULL OR source_id = $4 OR target_id = $4)"
    " AND seq > CAST($5 AS BIGINT) AND created_at >= CAST($6 AS BIGINT)"
    " AND (CAST($7 AS BIGINT) = 0 OR created_at < CAST($7 AS BIGINT))"
    " ORDER BY CASE WHEN $8 = 1 THEN seq ELSE -seq END LIMIT $9";
static const char SQL_NOTIFY_TARGET[] =
    "SELECT name, talk_to_user_enabled FROM workspaces WHERE id = $1 AND status <> 'removed'";
static const char SQL_CHAT_MARK[] =
    "UPDATE workspaces SET chat_session_started_at = $2 WHERE id = $1 AND status <> 'removed'";
static const char SQL_CHAT[] =
    "SELECT " ACT_COLUMNS " FROM activity_logs WHERE workspace_id = $1 AND activity_type = 'a2a_receive'"
    " AND source_id IS NULL AND created_at >= COALESCE((SELECT chat_session_started_at FROM workspaces"
    " WHERE id = $1), 0) AND (CAST($2 AS BIGINT) = 0 OR created_at < CAST($2 AS BIGINT)) ORDER BY seq DESC LIMIT $3";
static const char SQL_SEARCH[] =
    "SELECT " ACT_COLUMNS " FROM activity_logs WHERE workspace_id = $1 AND (CAST($2 AS TEXT) IS NULL"
    " OR lower(COALESCE(summary, '') || ' ' || activity_type || ' ' || COALESCE(method, '') || ' ' || status || ' '"
    " || COALESCE(request_body, '') || ' ' || COALESCE(response_body, '')) LIKE $2)"
    " ORDER BY seq DESC LIMIT $3";

static const char *const REPORTABLE[] = {"a2a_send",        "a2a_receive",  "task_update", "agent_log",
                                         "skill_promotion", "memory_write", "error"};

bool activity_type_reportable(const char *type)
{
    for (size_t i = 0; type && i < sizeof(REPORTABLE) / sizeof(REPORTABLE[0]); i++)
        if (strcmp(type, REPORTABLE[i]) == 0)
            return true;
    return false;
}

cl_err activity_record(db_t *db, arena_t *a, activity_row *r, cl_error *err)
{
    char id[ID_UUID_LEN + 1];
    id_uuid4(id);
    r->id = arena_strdup(a, id);
    r->created_at = time_now_ms();
    if (r->status == NULL)
        r->status = "ok";
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_INSERT, "sssssssssssnis", r->id, r->workspace_id, r->activity_type,
                        r->source_id, r->target_id, r->method, r->summary, r->request_body, r->response_body,
                        r->status, r->error_detail, r->created_at, r->message_id);
    if (e == CL_OK && r->has_duration)
        db_bind_int64(st, 12, r->duration_ms);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK) {
        r->seq = db_col_int64(st, 0);
        r->id = db_col_dup(st, a, 1);
        db_exec(st, err);
    }
    db_finish(st);
    if (e == CL_NOT_FOUND)
        e = cl_fail(err, CL_INTERNAL, "activity insert returned no row");
    if (e == CL_OK)
        e = db_run(db, a, NULL, err, SQL_TOUCH, "si", r->workspace_id, r->created_at);
    return e;
}

static void read_row(db_stmt_t *st, arena_t *a, activity_row *r)
{
    memset(r, 0, sizeof(*r));
    r->id = db_col_dup(st, a, 0);
    r->workspace_id = db_col_dup(st, a, 1);
    r->activity_type = db_col_dup(st, a, 2);
    r->source_id = db_col_dup(st, a, 3);
    r->target_id = db_col_dup(st, a, 4);
    r->method = db_col_dup(st, a, 5);
    r->summary = db_col_dup(st, a, 6);
    r->request_body = db_col_dup(st, a, 7);
    r->response_body = db_col_dup(st, a, 8);
    r->status = db_col_dup(st, a, 9);
    r->error_detail = db_col_dup(st, a, 10);
    r->has_duration = !db_col_is_null(st, 11);
    r->duration_ms = r->has_duration ? db_col_int64(st, 11) : 0;
    r->created_at = db_col_int64(st, 12);
    r->seq = db_col_int64(st, 13);
}

static cl_err collect(db_stmt_t *st, arena_t *a, cl_err e, activity_row **rows, size_t *count, cl_error *err)
{
    size_t n = 0, cap = 0;
    activity_row *out = NULL;
    bool row = true;
    while (e == CL_OK && (e = db_step(st, &row, err)) == CL_OK && row) {
        out = arena_grow(a, out, n, &cap, sizeof(*out));
        read_row(st, a, &out[n++]);
    }
    *rows = out, *count = n;
    return e;
}

cl_err activity_list(db_t *db, arena_t *a, const char *workspace_id, const activity_filter *f, activity_row **rows,
                     size_t *count, cl_error *err)
{
    db_stmt_t *st;
    int64_t after = 0;
    cl_err e = CL_OK;
    if (f->since_id != NULL) {
        if ((e = db_query(db, a, &st, err, SQL_CURSOR, "ss", f->since_id, workspace_id)) == CL_OK &&
            (e = db_one(st, err)) == CL_OK)
            after = db_col_int64(st, 0);
        db_finish(st);
        if (e == CL_NOT_FOUND)
            return cl_fail(err, CL_GONE, "since_id cursor not found (%s); omit since_id to reset", f->since_id);
        if (e != CL_OK)
            return e;
    }
    e = db_query(db, a, &st, err, SQL_LIST, "ssisiiiii", workspace_id, f->type, (int64_t)f->source, f->peer_id, after,
                 f->since_ms, f->before_ms, (int64_t)(f->since_id != NULL), f->limit);
    return collect(st, a, e, rows, count, err);
}

cl_err activity_notify(db_t *db, arena_t *a, const char *workspace_id, const char *message, const char *attachments,
                       cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    const char *name = NULL;
    if ((e = db_query(db, a, &st, err, SQL_NOTIFY_TARGET, "s", workspace_id)) == CL_OK &&
        (e = db_one(st, err)) == CL_OK) {
        name = db_col_dup(st, a, 0);
        if (!db_col_bool(st, 1))
            e = cl_fail_code(err, CL_FORBIDDEN, "talk_to_user_disabled", "talk_to_user_disabled");
    }
    db_finish(st);
    if (e == CL_NOT_FOUND)
        cl_fail(err, e, "workspace not found");
    json_t *att = attachments ? json_own(a, json_loads(attachments, 0, NULL)) : NULL;
    if (e == CL_OK) {
        utf8_cut cut = utf8_cut_runes(message, strlen(message), NOTIFY_PREVIEW_RUNES, true);
        activity_row r = {.workspace_id = workspace_id, .activity_type = "a2a_receive", .method = "notify"};
        r.summary = arena_sprintf(a, "Agent message: %.*s%s", (int)cut.keep, message, cut.marker ? UTF8_ELLIPSIS : "");
        json_t *resp = json_own(a, json_pack("{s:s}", "result", message));
        if (att != NULL && json_array_size(att) > 0) {
            json_t *parts = json_array();
            size_t i;
            json_t *v;
            json_array_foreach(att, i, v) json_array_append_new(parts, json_pack("{s:s, s:O}", "kind", "file", "file", v));
            json_object_set_new(resp, "parts", parts);
        }
        r.response_body = json_dump_arena(a, resp, NULL);
        e = activity_record(db, a, &r, err);
    }
    if (e == CL_OK) {
        json_t *p = json_own(a, json_pack("{s:s, s:s, s:s}", "message", message, "workspace_id", workspace_id, "name",
                                          name));
        if (att != NULL && json_array_size(att) > 0)
            json_object_set(p, "attachments", att);
        e = event_record(db, a, EV_AGENT_MESSAGE, workspace_id, json_dump_arena(a, p, NULL), NULL, err);
    }
    return db_tx_end(db, e, err);
}

cl_err activity_chat_reset(db_t *db, arena_t *a, const char *workspace_id, int64_t *at, cl_error *err)
{
    *at = time_now_ms();
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    int64_t changed = 0;
    e = db_run(db, a, &changed, err, SQL_CHAT_MARK, "si", workspace_id, *at);
    if (e == CL_OK && changed == 0)
        e = cl_fail(err, CL_NOT_FOUND, "workspace not found");
    if (e == CL_OK) {
        const char *p = arena_sprintf(a, "{\"workspace_id\":\"%s\",\"chat_session_started_at\":%lld}", workspace_id,
                                      (long long)*at);
        e = event_record(db, a, EV_SESSION_RESET, workspace_id, p, NULL, err);
    }
    return db_tx_end(db, e, err);
}

cl_err activity_chat_rows(db_t *db, arena_t *a, const char *workspace_id, int64_t before_ms, int64_t limit,
                          activity_row **rows, size_t *count, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_CHAT, "sii", workspace_id, before_ms, limit);
    return collect(st, a, e, rows, count, err);
}

cl_err activity_search(db_t *db, arena_t *a, const char *workspace_id, const char *q, int64_t limit,
                       activity_row **rows, size_t *count, cl_error *err)
{
    const char *pattern = NULL;
    if (q && *q) { /* LIKE with the user's text as data: escape nothing clever, fold case, bound length */
        char *p = arena_sprintf(a, "%%%.200s%%", q);
        for (char *c = p; *c; c++)
            *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
        pattern = p;
    }
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_SEARCH, "ssi", workspace_id, pattern, limit);
    return collect(st, a, e, rows, count, err);
}
