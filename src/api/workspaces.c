/* workspaces.c - see workspaces.h. Shapes, status codes and error strings follow workspaces.md §3; where colony
 * differs on purpose (README differences 3 and 12) the comment says so. */
#include "api/workspaces.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/auth.h"
#include "api/errors.h"
#include "api/input.h"
#include "api/paging.h"
#include "api/secrets.h"
#include "base/json.h"
#include "base/time.h"
#include "model/schedule.h"
#include "model/token.h"
#include "model/urlcheck.h"
#include "model/workspace.h"

/* GET /workspaces: the whole org for any org up to WS_LIST_DEFAULT rows, as the reference returns it; past that,
 * and for clients that page, limit + cursor (api/paging.h). */
enum { WS_LIST_DEFAULT = 20000, WS_LIST_MAX = 20000 };

static void kstr_or_null(jsonw *w, const char *key, const char *s) { jsonw_kstr(w, key, s && *s ? s : NULL); }

/* The workspace object of workspaces.md §3.2 with its last heartbeat. `public_view` drops the fields GET
 * /workspaces/:id hides and adds the last outbound time. */
static void ws_write(jsonw *jw, const ws_row *w, bool public_view)
{
    jsonw_obj_open(jw);
    jsonw_kstr(jw, "id", w->id);
    jsonw_kstr(jw, "name", w->name);
    kstr_or_null(jw, "role", w->role);
    jsonw_kint(jw, "tier", w->tier);
    jsonw_kstr(jw, "status", w->status);
    jsonw_kstr(jw, "kind", w->kind ? w->kind : "workspace");
    jsonw_key(jw, "agent_card");
    if (!jsonw_stored(jw, w->agent_card, true))
        jsonw_null(jw);
    jsonw_kstr(jw, "url", w->url ? w->url : "");
    kstr_or_null(jw, "parent_id", w->parent_id);
    jsonw_kint(jw, "active_tasks", w->active_tasks);
    jsonw_kint(jw, "max_concurrent_tasks", w->max_concurrent_tasks ? w->max_concurrent_tasks : 1);
    jsonw_key(jw, "last_error_rate");
    jsonw_real(jw, w->last_error_rate);
    jsonw_kint(jw, "uptime_seconds", w->uptime_seconds);
    jsonw_kstr(jw, "runtime", w->runtime ? w->runtime : "claude-code");
    jsonw_kstr(jw, "delivery_mode", w->delivery_mode);
    jsonw_kstr(jw, "model", w->model ? w->model : "");
    jsonw_key(jw, "x");
    jsonw_real(jw, w->x);
    jsonw_key(jw, "y");
    jsonw_real(jw, w->y);
    jsonw_kbool(jw, "collapsed", w->collapsed);
    jsonw_kbool(jw, "broadcast_enabled", w->broadcast_enabled);
    jsonw_kbool(jw, "talk_to_user_enabled", w->talk_to_user_enabled);
    jsonw_key(jw, "compute");
    if (!jsonw_stored(jw, w->compute, false)) {
        jsonw_obj_open(jw);
        jsonw_obj_close(jw);
    }
    jsonw_kstr(jw, "workspace_access", w->workspace_access);
    api_jsonw_time(jw, "created_at", w->created_at);
    api_jsonw_time(jw, "updated_at", w->updated_at);
    api_jsonw_time(jw, "last_heartbeat_at", w->last_heartbeat_at); /* the list too: the console shows it per row */
    if (public_view) {
        api_jsonw_time(jw, "last_outbound_at", w->last_outbound_at);
    } else {
        jsonw_kstr(jw, "current_task", w->current_task ? w->current_task : "");
        jsonw_kstr(jw, "last_sample_error", w->last_sample_error ? w->last_sample_error : "");
        kstr_or_null(jw, "workspace_dir", w->workspace_dir);
        jsonw_key(jw, "budget_limit");
        if (w->has_budget_limit)
            jsonw_int(jw, w->budget_limit);
        else
            jsonw_null(jw);
        jsonw_kint(jw, "monthly_spend", w->monthly_spend);
    }
    jsonw_obj_close(jw);
}

