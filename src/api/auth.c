/* auth.c - see auth.h. */
#include "api/auth.h"

#include <jansson.h>
#include <string.h>
#include <strings.h>

#include "api/errors.h"
#include "base/id.h"
#include "model/token.h"

static uint8_t admin_hash[ID_SHA256_LEN];
static bool have_admin;

void api_auth_init(const char *admin_token)
{
    have_admin = admin_token != NULL && admin_token[0] != '\0';
    if (have_admin)
        id_sha256(admin_token, strlen(admin_token), admin_hash);
}

static const caller NOBODY = {CALLER_NONE, NULL, NULL, NULL, NULL};

const caller *api_caller(const http_req *rq) { return rq->auth ? rq->auth : &NOBODY; }

static bool deny(http_req *rq, cl_err e, const char *msg)
{
    api_fail(rq, e, "%s", msg);
    return false;
}

void api_reply_datastore_unavailable(http_req *rq)
{
    api_fail_with(rq, CL_UNAVAILABLE, "platform_unavailable", NULL, "platform datastore unavailable — retry shortly");
}

cl_err api_identify(http_req *rq, const char *bearer, caller *c)
{
    cl_error e;
    cl_err r = token_identify(rq->db, rq->arena, have_admin ? admin_hash : NULL, bearer, c, &e);
    if (r != CL_OK)
        api_reply_datastore_unavailable(rq);
    return r;
}

bool api_guard(http_req *rq)
{
    /* once for every route: a parameter that does not decode would read as absent (?q=%00x: no filter at all) */
    const char *bad = http_query_undecodable(rq);
    if (bad != NULL) {
        api_fail(rq, CL_INVALID, "query parameter \"%s\" does not decode: a malformed %%-escape or a NUL byte", bad);
        return false;
    }
    return rq->route->access == ACCESS_WORKSPACE_BY_HANDLER || api_authorize(rq, rq->route->access);
}

bool api_authorize(http_req *rq, int access)
{
    if (access == ACCESS_PUBLIC)
        return true;
    const char *bearer = token_from_header(rq->arena, http_header(rq, "authorization"));
    if (bearer == NULL)
        return deny(rq, CL_UNAUTHORIZED, access == ACCESS_WORKSPACE ? "missing workspace auth token"
                                                                   : "admin auth required");
    caller *c = arena_calloc(rq->arena, 1, sizeof(*c));
    if (api_identify(rq, bearer, c) != CL_OK)
        return false;
    rq->auth = c;
    if (c->kind == CALLER_ADMIN || c->kind == CALLER_ORG)
        return true;
    switch (access) {
    case ACCESS_ADMIN:
        if (c->kind == CALLER_WORKSPACE)
            return deny(rq, CL_FORBIDDEN, "admin access required");
        return deny(rq, CL_UNAUTHORIZED, "invalid admin auth token");
    case ACCESS_CANVAS:
        return c->kind == CALLER_WORKSPACE ? true : deny(rq, CL_UNAUTHORIZED, "invalid auth token");
    case ACCESS_WORKSPACE: {
        if (c->kind != CALLER_WORKSPACE)
            return deny(rq, CL_UNAUTHORIZED, "invalid workspace auth token");
        /* another workspace's token is not a token here: 401 like the reference, and no hint that it is valid
         * somewhere else */
        const char *id = http_param_get(rq, "id");
        if (id == NULL || strcasecmp(id, c->workspace_id) != 0)
            return deny(rq, CL_UNAUTHORIZED, "invalid workspace auth token");
        return true;
    }
    default:
        return deny(rq, CL_FORBIDDEN, "forbidden");
    }
}

const char *api_caller_actor(http_req *rq)
{
    const caller *c = api_caller(rq);
    switch (c->kind) {
    case CALLER_WORKSPACE:
        return arena_sprintf(rq->arena, "workspace:%s", c->workspace_id);
    case CALLER_ORG:
        return arena_sprintf(rq->arena, "org-token:%s", c->token_id);
    case CALLER_ADMIN:
        return "admin-token";
    default:
        return "anonymous";
    }
}

static const char *const RESERVED_CALLERS[] = {"webhook:", "system:", "test:", "channel:"};

bool api_sender_or_reply(http_req *rq, const char **sender, bool *operator)
{
    *sender = NULL;
    *operator = false;
    const char *hdr = http_header(rq, "x-workspace-id");
    if (hdr != NULL && hdr[0] == '\0')
        hdr = NULL;
    for (size_t i = 0; hdr && i < sizeof(RESERVED_CALLERS) / sizeof(RESERVED_CALLERS[0]); i++) {
        if (strncasecmp(hdr, RESERVED_CALLERS[i], strlen(RESERVED_CALLERS[i])) == 0) {
            api_fail(rq, CL_FORBIDDEN, "invalid caller ID");
            return false;
        }
    }
    if (hdr && !id_is_uuid(hdr, strlen(hdr))) {
        api_fail(rq, CL_INVALID, "X-Workspace-ID must be a workspace UUID");
        return false;
    }
    const char *bearer = token_from_header(rq->arena, http_header(rq, "authorization"));
    if (bearer == NULL) {
        api_fail(rq, CL_UNAUTHORIZED, "missing caller auth token");
        return false;
    }
    caller c;
    if (api_identify(rq, bearer, &c) != CL_OK)
        return false;
    if (c.kind == CALLER_ADMIN || c.kind == CALLER_ORG) {
        *operator = true;
        return true;
    }
    if (c.kind != CALLER_WORKSPACE || (hdr && strcasecmp(hdr, c.workspace_id) != 0)) {
        api_fail(rq, CL_UNAUTHORIZED, "invalid caller auth token");
        return false;
    }
    *sender = c.workspace_id;
    return true;
}
