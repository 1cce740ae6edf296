/* server.c - workers, accept, dispatch, CORS, the JSON face of engine-raised errors, and the drain on stop. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/id.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/thread.h"
#include "base/time.h"
#include "http/engine.h"
#include "http/feed.h"
#include "http/framing.h"
#include "http/http_metrics.h"

enum {
    LOOP_TICK_MS = 50,       /* how often a loop looks at the exit flag, and a draining one at its connections */
    HARD_STOP_MS = 1000,     /* connections cut at the deadline get this long to unwind */
    ACCEPT_BATCH = 32,       /* connections accepted per wake-up */
    LISTEN_BACKLOG = 4096,
    ERROR_BODY_MAX = 512,
};

const char *http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
    }
}

/* ---- listening ---------------------------------------------------------------------------------------------- */

int server_listen(const char *spec, int *port, cl_error *err)
{
    char host[256];
    const char *colon = strrchr(spec, ':');
    if (colon == NULL || colon[1] == '\0') {
        cl_fail(err, CL_INVALID, "listen address must be host:port, got \"%s\"", spec);
        return -1;
    }
    size_t hlen = (size_t)(colon - spec);
    if (hlen >= sizeof(host)) {
        cl_fail(err, CL_INVALID, "listen host too long");
        return -1;
    }
    memcpy(host, spec, hlen);
    host[hlen] = '\0';
    if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') { /* [::1]:8080 */
        memmove(host, host + 1, hlen - 2);
        host[hlen - 2] = '\0';
    }
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end != '\0' || p < 0 || p > 65535) {
        cl_fail(err, CL_INVALID, "invalid port in listen address \"%s\"", spec);
        return -1;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res;
    int rc = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &res);
    if (rc != 0) {
        cl_fail(err, CL_INVALID, "cannot resolve listen host \"%s\": %s", host, gai_strerror(rc));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int on = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
        cl_fail(err, CL_UNAVAILABLE, "cannot listen on %s: %s", spec, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    *port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                     : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

/* ---- connections -------------------------------------------------------------------------------------------- */

static void on_conn_close(void *data)
{
    conn_track *t = data;
    t->prev->next = t->next;
    t->next->prev = t->prev;
    metric_add(METRIC_HTTP_CONNECTIONS, -1);
    free(t);
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    worker_t *w = listener->data;
    if (err != NULL || w->stopping)
        return;
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
        if (sock == NULL)
            return;
        int on = 1;
        setsockopt(h2o_socket_get_fd(sock), IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
        conn_track *t = xcalloc(1, sizeof(*t));
        t->sock = sock;
        t->w = w;
        t->next = w->conns.next;
        t->prev = &w->conns;
        w->conns.next->prev = t;
        w->conns.next = t;
        sock->on_close.cb = on_conn_close;
        sock->on_close.data = t;
        metric_inc(METRIC_HTTP_CONNECTIONS);
        h2o_accept(&w->accept_ctx, sock);
    }
}

/* ---- handing work between threads --------------------------------------------------------------------------- */

static __thread worker_t *current_worker;

worker_t *engine_current(void) { return current_worker; }

typedef struct {
    h2o_multithread_message_t super; /* first: the receiver hands us this */
    void (*fn)(void *arg);
    void *arg;
} loop_task;

void engine_post(worker_t *w, void (*fn)(void *arg), void *arg)
{
    loop_task *t = xcalloc(1, sizeof(*t));
    t->fn = fn;
    t->arg = arg;
    h2o_multithread_send_message(&w->tasks, &t->super);
}

static void on_tasks(h2o_multithread_receiver_t *rx, h2o_linklist_t *messages)
{
    (void)rx;
    while (!h2o_linklist_is_empty(messages)) {
        loop_task *t = H2O_STRUCT_FROM_MEMBER(loop_task, super.link, messages->next);
        h2o_linklist_unlink(&t->super.link);
        t->fn(t->arg);
        free(t);
    }
}

/* ---- requests ----------------------------------------------------------------------------------------------- */

http_req *http_req_hold(http_req *rq)
{
    atomic_fetch_add(&((engine_req *)rq)->refs, 1);
    return rq;
}

void http_req_drop(http_req *rq)
{
    engine_req *e = (engine_req *)rq;
    if (atomic_fetch_sub(&e->refs, 1) == 1)
        arena_free(rq->arena); /* e lives in it */
}

/* h2o is done with the request (answered, or the connection went away first). */
static void on_req_disposed(void *p)
{
    engine_req *e = *(engine_req **)p;
    if (!e->finished && e->conn != NULL) /* gone before an answer: the connection no longer waits for it */
        e->conn->inflight--;
    if (!e->finished)
        metric_add(METRIC_HTTP_INFLIGHT, -1);
    e->finished = true;
    e->req = NULL;
    e->conn = NULL;
    http_req_drop(&e->pub);
}

static bool request_id_ok(const char *s, size_t n)
{
    if (n == 0 || n > HTTP_REQUEST_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.' || c == ':'))
            return false;
    }
    return true;
}

/* The Origin to echo, or NULL; *listed tells whether --cors-origins names it (rather than admitting it by "*").
 * "null" is never echoed: sandboxed frames and file: pages of any site send it, so it identifies no one. */
static const char *allowed_origin(struct server *s, h2o_req_t *req, arena_t *a, bool *listed)
{
    *listed = false;
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("origin"), -1);
    if (i < 0)
        return NULL;
    const h2o_iovec_t *o = &req->headers.entries[i].value;
    if (o->len == 0 || o->len > 255 || memchr(o->base, '\r', o->len) || memchr(o->base, '\n', o->len) ||
        (o->len == 4 && strncasecmp(o->base, "null", 4) == 0))
        return NULL;
    for (size_t k = 0; k < s->norigins; k++) {
        if (strlen(s->origins[k]) == o->len && strncasecmp(s->origins[k], o->base, o->len) == 0) {
            *listed = true;
            return arena_strndup(a, o->base, o->len);
        }
    }
    return s->any_origin ? arena_strndup(a, o->base, o->len) : NULL;
}

static void reply_err(http_req *rq, cl_err code, const char *msg, const char *arg)
{
    cl_error e;
    cl_fail(&e, code, "%s%s", msg, arg);
    ((engine_req *)rq)->w->srv->cfg->reply_error(rq, &e);
}

/* CORS preflight: answered before auth (browsers send no credentials here), with the methods the path accepts, or
 * every method for a path no route knows. */
static void preflight(engine_req *e, const char *allow)
{
    http_req *rq = &e->pub;
    if (e->origin == NULL) {
        reply_err(rq, CL_FORBIDDEN, "origin not allowed", "");
        return;
    }
    const char *req_headers = http_header(rq, "access-control-request-headers");
    http_add_header(rq, "access-control-allow-methods", allow[0] ? allow : "GET, POST, PUT, PATCH, DELETE");
    http_add_header(rq, "access-control-allow-headers",
                    req_headers && strlen(req_headers) < 1024 && !strpbrk(req_headers, "\r\n")
                        ? req_headers
                        : "Authorization, Content-Type, X-Request-Id, X-Workspace-ID, X-Confirm-Name, "
                          "X-Molecule-Org-Id, Last-Event-ID");
    http_add_header(rq, "access-control-max-age", "600");
    http_respond(rq, 204, NULL, "", 0);
}

/* The guard and the handler, on whatever thread runs them; a handler that neither answers nor defers is a bug. */
static void serve(engine_req *e)
{
    http_req *rq = &e->pub;
    const server_config *cfg = e->w->srv->cfg;
    if (cfg->guard == NULL || cfg->guard(rq))
        rq->route->fn(rq);
    if (!rq->deferred && !atomic_load(&rq->responded)) {
        log_error("handler returned without answering", "rid=%s route=\"%s\"", rq->request_id, rq->route->pattern);
        reply_err(rq, CL_INTERNAL, "internal error", "");
    }
}

static void run_pooled(void *ctx, pool_job *job)
{
    engine_req *e = H2O_STRUCT_FROM_MEMBER(engine_req, job, job);
    e->pub.db = ctx; /* borrowed for the handler; whoever continues a deferred request sets its own */
    serve(e);
    /* the thread's context is put back in shape before the request may be freed (by the loop, if it answered
     * already): nothing the handler left open may be released from another thread */
    if (e->w->srv->cfg->ctx_reset != NULL)
        e->w->srv->cfg->ctx_reset(ctx);
    http_req_drop(&e->pub);
}

static void cancel_pooled(pool_job *job)
{
    engine_req *e = H2O_STRUCT_FROM_MEMBER(engine_req, job, job);
    reply_err(&e->pub, CL_UNAVAILABLE, "server is shutting down; retry", "");
    http_req_drop(&e->pub);
}

/* Copy what a handler may read into the request's arena, so that no thread but this one touches h2o's memory. */
static void capture(engine_req *e, h2o_req_t *req, arena_t *a)
{
    http_req *rq = &e->pub;
    rq->method = arena_strndup(a, req->method.base, req->method.len);
    const char *p = req->path.base, *qm = memchr(p, '?', req->path.len);
    rq->path_len = qm ? (size_t)(qm - p) : req->path.len;
    rq->path = arena_strndup(a, p, rq->path_len);
    rq->query = qm ? arena_strndup(a, qm + 1, req->path.len - rq->path_len - 1) : "";
    rq->body = req->entity.base;
    rq->body_len = req->entity.base ? req->entity.len : 0;
    http_header_field *h = arena_calloc(a, req->headers.size + 2, sizeof(*h));
    size_t n = 0;
    for (size_t i = 0; i < req->headers.size; i++) {
        const h2o_header_t *src = &req->headers.entries[i];
        char *name = arena_strndup(a, src->name->base, src->name->len);
        for (char *c = name; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        h[n++] = (http_header_field){name, arena_strndup(a, src->value.base, src->value.len)};
    }
    if (req->upgrade.base != NULL) /* h2o keeps Upgrade out of the header list */
        h[n++] = (http_header_field){"upgrade", arena_strndup(a, req->upgrade.base, req->upgrade.len)};
    if (req->authority.base != NULL) /* and Host (the authority) */
        h[n++] = (http_header_field){"host", arena_strndup(a, req->authority.base, req->authority.len)};
    rq->headers = h;
    rq->nheaders = n;
    ssize_t rid = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-request-id"), -1);
    if (rid >= 0 && request_id_ok(req->headers.entries[rid].value.base, req->headers.entries[rid].value.len))
        snprintf(rq->request_id, sizeof(rq->request_id), "%.*s", (int)req->headers.entries[rid].value.len,
                 req->headers.entries[rid].value.base);
    else
        id_uuid4(rq->request_id);
    struct sockaddr_storage ss;
    socklen_t sl = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);
    snprintf(rq->peer, sizeof(rq->peer), "-");
    if (sl > 0) {
        h2o_socket_getnumerichost((struct sockaddr *)&ss, sl, rq->peer);
        rq->peer_known = netaddr_from_sockaddr((struct sockaddr *)&ss, &rq->peer_addr);
        if (ss.ss_family == AF_INET)
            rq->peer_loopback = (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127;
        else if (ss.ss_family == AF_INET6) { /* a dual-stack listener sees 127.0.0.1 as ::ffff:127.0.0.1 */
            const struct in6_addr *a6 = &((struct sockaddr_in6 *)&ss)->sin6_addr;
            rq->peer_loopback = IN6_IS_ADDR_LOOPBACK(a6) || (IN6_IS_ADDR_V4MAPPED(a6) && a6->s6_addr[12] == 127);
        }
    }
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    worker_t *w = H2O_STRUCT_FROM_MEMBER(worker_t, ctx, req->conn->ctx);
    struct server *s = w->srv;
    arena_t *a = arena_new();
    engine_req *e = arena_calloc(a, 1, sizeof(*e));
    atomic_init(&e->refs, 1); /* h2o's, dropped in on_req_disposed */
    *(engine_req **)h2o_mem_alloc_shared(&req->pool, sizeof(engine_req *), on_req_disposed) = e;
    http_req *rq = &e->pub;
    e->req = req;
    e->w = w;
    e->start_ns = time_mono_ns();
    e->route_index = (size_t)-1;
    h2o_socket_t *sock = req->conn->callbacks->get_socket ? req->conn->callbacks->get_socket(req->conn) : NULL;
    if (sock != NULL && sock->on_close.cb == on_conn_close) {
        e->conn = sock->on_close.data;
        e->conn->inflight++;
    }
    metric_inc(METRIC_HTTP_INFLIGHT);
    rq->arena = a;
    rq->engine = e;
    http_req_hold(rq); /* this function's, so that nothing below outlives an early answer */
    capture(e, req, a);
    e->origin = allowed_origin(s, req, a, &e->origin_listed);

    if (http_framing_refused(rq)) {
        http_req_drop(rq);
        return 0;
    }
    char allow[ROUTER_ALLOW_MAX];
    route_result r = router_match(s->router, rq->method, rq->path, rq->path_len, a, rq->params, &rq->nparams,
                                  &rq->route, &e->route_index, allow);
    bool options = strcmp(rq->method, "OPTIONS") == 0;
    /* a preflight of a path no route knows is answered too: the browser then sends the request and shows its real
     * 404, instead of reporting a failed preflight as a CORS error */
    if (options && (r == ROUTE_BAD_METHOD || (r == ROUTE_NOT_FOUND && http_header(rq, "access-control-request-method")))) {
        preflight(e, allow); /* an explicit OPTIONS route runs below */
    } else if (r == ROUTE_NOT_FOUND) {
        reply_err(rq, CL_NOT_FOUND, "no route for ", rq->path);
    } else if (r == ROUTE_BAD_METHOD) {
        http_add_header(rq, "allow", allow);
        reply_err(rq, CL_METHOD_NOT_ALLOWED, "method not allowed; allowed: ", allow);
    } else if (rq->route->lane == HTTP_LANE_LOOP) {
        serve(e);
    } else {
        e->job.fn = run_pooled;
        e->job.cancel = cancel_pooled;
        pool_submit(s->pool, rq->route->lane == HTTP_LANE_SLOW ? POOL_SLOW : POOL_FAST, &e->job);
        return 0; /* the hold goes with the job */
    }
    http_req_drop(rq);
    return 0;
}

/* ---- errors h2o raises itself (413 while reading a body, 400 on a broken chunk…) become JSON -------------------- */

typedef struct {
    h2o_ostream_t super;
    h2o_iovec_t body;
} json_error_ostream;

static void json_error_do_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs, size_t n, h2o_send_state_t st)
{
    (void)bufs, (void)n;
    json_error_ostream *o = (json_error_ostream *)self;
    if (h2o_send_state_is_in_progress(st)) {
        h2o_ostream_send_next(self, req, NULL, 0, st);
        return;
    }
    h2o_ostream_send_next(self, req, &o->body, 1, st);
}

static void json_error_setup(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    ssize_t ct = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1);
    bool ours = ct >= 0 && req->res.headers.entries[ct].value.len >= 16 &&
                memcmp(req->res.headers.entries[ct].value.base, "application/json", 16) == 0;
    if (req->res.status >= 400 && !ours) {
        worker_t *w = H2O_STRUCT_FROM_MEMBER(worker_t, ctx, req->conn->ctx);
        char body[ERROR_BODY_MAX];
        const char *msg = req->res.status == 413 ? "request body too large" : http_reason(req->res.status);
        size_t len = w->srv->cfg->error_body(body, sizeof(body), req->res.status, msg);
        json_error_ostream *o = (void *)h2o_add_ostream(req, sizeof(*o), slot);
        o->super.do_send = json_error_do_send;
        o->body = h2o_strdup(&req->pool, body, len);
        req->res.content_length = len;
        h2o_set_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, H2O_STRLIT("application/json"), 1);
        http_metrics_observe((size_t)-1, req->res.status, 0);
        log_info("request rejected by the engine", "status=%d", req->res.status);
        slot = &o->super.next;
    }
    h2o_setup_next_ostream(req, slot);
}

