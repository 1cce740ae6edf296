/* request.h - one HTTP request as the api layer sees it: method, path, route parameters, query, headers, body,
 * an arena that lives exactly as long as the request, the context of the thread serving it, and one way to answer.
 * Nothing here names h2o: handlers stay independent of the engine.
 *
 * Threads. The I/O thread that accepted the request parses and routes it; a route's lane says where its handler
 * runs: on the I/O thread itself (HTTP_LANE_LOOP: no database, no blocking), or on a worker of the fast or slow
 * pool (with that worker's context in `db`). http_respond may be called from any thread; the bytes are always
 * written by the request's I/O thread. */
#ifndef COLONY_HTTP_REQUEST_H
#define COLONY_HTTP_REQUEST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/netaddr.h"

enum {
    HTTP_MAX_PARAMS = 8,       /* path parameters in one route */
    HTTP_REQUEST_ID_MAX = 64,  /* a client X-Request-Id longer than this is replaced */
    HTTP_MAX_RESP_HEADERS = 16 /* extra response headers one handler may add */
};

typedef struct http_req http_req;
typedef void (*http_handler_fn)(http_req *rq);

/* Where a handler runs (see above). Slow: O(n) in user data or long (imports, big lists, uploads); a request on
 * the fast lane never queues behind one on the slow lane. */
typedef enum { HTTP_LANE_FAST = 0, HTTP_LANE_SLOW, HTTP_LANE_LOOP } http_lane;

/* One row of the route table: method, pattern ("/workspaces/:id/tokens"), handler, an opaque access class that the
 * api layer's guard interprets, and the lane. */
typedef struct {
    const char *method, *pattern;
    http_handler_fn fn;
    int access;
    http_lane lane;
} http_route;

typedef struct {
    const char *name, *value; /* name without the ':'; value percent-decoded, arena-owned */
    size_t value_len;
} http_param;

typedef struct {
    const char *name, *value; /* name lower-case; both arena-owned, NUL-terminated */
} http_header_field;

struct http_req {
    arena_t *arena;                /* freed when the request is done and nobody holds it */
    void *db;                      /* the serving worker's context (the api's database connection), valid while
                                      its handler runs; NULL on the I/O thread. Code that continues a deferred
                                      request on another worker sets that worker's own here first. */
    const char *method;            /* NUL-terminated, arena-owned */
    const char *path;              /* raw path without the query, NUL-terminated */
    size_t path_len;
    const char *query;             /* raw query without '?', NUL-terminated ("" when none) */
    const char *body;              /* request body (not NUL-terminated), NULL when none; valid until the request
                                      is answered */
    size_t body_len;
    const http_header_field *headers; /* copies of the request headers, in arrival order */
    size_t nheaders;
    const http_route *route;       /* NULL when unmatched */
    http_param params[HTTP_MAX_PARAMS];
    int nparams;
    char request_id[HTTP_REQUEST_ID_MAX + 1];
    bool peer_loopback;            /* the client connected from 127.0.0.0/8 (IPv4-mapped too) or ::1 */
    bool peer_known;               /* peer_addr is set */
    netaddr peer_addr;             /* the client's address (the socket's peer) */
    char peer[64];                 /* the client's address, numeric text */
    void *auth;                    /* set by the api guard: who is calling */
    void *engine;                  /* the server's private state */
    atomic_bool responded;
    bool deferred;                 /* the handler returned without answering; a holder answers later */
};

/* A path parameter by name, or NULL. */
const char *http_param_get(const http_req *rq, const char *name);
/* A request header (case-insensitive name), arena-owned, or NULL when absent. */
const char *http_header(http_req *rq, const char *name);
/* A decoded query parameter ('+' and %XX) as an arena-owned NUL-terminated copy, or NULL when absent (or when an
 * escape is malformed or decodes to NUL). Always valid UTF-8: invalid bytes are replaced by U+FFFD. */
const char *http_query(http_req *rq, const char *name);
/* The raw name (arena-owned, at most 64 bytes) of the first query parameter whose name or value does not decode —
 * a malformed escape, or a NUL byte, which http_query would answer as absent — or NULL when every one decodes. */
const char *http_query_undecodable(http_req *rq);

/* The handler returns without answering: whoever answers later must hold the request (http_req_hold) until then. */
void http_defer(http_req *rq);
/* Keep rq (and its arena) alive past its handler; every hold is dropped exactly once, from any thread. */
http_req *http_req_hold(http_req *rq);
void http_req_drop(http_req *rq);
/* Run fn(rq, arg) on rq's I/O thread (to hand the connection to a WebSocket or an event stream, say). The handler
 * must not touch rq after this call; fn owns the answer. */
void http_on_loop(http_req *rq, void (*fn)(http_req *rq, void *arg), void *arg);
/* The request's Origin is one that --cors-origins admits (false when it names another, or there is none). */
bool http_origin_allowed(const http_req *rq);
/* The request's Origin is named in --cors-origins: "*" admits any page to the API, never names one. */
bool http_origin_listed(const http_req *rq);
/* The address the client connected from (the socket's peer, never a forwarded-for header); false when unknown. */
bool http_peer_address(http_req *rq, netaddr *out);

/* Run fn(ctx, arg) on a worker of the fast lane, with that worker's context (from a loop-lane handler, say).
 * When the server stops first, fn runs with ctx NULL (it must then only release what it holds). Any thread. */
void http_run_pooled(http_req *rq, void (*fn)(void *ctx, void *arg), void *arg);

/* Add a response header; name and value are copied. Up to HTTP_MAX_RESP_HEADERS per request. */
void http_add_header(http_req *rq, const char *name, const char *value);
/* Send the whole response: `body` must live as long as the request (static or arena-owned). Once per request;
 * later calls are ignored. Any thread. */
void http_respond(http_req *rq, int status, const char *content_type, const char *body, size_t len);

#endif
