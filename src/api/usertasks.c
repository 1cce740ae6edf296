/* usertasks.c - see usertasks.h. */
#include "api/usertasks.h"

#include "api/auth.h"
#include "api/errors.h"
#include "api/inbox.h"
#include "api/input.h"
#include "api/paging.h"
#include "model/usertask.h"

void api_user_tasks_create(http_req *rq)
{
    const char *ws, *title, *detail, *id;
    json_t *body;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &ws) || !api_json_object_or_reply(rq, &body) ||
        !api_body_str_or_reply(rq, body, "title", true, API_BAD_BODY, &title) ||
        !api_body_str_or_reply(rq, body, "detail", false, API_BAD_BODY, &detail))
        return;
    cl_error e;
    if (user_task_create(rq->db, rq->arena, ws, title, detail, &id, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 201, json_pack("{s:s, s:s}", "user_task_id", id, "status", "pending"));
}

static const char *task_cursor(arena_t *a, const void *row)
{
    const user_task_row *r = row;
    return api_inbox_cursor(a, r->created_at, r->id);
}

static void task_write(jsonw *w, const void *row)
{
    const user_task_row *r = row;
    jsonw_obj_open(w);
    jsonw_kstr(w, "id", r->id);
    jsonw_kstr(w, "title", r->title);
    jsonw_kstr(w, "detail", r->detail);
    jsonw_kstr(w, "status", r->status);
    api_jsonw_time(w, "created_at", r->created_at);
    api_jsonw_time(w, "resolved_at", r->resolved_at);
    jsonw_kstr(w, "resolved_by", r->resolved_by);
    jsonw_obj_close(w);
}

static void pending_write(jsonw *w, const void *row)
{
    const user_task_row *r = row;
    jsonw_obj_open(w);
    jsonw_kstr(w, "id", r->id);
    jsonw_kstr(w, "workspace_id", r->workspace_id);
    jsonw_kstr(w, "workspace_name", r->workspace_name);
    jsonw_kstr(w, "title", r->title);
    jsonw_kstr(w, "detail", r->detail);
    jsonw_kstr(w, "status", r->status);
    api_jsonw_time(w, "created_at", r->created_at);
    jsonw_obj_close(w);
}

/* One page of a workspace's tasks (ws) or of the pending ones of all (ws NULL). */
static void list(http_req *rq, const char *ws)
{
    int64_t limit;
    inbox_key before;
    bool has_before;
    if (!api_inbox_page_or_reply(rq, &limit, &before, &has_before))
        return;
    user_task_row *rows;
    size_t n;
    cl_error e;
    const inbox_key *from = has_before ? &before : NULL;
    cl_err r = ws ? user_task_list(rq->db, rq->arena, ws, from, limit + 1, &rows, &n, &e)
                  : user_task_list_pending(rq->db, rq->arena, from, limit + 1, &rows, &n, &e);
    if (r != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_rows(rq, rows, n, sizeof(*rows), limit, ws ? task_write : pending_write, task_cursor);
}

void api_user_tasks_list(http_req *rq)
{
    const char *ws;
    if (api_uuid_param_or_reply(rq, "id", "workspace", &ws))
        list(rq, ws);
}

void api_user_tasks_pending(http_req *rq)
{
    list(rq, NULL);
}

void api_user_task_resolve(http_req *rq)
{
    const char *ws, *status, *by;
    json_t *body;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &ws) || !api_json_object_or_reply(rq, &body) ||
        !api_body_str_or_reply(rq, body, "status", true, API_BAD_BODY, &status) ||
        !api_body_str_or_reply(rq, body, "resolved_by", false, API_BAD_BODY, &by))
        return;
    const char *id = api_item_id(rq, "taskId");
    cl_error e;
    if (user_task_resolve(rq->db, rq->arena, ws, id, status, by, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:s, s:s}", "status", status, "user_task_id", id));
}

void api_user_task_patch(http_req *rq)
{
    const char *ws;
    json_t *body;
    user_task_patch p = {0};
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &ws) || !api_json_object_or_reply(rq, &body) ||
        !api_body_str_or_reply(rq, body, "title", false, API_BAD_BODY, &p.title) ||
        !api_body_str_or_reply(rq, body, "detail", false, API_BAD_BODY, &p.detail) ||
        !api_body_str_or_reply(rq, body, "status", false, API_BAD_BODY, &p.status))
        return;
    /* a task the agent marks done itself is resolved by the agent; an operator's, by a person */
    const char *by = api_caller(rq)->kind == CALLER_WORKSPACE ? "agent" : "human";
    const char *id = api_item_id(rq, "taskId");
    cl_error e;
    if (user_task_update(rq->db, rq->arena, ws, id, &p, by, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:s, s:s}", "status", "updated", "user_task_id", id));
}

void api_user_task_delete(http_req *rq)
{
    const char *ws;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &ws))
        return;
    const char *id = api_item_id(rq, "taskId");
    cl_error e;
    if (user_task_delete(rq->db, rq->arena, ws, id, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:s, s:s}", "status", "deleted", "user_task_id", id));
}
