/* registry.h - the registry over HTTP (runtime.md §1, §3): register, heartbeat, update-card, discover, peers,
 * check-access. These routes are public in the table and run their own gate: a workspace that exists answers only
 * to a token of its own (or an operator's: admin or org token), whether or not it holds a live token now; a removed
 * one is 410 to everyone; only an id that does not exist yet may be registered without a token (a bootstrap, limited
 * per client address). */
#ifndef COLONY_API_REGISTRY_H
#define COLONY_API_REGISTRY_H

#include "http/request.h"

/* Set up before serving: anonymous bootstraps allowed per minute per client address, and the heartbeat batch
 * (group commit); api_registry_fini releases them after. */
void api_registry_init(long bootstrap_per_minute);
void api_registry_fini(void);

void api_registry_register(http_req *rq);
void api_registry_heartbeat(http_req *rq);
void api_registry_update_card(http_req *rq);
void api_registry_discover(http_req *rq);
void api_registry_peers(http_req *rq);
void api_registry_check_access(http_req *rq);

#endif
