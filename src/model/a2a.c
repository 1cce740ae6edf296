/* a2a.c - see a2a.h. */
#include "model/a2a.h"

#include <jansson.h>
#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "base/time.h"
#include "base/utf8.h"
#include "model/activity.h"
#include "model/delegation.h"
#include "model/event.h"
#include "model/lifecycle.h"

/* ---- normalisation (vectors.md §3.5) ------------------------------------------------------------------------ */

/* The spellings of "send a message" across A2A versions: only these are ingested and shown as USER_MESSAGE. */
static const char *const SEND_METHODS[] = {"message/send", "tasks/send", "SendMessage"};

static char *new_uuid(arena_t *a)
{
    char id[ID_UUID_LEN + 1];
    id_uuid4(id);
    return arena_strdup(a, id);
}

static const char *str_at(const json_t *obj, const char *key)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* First text of a parts array (kind or type "text"). */
static const char *first_text(const json_t *parts)
{
    size_t i;
    const json_t *p;
    if (!json_is_array(parts))
        return NULL;
    json_array_foreach(parts, i, p)
    {
        const char *kind = str_at(p, "kind") ? str_at(p, "kind") : str_at(p, "type");
        if (kind && strcmp(kind, "text") == 0 && str_at(p, "text"))
            return str_at(p, "text");
    }
    return NULL;
}

static cl_err normalize_message(arena_t *a, json_t *msg, a2a_msg *out, cl_error *err)
{
    if (!json_is_string(json_object_get(msg, "messageId")))
        json_object_set_new(msg, "messageId", json_string(new_uuid(a)));
    if (json_object_get(msg, "role") == NULL)
        json_object_set_new(msg, "role", json_string("user"));
    json_t *parts = json_object_get(msg, "parts");
    if (parts == NULL) {
        json_t *content = json_object_get(msg, "content");
        if (json_is_string(content))
            json_object_set_new(msg, "parts", json_pack("[{s:s, s:O}]", "kind", "text", "text", content));
        else if (json_is_array(content))
            json_object_set(msg, "parts", content);
        else if (content != NULL)
            return cl_fail(err, CL_INVALID, "invalid params.message.content type");
        else
            return cl_fail(err, CL_INVALID,
                           "params.message must contain either 'parts' (v0.3) or 'content' (v0.2 compat)");
        json_object_del(msg, "content");
        parts = json_object_get(msg, "parts");
    }
    size_t i;
    json_t *p;
    json_array_foreach(parts, i, p)
    {
        json_t *type = json_object_get(p, "type");
        if (json_is_object(p) && json_object_get(p, "kind") == NULL && type != NULL) {
            json_object_set(p, "kind", type);
            json_object_del(p, "type");
        }
    }
    out->message_id = arena_strdup(a, json_string_value(json_object_get(msg, "messageId")));
    out->text = first_text(parts);
    const json_t *meta = json_object_get(msg, "metadata");
    out->delegation_id = str_at(meta, "delegation_id");
    out->in_reply_to = str_at(meta, "in_reply_to");
    return CL_OK;
}

json_t *a2a_user_send(arena_t *a, const char *message_id, const char *text, json_t *metadata)
{
    json_t *message = json_pack("{s:s, s:s, s:[{s:s, s:s}]}", "role", "user", "messageId", message_id, "parts",
                                "kind", "text", "text", text);
    if (metadata != NULL)
        json_object_set_new(message, "metadata", metadata);
    return json_own(a, json_pack("{s:s, s:s, s:s, s:{s:o}}", "jsonrpc", "2.0", "id", message_id, "method",
                                 "message/send", "params", "message", message));
}

cl_err a2a_send_body(arena_t *a, const json_t *body, a2a_msg *out, cl_error *err)
{
    size_t len;
    const char *text = json_dump_arena(a, body, &len);
    return a2a_normalize(a, text, len, out, err);
}

