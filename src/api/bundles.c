/* bundles.c - see bundles.h. Where colony differs from the reference: an import is one transaction through the
 * resolver (a node that exists is skipped, so a retry converges, where the reference makes a `failed` row for the
 * collision), a malformed bundle is a 400 naming the path of the problem and creates nothing (the reference ignores
 * unknown keys and imports what it can), a database failure is a 503 (the reference: 201 with `failed` rows); an
 * export carries the workspace's model and its own files, or its template's when it stores none (never "the first
 * template found", §17 item 3), and a database failure is a 503 rather than a 404. */
#include "api/bundles.h"

#include <string.h>

#include "api/errors.h"
#include "api/input.h"
#include "api/templates.h"
#include "base/id.h"
#include "base/json.h"
#include "model/bundle.h"

void api_bundle_export(http_req *rq)
{
    const char *raw = http_param_get(rq, "id");
    if (raw == NULL || !id_is_uuid(raw, strlen(raw))) { /* "any lookup failure": an id that names nothing */
        api_fail(rq, CL_NOT_FOUND, "bundle not found");
        return;
    }
    json_t *b;
    cl_error e;
    if (bundle_export(rq->db, rq->arena, id_lower(arena_strdup(rq->arena, raw)), api_configs_dir(), &b, &e) !=
        CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, json_incref(b));
}

static json_t *result_json(const bundle_result *r)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "workspace_id", r->workspace_id, "name", r->name, "status", r->status);
    if (r->skipped)
        json_object_set_new(o, "skipped", json_true());
    if (r->nchildren > 0) {
        json_t *kids = json_array();
        for (size_t i = 0; i < r->nchildren; i++)
            json_array_append_new(kids, result_json(&r->children[i]));
        json_object_set_new(o, "children", kids);
    }
    return o;
}

void api_bundle_import(http_req *rq)
{
    bundle b;
    size_t nodes;
    bundle_result r;
    cl_error e;
    if (bundle_parse(rq->arena, rq->body ? rq->body : "", rq->body_len, &b, &nodes, &e) != CL_OK) {
        if (strcmp(e.msg, "bundle name is required") == 0)
            api_reply_error(rq, &e);
        else
            api_fail(rq, CL_INVALID, "invalid bundle: %s", e.msg);
        return;
    }
    if (bundle_import(rq->db, rq->arena, &b, &r, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 201, result_json(&r));
}
