/* mcp.h - the MCP bridge (schedules-mcp.md §7-§8, runtime.md §10): agent runtimes reach colony's tools over Model
 * Context Protocol, JSON-RPC 2.0 in the body of POST /workspaces/:id/mcp (protocol 2024-11-05, server molecule-a2a
 * 1.0.0), authenticated by a token of that workspace and acting as it. GET /workspaces/:id/mcp/stream is the
 * transport's SSE keep-alive: the endpoint record, then pings; answers only ever travel in POST bodies.
 *
 * Both count against a limit per caller — the workspace of a workspace token, an operator's credential —
 * (--mcp-rate-limit requests in a 60-second window that starts at the caller's first request; every request of a
 * batch counts, a stream once, its HEAD too), told in X-RateLimit-Limit, -Remaining and -Reset (seconds) on every
 * answer; past it 429 {"error":"MCP rate limit exceeded","retry_after":s} with Retry-After. Each node counts for
 * itself. */
#ifndef COLONY_API_MCP_H
#define COLONY_API_MCP_H

#include <stdbool.h>

#include "http/request.h"

enum { MCP_BODY_MAX = 1 << 20 }; /* a POST body (413 past it) */

void api_mcp(http_req *rq);
void api_mcp_stream(http_req *rq);
void api_mcp_stream_head(http_req *rq);

/* Settings (main.c): requests per caller per minute, whether send_message_to_user is offered. */
void api_mcp_init(long rate_limit, bool allow_send_message);
void api_mcp_free(void);

#endif