cl_err a2a_normalize(arena_t *a, const char *body, size_t len, a2a_msg *out, cl_error *err)
{
    memset(out, 0, sizeof(*out));
    json_t *root;
    if (json_parse_object(a, body, len, &root, err) != CL_OK)
        return cl_fail(err, CL_INVALID_JSON, "invalid JSON");
    if (json_object_get(root, "jsonrpc") == NULL) {
        json_t *wrapped = json_own(a, json_object());
        json_object_set_new(wrapped, "jsonrpc", json_string("2.0"));
        json_object_set_new(wrapped, "id", json_string(new_uuid(a)));
        if (json_object_get(root, "method"))
            json_object_set(wrapped, "method", json_object_get(root, "method"));
        if (json_object_get(root, "params"))
            json_object_set(wrapped, "params", json_object_get(root, "params"));
        root = wrapped;
    }
    const char *method = str_at(root, "method");
    out->method = method ? method : "";
    for (size_t i = 0; i < sizeof(SEND_METHODS) / sizeof(SEND_METHODS[0]); i++)
        out->is_send |= strcmp(out->method, SEND_METHODS[i]) == 0;
    json_t *params = json_object_get(root, "params");
    json_t *msg = json_is_object(params) ? json_object_get(params, "message") : NULL;
    if (json_is_object(msg)) {
        cl_err e = normalize_message(a, msg, out, err);
        if (e != CL_OK)
            return e;
    }
    const json_t *ttl = json_is_object(params) ? json_object_get(params, "expires_in_seconds") : NULL;
    if (json_is_number(ttl) && json_number_value(ttl) > 0 && json_number_value(ttl) < 1e9)
        out->expires_in_s = (int64_t)json_number_value(ttl);
    out->body = json_dump_arena(a, root, &out->body_len);
    /* strings found above point into `root`, which the arena keeps alive */
    return CL_OK;
}

const char *a2a_reply_text(arena_t *a, const char *body, size_t len)
{
    json_t *root;
    cl_error e;
    if (body == NULL || json_parse(a, body, len, &root, &e) != CL_OK)
        return NULL;
    const json_t *result = json_object_get(root, "result");
    const char *t = first_text(json_object_get(result, "parts"));
    size_t i;
    const json_t *art;
    json_array_foreach(json_object_get(result, "artifacts"), i, art)
    {
        if (t == NULL)
            t = first_text(json_object_get(art, "parts"));
    }
    if (t == NULL)
        t = first_text(json_object_get(json_object_get(json_object_get(result, "status"), "message"), "parts"));
    return t;
}

/* A JSON text for a column that holds JSON: the reply itself when it is JSON, else the reply as a JSON string. */
static const char *as_json_text(arena_t *a, const char *s)
{
    json_t *v;
    cl_error e;
    if (s == NULL || json_parse(a, s, strlen(s), &v, &e) == CL_OK)
        return s;
    size_t n = strlen(s);
    char *clean = arena_alloc(a, 3 * n + 1);
    clean[utf8_sanitize(s, n, clean)] = '\0';
    return json_dump_arena(a, json_own(a, json_string(clean)), NULL);
}

/* ---- targets and activity ----------------------------------------------------------------------------------- */

/* One text column of the single row `sql` returns (CL_NOT_FOUND when none); `types` says how many of the text
 * parameters are bound. */
static cl_err one_text(db_t *db, arena_t *a, const char *sql, const char *types, const char **out, cl_error *err,
                       const char *p1, const char *p2, const char *p3)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, sql, types, p1, p2, p3);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK)
        *out = db_col_dup(st, a, 0);
    db_finish(st);
    return e;
}


static const char SQL_TARGET[] =
    "SELECT id, name, url, status, delivery_mode, active_tasks, max_concurrent_tasks FROM workspaces"
    " WHERE id = $1 AND status <> 'removed'";
static const char SQL_OUTBOUND[] = "UPDATE workspaces SET last_outbound_at = $2 WHERE id = $1";

