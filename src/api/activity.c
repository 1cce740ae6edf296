/* activity.c - see activity.h. */
#include "api/activity.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/auth.h"
#include "api/errors.h"
#include "api/input.h"
#include "api/paging.h"
#include "base/batch.h"
#include "base/json.h"
#include "base/time.h"
#include "model/activity.h"
#include "model/chat.h"
#include "model/event.h"

enum { SEARCH_LIMIT_DEFAULT = 50, SEARCH_LIMIT_MAX = 200, EVENTS_LIMIT_DEFAULT = 100, EVENTS_LIMIT_MAX = 1000,
       NOTIFY_IN_REPLY_TO_MAX = 1024 };

/* `key`: JSON text stored in a column, as a value (null when absent or unreadable). */
static void kstored(jsonw *w, const char *key, const char *text)
{
    jsonw_key(w, key);
    if (!jsonw_stored(w, text, true))
        jsonw_null(w);
}

static void row_write(jsonw *w, const void *row)
{
    const activity_row *r = row;
    jsonw_obj_open(w);
    jsonw_kstr(w, "id", r->id);
    jsonw_kstr(w, "workspace_id", r->workspace_id);
    jsonw_kstr(w, "activity_type", r->activity_type);
    jsonw_kstr(w, "source_id", r->source_id);
    jsonw_kstr(w, "target_id", r->target_id);
    jsonw_kstr(w, "method", r->method);
    jsonw_kstr(w, "summary", r->summary);
    jsonw_key(w, "duration_ms");
    if (r->has_duration)
        jsonw_int(w, r->duration_ms);
    else
        jsonw_null(w);
    jsonw_kstr(w, "status", r->status);
    jsonw_kstr(w, "error_detail", r->error_detail);
    api_jsonw_time(w, "created_at", r->created_at);
    kstored(w, "request_body", r->request_body);
    kstored(w, "response_body", r->response_body);
    jsonw_obj_close(w);
}

/* Activity pages run on seq: oldest first after since_id (or an ascending cursor), else newest first; the cursor
 * carries the direction. */
static const char *row_cursor_asc(arena_t *a, const void *row)
{
    return api_cursor_text(a, "ii", &(api_cursor){.n = {1, ((const activity_row *)row)->seq}});
}

static const char *row_cursor_desc(arena_t *a, const void *row)
{
    return api_cursor_text(a, "ii", &(api_cursor){.n = {0, ((const activity_row *)row)->seq}});
}

