/* wsconfig.c - see wsconfig.h. Where colony differs from the reference: an unknown or removed workspace is a 404
 * (the reference answers its config as {} and clears a model of any id); a config PATCH that is not a JSON object
 * is a 400 (the reference turns the stored document into an array, §17 item 14); the model is the workspace row's
 * (colony keeps no MODEL secret) and is checked by colony's field rules, not a provider registry (not ported). */
#include "api/wsconfig.h"

#include <string.h>

#include "api/errors.h"
#include "api/input.h"
#include "api/templates.h"
#include "base/id.h"
#include "base/json.h"
#include "model/wsconfig.h"

void api_config_get(http_req *rq)
{
    const char *id, *text;
    ws_row w;
    json_t *doc;
    cl_error e;
    if (!api_live_workspace_or_reply(rq, &id, &w))
        return;
    if (wsconfig_get(rq->db, rq->arena, id, &text, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    if (json_parse(rq->arena, text, strlen(text), &doc, &e) != CL_OK || !json_is_object(doc))
        doc = json_own(rq->arena, json_object());
    api_reply_json(rq, 200, json_pack("{s:O}", "data", doc));
}

void api_config_patch(http_req *rq)
{
    const char *id;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &id))
        return;
    if (rq->body_len > WSCONFIG_PATCH_MAX) {
        api_fail(rq, CL_TOO_LARGE, "body too large or unreadable");
        return;
    }
    json_t *body;
    cl_error e;
    if (json_parse(rq->arena, rq->body ? rq->body : "", rq->body_len, &body, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    if (!json_is_object(body)) {
        api_fail(rq, CL_INVALID, "config must be a JSON object (its keys replace the stored ones)");
        return;
    }
    if (wsconfig_merge(rq->db, rq->arena, id, body, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:s}", "status", "updated"));
}

void api_model_get(http_req *rq)
{
    const char *id;
    ws_row w;
    if (!api_live_workspace_or_reply(rq, &id, &w))
        return;
    bool set = w.model != NULL && w.model[0] != '\0';
    /* "workspace_secrets": the reference's name for "set for this workspace"; colony keeps it on the row */
    api_reply_json(rq, 200, json_pack("{s:s, s:s}", "model", set ? w.model : "", "source",
                                      set ? "workspace_secrets" : "unresolved"));
}

void api_model_put(http_req *rq)
{
    const char *raw = http_param_get(rq, "id"), *model;
    /* the reference wants the canonical lower-case form here */
    if (raw == NULL || !id_is_uuid(raw, strlen(raw)) || strcmp(id_lower(arena_strdup(rq->arena, raw)), raw) != 0) {
        api_fail(rq, CL_INVALID, "invalid workspace ID");
        return;
    }
    json_t *body;
    if (!api_json_object_or_reply(rq, &body) ||
        !api_body_str_or_reply(rq, body, "model", false, "invalid request body", &model))
        return;
    if (model == NULL)
        model = "";
    if (strlen(model) > WS_MODEL_MAX || strpbrk(model, "\r\n") != NULL) {
        api_fail(rq, CL_INVALID, "invalid workspace fields: model must be at most %d bytes, without CR or LF",
                 WS_MODEL_MAX);
        return;
    }
    cl_error e;
    if (wsconfig_set_model(rq->db, rq->arena, raw, model, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, model[0] ? json_pack("{s:s, s:s}", "status", "saved", "model", model)
                                     : json_pack("{s:s}", "status", "cleared"));
}

void api_abilities_patch(http_req *rq)
{
    const char *id;
    json_t *body;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &id) || !api_json_object_or_reply(rq, &body))
        return;
    bool b = false, t = false, hb = false, ht = false;
    cl_error e;
    if (json_opt_bool(body, "broadcast_enabled", &b, &hb, &e) != CL_OK ||
        json_opt_bool(body, "talk_to_user_enabled", &t, &ht, &e) != CL_OK) {
        api_fail(rq, CL_INVALID, "invalid request body: %s", e.msg);
        return;
    }
    if (!hb && !ht) {
        api_fail(rq, CL_INVALID, "at least one ability field required");
        return;
    }
    if (wsconfig_set_abilities(rq->db, rq->arena, id, hb ? &b : NULL, ht ? &t : NULL, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:s}", "status", "updated"));
}

void api_provider_retired(http_req *rq)
{
    /* as the reference: whatever the id and the body, once the route's guard let the caller through */
    api_fail_with(rq, CL_GONE, "PROVIDER_ENDPOINT_RETIRED", json_pack("{s:s}", "issue", "internal#718"),
                  "the provider endpoint is retired: the provider follows from the model; use "
                  "GET/PUT /workspaces/:id/model");
}
