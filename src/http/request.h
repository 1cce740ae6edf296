/* request.h - one HTTP request as the api layer sees it: method, path, route parameters, query, headers, body,
 * an arena that lives exactly as long as the request, the worker's database connection, and one way to answer.
 * Nothing here names h2o: handlers stay independent of the engine. */
#ifndef COLONY_HTTP_REQUEST_H
#define COLONY_HTTP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/netaddr.h"
#include "store/db.h"

enum {
    HTTP_MAX_PARAMS = 8,       /* path parameters in one route */
    HTTP_REQUEST_ID_MAX = 64,  /* a client X-Request-Id longer than this is replaced */
    HTTP_MAX_RESP_HEADERS = 16 /* extra response headers one handler may add */
};

typedef struct http_req http_req;
typedef void (*http_handler_fn)(http_req *rq);

/* One row of the route table: method, pattern ("/workspaces/:id/tokens"), handler, and an opaque access class
 * that the api layer's guard interprets. */
typedef struct {
    const char *method, *pattern;
    http_handler_fn fn;
    int access;
} http_route;

typedef struct {
    const char *name, *value; /* name without the ':'; value percent-decoded, arena-owned */
    size_t value_len;
} http_param;

struct http_req {
    arena_t *arena;                /* freed when the request is done */
    db_t *db;                      /* the worker thread's connection */
    const char *method;            /* NUL-terminated, arena-owned */
    const char *path;              /* raw path without the query, NUL-terminated */
    size_t path_len;
    const char *query;             /* raw query without '?', NUL-terminated ("" when none) */
    const char *body;              /* request body (not NUL-terminated), NULL when none */
    size_t body_len;
    const http_route *route;       /* NULL when unmatched */
    http_param params[HTTP_MAX_PARAMS];
    int nparams;
    char request_id[HTTP_REQUEST_ID_MAX + 1];
    void *auth;                    /* set by the api guard: who is calling */
    void *engine;                  /* the server's private state (h2o request) */
    bool responded;
    bool deferred;                 /* the handler answers later, on this thread */
};

/* A path parameter by name, or NULL. */
const char *http_param_get(const http_req *rq, const char *name);
/* A request header (case-insensitive name) as an arena-owned NUL-terminated copy, or NULL when absent. */
const char *http_header(http_req *rq, const char *name);
/* A decoded query parameter ('+' and %XX) as an arena-owned NUL-terminated copy, or NULL when absent (or when an
 * escape is malformed or decodes to NUL). Always valid UTF-8: invalid bytes are replaced by U+FFFD. */
const char *http_query(http_req *rq, const char *name);

/* The handler returns without answering; it (or a callback scheduled with http_after_io) calls http_respond later,
 * on this request's I/O thread. */
void http_defer(http_req *rq);
/* Run fn(arg) once on rq's I/O thread, after the events the loop is handling now: requests that arrive together can
 * be served together (group commit). */
void http_after_io(http_req *rq, void (*fn)(void *arg), void *arg);

/* True when the client connected from a loopback address (127.0.0.0/8 or ::1). */
bool http_peer_is_loopback(http_req *rq);
/* The address the client connected from (the socket's peer, never a forwarded-for header); false when unknown. */
bool http_peer_address(http_req *rq, netaddr *out);

/* Add a response header; name and value are copied. Up to HTTP_MAX_RESP_HEADERS per request. */
void http_add_header(http_req *rq, const char *name, const char *value);
/* Send the whole response: `body` must live until the request ends (static or arena-owned). Once per request;
 * later calls are ignored. */
void http_respond(http_req *rq, int status, const char *content_type, const char *body, size_t len);

#endif
