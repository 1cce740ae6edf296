/* client.h - outbound HTTP/1.1 POST (or GET) on an event loop, built on h2o's asynchronous client: a call never blocks the
 * loop that carries it; its callback runs later with the status and the body (or a transport error).
 *
 * A client is bound to one loop: each I/O thread has one (http_req_client), whose calls may be made from any
 * thread and whose callbacks run on a worker of the server's pool, with that worker's context (so they may use
 * the database); a background thread can make its own (http_client_new + http_client_run), whose callbacks run on
 * that thread with a NULL context. Every call is bounded: a connect timeout, an idle timeout between reads
 * (h2o's I/O timeout), and a cap on the response body. Where a call may go is decided by the one outbound-address
 * policy (base/netaddr.h) on the address dialled: a numeric host before connecting, a name on every address it
 * resolves to (then the connection goes to that address, not to the name again), and the peer once connected. A
 * refused address ends the call with HTTP_CALL_REFUSED before a byte is sent, and is counted in
 * colony_outbound_refused_total{stage="dial"}. */
#ifndef COLONY_HTTP_CLIENT_H
#define COLONY_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/request.h"

typedef struct http_client http_client;

typedef enum {
    HTTP_CALL_OK,        /* a response arrived (any status) */
    HTTP_CALL_CONNECT,   /* refused, unresolvable, or the connect timeout passed */
    HTTP_CALL_TIMEOUT,   /* connected, but no byte within the idle timeout */
    HTTP_CALL_CLOSED,    /* the peer closed or reset the connection before the response was complete */
    HTTP_CALL_TOO_LARGE, /* the response body passed max_response */
    HTTP_CALL_REFUSED,   /* the URL or the address it reached is not one colony sends to */
    HTTP_CALL_CANCELLED, /* the client was shut down first */
} http_call_outcome;

typedef struct {
    http_call_outcome outcome;
    int status;        /* HTTP status when outcome is OK (or TOO_LARGE), else 0 */
    const char *body;  /* the response body, NUL-terminated; valid during the callback only */
    size_t body_len;
    const char *content_type; /* of the response ("" when none) */
    const char *content_disposition; /* of the response ("" when none, or longer than 512 bytes) */
    const char *error; /* a short description when outcome is not OK */
    int64_t duration_ms;
    int64_t retry_after_ms; /* what the response's Retry-After asked for (seconds or a date, from now); -1: none */
} http_call_result;

/* ctx: the pool worker's context, or NULL on a client of one's own, and when the server is stopping (the outcome is
 * then HTTP_CALL_CANCELLED). */
typedef void (*http_call_cb)(void *arg, void *ctx, const http_call_result *r);

typedef struct {
    const char *method;        /* "POST" (NULL) or "GET" (no body, no Content-Type) */
    const char *url;           /* http:// or https:// */
    const char *content_type;  /* e.g. "application/json" */
    const char *authorization; /* full header value, or NULL */
    const void *body;          /* copied at the call: the caller may free it at once */
    size_t body_len;
    size_t max_response;       /* 0: 64 MiB */
    bool brief;                /* a call to a service that answers at once (a chat provider's API): the client's
                                  brief idle timeout, not the one agents get while they think */
    /* May be NULL. Run at most once, with the callback's arg, on the client's loop when the call is still running
     * slow_after_ms after it started, or at once when the server begins to stop (`stopping`: http_client_hurry),
     * always before the callback, which runs later anyway; it must not block and must not touch the database. For
     * a waiter that stops waiting, not for the call, which goes on (until the stop cancels it). */
    void (*on_slow)(void *arg, bool stopping);
} http_call;

typedef struct {
    int64_t connect_timeout_ms; /* dial (and TLS handshake) */
    int64_t idle_timeout_ms;    /* no byte from the peer for this long ends the call */
    int64_t brief_idle_timeout_ms; /* the same for brief calls (0: HTTP_CLIENT_BRIEF_IDLE_MS) */
    int64_t slow_after_ms;      /* when calls that ask are told they are slow (http_call.on_slow); 0: never */
} http_client_limits;

enum { HTTP_CLIENT_BRIEF_IDLE_MS = 30000 };

/* POST `c->body` to `c->url`. The callback runs exactly once, later, possibly before this returns (on another
 * thread), so do everything the callback relies on before calling. Any thread for a worker's client. */
void http_client_post(http_client *cl, const http_call *c, http_call_cb cb, void *arg);

/* From inside a callback: the response body itself (NUL-terminated, r->body_len bytes), handed over so that a
 * relay keeps it without a second copy; the caller frees it. r->body must not be read afterwards. */
char *http_call_take_body(const http_call_result *r);

/* The client of the I/O thread serving rq (defined by the engine, request.c). */
http_client *http_req_client(http_req *rq);

/* A client on an existing h2o loop (the engine gives each I/O thread one), whose callbacks run on `pool`; made,
 * cancelled (every call in flight and later ones end with HTTP_CALL_CANCELLED) and detached on that loop's
 * thread. */
struct st_h2o_evloop_t;
struct st_h2o_multithread_queue_t;
struct pool;
http_client *http_client_attach(struct st_h2o_evloop_t *loop, struct st_h2o_multithread_queue_t *queue,
                                struct pool *pool);
void http_client_cancel(http_client *cl);
/* On the loop, when the server begins to stop: every call in flight that has an on_slow not yet run is told now
 * (stopping), and so is every one that starts later; the calls themselves go on until cancelled. Its waiters answer
 * their clients while the connections can still carry an answer. */
void http_client_hurry(http_client *cl);
void http_client_detach(http_client *cl);
/* Limits used by the workers' clients; set once before the server starts. */
void http_client_set_defaults(const http_client_limits *l);

/* A client with its own loop, for a background thread: http_client_run turns the loop for at most `max_wait_ms`.
 * http_client_free cancels calls still running (their callbacks see HTTP_CALL_CANCELLED). */
http_client *http_client_new(void);
void http_client_run(http_client *cl, int64_t max_wait_ms);
void http_client_free(http_client *cl);

#endif