/* ---- workers ------------------------------------------------------------------------------------------------ */

static void begin_stop(worker_t *w)
{
    w->stopping = true;
    w->deadline_ms = time_mono_ms() + w->srv->cfg->shutdown_timeout_ms;
    if (w->listener != NULL) {
        h2o_socket_read_stop(w->listener);
        h2o_socket_close(w->listener);
        w->listener = NULL;
    }
    h2o_context_request_shutdown(&w->ctx);
    stream_worker_stop(w); /* WebSockets get a close frame, event streams their end */
    http_client_hurry(w->client); /* a request waiting for an agent answers now, while its connection lives */
}

/* Close idle connections; true once none is left. Past the deadline busy ones are cut too. */
static bool drain(worker_t *w)
{
    bool late = time_mono_ms() > w->deadline_ms;
    for (conn_track *t = w->conns.next; t != &w->conns; t = t->next) {
        bool idle = !t->upgraded && t->inflight == 0 && t->sock->bytes_read == t->mark;
        if (!t->shut && (idle || late)) {
            shutdown(h2o_socket_get_fd(t->sock), SHUT_RDWR); /* h2o sees EOF and closes it in its own time */
            t->shut = true;
        }
    }
    return w->conns.next == &w->conns;
}

/* One step of the drain; the next one follows LOOP_TICK_MS later until no connection is left, or until the cut
 * connections have had HARD_STOP_MS past the deadline to unwind. */
