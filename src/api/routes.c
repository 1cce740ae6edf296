/* routes.c - every endpoint colony serves: method, path, handler, who may call it. */
#include "api/routes.h"

#include "api/canvas.h"
#include "api/health.h"

const http_route api_routes[] = {
    {"GET", "/health", api_health, ACCESS_PUBLIC},
    {"GET", "/buildinfo", api_buildinfo, ACCESS_PUBLIC},
    {"GET", "/metrics", api_metrics, ACCESS_PUBLIC},
    {"GET", "/canvas/viewport", api_viewport_get, ACCESS_PUBLIC},
    {"PUT", "/canvas/viewport", api_viewport_put, ACCESS_PUBLIC},
};

const size_t api_routes_count = sizeof(api_routes) / sizeof(api_routes[0]);

bool api_guard(http_req *rq)
{
    (void)rq;
    return true;
}
