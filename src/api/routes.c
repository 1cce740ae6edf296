/* routes.c - every endpoint colony serves: method, path, handler, who may call it, and where it runs (the fast
 * pool unless marked: the I/O thread for what needs no database, the slow pool for what is O(n) in user data). */
#include "api/routes.h"

#include "api/a2a.h"
#include "api/activity.h"
#include "api/approvals.h"
#include "api/audit.h"
#include "api/auth.h"
#include "api/billing.h"
#include "api/budget.h"
#include "api/broadcast.h"
#include "api/bundles.h"
#include "api/canvas.h"
#include "api/channels.h"
#include "api/checkpoints.h"
#include "api/console.h"
#include "api/delegations.h"
#include "api/diagnostics.h"
#include "api/events.h"
#include "api/external.h"
#include "api/files.h"
#include "api/health.h"
#include "api/input.h"
#include "api/instructions.h"
#include "api/lifecycle.h"
#include "api/kvmemory.h"
#include "api/mcp.h"
#include "api/memadmin.h"
#include "api/memories.h"
#include "api/org.h"
#include "api/plugins.h"
#include "api/registry.h"
#include "api/requests.h"
#include "api/secrets.h"
#include "api/schedules.h"
#include "api/schedules_admin.h"
#include "api/templates.h"
#include "api/tokens.h"
#include "api/uploads.h"
#include "api/usertasks.h"
#include "api/workspaces.h"
#include "api/wsconfig.h"

/* HEAD answers like GET without a body (the router maps it onto the GET row); an event stream has no end to
 * measure, so its HEAD row answers the stream's headers and stops. */
static void events_stream_head(http_req *rq)
{
    const char *id;
    ws_row w;
    if (!api_workspace_or_reply(rq, &id, &w))
        return;
    http_add_header(rq, "cache-control", "no-cache");
    http_respond(rq, 200, "text/event-stream", "", 0);
}

/* A row without a lane runs on the fast pool (HTTP_LANE_FAST is 0). Lists are fast when a page is bounded small
 * (activity, chat history, events, peers, tokens, a workspace's delegations: at most 1,000 rows read through an
 * index); slow when a page may be O(n) in user data: the org (20,000 rows), the admin delegation view (a status
 * filter over the whole ledger), session search (a substring scan), the templates (each one parsed). */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