static void drain_step(worker_t *w)
{
    bool done = drain(w);
    if (!done && time_mono_ms() > w->deadline_ms + HARD_STOP_MS) {
        log_warn("connections still open after the shutdown timeout", "worker=%d", w->index);
        done = true;
    }
    if (!done) {
        h2o_timeout_link(w->loop, &w->drain_every, &w->drain_tick);
        return;
    }
    http_client_cancel(w->client);
    atomic_store(&w->drained, true);
}

static void on_drain_tick(h2o_timeout_entry_t *entry)
{
    drain_step(H2O_STRUCT_FROM_MEMBER(worker_t, drain_tick, entry));
}

/* The stop, a task on the loop (engine_post) so that its writes and closes happen inside h2o's callbacks: a close
 * frame written between two h2o_evloop_run calls, where the stop once ran, could leave h2o polling the socket for
 * a write already finished, and the next EPOLLOUT failed h2o's assertion in write_pending (ARCHITECTURE.md,
 * Threads). */
static void stop_on_loop(void *arg)
{
    worker_t *w = arg;
    begin_stop(w);
    drain_step(w);
}

/* h2o keeps up to 16 freed socket buffers per thread for reuse; they die with the thread unless handed back. */
static void release_socket_buffers(void)
{
    h2o_mem_recycle_t *r = &h2o_socket_buffer_prototype.allocator;
    while (r->cnt > 0) {
        void *chunk = h2o_mem_alloc_recycle(r, 0);
        free(chunk);
    }
}

