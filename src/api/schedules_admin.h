/* schedules_admin.h - the operators' schedule routes (schedules-mcp.md §3): the health of every schedule, the
 * schedules of removed workspaces, and their repair. */
#ifndef COLONY_API_SCHEDULES_ADMIN_H
#define COLONY_API_SCHEDULES_ADMIN_H

#include "http/request.h"

void api_admin_schedules_health(http_req *rq);
void api_admin_schedules_orphans(http_req *rq);
void api_admin_schedules_reap(http_req *rq);

#endif
