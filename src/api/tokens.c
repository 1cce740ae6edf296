/* tokens.c - see tokens.h. A token's plaintext appears in exactly one response, the one that minted it. */
#include "api/tokens.h"

#include <string.h>

#include "api/auth.h"
#include "api/errors.h"
#include "api/input.h"
#include "api/paging.h"
#include "base/json.h"
#include "base/metrics.h"
#include "base/time.h"
#include "model/approval.h"
#include "model/token.h"

static bool gate_on;
static const char *gate_anchor;

void api_tokens_init(bool gate, const char *anchor)
{
    gate_on = gate;
    gate_anchor = anchor && anchor[0] ? anchor : NULL;
}

/* Both token lists page alike: the reference's defaults (50 of a workspace, the 500 newest org tokens), limit +
 * cursor past them; the workspace list keeps the reference's offset too (not with a cursor). */
enum { WS_TOKENS_DEFAULT = 50, ORG_TOKENS_DEFAULT = 500 };

static const char *token_cursor(arena_t *a, const void *row)
{
    const token_row *t = row;
    return api_cursor_text(a, "iu", &(api_cursor){.n = {t->created_at}, .id = t->id});
}

static void ws_token_write(jsonw *w, const void *row)
{
    const token_row *t = row;
    jsonw_obj_open(w);
    jsonw_kstr(w, "id", t->id);
    jsonw_kstr(w, "prefix", t->prefix);
    jsonw_kstr(w, "kind", t->kind);
    api_jsonw_time(w, "created_at", t->created_at);
    api_jsonw_time(w, "last_used_at", t->last_used_at);
    jsonw_obj_close(w);
}

/* {"tokens": [page], "count": rows in it} */
static void reply_tokens(http_req *rq, const token_row *rows, size_t n, int64_t limit, api_row_writer write)
{
    jsonw w;
    api_list_writer(&w);
    jsonw_obj_open(&w);
    jsonw_key(&w, "tokens");
    size_t shown = api_write_page(rq, &w, rows, n, sizeof(*rows), limit, write, token_cursor);
    jsonw_kint(&w, "count", (int64_t)shown);
    jsonw_obj_close(&w);
    api_reply_jsonw(rq, 200, &w);
}

void api_ws_tokens_list(http_req *rq)
{
    const char *id;
    int64_t limit, offset;
    api_cursor c;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &id) ||
        !api_limit_or_reply(rq, WS_TOKENS_DEFAULT, TOKEN_LIST_MAX, &limit) ||
        !api_query_int_or_reply(rq, "offset", 0, 0, INT32_MAX, &offset) ||
        !api_cursor_or_reply(rq, "iu", &c))
        return;
    if (c.set && offset > 0) {
        api_fail(rq, CL_INVALID, "offset and cursor cannot be combined: follow the cursor");
        return;
    }
    token_key before = {c.n[0], c.id};
    token_row *rows;
    size_t n;
    cl_error e;
    if (token_list_workspace(rq->db, rq->arena, id, c.set ? &before : NULL, limit + 1, offset, &rows, &n, &e) !=
        CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    reply_tokens(rq, rows, n, limit, ws_token_write);
}

static void mint(http_req *rq)
{
    const char *id;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &id))
        return;
    char plain[ID_TOKEN_LEN + 1];
    token_row row;
    cl_error e;
    if (token_mint_workspace(rq->db, rq->arena, id, "api", plain, &row, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 201, json_pack("{s:s, s:s, s:s, s:s}", "auth_token", plain, "workspace_id", id, "id", row.id,
                                      "message", "store this token now: it is not shown again"));
}

void api_ws_tokens_create(http_req *rq) { mint(rq); }
void api_admin_ws_tokens_create(http_req *rq) { mint(rq); }

void api_ws_tokens_revoke(http_req *rq)
{
    const char *id, *token_id;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &id) ||
        !api_uuid_param_or_reply(rq, "tokenId", "token", &token_id))
        return;
    cl_error e;
    if (token_revoke_workspace(rq->db, rq->arena, id, token_id, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:s}", "status", "revoked"));
}

void api_admin_ws_tokens_revoke_all(http_req *rq)
{
    const char *id;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &id))
        return;
    cl_error e;
    if (token_revoke_all(rq->db, rq->arena, id, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:s, s:s}", "status", "revoked", "workspace_id", id));
}

static void org_token_write(jsonw *w, const void *row)
{
    const token_row *t = row;
    jsonw_obj_open(w);
    jsonw_kstr(w, "id", t->id);
    jsonw_kstr(w, "prefix", t->prefix);
    api_jsonw_time(w, "created_at", t->created_at);
    if (t->name)
        jsonw_kstr(w, "name", t->name);
    if (t->org_id)
        jsonw_kstr(w, "org_id", t->org_id);
    if (t->created_by)
        jsonw_kstr(w, "created_by", t->created_by);
    if (t->last_used_at)
        api_jsonw_time(w, "last_used_at", t->last_used_at);
    if (t->expires_at)
        api_jsonw_time(w, "expires_at", t->expires_at);
    jsonw_obj_close(w);
}

