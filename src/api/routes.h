/* routes.h - the whole route table, in one place, and the guard that enforces each route's access class. */
#ifndef COLONY_API_ROUTES_H
#define COLONY_API_ROUTES_H

#include <stdbool.h>
#include <stddef.h>

#include "http/request.h"

/* Access classes of the route table (http_route.access). */
enum { ACCESS_PUBLIC = 0 };

extern const http_route api_routes[];
extern const size_t api_routes_count;

/* Run before every matched handler: false when it has answered (401/403) and the handler must not run. */
bool api_guard(http_req *rq);

#endif