/* A page being written: the rows so far, and the position of the last one (the next page's cursor). */
typedef struct {
    jsonw w;
    size_t rows;
    api_cursor last;
    char last_id[ID_UUID_LEN + 1];
} ws_page;

static bool list_row(void *arg, const ws_row *r)
{
    ws_page *p = arg;
    jsonw_mark m = jsonw_save(&p->w);
    ws_write(&p->w, r, false);
    if (!api_row_fits(&p->w, &m))
        return false;
    p->rows++;
    p->last.n[0] = r->created_at;
    snprintf(p->last_id, sizeof(p->last_id), "%s", r->id);
    return true;
}

void api_ws_list(http_req *rq)
{
    int64_t limit;
    api_cursor c;
    if (!api_limit_or_reply(rq, WS_LIST_DEFAULT, WS_LIST_MAX, &limit) || !api_cursor_or_reply(rq, "iu", &c))
        return;
    ws_page p = {.last.id = p.last_id};
    api_list_writer(&p.w);
    jsonw_arr_open(&p.w);
    ws_key after = {0, c.n[0], c.id};
    bool more;
    cl_error e;
    if (ws_list_page(rq->db, rq->arena, c.set ? &after : NULL, limit, list_row, &p, &more, &e) != CL_OK) {
        jsonw_free(&p.w);
        api_reply_error(rq, &e);
        return;
    }
    api_reply_array_page(rq, &p.w, more, p.rows > 0, api_cursor_text(rq->arena, "iu", &p.last));
}

/* A public route that shows more to an operator (admin or org token); false, having answered 503, when the database
 * cannot say who the bearer is. */
static bool operator_or_reply(http_req *rq)
{
    const char *bearer = token_from_header(rq->arena, http_header(rq, "authorization"));
    caller c = {0};
    if (bearer != NULL && api_identify(rq, bearer, &c) != CL_OK)
        return false;
    return c.kind == CALLER_ADMIN || c.kind == CALLER_ORG;
}

void api_ws_get(http_req *rq)
{
    const char *id;
    ws_row w;
    if (!api_workspace_or_reply(rq, &id, &w))
        return;
    const char *incl = http_query(rq, "include_removed");
    if (strcmp(w.status, "removed") == 0 && !(incl && strcmp(incl, "true") == 0 && operator_or_reply(rq))) {
        if (rq->responded)
            return;
        api_fail_with(rq, CL_GONE, NULL,
                      json_pack("{s:s, s:s, s:o}", "id", w.id, "hint", "pass ?include_removed=true to read it",
                                "removed_at", api_json_time(w.removed_at)),
                      "workspace removed");
        return;
    }
    jsonw jw;
    jsonw_init(&jw, API_LIST_BODY_MAX);
    ws_write(&jw, &w, true);
    api_reply_jsonw(rq, 200, &jw);
}

/* Read an optional string field; false (after answering 400) when it is present but not a string. */
static bool opt_str(http_req *rq, json_t *body, const char *key, const char **out)
{
    cl_error e;
    *out = NULL;
    if (json_opt_string(body, key, out, NULL, NULL, &e) != CL_OK) {
        api_fail(rq, CL_INVALID, "invalid workspace payload: %s", e.msg);
        return false;
    }
    return true;
}

static bool fail_fields(http_req *rq, const cl_error *e)
{
    api_fail(rq, CL_INVALID, "invalid workspace fields: %s", e->msg);
    return false;
}

static void fail_422(http_req *rq, const char *code, const char *msg, const char *runtime)
{
    api_fail_with(rq, CL_UNPROCESSABLE, code, json_pack("{s:s?}", "runtime", runtime), "%s", msg);
}

