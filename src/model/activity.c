/* activity.c - see activity.h. */
#include "model/activity.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/id.h"
#include "base/json.h"
#include "base/time.h"
#include "base/utf8.h"
#include "model/channel.h"
#include "model/event.h"
#include "model/seq_horizon.h"

#define ACT_COLUMNS                                                                                                \
    "id, workspace_id, activity_type, source_id, target_id, method, summary, request_body, response_body, status," \
    " error_detail, duration_ms, created_at, seq, tool_trace"

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
/* a keyset page on seq, oldest first after a cursor or newest first before one, each walking the index in order */
#define SQL_LIST_PAGE                                                                                              \
    "SELECT " ACT_COLUMNS " FROM activity_logs WHERE workspace_id = $1"                                          \
    " AND (CAST($2 AS TEXT) IS NULL OR activity_type = $2)"                                                      \
    " AND ($3 = 0 OR ($3 = 1 AND source_id IS NULL) OR ($3 = 2 AND source_id IS NOT NULL))"                      \
    " AND (CAST($4 AS TEXT) IS NULL OR source_id = $4 OR target_id = $4)"                                        \
    " AND seq > CAST($5 AS BIGINT) AND seq < CAST($8 AS BIGINT) AND created_at >= CAST($6 AS BIGINT)"            \
    " AND (CAST($7 AS BIGINT) = 0 OR created_at < CAST($7 AS BIGINT))"
/* ascending pages stop where every smaller seq is final (seq_horizon.h) */
static seq_horizon horizon = SEQ_HORIZON_INIT("activity_logs");
static const char SQL_LIST_ASC[] = SQL_LIST_PAGE " ORDER BY seq LIMIT $9";
static const char SQL_LIST_DESC[] = SQL_LIST_PAGE " ORDER BY seq DESC LIMIT $9";
static const char SQL_NOTIFY_TARGET[] =
    "SELECT name, talk_to_user_enabled FROM workspaces WHERE id = $1 AND status <> 'removed'";
static const char SQL_CHAT_MARK[] =
    "UPDATE workspaces SET chat_session_started_at = $2, chat_session_seq = (SELECT COALESCE(max(seq), 0)"
    " FROM activity_logs WHERE workspace_id = $1) WHERE id = $1 AND status <> 'removed'";
/* the session starts after the log's position at the reset (chat_session_seq), not at a millisecond: a message
 * written in the same millisecond as the reset is before it or after it, never both */
static const char SQL_CHAT[] =
    "SELECT " ACT_COLUMNS " FROM activity_logs WHERE workspace_id = $1 AND activity_type = 'a2a_receive'"
    " AND source_id IS NULL AND seq > COALESCE((SELECT chat_session_seq FROM workspaces WHERE id = $1), 0)"
    " AND (CAST($2 AS BIGINT) = 0 OR created_at < CAST($2 AS BIGINT))"
    " AND (created_at, seq) < (CAST($4 AS BIGINT), CAST($5 AS BIGINT)) ORDER BY created_at DESC, seq DESC LIMIT $3";
/* the marker is a prefix without LIKE wildcards, bound as data */
static const char SQL_TOOL_STEPS[] =
    "SELECT " ACT_COLUMNS " FROM activity_logs WHERE workspace_id = $1 AND activity_type = 'agent_log'"
    " AND summary LIKE $2 AND created_at >= $3 AND created_at <= $4 ORDER BY created_at, seq LIMIT $5";
static const char SQL_SEARCH[] =
    "SELECT " ACT_COLUMNS " FROM activity_logs WHERE workspace_id = $1 AND (CAST($2 AS TEXT) IS NULL"
    " OR lower(COALESCE(summary, '') || ' ' || activity_type || ' ' || COALESCE(method, '') || ' ' || status || ' '"
    " || COALESCE(request_body, '') || ' ' || COALESCE(response_body, '')) LIKE $2)"
    " AND seq < CAST($4 AS BIGINT) ORDER BY seq DESC LIMIT $3";

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

/* ---- ACTIVITY_LOGGED ---------------------------------------------------------------------------------------- */

static bool token_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Length of the credential-looking run at `p` (0 when there is none): `sk-` and 16+ key characters, or a JWT
 * (`eyJ…` with three dot-separated base64url parts). `p` starts a word. */
static size_t secret_at(const char *p)
{
    size_t n = 0;
    if (strncmp(p, "sk-", 3) == 0) {
        while (token_char(p[3 + n]))
            n++;
        return n >= 16 ? 3 + n : 0;
    }
    if (strncmp(p, "eyJ", 3) != 0)
        return 0;
    int dots = 0;
    while (token_char(p[n]) || (p[n] == '.' && token_char(p[n + 1]) && ++dots))
        n++;
    return dots == 2 ? n : 0;
}

