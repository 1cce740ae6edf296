/* engine.h - private to http/: the h2o-side state behind an http_req and an I/O thread. */
#ifndef COLONY_HTTP_ENGINE_H
#define COLONY_HTTP_ENGINE_H

#define H2O_USE_LIBUV 0
#include <h2o.h>
#include <pthread.h>
#include <stdatomic.h>

#include "base/pool.h"
#include "http/client.h"
#include "http/request.h"
#include "http/router.h"
#include "http/server.h"

typedef struct worker worker_t;

/* Links of the per-worker list of event subscribers (http/stream.c). */
typedef struct stream_link {
    struct stream_link *prev, *next;
} stream_link;

/* One accepted connection, tracked so that a drain can tell idle connections from busy ones. */
typedef struct conn_track {
    struct conn_track *prev, *next;
    h2o_socket_t *sock;
    worker_t *w;
    size_t mark;  /* sock->bytes_read when the connection last became idle */
    int inflight; /* requests handed to handlers and not answered yet */
    bool shut;
    bool upgraded; /* now a WebSocket: closed by its own close handshake, not by the drain */
} conn_track;

struct worker {
    int index;
    pthread_t tid;
    struct server *srv;
    h2o_evloop_t *loop;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    h2o_socket_t *listener;
    conn_track conns; /* list head */
    bool stopping;
    atomic_bool drained; /* no connection left (or the shutdown timeout passed) */
    int64_t deadline_ms;
    h2o_timeout_t drain_every; /* the drain's pace, once stopping (a loop timer, like all its socket work) */
    h2o_timeout_entry_t drain_tick;
    /* work other threads hand to this loop (responses, hand-overs): see engine_post */
    h2o_multithread_receiver_t tasks;
    /* live event subscribers of this thread (http/stream.c) */
    stream_link subs;
    _Atomic int nsubs;
    h2o_multithread_receiver_t stream_rx;
    h2o_multithread_message_t stream_msg;
    atomic_int stream_pending;
    h2o_timeout_t stream_linger; /* how long a closing subscriber may take to read what is in flight */
    h2o_timeout_t stream_ping;   /* between two pings of a keep-alive stream */
    struct http_client *client;    /* outbound calls made from this loop (http/client.c) */
};

struct server {
    const server_config *cfg;
    h2o_globalconf_t conf;
    router_t *router;
    int listen_fd;
    worker_t *workers;
    pool_t *pool;
    struct feed *feed; /* this node's tail of the event log (http/feed.c) */
    atomic_bool exit; /* the loops leave their run (after the drain and the pool's stop) */
    pthread_mutex_t ready_mu; /* loops count themselves in once set up */
    pthread_cond_t ready_cv;
    int ready;
    char **origins; /* parsed cors_origins */
    size_t norigins;
    bool any_origin;
};

/* The engine half of an http_req. Fields marked (loop) are touched only by the request's I/O thread. */
typedef struct {
    http_req pub;
    atomic_int refs;     /* h2o's (until it disposes the request) + every holder's */
    h2o_req_t *req;      /* (loop) NULL once h2o has disposed the request: the client is gone */
    worker_t *w;
    conn_track *conn;    /* (loop) NULL once the connection is gone */
    bool finished;       /* (loop) counted in metrics and the access log */
    pool_job job;
    int64_t start_ns;
    size_t route_index;  /* (size_t)-1 when unmatched */
    const char *origin;  /* allowed Origin to echo, or NULL */
    bool origin_listed;  /* that Origin is named in --cors-origins (not only admitted by "*") */
    struct {
        const char *name, *value;
    } headers[HTTP_MAX_RESP_HEADERS];
    int nheaders;
    /* the response, recorded by http_respond on any thread and written by the I/O thread */
    int status;
    const char *content_type, *body;
    size_t len;
} engine_req;

/* The I/O thread running now, or NULL on any other thread. */
worker_t *engine_current(void);
/* Run fn(arg) on w's loop, soon; from any thread. */
void engine_post(worker_t *w, void (*fn)(void *arg), void *arg);

/* Event subscribers of a worker (http/stream.c): set up with the worker, told to close when it stops, released
 * at the end; wake() may be called from any thread. */
void stream_worker_init(worker_t *w);
void stream_worker_stop(worker_t *w);
void stream_worker_dispose(worker_t *w);
void stream_worker_wake(void *w);


/* Record the end of a request: access log, metrics, connection state. (loop) */
void engine_finish(engine_req *e, int status, size_t bytes_out);

#endif