json_t *a2a_file_part(const json_t *f)
{
    const char *type = json_string_value(json_object_get(f, "mimeType"));
    static const char *const FAMILIES[] = {"image", "audio", "video"};
    const char *kind = "file";
    for (size_t i = 0; type && i < sizeof(FAMILIES) / sizeof(FAMILIES[0]); i++)
        if (strncmp(type, FAMILIES[i], strlen(FAMILIES[i])) == 0 && type[strlen(FAMILIES[i])] == '/')
            kind = FAMILIES[i];
    json_t *file = json_pack("{s:O}", "uri", json_object_get(f, "uri"));
    if (type != NULL)
        json_object_set_new(file, "mime_type", json_string(type));
    json_object_set(file, "name", json_object_get(f, "name"));
    return json_pack("{s:s, s:o}", "kind", kind, "file", file);
}

cl_err a2a_target_get(db_t *db, arena_t *a, const char *id, a2a_target *out, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_TARGET, "s", id);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK) {
        *out = (a2a_target){db_col_dup(st, a, 0), db_col_dup(st, a, 1), db_col_dup(st, a, 2), db_col_dup(st, a, 3),
                            db_col_dup(st, a, 4), db_col_int64(st, 5), db_col_int64(st, 6), NULL};
    }
    db_finish(st);
    if (e == CL_NOT_FOUND)
        cl_fail(err, CL_NOT_FOUND, "workspace not found");
    return e;
}

cl_err a2a_log_ingest(db_t *db, arena_t *a, const a2a_target *t, const char *caller, const a2a_msg *m,
                      const char *summary_tag, cl_error *err)
{
    activity_row r = {.workspace_id = t->id, .activity_type = "a2a_receive", .source_id = caller,
                      .target_id = t->id, .method = m->method, .request_body = m->body, .message_id = m->message_id,
                      .summary = arena_sprintf(a, "%s \xE2\x86\x92 %s (%s)", m->method, t->name, summary_tag)};
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    e = activity_record(db, a, &r, err);
    if (e == CL_OK && m->is_send) {
        json_t *p = json_own(a, json_pack("{s:s?, s:s?, s:s}", "message_id", m->message_id, "content", m->text,
                                          "workspace_id", t->id));
        e = event_record(db, a, EV_USER_MESSAGE, t->id, json_dump_arena(a, p, NULL), NULL, err);
    }
    return db_tx_end(db, e, err);
}

cl_err a2a_log_outcome(db_t *db, arena_t *a, const a2a_target *t, const char *caller, const a2a_msg *m,
                       const a2a_outcome *o, cl_error *err)
{
    activity_row r = {.workspace_id = t->id, .activity_type = "a2a_receive", .source_id = caller,
                      .target_id = t->id, .method = m->method, .duration_ms = o->duration_ms, .has_duration = true};
    if (o->ok) {
        r.summary = arena_sprintf(a, "%s \xE2\x86\x92 %s", m->method, t->name);
        r.response_body = as_json_text(a, o->response_body);
        r.status = o->status >= 400 ? "error" : "ok";
        r.message_id = m->message_id;
        r.request_body = m->message_id ? NULL : m->body;
    } else {
        r.summary = arena_sprintf(a, "A2A request to %s failed: %s", t->name, o->error);
        r.status = "error";
        r.error_detail = o->error;
        r.request_body = m->message_id ? NULL : m->body; /* a send's ingest row already holds it (one chat bubble) */
    }
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    e = activity_record(db, a, &r, err);
    if (e == CL_OK) /* the reply's token usage, and the end of the metering lease (budget.h) */
        e = budget_settle(db, a, t->id, t->lease, o->ok && o->status < 300 ? o->response_body : NULL, err);
    if (e == CL_OK && o->ok && caller != NULL)
        e = db_run(db, a, NULL, err, SQL_OUTBOUND, "si", caller, time_now_ms());
    if (e == CL_OK && o->ok && o->from_canvas && o->status < 400) {
        json_t *p = json_own(a, json_pack("{s:o, s:s, s:I, s:s?}", "response_body",
                                          json_loads(r.response_body ? r.response_body : "null", JSON_DECODE_ANY, NULL),
                                          "method", m->method, "duration_ms", (json_int_t)o->duration_ms,
                                          "message_id", m->message_id));
        e = event_record(db, a, EV_A2A_RESPONSE, t->id, json_dump_arena(a, p, NULL), NULL, err);
    }
    return db_tx_end(db, e, err);
}

