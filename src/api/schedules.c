/* schedules.c - see schedules.h. Where colony differs from the reference (README, "Schedules"): a bad expression
 * or zone is a 400 naming the field and the position; a taken name is a 409 with the holder's id, not a 500; an
 * unknown workspace is a 404; several unnamed schedules may share a workspace; every input is bounded; the peer
 * health needs the peer's own token. */
#include "api/schedules.h"

#include <string.h>

#include "api/auth.h"
#include "api/errors.h"
#include "api/input.h"
#include "api/paging.h"
#include "base/json.h"
#include "base/time.h"
#include "model/schedule.h"

/* The reference lists every schedule of a workspace: the default page holds the most a workspace may have. */
enum { LIST_DEFAULT = SCHED_LIST_MAX };

static bool ids_or_reply(http_req *rq, const char **ws, const char **id)
{
    return api_uuid_param_or_reply(rq, "id", "workspace", ws) &&
           (id == NULL || api_uuid_param_or_reply(rq, "scheduleId", "schedule", id));
}

/* 400 naming the field and the position (1-based) of what was refused. */
static void reply_bad(http_req *rq, const sched_bad *bad, const cl_error *e)
{
    json_t *extra = json_pack("{s:s, s:I}", "field", bad->field, "position", (json_int_t)bad->position);
    if (strcmp(e->code ? e->code : "", "invalid_timezone") == 0)
        api_fail_with(rq, CL_INVALID, "invalid_timezone", extra, "%s", e->msg);
    else
        api_fail_with(rq, CL_INVALID, e->code, extra, "invalid %s at position %zu: %s", bad->field, bad->position,
                      e->msg);
}

static void reply_write_error(http_req *rq, cl_err r, const sched_bad *bad, const char *conflict_id,
                              const cl_error *e)
{
    if (r == CL_INVALID && bad->field != NULL)
        reply_bad(rq, bad, e);
    else if (r == CL_CONFLICT && conflict_id != NULL)
        api_fail_with(rq, CL_CONFLICT, NULL, json_pack("{s:s}", "id", conflict_id), "%s", e->msg);
    else
        api_reply_error(rq, e);
}