void api_activity_list(http_req *rq)
{
    const char *id;
    int64_t limit, since_secs;
    api_cursor c;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &id) ||
        !api_query_int_or_reply(rq, "since_secs", 0, 1, INT32_MAX, &since_secs))
        return;
    /* the reference reads garbage and non-positive limits as the default; colony answers 400, as every list does */
    if (!api_limit_or_reply(rq, ACTIVITY_LIMIT_DEFAULT, ACTIVITY_LIMIT_MAX, &limit) ||
        !api_cursor_or_reply(rq, "ii", &c))
        return;
    activity_filter f = {.type = http_query(rq, "type"), .limit = limit + 1};
    const char *src = http_query(rq, "source");
    if (src) {
        if (strcmp(src, "canvas") != 0 && strcmp(src, "agent") != 0) {
            api_fail(rq, CL_INVALID, "source must be 'canvas' or 'agent'");
            return;
        }
        f.source = strcmp(src, "canvas") == 0 ? 1 : 2;
    }
    f.peer_id = http_query(rq, "peer_id");
    if (f.peer_id && !id_is_uuid(f.peer_id, strlen(f.peer_id))) {
        api_fail(rq, CL_INVALID, "peer_id must be a UUID");
        return;
    }
    if (since_secs > ACTIVITY_SINCE_MAX_S)
        since_secs = ACTIVITY_SINCE_MAX_S;
    if (since_secs > 0)
        f.since_ms = time_now_ms() - since_secs * 1000;
    const char *before = http_query(rq, "before_ts");
    if (before && !time_parse_rfc3339(before, strlen(before), &f.before_ms)) {
        api_fail(rq, CL_INVALID, "before_ts must be an RFC 3339 time");
        return;
    }
    f.since_id = http_query(rq, "since_id");
    if (c.set && (f.since_id != NULL || (c.n[0] != 0 && c.n[0] != 1))) {
        api_fail(rq, CL_INVALID, f.since_id ? "since_id and cursor cannot be combined: follow the cursor"
                                            : "cursor is not one this list gave (pass back X-Next-Cursor as it came)");
        return;
    }
    f.has_cursor = c.set, f.ascending = c.n[0] == 1, f.cursor_seq = c.n[1];
    activity_row *rows;
    size_t n;
    cl_error e;
    if (activity_list(rq->db, rq->arena, id, &f, &rows, &n, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    bool asc = f.since_id != NULL || (c.set && f.ascending);
    api_reply_rows(rq, rows, n, sizeof(*rows), limit, row_write, asc ? row_cursor_asc : row_cursor_desc);
}

/* A JSON field stored as text, bounded. */
static bool body_text(http_req *rq, json_t *body, const char *key, const char **out)
{
    json_t *v = json_object_get(body, key);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return true;
    size_t len;
    *out = json_dump_arena(rq->arena, v, &len);
    if (len > ACTIVITY_BODY_MAX) {
        api_fail(rq, CL_TOO_LARGE, "%s larger than %d bytes", key, ACTIVITY_BODY_MAX);
        return false;
    }
    return true;
}

/* Group commit of reports and notifies (base/batch.h). They run on the I/O thread (a small body is parsed there;
 * a big one on a worker) and join the node's group; a worker checks each one's token and writes the group in one
 * transaction, its events included, then answers each request. So every request in flight can join a group, not
 * only as many as there are workers. */
enum { ACTIVITY_GROUP_MAX = 256, ACTIVITY_LOOP_BODY_MAX = 16 * 1024 };

typedef struct {
    http_req *rq; /* held until answered */
    activity_write w;
} activity_waiting;

static batch_t *activity_batch;

static void answer(activity_waiting *aw)
{
    http_req *rq = aw->rq;
    activity_write *w = &aw->w;
    if (w->notify && w->result == CL_FORBIDDEN)
        api_fail_with(rq, CL_FORBIDDEN, NULL,
                      json_pack("{s:s}", "hint", "an admin can enable it with PATCH /workspaces/:id/abilities"),
                      "talk_to_user_disabled");
    else if (w->result != CL_OK)
        api_reply_error(rq, &w->err);
    else if (w->notify)
        api_reply_json(rq, 200, json_pack("{s:s}", "status", "sent"));
    else
        api_reply_json(rq, 200, json_pack("{s:s, s:s}", "status", "logged", "id", w->row.id));
}

static void flush_activity(void *db, void **group, size_t n)
{
    arena_t *a = arena_new();
    activity_write *items = arena_calloc(a, n, sizeof(*items));
    size_t *at = arena_calloc(a, n, sizeof(*at)), k = 0;
    for (size_t i = 0; i < n; i++) {
        activity_waiting *aw = group[i];
        if (db == NULL) { /* the server stopped before a worker could write them */
            api_fail(aw->rq, CL_UNAVAILABLE, "server is shutting down; retry");
            continue;
        }
        aw->rq->db = db;
        if (!api_authorize(aw->rq, ACCESS_WORKSPACE)) /* answered: 401, or 503 when the database cannot say */
            continue;
        at[k] = i;
        items[k++] = aw->w;
    }
    if (k > 0)
        activity_write_group(db, a, items, k);
    if (db != NULL)
        db_reset(db); /* nothing stays open on this connection once the requests may be freed elsewhere */
    for (size_t j = 0; j < k; j++) {
        activity_waiting *aw = group[at[j]];
        aw->w = items[j];
        if (aw->w.result == CL_OK && !aw->w.notify) /* the id lives in the group's arena: copy it to the request's */
            aw->w.row.id = arena_strdup(aw->rq->arena, aw->w.row.id);
        answer(aw);
    }
    for (size_t i = 0; i < n; i++) {
        activity_waiting *aw = group[i];
        http_req_drop(aw->rq);
        free(aw);
    }
    arena_free(a);
}

static void drain_activity(void *ctx, void *arg)
{
    (void)arg;
    batch_drain(activity_batch, ctx);
}

static void schedule_drain(void *rq) { http_run_pooled(rq, drain_activity, NULL); }

/* Hand `w` to the batch; the request is answered when its group is written. */
static void write_later(http_req *rq, const activity_write *w)
{
    activity_waiting *aw = xcalloc(1, sizeof(*aw));
    aw->rq = http_req_hold(rq);
    aw->w = *w;
    http_defer(rq);
    if (rq->db != NULL) /* a worker (a big body): it may flush right here */
        batch_add(activity_batch, rq->db, aw);
    else
        batch_add_elsewhere(activity_batch, aw, schedule_drain, rq);
}

/* A handler whose big body is parsed on a worker instead of the I/O thread. */
typedef struct {
    http_req *rq;
    void (*fn)(http_req *rq);
} parse_task;

static void parse_on_worker(void *ctx, void *arg)
{
    parse_task *t = arg;
    http_req *rq = t->rq;
    if (ctx == NULL) {
        api_fail(rq, CL_UNAVAILABLE, "server is shutting down; retry");
    } else {
        rq->db = ctx;
        t->fn(rq);
    }
    free(t);
    http_req_drop(rq);
}

static void here_or_on_worker(http_req *rq, void (*fn)(http_req *rq))
{
    if (rq->body_len <= ACTIVITY_LOOP_BODY_MAX) {
        fn(rq);
        return;
    }
    parse_task *t = xcalloc(1, sizeof(*t));
    *t = (parse_task){http_req_hold(rq), fn};
    http_defer(rq);
    http_run_pooled(rq, parse_on_worker, t);
}

void api_activity_init(int flushers) { activity_batch = batch_new(ACTIVITY_GROUP_MAX, flush_activity, flushers); }

void api_activity_fini(void)
{
    batch_free(activity_batch);
    activity_batch = NULL;
}

static void report(http_req *rq)
{
    const char *id;
    json_t *body;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &id) || !api_json_object_or_reply(rq, &body))
        return;
    activity_row r = {.workspace_id = id};
    cl_error e;
    if (json_opt_string(body, "activity_type", &r.activity_type, NULL, NULL, &e) != CL_OK ||
        json_opt_string(body, "method", &r.method, NULL, NULL, &e) != CL_OK ||
        json_opt_string(body, "summary", &r.summary, NULL, NULL, &e) != CL_OK ||
        json_opt_string(body, "target_id", &r.target_id, NULL, NULL, &e) != CL_OK ||
        json_opt_string(body, "source_id", &r.source_id, NULL, NULL, &e) != CL_OK ||
        json_opt_string(body, "status", &r.status, NULL, NULL, &e) != CL_OK ||
        json_opt_string(body, "error_detail", &r.error_detail, NULL, NULL, &e) != CL_OK ||
        json_opt_int(body, "duration_ms", &r.duration_ms, &r.has_duration, &e) != CL_OK) {
        api_fail(rq, CL_INVALID, "invalid request body: %s", e.msg);
        return;
    }
    if (!activity_type_reportable(r.activity_type)) {
        api_fail(rq, CL_INVALID, "invalid activity_type, must be one of: a2a_send, a2a_receive, task_update, "
                                 "agent_log, skill_promotion, memory_write, error");
        return;
    }
    if ((r.summary && strlen(r.summary) > ACTIVITY_TEXT_MAX) ||
        (r.error_detail && strlen(r.error_detail) > ACTIVITY_TEXT_MAX) || (r.method && strlen(r.method) > 200) ||
        (r.status && strlen(r.status) > 64) || (r.target_id && !id_is_uuid(r.target_id, strlen(r.target_id)))) {
        api_fail(rq, CL_INVALID, "invalid request body: a field is too long or malformed");
        return;
    }
    if (r.source_id && r.source_id[0] && strcasecmp(r.source_id, id) != 0) {
        api_fail(rq, CL_FORBIDDEN, "source_id must match authenticated workspace");
        return;
    }
    r.source_id = id;
    if (!body_text(rq, body, "request_body", &r.request_body) || !body_text(rq, body, "response_body", &r.response_body))
        return;
    if (r.request_body == NULL && !body_text(rq, body, "metadata", &r.request_body))
        return;
    write_later(rq, &(activity_write){.row = r});
}