/* Messages are keyed by (target, sender, messageId): COALESCE makes the operators (NULL sender) one sender. */
static const char SQL_PRIOR[] =
    "SELECT response_body FROM activity_logs WHERE workspace_id = $1 AND COALESCE(source_id, '') = COALESCE($3, '')"
    " AND message_id = $2 AND activity_type = 'a2a_receive' AND response_body IS NOT NULL AND status = 'ok'";

cl_err a2a_prior_reply(db_t *db, arena_t *a, const char *workspace, const char *sender, const char *message_id,
                       const char **reply, cl_error *err)
{
    return one_text(db, a, SQL_PRIOR, "sss", reply, err, workspace, message_id, sender);
}

static const char SQL_ANSWER_ROW[] =
    "UPDATE activity_logs SET response_body = $3, status = 'ok' WHERE workspace_id = $1 AND source_id = $4"
    " AND message_id = $2 AND activity_type = 'a2a_receive'";

static const char SQL_DELEGATED_TO[] =
    "SELECT delegation_id FROM delegations WHERE delegation_id = $1 AND caller_id = $2 AND callee_id = $3";

cl_err a2a_note_reply(db_t *db, arena_t *a, const char *replier, const char *to, const a2a_msg *m, cl_error *err)
{
    /* in_reply_to names the message answered, delegation_id the delegation settled; a reply may name both (an
     * answer to a follow-up that settles the delegation), and each is honoured */
    const char *answered = m->in_reply_to ? m->in_reply_to : m->delegation_id;
    const char *settled = m->delegation_id ? m->delegation_id : m->in_reply_to;
    if (answered == NULL)
        return CL_OK;
    const char *reply = json_dump_arena(
        a, json_own(a, json_pack("{s:s, s:s, s:{s:s, s:[{s:s, s:s}]}}", "jsonrpc", "2.0", "id", m->message_id,
                                 "result", "role", "agent", "parts", "kind", "text", "text", m->text ? m->text : "")),
        NULL);
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    e = db_run(db, a, NULL, err, SQL_ANSWER_ROW, "ssss", replier, answered, reply, to); /* only what `to` sent */
    /* A delegation from `to` to the replier (and only to it) completes with the reply; the ledger's guard ignores
     * anything else. */
    const char *mine = NULL;
    if (e == CL_OK && (e = one_text(db, a, SQL_DELEGATED_TO, "sss", &mine, err, settled, to, replier)) == CL_NOT_FOUND)
        return db_tx_end(db, CL_OK, err);
    if (e == CL_OK) {
        bool moved;
        cl_err d = deleg_set_status(db, a, settled, to, "completed", NULL, m->text ? m->text : "", "reply", &moved,
                                    err);
        if (d != CL_OK && d != CL_NOT_FOUND)
            e = d;
    }
    return db_tx_end(db, e, err);
}

/* ---- the busy queue ----------------------------------------------------------------------------------------- */

#define Q_COLUMNS                                                                                                  \
    "q.id, q.workspace_id, q.caller_id, q.body, q.method, q.idempotency_key, q.status, q.last_error,"             \
    " q.response_body, q.priority, q.attempts, q.enqueued_at, q.dispatched_at, q.completed_at, q.expires_at,"       \
    " q.next_attempt_at"

/* A queued message is keyed by (target, sender, idempotency key), as in activity_logs. */
static const char SQL_SUPERSEDE[] =
    "UPDATE a2a_queue SET status = 'dropped', last_error = 'superseded: expired before delivery'"
    " WHERE workspace_id = $1 AND COALESCE(caller_id, '') = COALESCE($4, '') AND idempotency_key = $2"
    " AND status = 'queued' AND expires_at IS NOT NULL AND expires_at <= $3";
