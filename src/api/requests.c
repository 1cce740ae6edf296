/* requests.c - see requests.h. */
#include "api/requests.h"

#include <string.h>

#include "api/errors.h"
#include "api/inbox.h"
#include "api/input.h"
#include "api/paging.h"
#include "base/id.h"
#include "model/request.h"

/* The agent the caller acts as: :id on the workspace surface (false after answering 400 for a malformed one), NULL
 * on the operators'. */
static bool as_agent_or_reply(http_req *rq, const char **agent)
{
    *agent = NULL;
    return http_param_get(rq, "id") == NULL || api_uuid_param_or_reply(rq, "id", "workspace", agent);
}

void api_requests_create(http_req *rq)
{
    const char *ws, *id;
    const json_t *priority;
    json_t *body;
    request_spec s = {0};
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &ws) || !api_json_object_or_reply(rq, &body) ||
        !api_body_str_or_reply(rq, body, "kind", true, API_BAD_BODY, &s.kind) ||
        !api_body_str_or_reply(rq, body, "recipient_type", true, API_BAD_BODY, &s.recipient_type) ||
        !api_body_str_or_reply(rq, body, "title", true, API_BAD_BODY, &s.title) ||
        !api_body_str_or_reply(rq, body, "recipient_id", false, API_BAD_BODY, &s.recipient_id) ||
        !api_body_str_or_reply(rq, body, "detail", false, API_BAD_BODY, &s.detail) ||
        !api_body_typed_or_reply(rq, body, "priority", JSON_INTEGER, &priority))
        return;
    s.has_priority = priority != NULL;
    s.priority = json_integer_value(priority);
    cl_error e;
    if (request_create(rq->db, rq->arena, ws, &s, &id, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 201, json_pack("{s:s, s:s}", "request_id", id, "status", "pending"));
}

/* The fields of a request, into an open object (inbox.md §5.2). */
static void request_fields(jsonw *w, const request_row *r)
{
    jsonw_kstr(w, "id", r->id);
    jsonw_kstr(w, "kind", r->kind);
    jsonw_kstr(w, "requester_type", r->requester_type);
    jsonw_kstr(w, "requester_id", r->requester_id);
    jsonw_kstr(w, "org_id", r->org_id);
    jsonw_kstr(w, "recipient_type", r->recipient_type);
    jsonw_kstr(w, "recipient_id", r->recipient_id);
    jsonw_kstr(w, "title", r->title);
    jsonw_kstr(w, "detail", r->detail);
    jsonw_kstr(w, "status", r->status);
    jsonw_kstr(w, "responder_type", r->responder_type);
    jsonw_kstr(w, "responder_id", r->responder_id);
    if (r->has_priority)
        jsonw_kint(w, "priority", r->priority);
    else
        jsonw_knull(w, "priority");
    api_jsonw_time(w, "created_at", r->created_at);
    api_jsonw_time(w, "updated_at", r->updated_at);
    api_jsonw_time(w, "responded_at", r->responded_at);
}

/* A row; `workspace_name` only where the pending view found the requester's workspace (read by the canvas). */
static void request_write(jsonw *w, const void *row)
{
    const request_row *r = row;
    jsonw_obj_open(w);
    request_fields(w, r);
    if (r->workspace_name)
        jsonw_kstr(w, "workspace_name", r->workspace_name);
    jsonw_obj_close(w);
}

static const char *request_cursor(arena_t *a, const void *row)
{
    const request_row *r = row;
    return api_inbox_cursor(a, r->created_at, r->id);
}

/* A query filter: absent or "" is none. */
static const char *filter(http_req *rq, const char *name)
{
    const char *v = http_query(rq, name);
    return v && v[0] ? v : NULL;
}

static void reply_list(http_req *rq, cl_err r, const cl_error *e, const request_row *rows, size_t n, int64_t limit)
{
    if (r != CL_OK)
        api_reply_error(rq, e);
    else
        api_reply_rows(rq, rows, n, sizeof(*rows), limit, request_write, request_cursor);
}

static void list_side(http_req *rq, request_side side)
{
    const char *ws;
    int64_t limit;
    inbox_key before;
    bool has_before;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &ws) ||
        !api_inbox_page_or_reply(rq, &limit, &before, &has_before))
        return;
    request_row *rows = NULL;
    size_t n = 0;
    cl_error e;
    cl_err r = request_list(rq->db, rq->arena, side, ws, filter(rq, "status"), has_before ? &before : NULL,
                            limit + 1, &rows, &n, &e);
    reply_list(rq, r, &e, rows, n, limit);
}

