/* inbox.c - see inbox.h. */
#include "model/inbox.h"

#include <jansson.h>
#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "base/time.h"
#include "model/a2a.h"
#include "model/approval.h"
#include "model/request.h"
#include "model/usertask.h"

/* What a notification turn is queued with: below every message an agent or a person sends (A2A_PRIORITY_TASK). */
enum { INBOX_NOTIFY_PRIORITY = 10 };

static const char SQL_MOVES[] =
    "SELECT to_status FROM inbox_transitions WHERE store = $1 AND from_status = $2 ORDER BY to_status";
static const char SQL_MOVE_OK[] =
    "SELECT 1 FROM inbox_transitions WHERE store = $1 AND from_status = $2 AND to_status = $3";

cl_err inbox_text(const char *field, const char *s, size_t max, bool required, cl_error *err)
{
    if (required && (s == NULL || s[0] == '\0'))
        return cl_fail(err, CL_INVALID, "%s is required", field);
    if (s != NULL && strlen(s) > max)
        return cl_fail(err, CL_INVALID, "%s is longer than %zu bytes", field, max);
    return CL_OK;
}

cl_err inbox_list(db_t *db, arena_t *a, const char *sql, const char *const *lead, int nlead,
                  const inbox_key *before, int64_t limit, size_t size, inbox_row_fn read, void *rows, size_t *count,
                  cl_error *err)
{
    char *out = NULL;
    size_t n = 0, cap = 0;
    bool row;
    db_stmt_t *st;
    cl_err e = db_prepare(db, a, sql, &st, err);
    if (e == CL_OK) {
        for (int i = 0; i < nlead; i++)
            db_bind_str(st, i + 1, lead[i]);
        db_bind_int64(st, nlead + 1, before ? before->created_at : INT64_MAX);
        db_bind_str(st, nlead + 2, before ? before->id : "");
        db_bind_int64(st, nlead + 3, limit);
    }
    while (e == CL_OK && (e = db_step(st, &row, err)) == CL_OK && row) {
        out = arena_grow(a, out, n, &cap, size);
        memset(out + n * size, 0, size);
        read(st, a, out + n++ * size);
    }
    db_finish(st);
    *(void **)rows = out;
    *count = n;
    return e;
}

cl_err inbox_ids(db_stmt_t *st, arena_t *a, const char ***ids, size_t *n, cl_error *err)
{
    size_t cap = 0;
    bool row;
    cl_err e;
    *ids = NULL;
    *n = 0;
    while ((e = db_step(st, &row, err)) == CL_OK && row) {
        *ids = arena_grow(a, *ids, *n, &cap, sizeof(char *));
        (*ids)[(*n)++] = db_col_dup(st, a, 0);
    }
    db_finish(st);
    return e;
}

cl_err inbox_settle(db_t *db, arena_t *a, const char *sql, const char *workspace_id, const char ***ids, size_t *n,
                    cl_error *err)
{
    db_stmt_t *st;
    *n = 0;
    cl_err e = db_query(db, a, &st, err, sql, "ssi", workspace_id, INBOX_REMOVED_BY, time_now_ms());
    return e == CL_OK ? inbox_ids(st, a, ids, n, err) : e;
}

cl_err inbox_event(db_t *db, arena_t *a, event_type t, const char *ws, json_t *payload, cl_error *err)
{
    json_own(a, payload);
    return event_record(db, a, t, ws, json_dump_arena(a, payload, NULL), NULL, err);
}

cl_err inbox_check_move(db_t *db, arena_t *a, const char *store, const char *what, const char *from, const char *to,
                        cl_error *err)
{
    if (strcmp(from, to) == 0)
        return CL_OK;
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_MOVE_OK, "sss", store, from, to);
    if (e == CL_OK)
        e = db_one(st, err);
    db_finish(st);
    if (e != CL_NOT_FOUND)
        return e;
    const char *allowed = "";
    bool row;
    e = db_query(db, a, &st, err, SQL_MOVES, "ss", store, from);
    while (e == CL_OK && (e = db_step(st, &row, err)) == CL_OK && row)
        allowed = arena_sprintf(a, "%s%s'%s'", allowed, allowed[0] ? ", " : "", db_col_text(st, 0));
    db_finish(st);
    if (e == CL_OK && allowed[0] == '\0')
        e = cl_fail(err, CL_INVALID, "%s is '%s', which is final: its status cannot become '%s'", what, from, to);
    else if (e == CL_OK)
        e = cl_fail(err, CL_INVALID, "%s is '%s': its status can only become %s", what, from, allowed);
    return e;
}

void inbox_notify_agent(db_t *db, arena_t *a, const char *workspace_id, const char *key, const char *text,
                        bool *sent)
{
    char uuid[ID_UUID_LEN + 1];
    id_uuid4(uuid);
    const char *message_id = arena_sprintf(a, "%s-%s", key, uuid);
    const json_t *body = a2a_user_send(a, message_id, text, NULL);
    a2a_msg m;
    a2a_target t;
    const char *qid;
    int64_t depth;
    bool existing;
    cl_error err;
    /* a savepoint of its own: on PostgreSQL a failed statement would otherwise spoil the caller's transaction */
    cl_err e = db_tx_begin(db, &err);
    if (e != CL_OK) {
        log_warn("inbox notification not sent", "workspace=%s key=%s error=\"%s\"", workspace_id, key, err.msg);
        if (sent)
            *sent = false;
        return;
    }
    e = a2a_send_body(a, body, &m, &err);
    if (e == CL_OK)
        e = a2a_target_get(db, a, workspace_id, &t, &err);
    if (e == CL_OK && strcmp(t.delivery_mode, "poll") == 0)
        e = a2a_log_ingest(db, a, &t, NULL, &m, "queued for poll", &err);
    else if (e == CL_OK)
        e = a2a_enqueue(db, a, &t, NULL, &m, INBOX_NOTIFY_PRIORITY, time_now_ms() + INBOX_NOTIFY_TTL_MS, &qid,
                        &depth, &existing, &err);
    e = db_tx_end(db, e, &err);
    if (e != CL_OK)
        log_warn("inbox notification not sent", "workspace=%s key=%s error=\"%s\"", workspace_id, key, err.msg);
    if (sent)
        *sent = e == CL_OK;
}

cl_err inbox_on_removed(db_t *db, arena_t *a, const char *const *ids, size_t n, bool purge, cl_error *err)
{
    cl_err e = CL_OK;
    for (size_t i = 0; e == CL_OK && i < n; i++) {
        if (!purge && (e = approval_on_removed(db, a, ids[i], err)) == CL_OK)
            e = user_task_on_removed(db, a, ids[i], err);
        if (e == CL_OK)
            e = request_on_removed(db, a, ids[i], purge, err);
    }
    return e;
}