void api_activity_report(http_req *rq) { here_or_on_worker(rq, report); }

static void notify(http_req *rq)
{
    const char *id;
    json_t *body;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &id) || !api_json_object_or_reply(rq, &body))
        return;
    const char *message = NULL;
    cl_error e;
    if (json_opt_string(body, "message", &message, NULL, NULL, &e) != CL_OK || message == NULL || !*message) {
        api_fail(rq, CL_INVALID, "message is required");
        return;
    }
    if (strlen(message) > ACTIVITY_TEXT_MAX) {
        api_fail(rq, CL_TOO_LARGE, "message larger than %d bytes", ACTIVITY_TEXT_MAX);
        return;
    }
    /* colony's: the operator message this one answers (README "Agent-to-agent messages and delegations") */
    const char *in_reply_to = NULL;
    if (json_opt_string(body, "in_reply_to", &in_reply_to, NULL, NULL, &e) != CL_OK ||
        (in_reply_to != NULL && (in_reply_to[0] == '\0' || strlen(in_reply_to) > NOTIFY_IN_REPLY_TO_MAX))) {
        api_fail(rq, CL_INVALID, "in_reply_to must be a message id of 1 to %d bytes", NOTIFY_IN_REPLY_TO_MAX);
        return;
    }
    json_t *att;
    if (activity_attachments(rq->arena, json_object_get(body, "attachments"), &att, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    const char *att_text = att ? json_dump_arena(rq->arena, att, NULL) : NULL;
    write_later(rq, &(activity_write){.notify = true, .workspace_id = id, .message = message, .attachments = att_text,
                                      .in_reply_to = in_reply_to});
}

void api_notify(http_req *rq) { here_or_on_worker(rq, notify); }

/* The bubbles of rows[0..n) (newest first) as {"messages": [...], "reached_end": …}; false when they do not fit
 * in a page (the writer is then reset). */
static bool chat_write(http_req *rq, jsonw *w, const activity_row *rows, size_t n, const activity_row *steps,
                       size_t nsteps, bool reached_end)
{
    chat_msg *msgs;
    size_t count;
    chat_messages(rq->arena, rows, n, steps, nsteps, &msgs, &count);
    jsonw_mark start = jsonw_save(w);
    jsonw_obj_open(w);
    jsonw_key(w, "messages");
    jsonw_arr_open(w);
    for (size_t i = 0; i < count; i++) {
        char mid[ID_UUID_LEN + 1];
        id_uuid4(mid); /* as the reference: a fresh id per message per request */
        jsonw_obj_open(w);
        jsonw_kstr(w, "id", mid);
        jsonw_kstr(w, "role", chat_role_name(msgs[i].role));
        jsonw_kstr(w, "content", msgs[i].content);
        api_jsonw_time(w, "timestamp", msgs[i].at);
        if (msgs[i].attachments) {
            jsonw_key(w, "attachments");
            jsonw_json(w, msgs[i].attachments);
        }
        if (msgs[i].tool_trace) {
            jsonw_key(w, "tool_trace");
            jsonw_json(w, msgs[i].tool_trace);
        }
        jsonw_obj_close(w);
    }
    jsonw_arr_close(w);
    jsonw_kbool(w, "reached_end", reached_end);
    jsonw_obj_close(w);
    return api_row_fits(w, &start);
}

/* GET /workspaces/:id/chat-history (surface.md §15): the conversation a canvas rebuilds after a reload. The canvas
 * pages back with before_ts; a cursor (X-Next-Cursor) pages back without ever repeating or skipping a row. */
void api_chat_history(http_req *rq)
{
    const char *id = http_param_get(rq, "id");
    if (id == NULL || !id_is_uuid(id, strlen(id))) {
        api_fail(rq, CL_INVALID, "workspace id must be a UUID");
        return;
    }
    id = id_lower(arena_strdup(rq->arena, id));
    int64_t limit;
    api_cursor c;
    /* the reference reads garbage and non-positive limits as the default and clamps big ones; colony answers 400,
     * as every list does */
    if (!api_limit_or_reply(rq, CHAT_LIMIT_DEFAULT, CHAT_LIMIT_MAX, &limit) || !api_cursor_or_reply(rq, "ii", &c))
        return;
    int64_t before = 0;
    const char *b = http_query(rq, "before_ts");
    if (b && !time_parse_rfc3339(b, strlen(b), &before)) {
        api_fail(rq, CL_INVALID, "before_ts must be an RFC3339 timestamp (e.g. 2026-05-01T00:00:00Z)");
        return;
    }
    activity_key after = {c.n[0], c.n[1]};
    activity_row *rows, *steps = NULL;
    size_t n, nsteps = 0;
    int64_t from, to;
    cl_error e;
    if (activity_chat_rows(rq->db, rq->arena, id, before, c.set ? &after : NULL, limit + 1, &rows, &n, &e) !=
            CL_OK ||
        (chat_steps_window(rows, n < (size_t)limit ? n : (size_t)limit, &from, &to) &&
         activity_tool_steps(rq->db, rq->arena, id, CHAT_TOOL_MARKER, from, to, CHAT_TOOL_STEPS_MAX, &steps, &nsteps,
                             &e) != CL_OK)) {
        api_fail(rq, CL_BAD_GATEWAY, "chat history unavailable");
        return;
    }
    size_t keep = n < (size_t)limit ? n : (size_t)limit;
    jsonw w;
    api_list_writer(&w);
    /* a page too large for one body keeps its newest half, and so on: the older rows come with the next page */
    bool fits;
    while (!(fits = chat_write(rq, &w, rows, keep, steps, nsteps, keep == n)) && keep > 1)
        keep /= 2;
    if (fits && keep < n) {
        const activity_row *last = &rows[keep - 1];
        api_next_page(rq, api_cursor_text(rq->arena, "ii", &(api_cursor){.n = {last->created_at, last->seq}}));
    }
    api_reply_jsonw(rq, 200, &w);
}

void api_chat_session_new(http_req *rq)
{
    const char *id;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &id))
        return;
    int64_t at;
    cl_error e;
    if (activity_chat_reset(rq->db, rq->arena, id, &at, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:s, s:o}", "status", "reset", "chat_session_started_at", api_json_time(at)));
}

