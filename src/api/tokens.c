/* tokens.c - see tokens.h. A token's plaintext appears in exactly one response, the one that minted it. */
#include "api/tokens.h"

#include <string.h>

#include "api/auth.h"
#include "api/errors.h"
#include "api/input.h"
#include "base/json.h"
#include "base/time.h"
#include "model/token.h"

void api_ws_tokens_list(http_req *rq)
{
    const char *id;
    int64_t limit, offset;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &id) ||
        !api_query_int_or_reply(rq, "limit", 50, 1, TOKEN_LIST_MAX, &limit) ||
        !api_query_int_or_reply(rq, "offset", 0, 0, INT32_MAX, &offset))
        return;
    token_row *rows;
    size_t n;
    cl_error e;
    if (token_list_workspace(rq->db, rq->arena, id, limit, offset, &rows, &n, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:o, s:o}", "id", rows[i].id, "prefix", rows[i].prefix,
                                             "kind", rows[i].kind, "created_at", api_json_time(rows[i].created_at),
                                             "last_used_at", api_json_time(rows[i].last_used_at)));
    api_reply_json(rq, 200, json_pack("{s:o, s:I}", "tokens", arr, "count", (json_int_t)n));
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

void api_org_tokens_list(http_req *rq)
{
    token_row *rows;
    size_t n;
    cl_error e;
    if (token_list_org(rq->db, rq->arena, &rows, &n, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *t = json_pack("{s:s, s:s, s:o}", "id", rows[i].id, "prefix", rows[i].prefix, "created_at",
                              api_json_time(rows[i].created_at));
        if (rows[i].name)
            json_object_set_new(t, "name", json_string(rows[i].name));
        if (rows[i].org_id)
            json_object_set_new(t, "org_id", json_string(rows[i].org_id));
        if (rows[i].created_by)
            json_object_set_new(t, "created_by", json_string(rows[i].created_by));
        if (rows[i].last_used_at)
            json_object_set_new(t, "last_used_at", api_json_time(rows[i].last_used_at));
        if (rows[i].expires_at)
            json_object_set_new(t, "expires_at", api_json_time(rows[i].expires_at));
        json_array_append_new(arr, t);
    }
    api_reply_json(rq, 200, json_pack("{s:o, s:I}", "tokens", arr, "count", (json_int_t)n));
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
    const caller *c = api_caller(rq);
    const char *by = c->kind == CALLER_ORG ? arena_sprintf(rq->arena, "org-token:%s", c->prefix) : "admin-token";
    char plain[ID_TOKEN_LEN + 1];
    token_row row;
    if (token_mint_org(rq->db, rq->arena, name, by, exp_ms, plain, &row, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    json_t *out = json_pack("{s:s, s:s, s:s, s:s}", "id", row.id, "prefix", row.prefix, "auth_token", plain,
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
