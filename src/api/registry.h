/* registry.h - the registry over HTTP (runtime.md §1, §3): register, heartbeat, update-card, discover, peers,
 * check-access. These routes are public in the table and run their own gate: a workspace that holds a live
 * instance token must present a token valid for it; one that holds none is bootstrapping. */
#ifndef COLONY_API_REGISTRY_H
#define COLONY_API_REGISTRY_H

#include "http/request.h"

/* The heartbeat batch (group commit): set up before serving, released after. */
void api_registry_init(void);
void api_registry_fini(void);

void api_registry_register(http_req *rq);
void api_registry_heartbeat(http_req *rq);
void api_registry_update_card(http_req *rq);
void api_registry_discover(http_req *rq);
void api_registry_peers(http_req *rq);
void api_registry_check_access(http_req *rq);

#endif
