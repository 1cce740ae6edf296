/* lifecycle.c - see lifecycle.h. */
#include "api/lifecycle.h"

#include <string.h>

#include "api/errors.h"
#include "api/input.h"
#include "base/json.h"
#include "model/lifecycle.h"
#include "model/workspace.h"

static bool query_true(http_req *rq, const char *name)
{
    const char *v = http_query(rq, name);
    return v != NULL && strcmp(v, "true") == 0;
}

/* 409 {"error", "descendants": [{id, name}]} */
static void fail_descendants(http_req *rq, const cl_error *e, const lifecycle_ref *refs, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, json_pack("{s:s, s:s}", "id", refs[i].id, "name", refs[i].name));
    api_fail_with(rq, CL_CONFLICT, NULL, json_pack("{s:o}", "descendants", list), "%s", e->msg);
}

void api_ws_pause(http_req *rq)
{
    const char *id;
    int64_t count;
    lifecycle_ref *refs;
    size_t nrefs;
    cl_error e;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &id))
        return;
    cl_err r = lifecycle_pause(rq->db, rq->arena, id, query_true(rq, "cascade"), &count, &refs, &nrefs, &e);
    if (r == CL_CONFLICT)
        fail_descendants(rq, &e, refs, nrefs);
    else if (r != CL_OK)
        api_reply_error(rq, &e);
    else
        api_reply_json(rq, 200, json_pack("{s:s, s:I}", "status", "paused", "paused_count", (json_int_t)count));
}

void api_ws_resume(http_req *rq)
{
    const char *id, *status;
    int64_t count;
    lifecycle_ref *refs;
    size_t nrefs;
    cl_error e;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &id))
        return;
    cl_err r =
        lifecycle_resume(rq->db, rq->arena, id, query_true(rq, "cascade"), &status, &count, &refs, &nrefs, &e);
    if (r == CL_CONFLICT && nrefs > 0)
        fail_descendants(rq, &e, refs, nrefs);
    else if (r != CL_OK)
        api_reply_error(rq, &e);
    else /* the reference answers "provisioning" (it starts a container); here the workspace is back at once */
        api_reply_json(rq, 200, json_pack("{s:s, s:I}", "status", status, "resumed_count", (json_int_t)count));
}

void api_ws_hibernate(http_req *rq)
{
    const char *id;
    int64_t active;
    cl_error e;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &id))
        return;
    cl_err r = lifecycle_hibernate(rq->db, rq->arena, id, query_true(rq, "force"), &active, &e);
    if (r == CL_CONFLICT)
        api_fail_with(rq, CL_CONFLICT, NULL, json_pack("{s:I}", "active_tasks", (json_int_t)active), "%s", e.msg);
    else if (r != CL_OK)
        api_reply_error(rq, &e);
    else
        api_reply_json(rq, 200, json_pack("{s:s}", "status", "hibernated"));
}

void api_ws_restart(http_req *rq)
{
    const char *id, *runtime;
    cl_error e;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &id))
        return;
    if (lifecycle_restart_check(rq->db, rq->arena, id, &runtime, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    if (ws_runtime_external_like(runtime)) {
        api_reply_json(rq, 200,
                       json_pack("{s:s, s:s, s:s}", "status", "noop", "runtime", runtime, "message",
                                 arena_sprintf(rq->arena, "%s workspaces are operator-driven \xE2\x80\x94 restart your "
                                                          "local agent; platform has nothing to restart",
                                               runtime)));
    } else if (strcmp(runtime, "mock") == 0) {
        api_reply_json(rq, 200, json_pack("{s:s, s:s, s:s}", "status", "noop", "runtime", "mock", "message",
                                          "mock workspaces have no container \xE2\x80\x94 restart is a no-op"));
    } else {
        api_fail(rq, CL_UNAVAILABLE, "provisioner not available");
    }
}

void api_admin_ws_restart(http_req *rq)
{
    const char *id;
    if (!api_live_workspace_or_reply(rq, &id, NULL))
        return;
    /* the reference dispatches a background restart, which does nothing without a provisioner: so here */
    api_reply_json(rq, 202, json_pack("{s:s, s:s}", "status", "restart_dispatched", "workspace_id", id));
}

void api_ws_switch_provider(http_req *rq)
{
    const char *id, *provider;
    json_t *body;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &id) || !api_json_object_or_reply(rq, &body) ||
        !api_body_str_or_reply(rq, body, "provider", true, "provider is required", &provider))
        return;
    if (strcmp(provider, "aws") != 0 && strcmp(provider, "gcp") != 0 && strcmp(provider, "hetzner") != 0) {
        api_fail(rq, CL_INVALID, "unsupported provider (want aws|gcp|hetzner)");
        return;
    }
    if (!api_live_workspace_or_reply(rq, &id, NULL))
        return;
    api_fail(rq, CL_CONFLICT, "provider switching is only available for cloud (SaaS) workspaces");
}

void api_ws_console(http_req *rq)
{
    const char *id;
    if (api_live_workspace_or_reply(rq, &id, NULL))
        api_fail(rq, CL_NOT_IMPLEMENTED, "console output unavailable on this deployment (no control plane)");
}