void api_requests_outgoing(http_req *rq)
{
    list_side(rq, REQUEST_OUTGOING);
}
void api_requests_inbox(http_req *rq)
{
    list_side(rq, REQUEST_INCOMING);
}

void api_requests_pending(http_req *rq)
{
    int64_t limit;
    inbox_key before;
    bool has_before;
    if (!api_inbox_page_or_reply(rq, &limit, &before, &has_before))
        return;
    const char *org = filter(rq, "org_id");
    if (org && id_is_uuid(org, strlen(org)))
        org = id_lower(arena_strdup(rq->arena, org));
    request_row *rows = NULL;
    size_t n = 0;
    cl_error e;
    cl_err r = request_list_pending(rq->db, rq->arena, filter(rq, "kind"), org, has_before ? &before : NULL,
                                    limit + 1, &rows, &n, &e);
    reply_list(rq, r, &e, rows, n, limit);
}

void api_request_get(http_req *rq)
{
    const char *agent;
    if (!as_agent_or_reply(rq, &agent))
        return;
    request_row r;
    request_msg *msgs;
    size_t n;
    cl_error e;
    if (request_get(rq->db, rq->arena, api_item_id(rq, "requestId"), agent, &r, &msgs, &n, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    jsonw w;
    api_list_writer(&w);
    jsonw_obj_open(&w);
    jsonw_key(&w, "request");
    jsonw_obj_open(&w);
    request_fields(&w, &r);
    jsonw_obj_close(&w);
    jsonw_key(&w, "messages");
    jsonw_arr_open(&w);
    for (size_t i = 0; i < n; i++) {
        jsonw_obj_open(&w);
        jsonw_kstr(&w, "id", msgs[i].id);
        jsonw_kstr(&w, "request_id", msgs[i].request_id);
        jsonw_kstr(&w, "author_type", msgs[i].author_type);
        jsonw_kstr(&w, "author_id", msgs[i].author_id);
        jsonw_kstr(&w, "body", msgs[i].body);
        api_jsonw_time(&w, "created_at", msgs[i].created_at);
        jsonw_obj_close(&w);
    }
    jsonw_arr_close(&w);
    jsonw_obj_close(&w);
    api_reply_jsonw(rq, 200, &w);
}

void api_request_respond(http_req *rq)
{
    const char *agent, *action, *type, *by;
    json_t *body;
    if (!as_agent_or_reply(rq, &agent) || !api_json_object_or_reply(rq, &body) ||
        !api_body_str_or_reply(rq, body, "action", true, API_BAD_BODY, &action) ||
        !api_body_str_or_reply(rq, body, "responder_type", false, API_BAD_BODY, &type) ||
        !api_body_str_or_reply(rq, body, "responder_id", false, API_BAD_BODY, &by))
        return;
    const char *id = api_item_id(rq, "requestId");
    cl_error e;
    if (request_respond(rq->db, rq->arena, id, agent, type, by, action, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:s, s:s}", "status", action, "request_id", id));
}

void api_request_message(http_req *rq)
{
    const char *agent, *text, *type, *by, *message_id;
    json_t *body;
    /* author_type is required even where the author is bound to :id, as the reference binds it */
    if (!as_agent_or_reply(rq, &agent) || !api_json_object_or_reply(rq, &body) ||
        !api_body_str_or_reply(rq, body, "body", true, API_BAD_BODY, &text) ||
        !api_body_str_or_reply(rq, body, "author_type", true, API_BAD_BODY, &type) ||
        !api_body_str_or_reply(rq, body, "author_id", false, API_BAD_BODY, &by))
        return;
    const char *id = api_item_id(rq, "requestId");
    cl_error e;
    if (request_add_message(rq->db, rq->arena, id, agent, type, by, text, &message_id, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 201,
                   json_pack("{s:s, s:s, s:s}", "status", "created", "request_id", id, "message_id", message_id));
}

void api_request_cancel(http_req *rq)
{
    const char *agent;
    if (!as_agent_or_reply(rq, &agent))
        return;
    const char *id = api_item_id(rq, "requestId");
    cl_error e;
    if (request_cancel(rq->db, rq->arena, id, agent, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:s, s:s}", "status", "cancelled", "request_id", id));
}
