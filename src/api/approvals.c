/* approvals.c - see approvals.h. */
#include "api/approvals.h"

#include "api/auth.h"
#include "api/errors.h"
#include "api/inbox.h"
#include "api/input.h"
#include "api/paging.h"
#include "model/approval.h"

void api_approvals_create(http_req *rq)
{
    const char *ws, *id;
    json_t *body;
    approval_spec s = {0};
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &ws) || !api_json_object_or_reply(rq, &body) ||
        !api_body_str_or_reply(rq, body, "action", true, API_BAD_BODY, &s.action) ||
        !api_body_str_or_reply(rq, body, "task_id", false, API_BAD_BODY, &s.task_id) ||
        !api_body_str_or_reply(rq, body, "reason", false, API_BAD_BODY, &s.reason) ||
        !api_body_typed_or_reply(rq, body, "context", JSON_OBJECT, &s.context))
        return;
    cl_error e;
    if (approval_create(rq->db, rq->arena, ws, &s, api_caller_actor(rq), &id, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 201, json_pack("{s:s, s:s}", "approval_id", id, "status", "pending"));
}

static const char *approval_cursor(arena_t *a, const void *row)
{
    const approval_row *r = row;
    return api_inbox_cursor(a, r->created_at, r->id);
}

static void approval_write(jsonw *w, const void *row)
{
    const approval_row *r = row;
    jsonw_obj_open(w);
    jsonw_kstr(w, "id", r->id);
    jsonw_kstr(w, "task_id", r->task_id);
    jsonw_kstr(w, "action", r->action);
    jsonw_kstr(w, "reason", r->reason);
    jsonw_kstr(w, "status", r->status);
    jsonw_kstr(w, "decided_by", r->decided_by);
    api_jsonw_time(w, "decided_at", r->decided_at);
    api_jsonw_time(w, "created_at", r->created_at);
    jsonw_obj_close(w);
}

void api_approvals_list(http_req *rq)
{
    const char *ws;
    int64_t limit;
    inbox_key before;
    bool has_before;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &ws) ||
        !api_inbox_page_or_reply(rq, &limit, &before, &has_before))
        return;
    approval_row *rows;
    size_t n;
    cl_error e;
    if (approval_list(rq->db, rq->arena, ws, has_before ? &before : NULL, limit + 1, &rows, &n, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_rows(rq, rows, n, sizeof(*rows), limit, approval_write, approval_cursor);
}

static void pending_write(jsonw *w, const void *row)
{
    const approval_row *r = row;
    jsonw_obj_open(w);
    jsonw_kstr(w, "id", r->id);
    jsonw_kstr(w, "workspace_id", r->workspace_id);
    jsonw_kstr(w, "workspace_name", r->workspace_name);
    jsonw_kstr(w, "action", r->action);
    jsonw_kstr(w, "reason", r->reason);
    jsonw_kstr(w, "status", r->status);
    api_jsonw_time(w, "created_at", r->created_at);
    jsonw_obj_close(w);
}

void api_approvals_pending(http_req *rq)
{
    int64_t limit;
    inbox_key before;
    bool has_before;
    if (!api_inbox_page_or_reply(rq, &limit, &before, &has_before))
        return;
    approval_row *rows;
    size_t n;
    cl_error e;
    if (approval_list_pending(rq->db, rq->arena, has_before ? &before : NULL, limit + 1, &rows, &n, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_rows(rq, rows, n, sizeof(*rows), limit, pending_write, approval_cursor);
}

void api_approval_decide(http_req *rq)
{
    const char *ws, *decision, *by;
    json_t *body;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &ws) || !api_json_object_or_reply(rq, &body) ||
        !api_body_str_or_reply(rq, body, "decision", true, API_BAD_BODY, &decision) ||
        !api_body_str_or_reply(rq, body, "decided_by", false, API_BAD_BODY, &by))
        return;
    const char *id = api_item_id(rq, "approvalId");
    cl_error e;
    if (approval_decide(rq->db, rq->arena, ws, id, decision, by, api_caller_actor(rq), &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:s, s:s}", "status", decision, "approval_id", id));
}

void api_approval_withdraw(http_req *rq)
{
    const char *ws;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &ws))
        return;
    const char *id = api_item_id(rq, "approvalId");
    cl_error e;
    if (approval_withdraw(rq->db, rq->arena, ws, id, api_caller_actor(rq), &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:s, s:s}", "status", "withdrawn", "approval_id", id));
}
