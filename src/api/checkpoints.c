/* checkpoints.c - see checkpoints.h. */
#include "api/checkpoints.h"

#include <string.h>

#include "api/errors.h"
#include "api/input.h"
#include "api/paging.h"
#include "base/json.h"
#include "base/utf8.h"
#include "model/checkpoint.h"

static const char BAD_BODY[] = "invalid request body";

/* {id, workspace_id, workflow_id, step_name, step_index, completed_at, payload} */
static void checkpoint_write(jsonw *w, const void *row)
{
    const checkpoint_row *r = row;
    jsonw_obj_open(w);
    jsonw_kstr(w, "id", r->id);
    jsonw_kstr(w, "workspace_id", r->workspace_id);
    jsonw_kstr(w, "workflow_id", r->workflow_id);
    jsonw_kstr(w, "step_name", r->step_name);
    jsonw_kint(w, "step_index", r->step_index);
    api_jsonw_time(w, "completed_at", r->completed_at);
    jsonw_key(w, "payload");
    if (!jsonw_stored(w, r->payload, true))
        jsonw_null(w);
    jsonw_obj_close(w);
}

static const char *checkpoint_cursor(arena_t *a, const void *row)
{
    const checkpoint_row *r = row;
    return api_cursor_text(a, "ix", &(api_cursor){.n = {r->step_index}, .id = r->step_name});
}

void api_checkpoint_put(http_req *rq)
{
    const char *ws, *workflow, *step;
    json_t *body;
    cl_error e;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &ws))
        return;
    if (json_parse_object(rq->arena, rq->body ? rq->body : "", rq->body_len, &body, &e) != CL_OK) {
        api_fail(rq, CL_INVALID_JSON, "%s", BAD_BODY);
        return;
    }
    int64_t index = 0;
    if (!api_body_str_or_reply(rq, body, "workflow_id", true, BAD_BODY, &workflow) ||
        !api_body_str_or_reply(rq, body, "step_name", true, BAD_BODY, &step))
        return;
    if (json_opt_int(body, "step_index", &index, NULL, &e) != CL_OK) {
        api_fail(rq, CL_INVALID, "%s", BAD_BODY);
        return;
    }
    const json_t *payload = json_object_get(body, "payload");
    checkpoint_row r;
    if (checkpoint_upsert(rq->db, rq->arena, ws, workflow, step, index,
                          payload ? json_dump_arena(rq->arena, payload, NULL) : NULL, &r, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 201, json_pack("{s:s, s:s, s:s, s:s}", "id", r.id, "workspace_id", r.workspace_id,
                                      "workflow_id", r.workflow_id, "step_name", r.step_name));
}

void api_checkpoint_latest(http_req *rq)
{
    const char *ws;
    checkpoint_row r;
    cl_error e;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &ws))
        return;
    if (checkpoint_latest(rq->db, rq->arena, ws, &r, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    jsonw w;
    jsonw_init(&w, API_LIST_BODY_MAX);
    checkpoint_write(&w, &r);
    api_reply_jsonw(rq, 200, &w);
}

/* The workflow id of the path; false (having answered 404) for one no checkpoint can have. */
static bool workflow_or_reply(http_req *rq, const char **out)
{
    *out = http_param_get(rq, "wfid");
    if (*out == NULL || strlen(*out) > CHECKPOINT_ID_MAX || !utf8_valid(*out, strlen(*out))) {
        api_fail(rq, CL_NOT_FOUND, "no checkpoints found for workflow");
        return false;
    }
    return true;
}

void api_checkpoint_steps(http_req *rq)
{
    const char *ws, *workflow;
    int64_t limit;
    api_cursor c;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &ws) || !workflow_or_reply(rq, &workflow) ||
        !api_limit_or_reply(rq, CHECKPOINT_STEPS_MAX, CHECKPOINT_STEPS_MAX, &limit) ||
        !api_cursor_or_reply(rq, "ix", &c))
        return;
    checkpoint_key after = {c.n[0], c.id};
    checkpoint_row *rows;
    size_t n;
    cl_error e;
    if (checkpoint_list(rq->db, rq->arena, ws, workflow, c.set ? &after : NULL, limit + 1, &rows, &n, &e) !=
        CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_rows(rq, rows, n, sizeof(*rows), limit, checkpoint_write, checkpoint_cursor);
}

void api_checkpoint_delete(http_req *rq)
{
    const char *ws, *workflow;
    int64_t deleted;
    cl_error e;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &ws) || !workflow_or_reply(rq, &workflow))
        return;
    if (checkpoint_delete(rq->db, rq->arena, ws, workflow, &deleted, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:I, s:s}", "deleted", (json_int_t)deleted, "workflow_id", workflow));
}