static const char SQL_ENQUEUE[] =
    "INSERT INTO a2a_queue (id, workspace_id, caller_id, priority, body, method, idempotency_key, enqueued_at,"
    " expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CAST($9 AS BIGINT))"
    " ON CONFLICT (workspace_id, COALESCE(caller_id, ''), idempotency_key) WHERE idempotency_key IS NOT NULL"
    " AND status IN ('queued', 'dispatched') DO NOTHING RETURNING id";
static const char SQL_LIVE_KEY[] =
    "SELECT id FROM a2a_queue WHERE workspace_id = $1 AND COALESCE(caller_id, '') = COALESCE($3, '')"
    " AND idempotency_key = $2 AND status IN ('queued', 'dispatched')";
static const char SQL_DEPTH_WS[] = "SELECT count(*) FROM a2a_queue WHERE workspace_id = $1 AND status = 'queued'";
static const char SQL_DEPTH[] = "SELECT count(*) FROM a2a_queue WHERE status = 'queued'";
/* The next due row whose target has nothing in flight: one delivery per target at a time, the way a busy agent
 * frees up. The outer status guard makes a racing claimer (another node) come back empty instead of re-claiming. */
static const char SQL_CLAIM[] =
    "UPDATE a2a_queue SET status = 'dispatched', dispatched_at = $1, attempts = attempts + 1"
    " WHERE status = 'queued' AND id = (SELECT q.id FROM a2a_queue q WHERE q.status = 'queued'"
    " AND (q.next_attempt_at IS NULL OR q.next_attempt_at <= $1) AND (q.expires_at IS NULL OR q.expires_at > $1)"
    " AND NOT EXISTS (SELECT 1 FROM a2a_queue d WHERE d.workspace_id = q.workspace_id AND d.status = 'dispatched')"
    " AND NOT EXISTS (SELECT 1 FROM workspaces p WHERE p.id = q.workspace_id AND (p.status = 'paused'"
    " OR p.budget_lease_until > $1))"
    " ORDER BY q.priority DESC, q.enqueued_at, q.id LIMIT 1) RETURNING id";
static const char SQL_GET[] =
    "SELECT " Q_COLUMNS ", w.url, w.status FROM a2a_queue q LEFT JOIN workspaces w ON w.id = q.workspace_id"
    " WHERE q.id = $1";
static const char SQL_COMPLETE[] =
    "UPDATE a2a_queue SET status = 'completed', completed_at = $2, response_body = $3, last_error = NULL"
    " WHERE id = $1 AND status = 'dispatched'";
static const char SQL_RETRY[] =
    "UPDATE a2a_queue SET status = 'queued', dispatched_at = NULL, last_error = $2, next_attempt_at = $3"
    " WHERE id = $1 AND status = 'dispatched'";
static const char SQL_FAIL[] =
    "UPDATE a2a_queue SET status = 'failed', completed_at = $2, last_error = $3"
    " WHERE id = $1 AND status IN ('queued', 'dispatched')";
static const char SQL_EXPIRE[] =
    "UPDATE a2a_queue SET status = 'failed', completed_at = $1, last_error = 'expired before delivery'"
    " WHERE status = 'queued' AND expires_at IS NOT NULL AND expires_at <= $1 RETURNING id, body, caller_id";
static const char SQL_REAP[] =
    "UPDATE a2a_queue SET status = 'queued', dispatched_at = NULL, last_error = 'delivery interrupted; requeued'"
    " WHERE status = 'dispatched' AND dispatched_at < $1";
static const char SQL_DROP_STALE[] =
    "UPDATE a2a_queue SET status = 'dropped', last_error = COALESCE(last_error || '; ', '') || 'dropped as stale'"
    " WHERE status = 'queued' AND enqueued_at < $1 AND (CAST($2 AS TEXT) IS NULL OR workspace_id = $2)";