static void search_write(jsonw *w, const void *row)
{
    const activity_row *r = row;
    jsonw_obj_open(w);
    jsonw_kstr(w, "kind", "activity");
    jsonw_kstr(w, "id", r->id);
    jsonw_kstr(w, "workspace_id", r->workspace_id);
    jsonw_kstr(w, "label", r->activity_type);
    jsonw_kstr(w, "content", r->summary);
    jsonw_kstr(w, "method", r->method);
    jsonw_kstr(w, "status", r->status);
    api_jsonw_time(w, "created_at", r->created_at);
    jsonw_obj_close(w);
}

static const char *seq_cursor(arena_t *a, const void *row)
{
    return api_cursor_text(a, "i", &(api_cursor){.n = {((const activity_row *)row)->seq}});
}

void api_session_search(http_req *rq)
{
    const char *id;
    int64_t limit;
    api_cursor c;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &id) ||
        !api_limit_or_reply(rq, SEARCH_LIMIT_DEFAULT, SEARCH_LIMIT_MAX, &limit) || !api_cursor_or_reply(rq, "i", &c))
        return;
    activity_row *rows;
    size_t n;
    cl_error e;
    if (activity_search(rq->db, rq->arena, id, http_query(rq, "q"), c.set ? c.n[0] : 0, limit + 1, &rows, &n, &e) !=
        CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_rows(rq, rows, n, sizeof(*rows), limit, search_write, seq_cursor);
}

