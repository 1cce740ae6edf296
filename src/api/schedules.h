/* schedules.h - a workspace's cron schedules over HTTP (schedules-mcp.md §3): list, create, update (enable and
 * disable are `enabled` in a PATCH, as in the reference), delete, run (the reference's echo: the canvas sends the
 * prompt itself), the history of runs, and the health a peer may read. */
#ifndef COLONY_API_SCHEDULES_H
#define COLONY_API_SCHEDULES_H

#include "http/request.h"

void api_schedules_list(http_req *rq);
void api_schedules_create(http_req *rq);
void api_schedules_patch(http_req *rq);
void api_schedules_delete(http_req *rq);
void api_schedules_run(http_req *rq);
void api_schedules_history(http_req *rq);
void api_schedules_health(http_req *rq);

#endif
