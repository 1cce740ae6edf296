/* billing.c - see billing.h. Error strings and shapes are the sheet's. */
#include "api/billing.h"

#include <string.h>

#include "api/errors.h"
#include "base/id.h"
#include "base/json.h"
#include "model/billing.h"

/* The sheet wants the canonical form: a lower-case UUID (400 `invalid workspace id` otherwise). */
static bool canonical_id_or_reply(http_req *rq, const char **out)
{
    const char *v = http_param_get(rq, "id");
    if (v == NULL || !id_is_uuid(v, strlen(v)) || strpbrk(v, "ABCDEF") != NULL) {
        api_fail(rq, CL_INVALID, "invalid workspace id");
        return false;
    }
    *out = v;
    return true;
}

static void reply_mode(http_req *rq, const char *id)
{
    billing_resolution r;
    cl_error e;
    if (billing_resolve(rq->db, rq->arena, id, &r, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:s, s:s, s:s?, s:s, s:s?}", "workspace_id", id, "resolved_mode",
                                      r.resolved_mode, "workspace_override", r.workspace_override, "source", r.source,
                                      "provider_selection", r.provider_selection));
}

void api_billing_mode_get(http_req *rq)
{
    const char *id;
    if (canonical_id_or_reply(rq, &id))
        reply_mode(rq, id);
}

void api_billing_mode_put(http_req *rq)
{
    const char *id;
    json_t *body;
    cl_error e;
    if (!canonical_id_or_reply(rq, &id))
        return;
    if (json_parse_object(rq->arena, rq->body ? rq->body : "", rq->body_len, &body, &e) != CL_OK) {
        api_fail_with(rq, CL_INVALID_JSON, NULL, json_pack("{s:s}", "detail", e.msg), "invalid json");
        return;
    }
    const json_t *mode = json_object_get(body, "mode");
    if (mode == NULL) {
        api_fail(rq, CL_INVALID, "missing required field 'mode' (use null to clear override)");
        return;
    }
    if (!json_is_string(mode) && !json_is_null(mode)) {
        api_fail_with(rq, CL_INVALID, NULL, json_pack("{s:s}", "detail", "mode must be a JSON string or null"),
                      "mode must be a string or null");
        return;
    }
    const char *m = json_string_value(mode);
    if (m != NULL && m[strspn(m, " \t\r\n")] == '\0') {
        api_fail(rq, CL_INVALID, "mode must be one of platform_managed, byok, disabled, or null to clear");
        return;
    }
    if (billing_set_override(rq->db, rq->arena, id, m, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    reply_mode(rq, id);
}