static void event_write(jsonw *w, const void *row)
{
    const event_row *r = row;
    jsonw_obj_open(w);
    jsonw_kint(w, "id", r->id);
    jsonw_kstr(w, "event_type", r->type);
    jsonw_kstr(w, "workspace_id", r->workspace_id);
    kstored(w, "payload", r->payload);
    api_jsonw_time(w, "created_at", r->created_at);
    jsonw_obj_close(w);
}

static const char *event_cursor(arena_t *a, const void *row)
{
    return api_cursor_text(a, "i", &(api_cursor){.n = {((const event_row *)row)->id}});
}

/* GET /events[/:workspaceId]: the reference's newest 100, then older pages by cursor (ids descending). */
void api_events_list(http_req *rq)
{
    const char *ws = NULL;
    int64_t limit;
    api_cursor c;
    if ((http_param_get(rq, "workspaceId") && !api_uuid_param_or_reply(rq, "workspaceId", "workspace", &ws)) ||
        !api_limit_or_reply(rq, EVENTS_LIMIT_DEFAULT, EVENTS_LIMIT_MAX, &limit) || !api_cursor_or_reply(rq, "i", &c))
        return;
    event_row *rows;
    size_t n;
    cl_error e;
    if (event_list(rq->db, rq->arena, ws, c.set ? c.n[0] : 0, limit + 1, &rows, &n, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_rows(rq, rows, n, sizeof(*rows), limit, event_write, event_cursor);
}
