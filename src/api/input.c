/* input.c - see input.h. */
#include "api/input.h"

#include "api/errors.h"
#include "base/id.h"
#include "base/json.h"
#include "model/registry.h"

#include <stdlib.h>
#include <string.h>

bool api_json_object_or_reply(http_req *rq, json_t **out)
{
    cl_error e;
    if (json_parse_object(rq->arena, rq->body ? rq->body : "", rq->body_len, out, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return false;
    }
    return true;
}

bool api_uuid_param_or_reply(http_req *rq, const char *name, const char *what, const char **out)
{
    const char *v = http_param_get(rq, name);
    if (v == NULL || !id_is_uuid(v, strlen(v))) {
        api_fail(rq, CL_INVALID, "invalid %s ID", what);
        return false;
    }
    *out = id_lower(arena_strdup(rq->arena, v));
    return true;
}

bool api_query_int_or_reply(http_req *rq, const char *name, int64_t def, int64_t min, int64_t max, int64_t *out)
{
    const char *v = http_query(rq, name);
    if (v == NULL || *v == '\0') {
        *out = def;
        return true;
    }
    char *end;
    long long n = strtoll(v, &end, 10);
    if (*end != '\0' || n < min || n > max) {
        api_fail(rq, CL_INVALID, "%s must be an integer from %lld to %lld", name, (long long)min, (long long)max);
        return false;
    }
    *out = n;
    return true;
}

bool api_workspace_or_reply(http_req *rq, const char **id, ws_row *row)
{
    if (!api_uuid_param_or_reply(rq, "id", "workspace", id))
        return false;
    cl_error e;
    if (ws_get(rq->db, rq->arena, *id, row, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return false;
    }
    return true;
}

bool api_live_workspace_or_reply(http_req *rq, const char **id, ws_row *row)
{
    ws_row mine, *w = row ? row : &mine;
    if (!api_workspace_or_reply(rq, id, w))
        return false;
    if (strcmp(w->status, "removed") == 0) {
        api_fail(rq, CL_NOT_FOUND, "workspace not found");
        return false;
    }
    return true;
}

bool api_may_talk_or_reply(http_req *rq, const char *caller, const char *target)
{
    bool ok = false;
    cl_error e;
    if (reg_can_communicate(rq->db, rq->arena, caller, target, &ok, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return false;
    }
    if (!ok)
        api_fail(rq, CL_FORBIDDEN, "access denied: workspaces cannot communicate per hierarchy rules");
    return ok;
}

const char *api_item_id(http_req *rq, const char *name)
{
    const char *v = http_param_get(rq, name);
    return v && id_is_uuid(v, strlen(v)) ? id_lower(arena_strdup(rq->arena, v)) : "";
}

bool api_body_str_or_reply(http_req *rq, const json_t *body, const char *key, bool required, const char *bad,
                           const char **out)
{
    const json_t *v = json_object_get(body, key);
    *out = json_string_value(v);
    if ((v != NULL && !json_is_null(v) && *out == NULL) || (required && (*out == NULL || (*out)[0] == '\0'))) {
        api_fail(rq, CL_INVALID, "%s", bad);
        return false;
    }
    return true;
}
