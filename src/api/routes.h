/* routes.h - the whole route table, in one place, and the guard that enforces each route's access class. */
#ifndef COLONY_API_ROUTES_H
#define COLONY_API_ROUTES_H

#include <stdbool.h>
#include <stddef.h>

#include "http/request.h"

extern const http_route api_routes[];
extern const size_t api_routes_count;


#endif
