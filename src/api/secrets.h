/* secrets.h - workspace and global secrets over HTTP (data.md §3.3): names and times in lists, values only to the
 * workspace's own agent through …/secrets/values. */
#ifndef COLONY_API_SECRETS_H
#define COLONY_API_SECRETS_H

#include <stdbool.h>

#include "http/request.h"
#include "model/secret.h"

/* The approval gate of workspace secret writes (inbox.md §3, `secret_write`): with `gate` on, a write by the admin
 * token or an org token is held for an approval anchored on the workspace. */
void api_secrets_init(bool gate);

/* The caller of this request as the audit records of its secret writes name it. */
secret_actor api_secret_actor(http_req *rq);

void api_secrets_list(http_req *rq);
void api_secrets_values(http_req *rq);
void api_secrets_put(http_req *rq);
void api_secrets_delete(http_req *rq);
void api_global_secrets_list(http_req *rq);
void api_global_secrets_put(http_req *rq);
void api_global_secrets_delete(http_req *rq);

#endif