const http_route api_routes[] = {
    {"GET", "/health", api_health, ACCESS_PUBLIC, HTTP_LANE_LOOP},
    {"GET", "/buildinfo", api_buildinfo, ACCESS_PUBLIC, HTTP_LANE_LOOP},
    {"GET", "/metrics", api_metrics, ACCESS_PUBLIC, HTTP_LANE_LOOP},

    {"GET", "/canvas/viewport", api_viewport_get, ACCESS_PUBLIC},
    {"PUT", "/canvas/viewport", api_viewport_put, ACCESS_CANVAS},

    {"GET", "/workspaces", api_ws_list, ACCESS_ADMIN, HTTP_LANE_SLOW},
    {"POST", "/workspaces", api_ws_create, ACCESS_ADMIN},
    {"GET", "/workspaces/:id", api_ws_get, ACCESS_PUBLIC},
    {"PATCH", "/workspaces/:id", api_ws_patch, ACCESS_WORKSPACE},
    {"DELETE", "/workspaces/:id", api_ws_delete, ACCESS_ADMIN},
    {"GET", "/workspaces/:id/state", api_ws_state, ACCESS_WORKSPACE},

    {"GET", "/workspaces/:id/activity", api_activity_list, ACCESS_WORKSPACE},
    {"POST", "/workspaces/:id/activity", api_activity_report, ACCESS_WORKSPACE_BY_HANDLER, HTTP_LANE_LOOP},
    {"POST", "/workspaces/:id/notify", api_notify, ACCESS_WORKSPACE_BY_HANDLER, HTTP_LANE_LOOP},
    {"GET", "/workspaces/:id/chat-history", api_chat_history, ACCESS_WORKSPACE},
    {"POST", "/workspaces/:id/chat-session/new", api_chat_session_new, ACCESS_WORKSPACE},
    {"GET", "/workspaces/:id/session-search", api_session_search, ACCESS_WORKSPACE, HTTP_LANE_SLOW}, /* LIKE scan */
    {"HEAD", "/workspaces/:id/events/stream", events_stream_head, ACCESS_WORKSPACE}, /* before its GET row */
    {"GET", "/workspaces/:id/events/stream", api_events_stream, ACCESS_WORKSPACE},
    {"GET", "/ws", api_ws, ACCESS_PUBLIC}, /* own auth: events.c (browsers may pass ?token=) */
    {"GET", "/events", api_events_list, ACCESS_ADMIN},
    {"GET", "/events/:workspaceId", api_events_list, ACCESS_ADMIN},

    {"POST", "/workspaces/:id/a2a", api_a2a, ACCESS_PUBLIC}, /* own auth: a2a.c (the caller, not :id) */
    {"GET", "/workspaces/:id/a2a/queue/:queue_id", api_a2a_queue_get, ACCESS_PUBLIC}, /* own auth: a2a.c */
    {"POST", "/admin/a2a-queue/drop-stale", api_a2a_drop_stale, ACCESS_ADMIN},
    {"POST", "/workspaces/:id/delegate", api_delegate, ACCESS_WORKSPACE},
    {"GET", "/workspaces/:id/delegations", api_delegations_list, ACCESS_WORKSPACE},
    {"POST", "/workspaces/:id/delegations/record", api_delegation_record, ACCESS_WORKSPACE},
    {"POST", "/workspaces/:id/delegations/:delegation_id/update", api_delegation_update, ACCESS_WORKSPACE},
    {"GET", "/admin/delegations", api_admin_delegations, ACCESS_ADMIN, HTTP_LANE_SLOW},
    {"GET", "/admin/delegations/stats", api_admin_delegation_stats, ACCESS_ADMIN},

    {"GET", "/uploads/limits", api_upload_limits, ACCESS_PUBLIC, HTTP_LANE_LOOP},
    {"POST", "/workspaces/:id/chat/uploads", api_chat_upload, ACCESS_WORKSPACE, HTTP_LANE_SLOW},
    {"GET", "/workspaces/:id/pending-uploads/:file_id/content", api_pending_upload_content, ACCESS_WORKSPACE},
    {"POST", "/workspaces/:id/pending-uploads/:file_id/ack", api_pending_upload_ack, ACCESS_WORKSPACE},

    {"GET", "/workspaces/:id/tokens", api_ws_tokens_list, ACCESS_WORKSPACE},
    {"POST", "/workspaces/:id/tokens", api_ws_tokens_create, ACCESS_WORKSPACE},
    {"DELETE", "/workspaces/:id/tokens/:tokenId", api_ws_tokens_revoke, ACCESS_WORKSPACE},
    {"POST", "/admin/workspaces/:id/tokens", api_admin_ws_tokens_create, ACCESS_ADMIN},
    {"POST", "/admin/workspaces/:id/revoke-auth-tokens", api_admin_ws_tokens_revoke_all, ACCESS_ADMIN},
    {"GET", "/org/tokens", api_org_tokens_list, ACCESS_ADMIN},
    {"POST", "/org/tokens", api_org_tokens_create, ACCESS_ADMIN},
    {"DELETE", "/org/tokens/:id", api_org_tokens_revoke, ACCESS_ADMIN},

    {"POST", "/registry/register", api_registry_register, ACCESS_PUBLIC}, /* own gate: registry.c */
    {"POST", "/registry/heartbeat", api_registry_heartbeat, ACCESS_PUBLIC, HTTP_LANE_LOOP}, /* parses, then batches */
    {"POST", "/registry/update-card", api_registry_update_card, ACCESS_PUBLIC},
    {"GET", "/registry/discover/:id", api_registry_discover, ACCESS_PUBLIC},
    {"GET", "/registry/:id/peers", api_registry_peers, ACCESS_PUBLIC},
    {"POST", "/registry/check-access", api_registry_check_access, ACCESS_PUBLIC},

    {"GET", "/org/templates", api_org_templates, ACCESS_ADMIN, HTTP_LANE_SLOW}, /* parses every template */
    {"POST", "/org/import", api_org_import, ACCESS_ADMIN, HTTP_LANE_SLOW},
    {"POST", "/admin/org/platform-agent", api_platform_install, ACCESS_ADMIN, HTTP_LANE_SLOW},
    {"GET", "/orgs/:id/plugins/allowlist", api_allowlist_get, ACCESS_ADMIN},
    {"PUT", "/orgs/:id/plugins/allowlist", api_allowlist_put, ACCESS_ADMIN},

    /* humans in the loop (inbox.md): literal segments (inbox, pending) before the :requestId they would match */
    {"POST", "/workspaces/:id/approvals", api_approvals_create, ACCESS_WORKSPACE},
    {"GET", "/workspaces/:id/approvals", api_approvals_list, ACCESS_WORKSPACE},
    {"POST", "/workspaces/:id/approvals/:approvalId/decide", api_approval_decide, ACCESS_WORKSPACE},
    {"POST", "/workspaces/:id/approvals/:approvalId/withdraw", api_approval_withdraw, ACCESS_WORKSPACE},
    {"GET", "/approvals/pending", api_approvals_pending, ACCESS_ADMIN},
    {"POST", "/workspaces/:id/user-tasks", api_user_tasks_create, ACCESS_WORKSPACE},
    {"GET", "/workspaces/:id/user-tasks", api_user_tasks_list, ACCESS_WORKSPACE},
    {"POST", "/workspaces/:id/user-tasks/:taskId/resolve", api_user_task_resolve, ACCESS_WORKSPACE},
    {"PATCH", "/workspaces/:id/user-tasks/:taskId", api_user_task_patch, ACCESS_WORKSPACE},
    {"DELETE", "/workspaces/:id/user-tasks/:taskId", api_user_task_delete, ACCESS_WORKSPACE},
    {"GET", "/user-tasks/pending", api_user_tasks_pending, ACCESS_ADMIN},
    {"POST", "/workspaces/:id/requests", api_requests_create, ACCESS_WORKSPACE},
    {"GET", "/workspaces/:id/requests", api_requests_outgoing, ACCESS_WORKSPACE},
    {"GET", "/workspaces/:id/requests/inbox", api_requests_inbox, ACCESS_WORKSPACE},
    {"GET", "/workspaces/:id/requests/:requestId", api_request_get, ACCESS_WORKSPACE},
    {"POST", "/workspaces/:id/requests/:requestId/respond", api_request_respond, ACCESS_WORKSPACE},
    {"POST", "/workspaces/:id/requests/:requestId/messages", api_request_message, ACCESS_WORKSPACE},
    {"POST", "/workspaces/:id/requests/:requestId/cancel", api_request_cancel, ACCESS_WORKSPACE},
    {"GET", "/requests/pending", api_requests_pending, ACCESS_ADMIN},
    {"GET", "/requests/:requestId", api_request_get, ACCESS_ADMIN},
    {"POST", "/requests/:requestId/respond", api_request_respond, ACCESS_ADMIN},
    {"POST", "/requests/:requestId/messages", api_request_message, ACCESS_ADMIN},
    {"POST", "/requests/:requestId/cancel", api_request_cancel, ACCESS_ADMIN},

    {"GET", "/workspaces/:id/secrets", api_secrets_list, ACCESS_WORKSPACE},
    {"GET", "/workspaces/:id/secrets/values", api_secrets_values, ACCESS_WORKSPACE}, /* + own-agent re-check */
    {"POST", "/workspaces/:id/secrets", api_secrets_put, ACCESS_WORKSPACE},
    {"PUT", "/workspaces/:id/secrets", api_secrets_put, ACCESS_WORKSPACE},
    {"DELETE", "/workspaces/:id/secrets/:key", api_secrets_delete, ACCESS_WORKSPACE},
    {"GET", "/settings/secrets", api_global_secrets_list, ACCESS_ADMIN},
    {"PUT", "/settings/secrets", api_global_secrets_put, ACCESS_ADMIN},
    {"POST", "/settings/secrets", api_global_secrets_put, ACCESS_ADMIN},
    {"DELETE", "/settings/secrets/:key", api_global_secrets_delete, ACCESS_ADMIN},
    {"GET", "/admin/secrets", api_global_secrets_list, ACCESS_ADMIN},
    {"POST", "/admin/secrets", api_global_secrets_put, ACCESS_ADMIN},
    {"DELETE", "/admin/secrets/:key", api_global_secrets_delete, ACCESS_ADMIN},

    {"GET", "/workspaces/:id/schedules", api_schedules_list, ACCESS_WORKSPACE},
    {"POST", "/workspaces/:id/schedules", api_schedules_create, ACCESS_WORKSPACE},
    {"GET", "/workspaces/:id/schedules/health", api_schedules_health, ACCESS_PUBLIC}, /* own auth: a peer's token */
    {"PATCH", "/workspaces/:id/schedules/:scheduleId", api_schedules_patch, ACCESS_WORKSPACE},
    {"DELETE", "/workspaces/:id/schedules/:scheduleId", api_schedules_delete, ACCESS_WORKSPACE},
    {"POST", "/workspaces/:id/schedules/:scheduleId/run", api_schedules_run, ACCESS_WORKSPACE},
    {"GET", "/workspaces/:id/schedules/:scheduleId/history", api_schedules_history, ACCESS_WORKSPACE},
    {"GET", "/admin/schedules/health", api_admin_schedules_health, ACCESS_ADMIN, HTTP_LANE_SLOW}, /* every schedule */
    {"GET", "/admin/schedules/orphans", api_admin_schedules_orphans, ACCESS_ADMIN, HTTP_LANE_SLOW},
    {"POST", "/admin/schedules/reap-orphans", api_admin_schedules_reap, ACCESS_ADMIN, HTTP_LANE_SLOW},

    /* workspace operations without containers (surface.md §1-§6, §13): the literal `latest` before :wfid */
    {"GET", "/workspaces/:id/budget", api_budget_get, ACCESS_WORKSPACE},
    {"PATCH", "/workspaces/:id/budget", api_budget_patch, ACCESS_ADMIN},
    {"GET", "/workspaces/:id/metrics", api_ws_usage_metrics, ACCESS_WORKSPACE},
    {"POST", "/workspaces/:id/checkpoints", api_checkpoint_put, ACCESS_WORKSPACE},
    {"GET", "/workspaces/:id/checkpoints/latest", api_checkpoint_latest, ACCESS_WORKSPACE},
    {"GET", "/workspaces/:id/checkpoints/:wfid", api_checkpoint_steps, ACCESS_WORKSPACE},
    {"DELETE", "/workspaces/:id/checkpoints/:wfid", api_checkpoint_delete, ACCESS_WORKSPACE},
    {"GET", "/workspaces/:id/audit", api_audit_list, ACCESS_WORKSPACE, HTTP_LANE_SLOW}, /* count, verification */
    {"POST", "/workspaces/:id/audit", api_audit_append, ACCESS_WORKSPACE},
    {"GET", "/workspaces/:id/traces", api_ws_traces, ACCESS_WORKSPACE},
    {"GET", "/admin/workspaces/:id/llm-billing-mode", api_billing_mode_get, ACCESS_ADMIN},
    {"PUT", "/admin/workspaces/:id/llm-billing-mode", api_billing_mode_put, ACCESS_ADMIN},
    {"POST", "/workspaces/:id/pause", api_ws_pause, ACCESS_WORKSPACE, HTTP_LANE_SLOW},   /* the subtree */
    {"POST", "/workspaces/:id/resume", api_ws_resume, ACCESS_WORKSPACE, HTTP_LANE_SLOW}, /* the subtree */
    {"POST", "/workspaces/:id/hibernate", api_ws_hibernate, ACCESS_WORKSPACE},
    {"POST", "/workspaces/:id/restart", api_ws_restart, ACCESS_WORKSPACE},
    {"POST", "/admin/workspaces/:id/restart", api_admin_ws_restart, ACCESS_ADMIN},
    {"POST", "/workspaces/:id/switch-provider", api_ws_switch_provider, ACCESS_WORKSPACE},
    {"GET", "/workspaces/:id/console", api_ws_console, ACCESS_ADMIN},
    {"GET", "/workspaces/:id/terminal", api_ws_terminal, ACCESS_PUBLIC},                  /* own auth: diagnostics.c */
    {"GET", "/workspaces/:id/terminal/diagnose", api_ws_terminal_diagnose, ACCESS_PUBLIC}, /* own auth */
    {"GET", "/workspaces/:id/rescue", api_ws_rescue, ACCESS_WORKSPACE},
    {"GET", "/admin/liveness", api_admin_liveness, ACCESS_ADMIN},

    /* org portability (surface.md §7-§15): config, model, abilities, files, templates */
    {"GET", "/workspaces/:id/config", api_config_get, ACCESS_WORKSPACE},
    {"PATCH", "/workspaces/:id/config", api_config_patch, ACCESS_WORKSPACE},
    {"GET", "/workspaces/:id/model", api_model_get, ACCESS_WORKSPACE},
    {"PUT", "/workspaces/:id/model", api_model_put, ACCESS_WORKSPACE},
    {"GET", "/workspaces/:id/provider", api_provider_retired, ACCESS_WORKSPACE},
    {"PUT", "/workspaces/:id/provider", api_provider_retired, ACCESS_WORKSPACE},
    {"PATCH", "/workspaces/:id/abilities", api_abilities_patch, ACCESS_ADMIN},
    {"GET", "/workspaces/:id/files", api_files_list, ACCESS_WORKSPACE},
    {"PUT", "/workspaces/:id/files", api_files_replace, ACCESS_WORKSPACE, HTTP_LANE_SLOW}, /* up to 200 files */
    {"GET", "/workspaces/:id/files/*path", api_file_get, ACCESS_WORKSPACE},
    {"PUT", "/workspaces/:id/files/*path", api_file_put, ACCESS_WORKSPACE},
    {"DELETE", "/workspaces/:id/files/*path", api_file_delete, ACCESS_WORKSPACE},
    {"GET", "/templates", api_templates_list, ACCESS_ADMIN, HTTP_LANE_SLOW}, /* parses every template */
    {"POST", "/templates/import", api_templates_import, ACCESS_ADMIN, HTTP_LANE_SLOW},
    {"POST", "/admin/templates/refresh", api_templates_refresh, ACCESS_ADMIN},
    /* plugins: the registry is read from disk (slow lane: one plugin.yaml per entry), archives are built there */
    {"GET", "/plugins", api_plugins_registry, ACCESS_PUBLIC, HTTP_LANE_SLOW},
    {"GET", "/plugins/sources", api_plugins_sources, ACCESS_PUBLIC, HTTP_LANE_LOOP},
    {"GET", "/workspaces/:id/plugins", api_ws_plugins, ACCESS_WORKSPACE},
    {"POST", "/workspaces/:id/plugins", api_ws_plugin_install, ACCESS_WORKSPACE},
    {"GET", "/workspaces/:id/plugins/available", api_ws_plugins_available, ACCESS_WORKSPACE, HTTP_LANE_SLOW},
    {"GET", "/workspaces/:id/plugins/compatibility", api_ws_plugins_compatibility, ACCESS_WORKSPACE},
    {"DELETE", "/workspaces/:id/plugins/:name", api_ws_plugin_uninstall, ACCESS_WORKSPACE},
    {"GET", "/workspaces/:id/plugins/:name/download", api_ws_plugin_download, ACCESS_WORKSPACE, HTTP_LANE_SLOW},
    /* platform instructions, identity, bundles, broadcast, chat download */
    {"GET", "/instructions", api_instructions_list, ACCESS_ADMIN},
    {"POST", "/instructions", api_instructions_create, ACCESS_ADMIN},
    {"PUT", "/instructions/:id", api_instructions_update, ACCESS_ADMIN},
    {"DELETE", "/instructions/:id", api_instructions_delete, ACCESS_ADMIN},
    {"GET", "/workspaces/:id/instructions/resolve", api_instructions_resolve, ACCESS_WORKSPACE},
    {"GET", "/org/identity", api_org_identity, ACCESS_PUBLIC, HTTP_LANE_LOOP},
    {"GET", "/bundles/export/:id", api_bundle_export, ACCESS_ADMIN, HTTP_LANE_SLOW},
    {"POST", "/bundles/import", api_bundle_import, ACCESS_ADMIN, HTTP_LANE_SLOW},
    {"POST", "/workspaces/:id/broadcast", api_broadcast, ACCESS_WORKSPACE, HTTP_LANE_SLOW}, /* the whole org */
    {"GET", "/workspaces/:id/chat/download", api_chat_download, ACCESS_WORKSPACE},

    /* memory (data.md §2): a search is bounded by its limit and read through the full-text index; the export
     * and the import are O(n) in user data */
    {"POST", "/workspaces/:id/memories", api_memories_commit, ACCESS_WORKSPACE},
    {"GET", "/workspaces/:id/memories", api_memories_list, ACCESS_WORKSPACE},
    {"GET", "/workspaces/:id/v2/namespaces", api_memory_namespaces, ACCESS_WORKSPACE},
    {"GET", "/workspaces/:id/v2/memories", api_memories_search, ACCESS_WORKSPACE},
    {"DELETE", "/workspaces/:id/v2/memories/:memoryId", api_memory_forget, ACCESS_WORKSPACE},
    {"GET", "/workspaces/:id/memory", api_kv_list, ACCESS_WORKSPACE, HTTP_LANE_SLOW}, /* up to 10,000 entries */
    {"POST", "/workspaces/:id/memory", api_kv_set, ACCESS_WORKSPACE},
    {"GET", "/workspaces/:id/memory/:key", api_kv_get, ACCESS_WORKSPACE},
    {"DELETE", "/workspaces/:id/memory/:key", api_kv_delete, ACCESS_WORKSPACE},
    {"GET", "/admin/memories/export", api_memories_export, ACCESS_ADMIN, HTTP_LANE_SLOW},
    {"POST", "/admin/memories/import", api_memories_import, ACCESS_ADMIN, HTTP_LANE_SLOW},

    /* the console (embedded files, no database): `/` and one literal prefix that no route of the API uses */
    {"GET", "/", api_console, ACCESS_PUBLIC, HTTP_LANE_LOOP},
    {"GET", "/console/:file", api_console, ACCESS_PUBLIC, HTTP_LANE_LOOP},
    /* chat channels (data.md §4.2, surface.md §14); /webhooks/:type checks its provider's signature itself */
    {"GET", "/channels/adapters", api_channel_adapters, ACCESS_PUBLIC, HTTP_LANE_LOOP},
    {"GET", "/workspaces/:id/channels", api_channels_list, ACCESS_WORKSPACE},
    {"POST", "/workspaces/:id/channels", api_channels_create, ACCESS_WORKSPACE},
    {"PATCH", "/workspaces/:id/channels/:channelId", api_channels_patch, ACCESS_WORKSPACE},
    {"DELETE", "/workspaces/:id/channels/:channelId", api_channels_delete, ACCESS_WORKSPACE},
    {"POST", "/workspaces/:id/channels/:channelId/send", api_channels_send, ACCESS_WORKSPACE},
    {"POST", "/workspaces/:id/channels/:channelId/test", api_channels_test, ACCESS_WORKSPACE},
    {"POST", "/channels/discover", api_channels_discover, ACCESS_ADMIN},
    {"POST", "/webhooks/:type", api_channel_webhook, ACCESS_PUBLIC},
    /* the MCP bridge (schedules-mcp.md §7): JSON-RPC acting as :id; its SSE keep-alive; external connection */
    {"POST", "/workspaces/:id/mcp", api_mcp, ACCESS_WORKSPACE},
    {"HEAD", "/workspaces/:id/mcp/stream", api_mcp_stream_head, ACCESS_WORKSPACE}, /* before its GET row */
    {"GET", "/workspaces/:id/mcp/stream", api_mcp_stream, ACCESS_WORKSPACE},
    {"GET", "/workspaces/:id/external/connection", api_external_connection, ACCESS_WORKSPACE},
    {"POST", "/workspaces/:id/external/rotate", api_external_rotate, ACCESS_WORKSPACE},
};

const size_t api_routes_count = sizeof(api_routes) / sizeof(api_routes[0]);
