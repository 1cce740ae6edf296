/* external.h - GET /workspaces/:id/external/connection (runtime.md §10.3): what an operator pastes to connect an
 * agent runtime colony does not run (an external-like workspace: runtime external, kimi or kimi-cli) - the
 * endpoints and the snippets (model/connection.h), addressed to colony's public URL. POST …/external/rotate
 * answers the same with new credentials: every token of the workspace revoked, one minted and shown this once. */
#ifndef COLONY_API_EXTERNAL_H
#define COLONY_API_EXTERNAL_H

#include <stdbool.h>

#include "base/error.h"
#include "http/request.h"

enum { EXTERNAL_URL_MAX = 512 };

void api_external_connection(http_req *rq);
void api_external_rotate(http_req *rq);

/* colony's public URL (--public-url): "" derives it from each request (X-Forwarded-Proto/-Host, else Host);
 * otherwise http:// or https://, a host, at most EXTERNAL_URL_MAX bytes, no query or fragment (a trailing '/' is
 * dropped). CL_INVALID naming what is wrong. */
cl_err api_external_init(const char *public_url, cl_error *err);

#endif