/* Everything of a loop is made and unmade by its own thread: h2o ties socket buffers (and the recycling of their
 * memory) to the thread that creates a socket, the multithread queue's socket included. */
static void setup_worker(worker_t *w)
{
    struct server *s = w->srv;
    w->loop = h2o_evloop_create();
    h2o_context_init(&w->ctx, w->loop, &s->conf);
    h2o_multithread_register_receiver(w->ctx.queue, &w->tasks, on_tasks);
    w->accept_ctx.ctx = &w->ctx;
    w->accept_ctx.hosts = s->conf.hosts;
    int fd = dup(s->listen_fd); /* each loop owns its handle on the one listening socket */
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    w->listener = h2o_evloop_socket_create(w->loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    w->listener->data = w;
    h2o_socket_read_start(w->listener, on_accept);
    stream_worker_init(w);
    w->client = http_client_attach(w->loop, w->ctx.queue, s->pool);
    h2o_timeout_init(w->loop, &w->drain_every, LOOP_TICK_MS);
    w->drain_tick.cb = on_drain_tick;
}

static void dispose_worker(worker_t *w)
{
    h2o_evloop_run(w->loop, 0); /* answers posted while the loop was exiting */
    if (w->listener != NULL)
        h2o_socket_close(w->listener);
    stream_worker_dispose(w);
    http_client_detach(w->client);
    if (h2o_timeout_is_linked(&w->drain_tick))
        h2o_timeout_unlink(&w->drain_tick);
    h2o_timeout_dispose(w->loop, &w->drain_every);
    /* h2o's HTTP/2 half arms a one-second GOAWAY timer on shutdown even with no HTTP/2 connection */
    if (h2o_timeout_is_linked(&w->ctx.http2._graceful_shutdown_timeout))
        h2o_timeout_unlink(&w->ctx.http2._graceful_shutdown_timeout);
    h2o_multithread_unregister_receiver(w->ctx.queue, &w->tasks);
    h2o_multithread_queue_t *queue = w->ctx.queue;
    h2o_context_dispose(&w->ctx);
    h2o_evloop_destroy(w->loop);
    free(queue); /* h2o 2.2's h2o_multithread_destroy_queue closes the queue but never frees it */
    release_socket_buffers();
}

/* A loop turns until the server asks it to exit: after it has drained, it still runs the answers the pool posts
 * while the pool stops. Nothing here touches h2o between two runs: the stop comes as a task (stop_on_loop). */
static void *worker_main(void *arg)
{
    worker_t *w = arg;
    struct server *s = w->srv;
    current_worker = w;
    setup_worker(w);
    pthread_mutex_lock(&s->ready_mu);
    s->ready++;
    pthread_cond_signal(&s->ready_cv);
    pthread_mutex_unlock(&s->ready_mu);
    while (!atomic_load(&s->exit))
        h2o_evloop_run(w->loop, LOOP_TICK_MS);
    dispose_worker(w);
    current_worker = NULL;
    return NULL;
}

static bool parse_origins(struct server *s, const char *list)
{
    if (list == NULL)
        return true;
    char *copy = xstrdup(list), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        size_t n = strlen(tok);
        while (n > 0 && tok[n - 1] == ' ')
            tok[--n] = '\0';
        if (n == 0)
            continue;
        if (strcmp(tok, "*") == 0) {
            s->any_origin = true;
            continue;
        }
        s->origins = xrealloc(s->origins, (s->norigins + 1) * sizeof(char *));
        s->origins[s->norigins++] = xstrdup(tok);
    }
    free(copy);
    return true;
}

