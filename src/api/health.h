/* health.h - liveness of the process and its database, build identity, and the Prometheus scrape. */
#ifndef COLONY_API_HEALTH_H
#define COLONY_API_HEALTH_H

#include "http/request.h"

void api_health(http_req *rq);
void api_buildinfo(http_req *rq);
void api_metrics(http_req *rq);

#endif
