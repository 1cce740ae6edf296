/* router.h - matches (method, path) against the route table. Patterns are split into segments once; a segment
 * ":name" matches any one non-empty segment and is handed to the handler percent-decoded. A last segment "*name"
 * matches the rest of the path (one or more segments) and is handed over percent-decoded, slashes kept. */
#ifndef COLONY_HTTP_ROUTER_H
#define COLONY_HTTP_ROUTER_H

#include <stddef.h>

#include "base/arena.h"
#include "http/request.h"

typedef struct router router_t;

typedef enum { ROUTE_FOUND, ROUTE_NOT_FOUND, ROUTE_BAD_METHOD } route_result;

enum { ROUTER_MAX_SEGMENTS = 32, ROUTER_ALLOW_MAX = 64 };

/* Compile `routes` (borrowed: must outlive the router). Returns NULL and logs when a pattern is malformed. */
router_t *router_new(const http_route *routes, size_t n);
void router_free(router_t *r);
size_t router_count(const router_t *r);
const http_route *router_route(const router_t *r, size_t i);

/* Match. On ROUTE_FOUND, *out and the parameters (values in `a`) are set and *index is the route's position;
 * on ROUTE_BAD_METHOD, `allow` receives the methods the path accepts ("GET, PATCH"). One trailing slash is
 * ignored. */
route_result router_match(const router_t *r, const char *method, const char *path, size_t len, arena_t *a,
                          http_param *params, int *nparams, const http_route **out, size_t *index,
                          char allow[ROUTER_ALLOW_MAX]);

/* Percent-decode (s, len) into `a`; NULL when an escape is malformed or decodes to NUL. With `plus`, '+' is a
 * space (query strings). */
char *http_pct_decode(arena_t *a, const char *s, size_t len, int plus, size_t *out_len);

#endif