/* `secrets` {NAME: value}: stored sealed with the row it creates (never on a retry that finds the row). */
static bool secrets_or_reply(http_req *rq, json_t *map, ws_spec *s)
{
    if (map == NULL || json_is_null(map))
        return true;
    size_t n = json_is_object(map) ? json_object_size(map) : 0;
    secret_pair *pairs = arena_calloc(rq->arena, n + 1, sizeof(*pairs));
    bool ok = json_is_object(map) && n <= SECRET_MAX_PER_SCOPE;
    const char *key;
    json_t *v;
    size_t i = 0;
    json_object_foreach(map, key, v) {
        if (!ok || !json_is_string(v) || !secret_name_valid(key, strlen(key)) || json_string_length(v) == 0 ||
            json_string_length(v) > SECRET_VALUE_MAX) {
            ok = false;
            break;
        }
        pairs[i++] = (secret_pair){key, json_string_value(v), json_string_length(v)};
    }
    if (!ok) { /* neither name nor value is echoed */
        api_fail(rq, CL_INVALID, "invalid workspace payload: secrets must map at most %d names (A-Z, 0-9 and _, "
                                 "starting with a letter) to values of 1 to %d bytes",
                 SECRET_MAX_PER_SCOPE, SECRET_VALUE_MAX);
        return false;
    }
    secret_actor *by = arena_alloc(rq->arena, sizeof(*by));
    *by = api_secret_actor(rq);
    s->secrets = pairs, s->nsecrets = i, s->secrets_by = by;
    return true;
}

/* Parse and validate POST /workspaces into `s`; false after answering. */
static bool parse_create(http_req *rq, json_t *body, ws_spec *s, bool *external)
{
    cl_error e;
    bool present;
    memset(s, 0, sizeof(*s));
    if (!opt_str(rq, body, "id", &s->id) || !opt_str(rq, body, "name", &s->name) ||
        !opt_str(rq, body, "role", &s->role) || !opt_str(rq, body, "runtime", &s->runtime) ||
        !opt_str(rq, body, "model", &s->model) || !opt_str(rq, body, "template", &s->template_name) ||
        !opt_str(rq, body, "url", &s->url) || !opt_str(rq, body, "delivery_mode", &s->delivery_mode) ||
        !opt_str(rq, body, "workspace_dir", &s->workspace_dir) ||
        !opt_str(rq, body, "workspace_access", &s->workspace_access) ||
        !opt_str(rq, body, "parent_id", &s->parent_id))
        return false;
    *external = false;
    if (json_opt_bool(body, "external", external, NULL, &e) != CL_OK ||
        json_opt_int(body, "tier", &s->tier, NULL, &e) != CL_OK ||
        /* INTEGER column; zero and below mean the default (1), as in the reference */
        json_opt_int_range(body, "max_concurrent_tasks", INT32_MIN, INT32_MAX, &s->max_concurrent_tasks, NULL, &e) !=
            CL_OK ||
        json_opt_int(body, "budget_limit", &s->budget_limit, &s->has_budget_limit, &e) != CL_OK) {
        api_fail(rq, CL_INVALID, "invalid workspace payload: %s", e.msg);
        return false;
    }
    if (s->name == NULL) {
        api_fail(rq, CL_INVALID, "invalid workspace payload: name is required");
        return false;
    }
    if (ws_validate_name(s->name, &e) != CL_OK || (s->role && ws_validate_role(s->role, &e) != CL_OK))
        return fail_fields(rq, &e);
    if ((s->model && strlen(s->model) > WS_MODEL_MAX) || (s->model && strpbrk(s->model, "\r\n")))
        return fail_fields(rq, &(cl_error){CL_INVALID, NULL, "model must be at most 100 bytes, without CR or LF"});
    if (s->runtime && (strlen(s->runtime) > WS_RUNTIME_MAX || strpbrk(s->runtime, "\r\n")))
        return fail_fields(rq, &(cl_error){CL_INVALID, NULL, "runtime must be at most 100 bytes, without CR or LF"});
    if (s->id != NULL && !id_is_uuid(s->id, strlen(s->id))) {
        api_fail(rq, CL_INVALID, "invalid workspace payload: id must be a UUID");
        return false;
    }
    if (s->parent_id != NULL && !id_is_uuid(s->parent_id, strlen(s->parent_id))) {
        api_fail(rq, CL_INVALID, "invalid workspace payload: parent_id must be a UUID");
        return false;
    }
    if (s->tier == 0)
        s->tier = WS_TIER_DEFAULT;
    if (s->tier < WS_TIER_MIN || s->tier > WS_TIER_MAX) {
        api_fail(rq, CL_INVALID, "tier must be between %d and %d", WS_TIER_MIN, WS_TIER_MAX);
        return false;
    }
    if (s->runtime == NULL)
        s->runtime = *external ? "external" : "claude-code";
    if (!ws_runtime_known(s->runtime) || (*external && !ws_runtime_external_like(s->runtime))) {
        fail_422(rq, "RUNTIME_UNSUPPORTED", "unsupported runtime", s->runtime);
        return false;
    }
    *external = ws_runtime_external_like(s->runtime);
    if (!*external && (s->model == NULL || s->model[0] == '\0')) {
        fail_422(rq, "MODEL_REQUIRED", "model is required for this runtime", s->runtime);
        return false;
    }
    if (s->workspace_dir != NULL && ws_validate_dir(s->workspace_dir, &e) != CL_OK) {
        api_fail(rq, CL_INVALID, "invalid workspace directory");
        return false;
    }
    if (s->workspace_access == NULL)
        s->workspace_access = "none";
    if (strcmp(s->workspace_access, "none") != 0 &&
        ((strcmp(s->workspace_access, "read_only") != 0 && strcmp(s->workspace_access, "read_write") != 0) ||
         s->workspace_dir == NULL)) {
        api_fail(rq, CL_INVALID, "invalid workspace access");
        return false;
    }
    if (s->delivery_mode != NULL && strcmp(s->delivery_mode, "push") != 0 && strcmp(s->delivery_mode, "poll") != 0) {
        api_fail(rq, CL_INVALID, "invalid delivery_mode: must be push or poll");
        return false;
    }
    bool poll = s->delivery_mode != NULL && strcmp(s->delivery_mode, "poll") == 0; /* its URL is never dialled */
    if (s->url != NULL && s->url[0] != '\0' &&
        (poll ? url_check_placeholder(s->url, &e) : url_check_agent(s->url, &e)) != CL_OK) {
        api_fail(rq, CL_INVALID, "unsafe workspace URL: %s", e.msg);
        return false;
    }
    json_t *canvas = json_object_get(body, "canvas");
    if (json_is_object(canvas)) {
        s->has_canvas = json_opt_number(canvas, "x", &s->x, &present, &e) == CL_OK &&
                        json_opt_number(canvas, "y", &s->y, &present, &e) == CL_OK;
    }
    s->status = "awaiting_agent"; /* colony runs no containers: a workspace waits for its runtime to register */
    return secrets_or_reply(rq, json_object_get(body, "secrets"), s);
}