/* Length of a key-naming prefix that precedes a credential value ("Bearer ", "api_key=", "x-api-key: "…), so the
 * value after it is masked whatever it looks like. */
static size_t key_prefix_at(const char *p)
{
    static const char *const keys[] = {"bearer ", "api_key", "api-key", "apikey", "x-api-key"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        size_t k = strlen(keys[i]);
        if (strncasecmp(p, keys[i], k) != 0)
            continue;
        if (keys[i][k - 1] == ' ')
            return k;
        while (p[k] == ' ' || p[k] == '"' || p[k] == '\'')
            k++;
        if (p[k] != '=' && p[k] != ':')
            continue;
        k++;
        while (p[k] == ' ' || p[k] == '"' || p[k] == '\'')
            k++;
        return k;
    }
    return 0;
}

/* error_detail as ACTIVITY_LOGGED shows it (runtime.md §6.2): bearer tokens, API keys, `sk-` keys and JWTs become
 * [REDACTED], then at most ACTIVITY_EVENT_DETAIL_MAX bytes (on a code point boundary) and "…[truncated]". The row
 * keeps the full text; only subscribers get this. */
static char *event_detail(arena_t *a, const char *s)
{
    buf_t b;
    buf_init(&b, 2 * ACTIVITY_TEXT_MAX);
    for (size_t i = 0; s[i] != '\0';) {
        bool word = i == 0 || !token_char(s[i - 1]);
        size_t k = word ? key_prefix_at(s + i) : 0, n;
        if (k > 0) {
            size_t v = 0;
            while (s[i + k + v] != '\0' && !strchr(" \t\r\n\"',;&", s[i + k + v]))
                v++;
            buf_append(&b, s + i, k);
            if (v > 0)
                buf_puts(&b, "[REDACTED]");
            i += k + v;
        } else if (word && (n = secret_at(s + i)) > 0) {
            buf_puts(&b, "[REDACTED]");
            i += n;
        } else {
            buf_putc(&b, s[i++]);
        }
    }
    char *out;
    if (b.len > ACTIVITY_EVENT_DETAIL_MAX) {
        size_t keep = utf8_floor(b.data, ACTIVITY_EVENT_DETAIL_MAX);
        out = arena_sprintf(a, "%.*s" UTF8_ELLIPSIS "[truncated]", (int)keep, b.data);
    } else {
        out = arena_strndup(a, b.data ? b.data : "", b.len);
    }
    buf_free(&b);
    return out;
}

static json_t *json_text_or_null(const char *s) { return s ? json_string(s) : json_null(); }

/* The row and its ACTIVITY_LOGGED, inside the caller's transaction. */
static cl_err report_row(db_t *db, arena_t *a, activity_row *r, cl_error *err)
{
    cl_err e = activity_record(db, a, r, err);
    if (e == CL_OK) {
        json_t *p = json_own(a, json_pack("{s:s, s:o, s:o, s:s, s:o, s:o, s:o}", "activity_type", r->activity_type,
                                          "method", json_text_or_null(r->method), "summary",
                                          json_text_or_null(r->summary), "status", r->status, "source_id",
                                          json_text_or_null(r->source_id), "target_id",
                                          json_text_or_null(r->target_id), "duration_ms",
                                          r->has_duration ? json_integer(r->duration_ms) : json_null()));
        if (r->request_body)
            json_object_set_new(p, "request_body", json_loads(r->request_body, JSON_DECODE_ANY, NULL));
        if (r->response_body)
            json_object_set_new(p, "response_body", json_loads(r->response_body, JSON_DECODE_ANY, NULL));
        if (r->error_detail && r->error_detail[0])
            json_object_set_new(p, "error_detail", json_string(event_detail(a, r->error_detail)));
        if (r->message_id)
            json_object_set_new(p, "message_id", json_string(r->message_id));
        e = event_record(db, a, EV_ACTIVITY_LOGGED, r->workspace_id, json_dump_arena(a, p, NULL), NULL, err);
    }
    return e;
}

