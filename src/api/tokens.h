/* tokens.h - workspace tokens and org API tokens over HTTP (workspaces.md §5.4). */
#ifndef COLONY_API_TOKENS_H
#define COLONY_API_TOKENS_H

#include <stdbool.h>

#include "http/request.h"

/* The approval gate of org token mints (inbox.md §3): with `gate` on, an admin-token or org-token caller's mint is
 * held for an approval anchored on the org token's org, else on `anchor` (a workspace id; NULL or "": the platform
 * root). The pointer is kept. */
void api_tokens_init(bool gate, const char *anchor);

void api_ws_tokens_list(http_req *rq);
void api_ws_tokens_create(http_req *rq);
void api_ws_tokens_revoke(http_req *rq);
void api_admin_ws_tokens_create(http_req *rq);
void api_admin_ws_tokens_revoke_all(http_req *rq);
void api_org_tokens_list(http_req *rq);
void api_org_tokens_create(http_req *rq);
void api_org_tokens_revoke(http_req *rq);

#endif