static void free_server(struct server *s)
{
    for (size_t i = 0; i < s->norigins; i++)
        free(s->origins[i]);
    free(s->origins);
    router_free(s->router);
    http_metrics_free();
    h2o_config_dispose(&s->conf);
    free(s->workers);
}

static void wake_streams(void *arg, int index)
{
    struct server *s = arg;
    for (int i = 0; i < s->cfg->threads; i++)
        if (index < 0 || index == i)
            stream_worker_wake(&s->workers[i]);
}

/* Release the loops (their threads have ended, or never started) and what hangs off them. */
int server_run(const server_config *cfg, cl_error *err)
{
    struct server s = {.cfg = cfg, .listen_fd = -1, .ready_mu = PTHREAD_MUTEX_INITIALIZER,
                       .ready_cv = PTHREAD_COND_INITIALIZER};
    atomic_init(&s.exit, false);
    parse_origins(&s, cfg->cors_origins);
    if ((s.router = router_new(cfg->routes, cfg->nroutes)) == NULL) {
        cl_fail(err, CL_INTERNAL, "invalid route table");
        free_server(&s);
        return 1;
    }
    http_metrics_init(s.router);

    h2o_config_init(&s.conf);
    s.conf.max_request_entity_size = cfg->max_body;
    s.conf.http1.upgrade_to_http2 = 0;
    s.conf.server_name = h2o_iovec_init(H2O_STRLIT("colony"));
    h2o_hostconf_t *host = h2o_config_register_host(&s.conf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    h2o_create_handler(path, sizeof(h2o_handler_t))->on_req = on_req;
    h2o_create_filter(path, sizeof(h2o_filter_t))->on_setup_ostream = json_error_setup;
    h2o_create_filter(&host->fallback_path, sizeof(h2o_filter_t))->on_setup_ostream = json_error_setup;

    /* Block the stop signals before any thread starts so that only sigwait below sees them. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    int port = 0;
    if ((s.listen_fd = server_listen(cfg->listen, &port, err)) < 0) {
        free_server(&s);
        return 1;
    }
    pool_config pc = {{cfg->pool_fast, cfg->pool_slow}, cfg->ctx_open, cfg->ctx_close, cfg->ctx_reset, cfg->ctx_arg};
    if ((s.pool = pool_start(&pc, err)) == NULL) {
        close(s.listen_fd);
        free_server(&s);
        return 1;
    }
    s.workers = xcalloc((size_t)cfg->threads, sizeof(worker_t));
    for (int i = 0; i < cfg->threads; i++) {
        s.workers[i].index = i;
        s.workers[i].srv = &s;
        s.workers[i].conns.next = s.workers[i].conns.prev = &s.workers[i].conns;
    }
    /* the feed first: a loop may take subscribers as soon as it runs (waking a loop without any is a no-op) */
    if (stream_config_get()->read != NULL) {
        feed_config fc = {cfg->ctx_open, cfg->ctx_close, cfg->ctx_reset, cfg->ctx_arg, wake_streams, &s};
        s.feed = feed_start(&fc, err);
    } else {
        s.feed = feed_new(0);
    }
    if (s.feed == NULL) {
        pool_stop(s.pool);
        pool_free(s.pool);
        close(s.listen_fd);
        free_server(&s);
        return 1;
    }
    for (int i = 0; i < cfg->threads; i++)
        thread_start_quiet(&s.workers[i].tid, worker_main, &s.workers[i]);
    pthread_mutex_lock(&s.ready_mu);
    while (s.ready < cfg->threads)
        pthread_cond_wait(&s.ready_cv, &s.ready_mu);
    pthread_mutex_unlock(&s.ready_mu);
    if (cfg->on_listening != NULL) {
        char host_only[256];
        const char *colon = strrchr(cfg->listen, ':');
        snprintf(host_only, sizeof(host_only), "%.*s", (int)(colon - cfg->listen), cfg->listen);
        cfg->on_listening(host_only, port);
    }
    log_info("serving", "listen=%s port=%d threads=%d pool_fast=%d pool_slow=%d max_body=%zu", cfg->listen, port,
             cfg->threads, cfg->pool_fast, cfg->pool_slow, cfg->max_body);
    int sig = 0;
    sigwait(&sigs, &sig);
    log_info("stopping", "signal=%s in_flight=%lld", sig == SIGINT ? "SIGINT" : "SIGTERM",
             (long long)metric_get(METRIC_HTTP_INFLIGHT));
    for (int i = 0; i < cfg->threads; i++)
        engine_post(&s.workers[i], stop_on_loop, &s.workers[i]);
    for (bool all = false; !all;) { /* the pool keeps serving what is in flight while the loops drain */
        all = true;
        for (int i = 0; i < cfg->threads; i++)
            all = all && atomic_load(&s.workers[i].drained);
        if (!all)
            usleep(10 * 1000);
    }
    if (stream_config_get()->read != NULL)
        feed_stop(s.feed);
    else
        feed_free(s.feed);
    s.feed = NULL;
    pool_stop(s.pool); /* what is still queued is answered 503 by the loops, which still run */
    atomic_store(&s.exit, true);
    for (int i = 0; i < cfg->threads; i++)
        pthread_join(s.workers[i].tid, NULL);
    pool_free(s.pool); /* only now: a loop may still have handed it a job (which a stopped pool cancels) */
    s.pool = NULL;
    close(s.listen_fd);
    free_server(&s);
    log_info("stopped", "clean=true");
    return 0;
}