cl_err activity_report(db_t *db, arena_t *a, activity_row *r, cl_error *err)
{
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    return db_tx_end(db, report_row(db, a, r, err), err);
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
    r->tool_trace = db_col_dup(st, a, 14);
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
    int64_t after = 0, before = INT64_MAX;
    bool ascending = f->since_id != NULL || (f->has_cursor && f->ascending);
    if (f->has_cursor && ascending)
        after = f->cursor_seq;
    else if (f->has_cursor)
        before = f->cursor_seq;
    cl_err e = CL_OK;
    if (f->since_id != NULL && !f->has_cursor) {
        if ((e = db_query(db, a, &st, err, SQL_CURSOR, "ss", f->since_id, workspace_id)) == CL_OK &&
            (e = db_one(st, err)) == CL_OK)
            after = db_col_int64(st, 0);
        db_finish(st);
        if (e == CL_NOT_FOUND)
            return cl_fail(err, CL_GONE, "since_id cursor not found (%s); omit since_id to reset", f->since_id);
        if (e != CL_OK)
            return e;
    }
    /* a resumable read (the caller goes on from its last row) stops where every smaller seq is final, so it never
     * passes a row that commits later */
    int64_t upto = INT64_MAX;
    if (ascending && (e = seq_settled_upto(db, a, &horizon, SEQ_SETTLE_WAIT_MS, &upto, err)) != CL_OK)
        return e;
    if (upto < INT64_MAX)
        before = upto + 1;
    e = db_query(db, a, &st, err, ascending ? SQL_LIST_ASC : SQL_LIST_DESC, "ssisiiiii", workspace_id, f->type,
                 (int64_t)f->source, f->peer_id, after, f->since_ms, f->before_ms, before, f->limit);
    return collect(st, a, e, rows, count, err);
}

/* The inbox row of an operator's message (no sender) that has no reply yet gets this one: the first answer naming
 * it wins; a reply to a relayed chat message ("channel-<id>") wakes this node's channel courier once committed. */
static const char SQL_ANSWER_OPERATOR[] =
    "UPDATE activity_logs SET response_body = $3, status = 'ok' WHERE workspace_id = $1"
    " AND COALESCE(source_id, '') = '' AND message_id = $2 AND activity_type = 'a2a_receive'"
    " AND response_body IS NULL";

static void wake_courier(void *arg, int64_t value)
{
    (void)arg, (void)value;
    chan_wake();
}

/* `message` (and its files) as the reply of operator message `in_reply_to`; *answered when that row took it. */
static cl_err answer_operator(db_t *db, arena_t *a, const char *workspace_id, const char *in_reply_to,
                              const char *message, json_t *att, bool *answered, cl_error *err)
{
    json_t *parts = json_pack("[{s:s, s:s}]", "kind", "text", "text", message);
    size_t i;
    json_t *v;
    json_array_foreach(att, i, v) json_array_append_new(parts, json_pack("{s:s, s:O}", "kind", "file", "file", v));
    json_t *reply = json_own(a, json_pack("{s:s, s:s, s:{s:s, s:o}}", "jsonrpc", "2.0", "id", in_reply_to, "result",
                                          "role", "agent", "parts", parts));
    int64_t changed = 0;
    cl_err e = db_run(db, a, &changed, err, SQL_ANSWER_OPERATOR, "sss", workspace_id, in_reply_to,
                      json_dump_arena(a, reply, NULL));
    *answered = e == CL_OK && changed > 0;
    if (*answered && strncmp(in_reply_to, "channel-", 8) == 0)
        db_after_commit(db, wake_courier, NULL, 0);
    return e;
}

/* The notify row and AGENT_MESSAGE inside the caller's transaction; a notify naming the operator message it answers
 * (in_reply_to) is that message's reply instead of a row of its own, once. *refused: the workspace said no (missing,
 * removed, talk_to_user disabled) before anything was written; the transaction is still good. */
static cl_err notify_row(db_t *db, arena_t *a, const char *workspace_id, const char *message, const char *attachments,
                         const char *in_reply_to, bool *refused, cl_error *err)
{
    db_stmt_t *st;
    const char *name = NULL;
    *refused = false;
    cl_err e = db_query(db, a, &st, err, SQL_NOTIFY_TARGET, "s", workspace_id);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK) {
        name = db_col_dup(st, a, 0);
        if (!db_col_bool(st, 1))
            e = cl_fail_code(err, CL_FORBIDDEN, "talk_to_user_disabled", "talk_to_user_disabled");
    }
    db_finish(st);
    if (e == CL_NOT_FOUND)
        cl_fail(err, e, "workspace not found");
    if (e == CL_NOT_FOUND || e == CL_FORBIDDEN) {
        *refused = true;
        return e;
    }
    json_t *att = attachments ? json_own(a, json_loads(attachments, 0, NULL)) : NULL;
    bool answered = false;
    if (e == CL_OK && in_reply_to != NULL)
        e = answer_operator(db, a, workspace_id, in_reply_to, message, att, &answered, err);
    if (e == CL_OK && !answered) {
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
    return e;
}