void api_ws_create(http_req *rq)
{
    json_t *body;
    if (!api_json_object_or_reply(rq, &body))
        return;
    ws_spec s;
    bool external;
    if (!parse_create(rq, body, &s, &external))
        return;
    cl_error e;
    s.default_parent = true; /* no parent_id: the platform root, when there is one (read under the tree lock) */
    ws_row w;
    ws_outcome how;
    cl_err r = ws_resolve(rq->db, rq->arena, &s, &w, &how, &e);
    if (r == CL_CONFLICT) {
        api_fail_with(rq, CL_CONFLICT, NULL, json_pack("{s:s?}", "id", w.id), "%s", e.msg);
        return;
    }
    if (r != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    if (how == WS_EXISTING) {
        if (s.id == NULL) { /* same name under the same parent, no client id: not a retry, a clash */
            api_fail_with(rq, CL_CONFLICT, NULL, json_pack("{s:s}", "id", w.id), "workspace name already in use");
            return;
        }
        /* difference 12: a retried create converges on the row the first attempt made; no new credential */
        api_reply_json(rq, 200, json_pack("{s:s, s:s, s:s, s:b, s:b}", "id", w.id, "status", w.status,
                                          "workspace_access", w.workspace_access, "external", external, "existing",
                                          1));
        return;
    }
    json_t *out = json_pack("{s:s, s:s, s:s, s:b}", "id", w.id, "status", w.status, "workspace_access",
                            w.workspace_access, "external", external);
    char token[ID_TOKEN_LEN + 1];
    token_row tr;
    if (token_mint_workspace(rq->db, rq->arena, w.id, "api", token, &tr, &e) == CL_OK)
        json_object_set_new(out, "auth_token", json_string(token));
    api_reply_json(rq, 201, out);
}

/* PATCH /workspaces/:id. Difference 3: a database error is a 503, a cycle a 400, a removed row a 404. */
void api_ws_patch(http_req *rq)
{
    const char *id;
    json_t *body;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &id) || !api_json_object_or_reply(rq, &body))
        return;
    ws_patch p = {0};
    cl_error e;
    json_t *v;
    if ((v = json_object_get(body, "name")) != NULL) {
        if (!json_is_string(v) || ws_validate_name(json_string_value(v), &e) != CL_OK) {
            fail_fields(rq, json_is_string(v) ? &e : &(cl_error){CL_INVALID, NULL, "name must be a string"});
            return;
        }
        p.has_name = true, p.name = json_string_value(v);
    }
    if ((v = json_object_get(body, "role")) != NULL) {
        if (!json_is_string(v) && !json_is_null(v)) {
            fail_fields(rq, &(cl_error){CL_INVALID, NULL, "role must be a string"});
            return;
        }
        if (json_is_string(v) && ws_validate_role(json_string_value(v), &e) != CL_OK) {
            fail_fields(rq, &e);
            return;
        }
        p.has_role = true, p.role = json_is_string(v) ? json_string_value(v) : NULL;
    }
    if ((v = json_object_get(body, "tier")) != NULL) {
        if (json_opt_int(body, "tier", &p.tier, NULL, &e) != CL_OK || p.tier < WS_TIER_MIN || p.tier > WS_TIER_MAX) {
            api_fail(rq, CL_INVALID, "tier must be between %d and %d", WS_TIER_MIN, WS_TIER_MAX);
            return;
        }
        p.has_tier = true;
    }
    if ((v = json_object_get(body, "parent_id")) != NULL) {
        if (!json_is_null(v) && (!json_is_string(v) || !id_is_uuid(json_string_value(v), json_string_length(v)))) {
            api_fail(rq, CL_INVALID, "parent_id must be a UUID or null");
            return;
        }
        p.has_parent = true;
        p.parent_id = json_is_string(v) ? id_lower(arena_strdup(rq->arena, json_string_value(v))) : NULL;
    }
    bool hx, hy;
    if (json_opt_number(body, "x", &p.x, &hx, &e) != CL_OK || json_opt_number(body, "y", &p.y, &hy, &e) != CL_OK) {
        api_fail(rq, CL_INVALID, "%s", e.msg);
        return;
    }
    p.has_position = hx && hy; /* one coordinate alone is ignored, as the reference does */
    if (json_opt_bool(body, "collapsed", &p.collapsed, &p.has_collapsed, &e) != CL_OK) {
        api_fail(rq, CL_INVALID, "%s", e.msg);
        return;
    }
    if ((v = json_object_get(body, "runtime")) != NULL) {
        if (!json_is_string(v)) {
            api_fail(rq, CL_INVALID, "runtime must be a string");
            return;
        }
        if (!ws_runtime_known(json_string_value(v))) {
            fail_422(rq, "RUNTIME_UNSUPPORTED", "unsupported runtime", json_string_value(v));
            return;
        }
        p.has_runtime = true, p.runtime = json_string_value(v);
    }
    if ((v = json_object_get(body, "workspace_dir")) != NULL) {
        if (!json_is_string(v) || ws_validate_dir(json_string_value(v), &e) != CL_OK) {
            api_fail(rq, CL_INVALID, "invalid workspace directory");
            return;
        }
        p.has_dir = true, p.workspace_dir = json_string_value(v);
    }
    const caller *who = api_caller(rq); /* who may move it: the model decides (ws_mover) */
    if (who->kind == CALLER_ADMIN || (who->kind == CALLER_ORG && who->org_id == NULL))
        p.mover = WS_MOVER_OPERATOR;
    else if (who->kind == CALLER_ORG)
        p.mover = WS_MOVER_ORG, p.mover_org = who->org_id;
    bool restart;
    const char *holder;
    cl_err r = ws_update(rq->db, rq->arena, id, &p, &restart, &holder, &e);
    if (r == CL_CONFLICT) {
        api_fail_with(rq, CL_CONFLICT, NULL, json_pack("{s:s?}", "id", holder), "%s", e.msg);
        return;
    }
    if (r != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    json_t *out = json_pack("{s:s}", "status", "updated");
    if (restart)
        json_object_set_new(out, "needs_restart", json_true());
    api_reply_json(rq, 200, out);
}