static cl_err count_of(db_t *db, arena_t *a, const char *sql, const char *ws, int64_t *n, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = ws ? db_query(db, a, &st, err, sql, "s", ws) : db_query(db, a, &st, err, sql, "");
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK)
        *n = db_col_int64(st, 0);
    db_finish(st);
    return e;
}

cl_err a2a_enqueue(db_t *db, arena_t *a, const a2a_target *t, const char *caller, const a2a_msg *m, int priority,
                   int64_t expires_at, const char **id, int64_t *depth, bool *existing, cl_error *err)
{
    int64_t now = time_now_ms();
    const char *key = m->message_id;
    *existing = false;
    cl_err e = db_tx_begin(db, err);
    if (e == CL_OK && key)
        e = db_run(db, a, NULL, err, SQL_SUPERSEDE, "ssis", t->id, key, now, caller);
    if (e == CL_OK) {
        db_stmt_t *st;
        e = db_query(db, a, &st, err, SQL_ENQUEUE, "sssisssin", new_uuid(a), t->id, caller, (int64_t)priority,
                     m->body, m->method, key, now);
        if (e == CL_OK && expires_at > 0)
            db_bind_int64(st, 9, expires_at);
        if (e == CL_OK && (e = db_one(st, err)) == CL_OK) {
            *id = db_col_dup(st, a, 0);
            db_exec(st, err);
        }
        db_finish(st);
        if (e == CL_NOT_FOUND && key) { /* the same message is already waiting: that row is the answer */
            *existing = true;
            e = one_text(db, a, SQL_LIVE_KEY, "sss", id, err, t->id, key, caller);
        }
    }
    if (e == CL_OK && !*existing) {
        activity_row r = {.workspace_id = t->id, .activity_type = "a2a_receive", .source_id = caller,
                          .target_id = t->id, .method = m->method,
                          .summary = arena_sprintf(a, "%s \xE2\x86\x92 %s (queued: target busy)", m->method, t->name)};
        e = activity_record(db, a, &r, err);
    }
    if (e == CL_OK)
        e = count_of(db, a, SQL_DEPTH_WS, t->id, depth, err);
    if (e == CL_OK) /* a busy target answered: the delivery that held the metering lease is over */
        e = budget_settle(db, a, t->id, t->lease, NULL, err);
    if (e == CL_NOT_FOUND)
        e = cl_fail(err, CL_UNAVAILABLE, "queue row vanished");
    return db_tx_end(db, e, err);
}

static void read_row(db_stmt_t *st, arena_t *a, a2a_queue_row *r)
{
    int c = 0;
    r->id = db_col_dup(st, a, c++);
    r->workspace_id = db_col_dup(st, a, c++);
    r->caller_id = db_col_dup(st, a, c++);
    r->body = db_col_dup(st, a, c++);
    r->method = db_col_dup(st, a, c++);
    r->idempotency_key = db_col_dup(st, a, c++);
    r->status = db_col_dup(st, a, c++);
    r->last_error = db_col_dup(st, a, c++);
    r->response_body = db_col_dup(st, a, c++);
    r->priority = db_col_int64(st, c++);
    r->attempts = db_col_int64(st, c++);
    int64_t *times[] = {&r->enqueued_at, &r->dispatched_at, &r->completed_at, &r->expires_at, &r->next_attempt_at};
    for (size_t i = 0; i < 5; i++, c++)
        *times[i] = db_col_is_null(st, c) ? 0 : db_col_int64(st, c);
    r->url = db_col_dup(st, a, c++);
    r->target_status = db_col_dup(st, a, c++);
}

cl_err a2a_queue_get(db_t *db, arena_t *a, const char *id, a2a_queue_row *out, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_GET, "s", id);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK)
        read_row(st, a, out);
    db_finish(st);
    if (e == CL_NOT_FOUND)
        cl_fail(err, CL_NOT_FOUND, "queue item not found");
    return e;
}