void api_org_tokens_list(http_req *rq)
{
    int64_t limit;
    api_cursor c;
    if (!api_limit_or_reply(rq, ORG_TOKENS_DEFAULT, ORG_TOKEN_LIST_MAX, &limit) || !api_cursor_or_reply(rq, "iu", &c))
        return;
    token_key before = {c.n[0], c.id};
    token_row *rows;
    size_t n;
    cl_error e;
    if (token_list_org(rq->db, rq->arena, c.set ? &before : NULL, limit + 1, &rows, &n, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    reply_tokens(rq, rows, n, limit, org_token_write);
}

/* An org token mint, run alone or inside the approval gate's transaction. */
struct mint {
    const char *name, *by;
    int64_t expires_at;
    char plain[ID_TOKEN_LEN + 1];
    token_row row;
};

static cl_err mint_in_gate(db_t *db, arena_t *a, void *arg, cl_error *err)
{
    struct mint *m = arg;
    return token_mint_org(db, a, m->name, m->by, m->expires_at, m->plain, &m->row, err);
}

void api_org_tokens_create(http_req *rq)
{
    json_t *body;
    if (!api_json_object_or_reply(rq, &body))
        return;
    const char *name = NULL, *expires = NULL;
    size_t name_len = 0;
    cl_error e;
    if (json_opt_string(body, "name", &name, &name_len, NULL, &e) != CL_OK ||
        json_opt_string(body, "expires_at", &expires, NULL, NULL, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    if (name_len > ORG_TOKEN_NAME_MAX || (name && strpbrk(name, "\r\n"))) {
        api_fail(rq, CL_INVALID, "name must be at most %d bytes, without CR or LF", ORG_TOKEN_NAME_MAX);
        return;
    }
    int64_t exp_ms = 0;
    if (expires && !time_parse_rfc3339(expires, strlen(expires), &exp_ms)) {
        api_fail(rq, CL_INVALID, "expires_at must be an RFC 3339 time");
        return;
    }
    if (exp_ms && exp_ms <= time_now_ms()) { /* refused before it can be held for an approval */
        api_fail(rq, CL_INVALID, "expires_at must be in the future");
        return;
    }
    const caller *c = api_caller(rq);
    struct mint m = {.name = name, .expires_at = exp_ms,
                     .by = c->kind == CALLER_ORG ? arena_sprintf(rq->arena, "org-token:%s", c->prefix) : "admin-token"};
    cl_err r;
    const char *pending = NULL;
    if (gate_on && (c->kind == CALLER_ADMIN || c->kind == CALLER_ORG)) {
        /* the operation the approval allows: who mints what; it is repeated identically once approved */
        json_t *context = json_own(rq->arena, json_pack("{s:s, s:s}", "actor", m.by, "name", name ? name : ""));
        if (exp_ms)
            json_object_set_new(context, "expires_at", json_integer(exp_ms));
        approval_gate g = {c->kind == CALLER_ORG ? c->org_id : NULL, "org_token_mint",
                           arena_sprintf(rq->arena, "mint org token %s", name ? name : ""), api_caller_actor(rq),
                           context};
        if (g.anchor == NULL)
            g.anchor = gate_anchor;
        r = approval_gated(rq->db, rq->arena, &g, mint_in_gate, &m, &pending, &e);
        if (r == CL_OK && pending) {
            metric_inc(METRIC_APPROVAL_GATE_PENDING);
            api_reply_json(rq, 202, json_pack("{s:s, s:s, s:s, s:s}", "status", "pending_approval", "approval_id",
                                              pending, "action", g.action, "reason", g.reason));
            return;
        }
        if (r == CL_OK)
            metric_inc(METRIC_APPROVAL_GATE_CONSUMED);
    } else {
        r = mint_in_gate(rq->db, rq->arena, &m, &e);
    }
    if (r != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    json_t *out = json_pack("{s:s, s:s, s:s, s:s}", "id", m.row.id, "prefix", m.row.prefix, "auth_token", m.plain,
                            "warning", "store this token now: it is not shown again");
    if (name)
        json_object_set_new(out, "name", json_string(name));
    if (exp_ms)
        json_object_set_new(out, "expires_at", api_json_time(exp_ms));
    api_reply_json(rq, 200, out);
}

void api_org_tokens_revoke(http_req *rq)
{
    const char *id;
    if (!api_uuid_param_or_reply(rq, "id", "token", &id))
        return;
    cl_error e;
    if (token_revoke_org(rq->db, rq->arena, id, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:s}", "revoked", id));
}