void api_ws_delete(http_req *rq)
{
    const char *id;
    ws_row w;
    if (!api_workspace_or_reply(rq, &id, &w))
        return;
    const char *purge_q = http_query(rq, "purge"), *confirm_q = http_query(rq, "confirm");
    bool purge = purge_q && strcmp(purge_q, "true") == 0, confirm = confirm_q && strcmp(confirm_q, "true") == 0;
    cl_error e;
    bool removed = strcmp(w.status, "removed") == 0;
    if (removed && !purge) {
        api_fail_with(rq, CL_GONE, NULL, json_pack("{s:s}", "id", id), "workspace removed");
        return;
    }
    const char **kids, **names;
    size_t nkids;
    if (ws_children(rq->db, rq->arena, id, &kids, &names, &nkids, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    const char *confirm_name = http_header(rq, "x-confirm-name");
    int64_t nsched = 0;
    if ((confirm_name == NULL || strcmp(confirm_name, w.name) != 0) &&
        sched_count_enabled(rq->db, rq->arena, id, &nsched, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    if (confirm_name == NULL || strcmp(confirm_name, w.name) != 0) {
        api_fail_with(rq, CL_INVALID, "destructive_action_requires_confirmation",
                      json_pack("{s:s, s:s, s:I, s:I, s:I}", "hint",
                                "repeat the request with header X-Confirm-Name set to the workspace's name",
                                "workspace_name", w.name, "active_tasks", (json_int_t)w.active_tasks, "child_count",
                                (json_int_t)nkids, "schedule_count", (json_int_t)nsched),
                      "destructive_action_requires_confirmation");
        return;
    }
    if (nkids > 0 && !confirm) {
        /* the first children by creation, and how many there are: a flat org's root can have thousands */
        enum { CHILDREN_SHOWN = 100 };
        json_t *children = json_array();
        for (size_t i = 0; i < nkids && i < CHILDREN_SHOWN; i++)
            json_array_append_new(children, json_pack("{s:s, s:s}", "id", kids[i], "name", names[i]));
        static const char why[] = "workspace has children; repeat with ?confirm=true to remove them too";
        api_fail_with(rq, CL_CONFLICT, "confirmation_required",
                      json_pack("{s:s, s:s, s:o, s:I}", "status", "confirmation_required", "message", why, "children",
                                children, "children_count", (json_int_t)nkids),
                      "%s", why);
        return;
    }
    int64_t cascaded;
    if (ws_delete(rq->db, rq->arena, id, purge, &cascaded, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:s, s:I}", "status", purge ? "purged" : "removed", "cascade_deleted",
                                      (json_int_t)cascaded));
}

void api_ws_state(http_req *rq)
{
    const char *id;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &id))
        return;
    ws_row w;
    cl_error e;
    cl_err r = ws_get(rq->db, rq->arena, id, &w, &e);
    if (r == CL_NOT_FOUND) {
        api_fail_with(rq, CL_NOT_FOUND, NULL, json_pack("{s:s, s:b}", "workspace_id", id, "deleted", 1),
                      "workspace not found");
        return;
    }
    if (r != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    if (strcmp(w.status, "removed") == 0) {
        api_fail_with(rq, CL_NOT_FOUND, NULL,
                      json_pack("{s:s, s:s, s:b}", "workspace_id", id, "status", "removed", "deleted", 1),
                      "workspace removed");
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:s, s:s, s:b, s:b}", "workspace_id", id, "status", w.status, "paused",
                                      strcmp(w.status, "paused") == 0, "deleted", 0));
}