cl_err activity_attachments(arena_t *a, const json_t *v, json_t **out, cl_error *err)
{
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return CL_OK;
    if (!json_is_array(v))
        return cl_fail(err, CL_INVALID, "attachments must be an array");
    if (json_array_size(v) > ACTIVITY_ATTACHMENTS_MAX)
        return cl_fail(err, CL_INVALID, "attachments: at most %d files", ACTIVITY_ATTACHMENTS_MAX);
    json_t *clean = json_own(a, json_array());
    size_t i;
    json_t *f;
    json_array_foreach(v, i, f) {
        if (!json_is_object(f))
            return cl_fail(err, CL_INVALID, "attachment[%zu]: must be an object", i);
        json_t *uri = json_object_get(f, "uri"), *name = json_object_get(f, "name");
        if (!json_is_string(uri) || !json_is_string(name) || !*json_string_value(uri) || !*json_string_value(name))
            return cl_fail(err, CL_INVALID, "attachment[%zu]: uri and name are required", i);
        json_t *c = json_pack("{s:O, s:O}", "uri", uri, "name", name);
        json_t *mt = json_object_get(f, "mimeType"), *sz = json_object_get(f, "size");
        if (json_is_string(mt))
            json_object_set(c, "mimeType", mt);
        if (json_is_integer(sz))
            json_object_set(c, "size", sz);
        json_array_append_new(clean, c);
    }
    *out = clean;
    return CL_OK;
}

cl_err activity_notify(db_t *db, arena_t *a, const char *workspace_id, const char *message, const char *attachments,
                       const char *in_reply_to, cl_error *err)
{
    bool refused;
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    return db_tx_end(db, notify_row(db, a, workspace_id, message, attachments, in_reply_to, &refused, err), err);
}

/* One item alone, in its own transaction. */
static void write_one(db_t *db, arena_t *a, activity_write *w)
{
    w->result = w->notify ? activity_notify(db, a, w->workspace_id, w->message, w->attachments, w->in_reply_to,
                                            &w->err)
                          : activity_report(db, a, &w->row, &w->err);
}

static const char *write_target(const activity_write *w) { return w->notify ? w->workspace_id : w->row.workspace_id; }

/* By workspace, then by arrival (the items array order), so one workspace's rows keep the order they came in. */
static int by_target(const void *x, const void *y)
{
    const activity_write *a = *(activity_write *const *)x, *b = *(activity_write *const *)y;
    int c = strcmp(write_target(a), write_target(b));
    return c ? c : (a > b) - (a < b);
}

void activity_write_group(db_t *db, arena_t *a, activity_write *items, size_t n)
{
    /* rows are touched in workspace order: two groups written at once (PostgreSQL) never wait on each other in a
     * cycle */
    activity_write **order = arena_alloc(a, (n ? n : 1) * sizeof(*order));
    for (size_t i = 0; i < n; i++)
        order[i] = &items[i];
    qsort(order, n, sizeof(*order), by_target);
    cl_error err;
    cl_err e = db_tx_begin(db, &err);
    for (size_t i = 0; e == CL_OK && i < n; i++) {
        activity_write *w = order[i];
        bool refused = false;
        if (w->notify)
            w->result = notify_row(db, a, w->workspace_id, w->message, w->attachments, w->in_reply_to, &refused,
                                   &w->err);
        else
            w->result = report_row(db, a, &w->row, &w->err);
        if (w->result != CL_OK && !refused)
            e = w->result; /* the database said no: the group is lost */
    }
    if (e == CL_OK)
        e = db_tx_commit(db, &err);
    else if (db_in_tx(db))
        db_tx_rollback(db);
    if (e == CL_OK)
        return;
    /* the database refused the group (one bad row, a lock, a lost connection): each alone, so one bad item fails
     * only itself */
    for (size_t i = 0; i < n; i++)
        write_one(db, a, &items[i]);
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

cl_err activity_chat_rows(db_t *db, arena_t *a, const char *workspace_id, int64_t before_ms, const activity_key *before,
                          int64_t limit, activity_row **rows, size_t *count, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_CHAT, "siiii", workspace_id, before_ms, limit,
                        before ? before->created_at : INT64_MAX, before ? before->seq : INT64_MAX);
    return collect(st, a, e, rows, count, err);
}

cl_err activity_tool_steps(db_t *db, arena_t *a, const char *workspace_id, const char *marker, int64_t from_ms,
                           int64_t to_ms, int64_t limit, activity_row **rows, size_t *count, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_TOOL_STEPS, "ssiii", workspace_id, arena_sprintf(a, "%s%%", marker),
                        from_ms, to_ms, limit);
    return collect(st, a, e, rows, count, err);
}

cl_err activity_search(db_t *db, arena_t *a, const char *workspace_id, const char *q, int64_t before_seq,
                       int64_t limit, activity_row **rows, size_t *count, cl_error *err)
{
    const char *pattern = NULL;
    if (q && *q) { /* LIKE with the user's text as data: escape nothing clever, fold case, bound length */
        char *p = arena_sprintf(a, "%%%.200s%%", q);
        for (char *c = p; *c; c++)
            *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
        pattern = p;
    }
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_SEARCH, "ssii", workspace_id, pattern, limit,
                        before_seq > 0 ? before_seq : INT64_MAX);
    return collect(st, a, e, rows, count, err);
}