/* The prompt without carriage returns (the reference strips them), bounded; NULL after answering 400. */
static const char *prompt_or_reply(http_req *rq, const char *p, size_t len)
{
    char *out = arena_alloc(rq->arena, len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (p[i] != '\r')
            out[n++] = p[i];
    out[n] = '\0';
    if (n > SCHED_PROMPT_MAX) {
        api_fail(rq, CL_INVALID, "prompt must be at most %d bytes", SCHED_PROMPT_MAX);
        return NULL;
    }
    return out;
}

static bool name_ok_or_reply(http_req *rq, const char *name, size_t len)
{
    if (name != NULL && len > SCHED_NAME_MAX) {
        api_fail(rq, CL_INVALID, "name must be at most %d bytes", SCHED_NAME_MAX);
        return false;
    }
    return true;
}

/* ---- list -------------------------------------------------------------------------------------------------- */

/* What a schedule's runs look like, in the order both views write it. */
static void state_write(jsonw *w, const sched_row *s)
{
    jsonw_kbool(w, "enabled", s->enabled);
    api_jsonw_time(w, "last_run_at", s->last_run_at);
    api_jsonw_time(w, "next_run_at", s->next_run_at);
    jsonw_kint(w, "run_count", s->run_count);
    jsonw_kstr(w, "last_status", s->last_status);
    jsonw_kstr(w, "last_error", s->last_error);
}

static void row_write(jsonw *w, const void *row)
{
    const sched_row *s = row;
    jsonw_obj_open(w);
    jsonw_kstr(w, "id", s->id);
    jsonw_kstr(w, "workspace_id", s->workspace_id);
    jsonw_kstr(w, "name", s->name);
    jsonw_kstr(w, "cron_expr", s->cron_expr);
    jsonw_kstr(w, "timezone", s->timezone);
    jsonw_kstr(w, "prompt", s->prompt);
    state_write(w, s);
    jsonw_kstr(w, "source", s->source);
    api_jsonw_time(w, "created_at", s->created_at);
    api_jsonw_time(w, "updated_at", s->updated_at);
    jsonw_obj_close(w);
}

static const char *row_cursor(arena_t *a, const void *row)
{
    const sched_row *s = row;
    return api_cursor_text(a, "iu", &(api_cursor){.n = {s->created_at}, .id = s->id});
}

/* The rows of a workspace (removed ones too: their schedules stay listed, disabled, until a purge). */
static bool rows_or_reply(http_req *rq, api_row_writer write)
{
    const char *id;
    ws_row w;
    int64_t limit;
    api_cursor c;
    if (!api_workspace_or_reply(rq, &id, &w) || !api_limit_or_reply(rq, LIST_DEFAULT, SCHED_LIST_MAX, &limit) ||
        !api_cursor_or_reply(rq, "iu", &c))
        return false;
    sched_row *rows;
    size_t n;
    cl_error e;
    if (sched_list(rq->db, rq->arena, id, c.n[0], c.set ? c.id : NULL, limit + 1, &rows, &n, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return false;
    }
    api_reply_rows(rq, rows, n, sizeof(*rows), limit, write, row_cursor);
    return true;
}

void api_schedules_list(http_req *rq) { rows_or_reply(rq, row_write); }

/* ---- writes ------------------------------------------------------------------------------------------------ */

void api_schedules_create(http_req *rq)
{
    const char *ws;
    json_t *body;
    if (!ids_or_reply(rq, &ws, NULL) || !api_json_object_or_reply(rq, &body))
        return;
    sched_spec s = {.source = "runtime", .enabled = true};
    const char *prompt = NULL;
    size_t prompt_len = 0, name_len = 0;
    cl_error e;
    if (json_opt_string(body, "name", &s.name, &name_len, NULL, &e) != CL_OK ||
        json_opt_string(body, "timezone", &s.timezone, NULL, NULL, &e) != CL_OK ||
        json_opt_bool(body, "enabled", &s.enabled, NULL, &e) != CL_OK ||
        json_opt_string(body, "cron_expr", &s.cron_expr, NULL, NULL, &e) != CL_OK ||
        json_opt_string(body, "prompt", &prompt, &prompt_len, NULL, &e) != CL_OK) {
        api_fail(rq, CL_INVALID, "cron_expr and prompt are required (%s)", e.msg);
        return;
    }
    if (s.cron_expr == NULL || s.cron_expr[0] == '\0' || prompt == NULL || prompt_len == 0) {
        api_fail(rq, CL_INVALID, "cron_expr and prompt are required");
        return;
    }
    if ((s.prompt = prompt_or_reply(rq, prompt, prompt_len)) == NULL || !name_ok_or_reply(rq, s.name, name_len))
        return;
    if (s.prompt[0] == '\0') { /* nothing but carriage returns */
        api_fail(rq, CL_INVALID, "cron_expr and prompt are required");
        return;
    }
    sched_row row;
    sched_bad bad = {0};
    const char *conflict;
    bool skipped;
    cl_err r = sched_create(rq->db, rq->arena, ws, &s, &row, &conflict, &skipped, &bad, &e);
    if (r != CL_OK) {
        reply_write_error(rq, r, &bad, conflict, &e);
        return;
    }
    api_reply_json(rq, 201, json_pack("{s:s, s:s, s:o}", "id", row.id, "status", "created", "next_run_at",
                                      api_json_time(row.next_run_at)));
}

void api_schedules_patch(http_req *rq)
{
    const char *ws, *id;
    json_t *body;
    if (!ids_or_reply(rq, &ws, &id) || !api_json_object_or_reply(rq, &body))
        return;
    sched_patch p = {0};
    const char *prompt = NULL;
    size_t prompt_len = 0, name_len = 0;
    cl_error e;
    if (json_opt_string(body, "name", &p.name, &name_len, &p.has_name, &e) != CL_OK ||
        json_opt_string(body, "cron_expr", &p.cron_expr, NULL, &p.has_cron, &e) != CL_OK ||
        json_opt_string(body, "timezone", &p.timezone, NULL, &p.has_timezone, &e) != CL_OK ||
        json_opt_string(body, "prompt", &prompt, &prompt_len, &p.has_prompt, &e) != CL_OK ||
        json_opt_bool(body, "enabled", &p.enabled, &p.has_enabled, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    if (!name_ok_or_reply(rq, p.name, name_len) || (p.has_prompt && !(p.prompt = prompt_or_reply(rq, prompt, prompt_len))))
        return;
    if (p.has_prompt && p.prompt[0] == '\0') {
        api_fail(rq, CL_INVALID, "prompt must not be empty");
        return;
    }
    sched_bad bad = {0};
    const char *conflict;
    cl_err r = sched_update(rq->db, rq->arena, ws, id, &p, &conflict, &bad, &e);
    if (r != CL_OK) {
        reply_write_error(rq, r, &bad, conflict, &e);
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:s}", "status", "updated"));
}

void api_schedules_delete(http_req *rq)
{
    const char *ws, *id;
    cl_error e;
    if (!ids_or_reply(rq, &ws, &id))
        return;
    if (sched_delete(rq->db, rq->arena, ws, id, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:s}", "status", "deleted"));
}

/* The reference fires nothing here: the canvas posts the prompt itself (firing as well would send it twice). */
void api_schedules_run(http_req *rq)
{
    const char *ws, *id;
    sched_row s;
    cl_error e;
    if (!ids_or_reply(rq, &ws, &id))
        return;
    if (sched_get(rq->db, rq->arena, ws, id, &s, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:s, s:s, s:s}", "status", "fired", "workspace_id", s.workspace_id, "prompt",
                                      s.prompt));
}

/* ---- history ----------------------------------------------------------------------------------------------- */

static void run_write(jsonw *w, const void *row)
{
    const sched_run *r = row;
    jsonw_obj_open(w);
    api_jsonw_time(w, "timestamp", r->created_at);
    if (r->duration_ms >= 0)
        jsonw_kint(w, "duration_ms", r->duration_ms);
    else
        jsonw_knull(w, "duration_ms");
    jsonw_kstr(w, "status", r->status);
    jsonw_kstr(w, "error_detail", r->error_detail ? r->error_detail : "");
    jsonw_key(w, "request");
    if (!jsonw_stored(w, r->request, false)) {
        jsonw_obj_open(w);
        jsonw_obj_close(w);
    }
    jsonw_obj_close(w);
}

static const char *run_cursor(arena_t *a, const void *row)
{
    return api_cursor_text(a, "i", &(api_cursor){.n = {((const sched_run *)row)->seq}});
}

void api_schedules_history(http_req *rq)
{
    const char *ws, *id;
    int64_t limit;
    api_cursor c;
    if (!ids_or_reply(rq, &ws, &id) || !api_limit_or_reply(rq, SCHED_HISTORY_DEFAULT, SCHED_HISTORY_MAX, &limit) ||
        !api_cursor_or_reply(rq, "i", &c))
        return;
    sched_run *rows;
    size_t n;
    cl_error e;
    if (sched_history(rq->db, rq->arena, ws, id, c.set ? c.n[0] : 0, limit + 1, &rows, &n, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_rows(rq, rows, n, sizeof(*rows), limit, run_write, run_cursor);
}

/* ---- a peer's view ----------------------------------------------------------------------------------------- */

static void health_write(jsonw *w, const void *row)
{
    const sched_row *s = row;
    jsonw_obj_open(w);
    jsonw_kstr(w, "id", s->id);
    jsonw_kstr(w, "name", s->name);
    state_write(w, s);
    jsonw_obj_close(w);
}

/* Outside WorkspaceAuth, as in the reference: the workspace itself, an operator, or a peer it may talk with (its
 * own token; the reference also let anyone naming the workspace in X-Workspace-ID through). No prompt, no cron. */
void api_schedules_health(http_req *rq)
{
    const char *ws, *sender;
    bool operator;
    if (!ids_or_reply(rq, &ws, NULL) || !api_sender_or_reply(rq, &sender, &operator))
        return;
    if (sender != NULL && strcmp(sender, ws) != 0 && !api_may_talk_or_reply(rq, sender, ws))
        return;
    rows_or_reply(rq, health_write);
}