cl_err a2a_claim(db_t *db, arena_t *a, a2a_queue_row *out, cl_error *err)
{
    const char *id;
    int64_t now = time_now_ms();
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_CLAIM, "i", now);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK) {
        id = db_col_dup(st, a, 0);
        db_exec(st, err);
    }
    db_finish(st);
    return e == CL_OK ? a2a_queue_get(db, a, id, out, err) : e;
}

/* The delegation a queued body carries, and its caller. */
static const char *body_delegation(arena_t *a, const a2a_queue_row *r)
{
    a2a_msg m;
    cl_error ignore;
    return r->body && a2a_normalize(a, r->body, strlen(r->body), &m, &ignore) == CL_OK ? m.delegation_id : NULL;
}

cl_err a2a_complete(db_t *db, arena_t *a, const a2a_queue_row *r, const char *reply, int64_t duration_ms,
                    cl_error *err)
{
    const char *stored = as_json_text(a, reply);
    cl_err e = db_tx_begin(db, err);
    if (e == CL_OK)
        e = db_run(db, a, NULL, err, SQL_COMPLETE, "sis", r->id, time_now_ms(), stored);
    if (e == CL_OK)
        e = budget_settle(db, a, r->workspace_id, r->lease, reply, err);
    a2a_msg m;
    cl_error ignore;
    if (e == CL_OK && a2a_normalize(a, r->body, strlen(r->body), &m, &ignore) == CL_OK && m.message_id) {
        activity_row act = {.workspace_id = r->workspace_id, .activity_type = "a2a_receive",
                            .source_id = r->caller_id, .target_id = r->workspace_id, .method = m.method,
                            .summary = arena_sprintf(a, "%s (delivered from the queue)", m.method),
                            .response_body = stored, .message_id = m.message_id, .duration_ms = duration_ms,
                            .has_duration = true};
        e = activity_record(db, a, &act, err);
        if (e == CL_OK && m.delegation_id && r->caller_id) {
            bool moved;
            const char *text = a2a_reply_text(a, reply, reply ? strlen(reply) : 0);
            cl_err d = deleg_set_status(db, a, m.delegation_id, r->caller_id, "completed", NULL,
                                        text ? text : reply, "queue_drain", &moved, err);
            if (d != CL_OK && d != CL_NOT_FOUND)
                e = d;
        }
    }
    return db_tx_end(db, e, err);
}

cl_err a2a_retry_later(db_t *db, arena_t *a, const a2a_queue_row *r, const char *error, cl_error *err)
{
    int64_t backoff = A2A_RETRY_BASE_MS;
    for (int64_t i = 1; i < r->attempts && backoff < A2A_RETRY_MAX_MS; i++)
        backoff *= 2;
    if (backoff > A2A_RETRY_MAX_MS)
        backoff = A2A_RETRY_MAX_MS;
    cl_err e = db_tx_begin(db, err);
    if (e == CL_OK)
        e = db_run(db, a, NULL, err, SQL_RETRY, "ssi", r->id, utf8_cut_copy(a, error, 1024, true),
                   time_now_ms() + backoff);
    if (e == CL_OK)
        e = budget_settle(db, a, r->workspace_id, r->lease, NULL, err);
    return db_tx_end(db, e, err);
}

static cl_err fail_delegation(db_t *db, arena_t *a, const char *body_delegation_id, const char *caller,
                              const char *error, cl_error *err)
{
    if (body_delegation_id == NULL || caller == NULL)
        return CL_OK;
    bool moved;
    cl_err d = deleg_set_status(db, a, body_delegation_id, caller, "failed", error, NULL, NULL, &moved, err);
    return d == CL_NOT_FOUND ? CL_OK : d;
}

cl_err a2a_fail(db_t *db, arena_t *a, const a2a_queue_row *r, const char *error, cl_error *err)
{
    cl_err e = db_tx_begin(db, err);
    if (e == CL_OK)
        e = db_run(db, a, NULL, err, SQL_FAIL, "sis", r->id, time_now_ms(), utf8_cut_copy(a, error, 1024, true));
    if (e == CL_OK)
        e = budget_settle(db, a, r->workspace_id, r->lease, NULL, err);
    if (e == CL_OK)
        e = fail_delegation(db, a, body_delegation(a, r), r->caller_id, error, err);
    return db_tx_end(db, e, err);
}

