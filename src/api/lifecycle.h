/* lifecycle.h - a workspace's lifecycle routes on a platform that runs no containers (surface.md §6): pause,
 * resume (README difference 13), hibernate, restart, the admin restart, and the control-plane-only switch-provider
 * and console, with the answers the reference gives without a provisioner or control plane. */
#ifndef COLONY_API_LIFECYCLE_H
#define COLONY_API_LIFECYCLE_H

#include "http/request.h"

void api_ws_pause(http_req *rq);
void api_ws_resume(http_req *rq);
void api_ws_hibernate(http_req *rq);
void api_ws_restart(http_req *rq);
void api_admin_ws_restart(http_req *rq);
void api_ws_switch_provider(http_req *rq);
void api_ws_console(http_req *rq);

#endif
