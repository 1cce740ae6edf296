/* instructions.c - see instructions.h. Where colony differs: a workspace rule's scope_target must be a workspace id
 * (the reference takes any text, which then matches nothing), ties in the order are broken by id (§17 item 13), a
 * malformed instruction id is a 404 like an unknown one, and the list pages (limit + cursor). */
#include "api/instructions.h"

#include <string.h>

#include "api/errors.h"
#include "api/input.h"
#include "api/paging.h"
#include "base/id.h"
#include "base/json.h"
#include "model/instruction.h"

enum { LIST_DEFAULT = 1000, LIST_MAX = 1000 };

static const char *row_cursor(arena_t *a, const void *row)
{
    instruction_key k = instruction_key_of(row);
    api_cursor c = {true, {k.rank, k.priority, k.created_at}, k.id};
    return api_cursor_text(a, "iiiu", &c);
}

static void row_write(jsonw *w, const void *row)
{
    const instruction_row *r = row;
    jsonw_obj_open(w);
    jsonw_kstr(w, "id", r->id);
    jsonw_kstr(w, "scope", r->scope);
    jsonw_kstr(w, "scope_target", r->scope_target);
    jsonw_kstr(w, "title", r->title);
    jsonw_kstr(w, "content", r->content);
    jsonw_kint(w, "priority", r->priority);
    jsonw_kbool(w, "enabled", r->enabled);
    api_jsonw_time(w, "created_at", r->created_at);
    api_jsonw_time(w, "updated_at", r->updated_at);
    jsonw_obj_close(w);
}

void api_instructions_list(http_req *rq)
{
    const char *scope = http_query(rq, "scope"), *ws = http_query(rq, "workspace_id");
    int64_t limit;
    api_cursor c;
    if (!api_limit_or_reply(rq, LIST_DEFAULT, LIST_MAX, &limit) || !api_cursor_or_reply(rq, "iiiu", &c))
        return;
    if (ws != NULL && ws[0] != '\0' && !id_is_uuid(ws, strlen(ws))) {
        api_fail(rq, CL_INVALID, "invalid workspace ID");
        return;
    }
    instruction_key after = {c.n[0], c.n[1], c.n[2], c.id};
    instruction_row *rows;
    size_t n;
    cl_error e;
    if (instruction_list(rq->db, rq->arena, scope && scope[0] ? scope : NULL,
                         ws && ws[0] ? id_lower(arena_strdup(rq->arena, ws)) : NULL, c.set ? &after : NULL, limit + 1,
                         &rows, &n, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_rows(rq, rows, n, sizeof(*rows), limit, row_write, row_cursor);
}

/* title and content within their bounds (bytes, as the reference counts them). */
static bool lengths_ok(http_req *rq, const char *title, const char *content)
{
    if (content != NULL && strlen(content) > INSTRUCTION_CONTENT_MAX) {
        api_fail(rq, CL_INVALID, "content exceeds %d chars", INSTRUCTION_CONTENT_MAX);
        return false;
    }
    if (title != NULL && strlen(title) > INSTRUCTION_TITLE_MAX) {
        api_fail(rq, CL_INVALID, "title exceeds %d chars", INSTRUCTION_TITLE_MAX);
        return false;
    }
    return true;
}

void api_instructions_create(http_req *rq)
{
    json_t *body;
    instruction_row r = {0};
    cl_error e;
    if (!api_json_object_or_reply(rq, &body))
        return;
    if (json_opt_string(body, "scope", &r.scope, NULL, NULL, &e) != CL_OK ||
        json_opt_string(body, "scope_target", &r.scope_target, NULL, NULL, &e) != CL_OK ||
        json_opt_string(body, "title", &r.title, NULL, NULL, &e) != CL_OK ||
        json_opt_string(body, "content", &r.content, NULL, NULL, &e) != CL_OK ||
        json_opt_int_range(body, "priority", INT32_MIN, INT32_MAX, &r.priority, NULL, &e) != CL_OK) {
        api_fail(rq, CL_INVALID, "invalid request body: %s", e.msg);
        return;
    }
    if (r.scope == NULL || r.scope[0] == '\0' || r.title == NULL || r.title[0] == '\0' || r.content == NULL ||
        r.content[0] == '\0') {
        api_fail(rq, CL_INVALID, "scope, title, and content are required");
        return;
    }
    if (strcmp(r.scope, "global") != 0 && strcmp(r.scope, "workspace") != 0) {
        api_fail(rq, CL_INVALID, "scope must be global or workspace (team scope not yet supported)");
        return;
    }
    bool ws = strcmp(r.scope, "workspace") == 0;
    if (ws && (r.scope_target == NULL || r.scope_target[0] == '\0')) {
        api_fail(rq, CL_INVALID, "scope_target required for workspace scope");
        return;
    }
    if (ws && !id_is_uuid(r.scope_target, strlen(r.scope_target))) {
        api_fail(rq, CL_INVALID, "scope_target must be a workspace ID");
        return;
    }
    r.scope_target = ws ? id_lower(arena_strdup(rq->arena, r.scope_target)) : NULL;
    if (!lengths_ok(rq, r.title, r.content))
        return;
    const char *id;
    if (instruction_create(rq->db, rq->arena, &r, &id, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 201, json_pack("{s:s}", "id", id));
}

void api_instructions_update(http_req *rq)
{
    json_t *body;
    const char *title = NULL, *content = NULL;
    int64_t priority = 0;
    bool enabled = false, hp = false, he = false;
    cl_error e;
    if (!api_json_object_or_reply(rq, &body))
        return;
    if (json_opt_string(body, "title", &title, NULL, NULL, &e) != CL_OK ||
        json_opt_string(body, "content", &content, NULL, NULL, &e) != CL_OK ||
        json_opt_int_range(body, "priority", INT32_MIN, INT32_MAX, &priority, &hp, &e) != CL_OK ||
        json_opt_bool(body, "enabled", &enabled, &he, &e) != CL_OK || (title && title[0] == '\0') ||
        (content && content[0] == '\0')) {
        api_fail(rq, CL_INVALID, "invalid request");
        return;
    }
    if (!lengths_ok(rq, title, content))
        return;
    if (instruction_update(rq->db, rq->arena, api_item_id(rq, "id"), title, content, hp ? &priority : NULL,
                           he ? &enabled : NULL, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:s}", "status", "updated"));
}

void api_instructions_delete(http_req *rq)
{
    cl_error e;
    if (instruction_delete(rq->db, rq->arena, api_item_id(rq, "id"), &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:s}", "status", "deleted"));
}

void api_instructions_resolve(http_req *rq)
{
    const char *id, *md;
    ws_row w;
    cl_error e;
    if (!api_workspace_or_reply(rq, &id, &w))
        return;
    if (instruction_resolve(rq->db, rq->arena, id, &md, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:s, s:s}", "workspace_id", id, "instructions", md));
}