cl_err a2a_queue_sweep(db_t *db, arena_t *a, int64_t orphan_ms, int64_t *expired, int64_t *reaped, cl_error *err)
{
    int64_t now = time_now_ms();
    *expired = *reaped = 0;
    cl_err e = db_tx_begin(db, err);
    db_stmt_t *st = NULL;
    if (e == CL_OK)
        e = db_query(db, a, &st, err, SQL_EXPIRE, "i", now);
    bool row = false;
    while (e == CL_OK && (e = db_step(st, &row, err)) == CL_OK && row) {
        a2a_queue_row r = {.id = db_col_dup(st, a, 0), .body = db_col_dup(st, a, 1), .caller_id = db_col_dup(st, a, 2)};
        (*expired)++;
        e = fail_delegation(db, a, body_delegation(a, &r), r.caller_id, "expired before delivery", err);
    }
    db_finish(st);
    if (e == CL_OK)
        e = db_run(db, a, reaped, err, SQL_REAP, "i", now - orphan_ms);
    return db_tx_end(db, e, err);
}

cl_err a2a_drop_stale(db_t *db, arena_t *a, int64_t max_age_ms, const char *workspace_id, int64_t *dropped,
                      cl_error *err)
{
    return db_run(db, a, dropped, err, SQL_DROP_STALE, "is", time_now_ms() - max_age_ms, workspace_id);
}

cl_err a2a_queue_depth(db_t *db, arena_t *a, int64_t *depth, cl_error *err)
{
    return count_of(db, a, SQL_DEPTH, NULL, depth, err);
}

/* ---- admission ---------------------------------------------------------------------------------------------- */

/* A push target that a delivery may go to now (held ones, and those without a URL, take no metering lease; one
 * whose URL the outbound policy refuses is released by the caller). */
static bool deliverable(const a2a_target *t)
{
    return strcmp(t->status, "paused") != 0 && strcmp(t->status, "hibernated") != 0 && t->url != NULL &&
           t->url[0] != '\0';
}

cl_err a2a_admit(db_t *db, arena_t *a, a2a_target *t, const char *caller, const a2a_msg *m, const char *ingest_tag,
                 a2a_admission *out, budget_refusal *over, cl_error *err)
{
    bool push = strcmp(t->delivery_mode, "poll") != 0, held = false;
    *out = A2A_DELIVER;
    t->lease = NULL;
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    e = budget_admit(db, a, t->id, push && deliverable(t), &t->lease, over, &held, err);
    if (e == CL_OK && push && strcmp(t->status, "paused") == 0) {
        *out = A2A_HOLD_PAUSED;
    } else if (e == CL_OK && push && strcmp(t->status, "hibernated") == 0) {
        *out = A2A_WAKING;
        e = lifecycle_wake(db, a, t->id, err);
    } else if (held) {
        *out = A2A_HOLD_METERED;
    }
    if (e == CL_OK && ingest_tag != NULL)
        e = a2a_log_ingest(db, a, t, caller, m, ingest_tag, err);
    if ((e = db_tx_end(db, e, err)) != CL_OK)
        t->lease = NULL;
    return e;
}

cl_err a2a_meter_queued(db_t *db, arena_t *a, a2a_queue_row *r, bool *held, cl_error *err)
{
    budget_refusal over;
    r->lease = NULL;
    *held = false;
    if (r->target_status != NULL && strcmp(r->target_status, "hibernated") == 0) {
        *held = true;
        cl_err e = db_tx_begin(db, err);
        return e == CL_OK ? db_tx_end(db, lifecycle_wake(db, a, r->workspace_id, err), err) : e;
    }
    return budget_admit(db, a, r->workspace_id, true, &r->lease, &over, held, err);
}
