/* connection.h - what it takes to connect an agent runtime that colony does not run (an external-like workspace)
 * to colony (runtime.md §10.3): the endpoints, and ready-to-paste snippets for the usual runtimes, each launching
 * the molecule-mcp wrapper (it registers the workspace, heartbeats, and serves colony's MCP tools). */
#ifndef COLONY_MODEL_CONNECTION_H
#define COLONY_MODEL_CONNECTION_H

#include <jansson.h>

#include "base/arena.h"

enum { CONN_SLUG_MAX = 24 };

/* The MCP server name of a workspace (vectors.md §3.10): "molecule-" + its name lower-cased, every run of
 * characters outside [a-z0-9] one '-', trimmed of '-', at most CONN_SLUG_MAX characters; when nothing is left, the
 * first 8 characters of `id` without its hyphens. Arena-owned. */
const char *conn_mcp_server_name(arena_t *a, const char *name, const char *id);

/* The "connection" object: {workspace_id, platform_url, auth_token, registry_endpoint, heartbeat_endpoint,
 * curl_register_template, python_snippet, claude_code_channel_snippet, universal_mcp_snippet,
 * hermes_channel_snippet, codex_snippet, openclaw_snippet, kimi_snippet}. `platform_url` has no trailing '/';
 * `auth_token` "" (shown nowhere: the snippets then read it from $MOLECULE_WORKSPACE_TOKEN). A new reference. */
json_t *conn_connection(arena_t *a, const char *platform_url, const char *workspace_id, const char *name,
                        const char *auth_token);

#endif
