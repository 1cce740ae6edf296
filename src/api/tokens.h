/* tokens.h - workspace tokens and org API tokens over HTTP (workspaces.md §5.4). */
#ifndef COLONY_API_TOKENS_H
#define COLONY_API_TOKENS_H

#include "http/request.h"

void api_ws_tokens_list(http_req *rq);
void api_ws_tokens_create(http_req *rq);
void api_ws_tokens_revoke(http_req *rq);
void api_admin_ws_tokens_create(http_req *rq);
void api_admin_ws_tokens_revoke_all(http_req *rq);
void api_org_tokens_list(http_req *rq);
void api_org_tokens_create(http_req *rq);
void api_org_tokens_revoke(http_req *rq);

#endif
