/* server.h - the HTTP engine: N I/O threads, each with its own h2o event loop, all accepting on one listening
 * socket, and a pool of worker threads (fast and slow lanes) that run the handlers which may block. The engine
 * knows nothing of databases: each pool thread gets a context from the ctx_open hook and hands it to the handlers
 * it runs (http_req.db). server_run blocks until SIGINT or SIGTERM, then drains: it stops accepting, lets
 * in-flight requests finish (bounded by shutdown_timeout_ms), closes every connection, stops the pool, and
 * returns. */
#ifndef COLONY_HTTP_SERVER_H
#define COLONY_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "http/request.h"

typedef struct {
    const char *listen;        /* "host:port" or "[v6]:port" */
    int threads;               /* I/O threads, >= 1 */
    size_t max_body;           /* request body limit in bytes (413 past it) */
    int shutdown_timeout_ms;   /* how long in-flight requests may take once a stop is asked */
    int pool_fast, pool_slow;  /* worker threads of each lane, >= 1 */
    /* The context of one pool thread (opened on it; NULL with err set refuses the start), its end, and what
     * runs after every job on that thread (may be NULL). */
    void *(*ctx_open)(void *arg, cl_error *err);
    void (*ctx_close)(void *ctx);
    void (*ctx_reset)(void *ctx);
    void *ctx_arg;
    const char *cors_origins;  /* comma-separated origins allowed cross-site; "*" allows any */
    bool access_log;           /* one line per request */
    const http_route *routes;  /* the route table (borrowed) */
    size_t nroutes;
    /* Before a matched route's handler: return false after answering (401/403…) to stop there. */
    bool (*guard)(http_req *rq);
    /* Answer an error (the one place that maps cl_err to status and body). */
    void (*reply_error)(http_req *rq, const cl_error *e);
    /* Render the JSON body of an error the engine itself raised (413 on a body too large…) into out. */
    size_t (*error_body)(char *out, size_t cap, int status, const char *message);
    /* Called once the socket is bound, before serving (e.g. to print the URL); may be NULL. */
    void (*on_listening)(const char *host, int port);
} server_config;

/* Serve until a stop signal. Returns 0 after a clean drain; non-zero when start-up failed (err says why). */
int server_run(const server_config *cfg, cl_error *err);

/* Resolve "host:port" into a bound, listening, non-blocking socket; the port actually bound is returned in
 * *port (useful with port 0). -1 with err set on failure. */
int server_listen(const char *spec, int *port, cl_error *err);

/* Reason phrase of an HTTP status ("Not Found"); "Unknown" when it has none. */
const char *http_reason(int status);

#endif
