/* diagnostics.c - see diagnostics.h. */
#include "api/diagnostics.h"

#include <string.h>
#include <strings.h>

#include "api/auth.h"
#include "api/errors.h"
#include "api/input.h"
#include "base/id.h"
#include "base/json.h"
#include "base/metrics.h"
#include "base/time.h"
#include "model/registry.h"

static bool org_configured;

void api_diagnostics_init(bool org_id_set) { org_configured = org_id_set; }

/* No tracing backend (Langfuse) is wired into colony: the reference's answer without one. */
void api_ws_traces(http_req *rq)
{
    const char *id;
    if (api_live_workspace_or_reply(rq, &id, NULL))
        api_reply_json(rq, 200, json_array());
}

/* Who may open or diagnose a workspace's terminal: its own credentials (the workspace route rule), or another
 * workspace named by X-Workspace-ID presenting its own token (an operator's token may speak for it) and allowed to
 * talk to it by the hierarchy rule. */
static bool terminal_caller_or_reply(http_req *rq, const char *id, const char *forbidden)
{
    const char *claimed = http_header(rq, "x-workspace-id");
    if (claimed == NULL || claimed[0] == '\0' || strcasecmp(claimed, id) == 0)
        return api_authorize(rq, ACCESS_WORKSPACE);
    const char *bearer = token_from_header(rq->arena, http_header(rq, "authorization"));
    if (bearer == NULL) {
        api_fail(rq, CL_UNAUTHORIZED, "missing workspace auth token");
        return false;
    }
    caller c;
    if (api_identify(rq, bearer, &c) != CL_OK)
        return false;
    bool operator = c.kind == CALLER_ADMIN || c.kind == CALLER_ORG;
    if (!id_is_uuid(claimed, strlen(claimed)) ||
        !(operator || (c.kind == CALLER_WORKSPACE && strcasecmp(c.workspace_id, claimed) == 0))) {
        api_fail(rq, CL_UNAUTHORIZED, "invalid token for claimed workspace");
        return false;
    }
    bool ok = false;
    cl_error e;
    if (reg_can_communicate(rq->db, rq->arena, id_lower(arena_strdup(rq->arena, claimed)), id, &ok, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return false;
    }
    if (!ok)
        api_fail(rq, CL_FORBIDDEN, "%s", forbidden);
    return ok;
}

void api_ws_terminal(http_req *rq)
{
    const char *id;
    if (api_uuid_param_or_reply(rq, "id", "workspace", &id) &&
        terminal_caller_or_reply(rq, id, "not authorized to access this workspace's terminal") &&
        api_live_workspace_or_reply(rq, &id, NULL))
        api_fail(rq, CL_UNAVAILABLE, "Docker not available");
}

void api_ws_terminal_diagnose(http_req *rq)
{
    const char *id;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &id) ||
        !terminal_caller_or_reply(rq, id, "not authorized to diagnose this workspace's terminal") ||
        !api_live_workspace_or_reply(rq, &id, NULL))
        return;
    /* no Docker and no remote instance: the first step of the reference's diagnosis fails, and it stops there */
    api_reply_json(rq, 200,
                   json_pack("{s:s, s:b, s:b, s:s, s:[{s:s, s:b, s:i, s:s}]}", "workspace_id", id, "remote", 0, "ok",
                             0, "first_failure", "docker-available", "steps", "name", "docker-available", "ok", 0,
                             "duration_ms", 0, "error", "docker client not configured on this workspace-server"));
}

void api_ws_rescue(http_req *rq)
{
    const char *id;
    if (!api_live_workspace_or_reply(rq, &id, NULL))
        return;
    if (!org_configured) /* what the reference answers on a deployment without MOLECULE_ORG_ID */
        api_fail_with(rq, CL_UNAVAILABLE, "platform_misconfigured", NULL, "rescue org not configured");
    else /* colony keeps no rescue bundles */
        api_fail_with(rq, CL_UNAVAILABLE, "platform_unavailable", NULL, "rescue store unavailable");
}

/* This node's background subsystems and when each last ran ({} before the first tick). */
void api_admin_liveness(http_req *rq)
{
    static const struct {
        const char *name;
        metric_id id;
    } SUBSYSTEMS[] = {
        {"liveness-sweeper", METRIC_TICK_LIVENESS},     {"a2a-queue-sweeper", METRIC_TICK_QUEUE},
        {"upload-sweeper", METRIC_TICK_UPLOADS},        {"delegation-sweeper", METRIC_TICK_DELEGATIONS},
        {"request-nudge-sweeper", METRIC_TICK_NUDGES},  {"a2a-dispatcher", METRIC_TICK_DISPATCHER},
        {"scheduler", METRIC_TICK_SCHEDULER},
    };
    json_t *subs = json_object();
    int64_t now = time_now_ms();
    for (size_t i = 0; i < sizeof(SUBSYSTEMS) / sizeof(SUBSYSTEMS[0]); i++) {
        int64_t at = metric_get(SUBSYSTEMS[i].id);
        if (at > 0)
            json_object_set_new(subs, SUBSYSTEMS[i].name,
                                json_pack("{s:o, s:I}", "last_tick_at", api_json_time(at), "seconds_ago",
                                          (json_int_t)((now > at ? now - at : 0) / 1000)));
    }
    api_reply_json(rq, 200, json_pack("{s:o}", "subsystems", subs));
}
