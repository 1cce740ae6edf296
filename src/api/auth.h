/* auth.h - who may call what. Every route has an access class (routes.c); the guard resolves the bearer once per
 * request and answers 401/403/503 itself. Fail-closed: no bearer, no access (except public routes). */
#ifndef COLONY_API_AUTH_H
#define COLONY_API_AUTH_H

#include <stdbool.h>

#include "http/request.h"
#include "model/token.h"

/* Access classes of the route table (http_route.access). */
enum {
    ACCESS_PUBLIC = 0,
    ACCESS_ADMIN,     /* ADMIN_TOKEN or an org token */
    ACCESS_WORKSPACE, /* those, or a token of the workspace named by :id */
    ACCESS_CANVAS,    /* ADMIN_TOKEN, an org token, or any live workspace token */
    ACCESS_WORKSPACE_BY_HANDLER, /* ACCESS_WORKSPACE, checked by the handler with api_authorize where it has a
                                    database connection (a loop-lane route that hands its writes to a group) */
};

/* Remember the break-glass admin token (NULL or "" = none); only its SHA-256 is kept. */
void api_auth_init(const char *admin_token);

/* The route guard (server_config.guard). */
bool api_guard(http_req *rq);
/* The guard's decision for `access`, with rq->db; false after answering 401/403/503. */
bool api_authorize(http_req *rq, int access);

/* 503 {"error":"platform datastore unavailable — retry shortly","code":"platform_unavailable"}: an auth
 * decision the database could not make. */
void api_reply_datastore_unavailable(http_req *rq);

/* Resolve `bearer` into *c; CL_OK (c->kind may be CALLER_NONE), or non-OK after answering 503. */
cl_err api_identify(http_req *rq, const char *bearer, caller *c);

/* Who sends a peer request (the A2A proxy, a peer's schedule health): a workspace presenting its own token
 * (X-Workspace-ID optional, and then it must name that workspace; reserved caller prefixes such as "system:" are
 * refused) - *sender its id; or an operator (admin or org token) - *sender NULL, *operator true. Answers 401, 403
 * or 400 itself. */
bool api_sender_or_reply(http_req *rq, const char **sender, bool *operator);

/* The authenticated caller of this request (CALLER_NONE on public routes). */
const caller *api_caller(const http_req *rq);
/* The caller as a credential that records can name (arena-owned): "workspace:<id>", "org-token:<token id>",
 * "admin-token" (or "anonymous"). Who asked for an approval, who decided it. */
const char *api_caller_actor(http_req *rq);

#endif
