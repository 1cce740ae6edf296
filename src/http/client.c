/* client.c - see client.h. One `call` per POST: it owns a copy of the request bytes and the response buffer, and is
 * linked into its client's list until its callback has run, so that a shutdown can cancel what is still in flight. */
#include "http/client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/time.h"
#include "http/engine.h"

enum { CLIENT_MAX_RESPONSE_DEFAULT = 64 << 20 };

typedef struct call call;

struct http_client {
    h2o_loop_t *loop;
    bool own_loop;
    bool closed;                    /* detached: new calls are cancelled at once */
    pool_t *pool;                   /* where callbacks run (NULL: on the loop) */
    h2o_multithread_queue_t *queue; /* own loop only: where the resolver threads answer */
    h2o_multithread_receiver_t getaddr_rx;
    h2o_multithread_receiver_t post_rx; /* calls handed over by other threads */
    h2o_http1client_ctx_t ctx;
    h2o_timeout_t io_timeout, connect_timeout;
    SSL_CTX *ssl;
    call *calls; /* in flight */
};

struct call {
    h2o_multithread_message_t msg; /* first: how a call reaches the loop from another thread */
    pool_job job;                  /* how its result reaches the pool */
    call *prev, *next;
    http_client *cl;
    h2o_http1client_t *h; /* NULL once h2o is done with it */
    h2o_timeout_entry_t connect_timer;
    char *url, *head;
    void *body;
    h2o_iovec_t reqbufs[2];
    buf_t resp;
    int status;
    char content_type[128];
    int64_t start_ms;
    http_call_cb cb;
    void *arg;
    http_call_result result;
    bool started;
};

static http_client_limits defaults = {10000, 30 * 60 * 1000};

void http_client_set_defaults(const http_client_limits *l) { defaults = *l; }

/* ---- lifetime of a call ------------------------------------------------------------------------------------- */

static void release(call *c)
{
    buf_free(&c->resp);
    free(c->url);
    free(c->head);
    free(c->body);
    free(c);
}

static void deliver_pooled(void *ctx, pool_job *job)
{
    call *c = H2O_STRUCT_FROM_MEMBER(call, job, job);
    c->cb(c->arg, ctx, &c->result);
    release(c);
}

static void deliver_cancelled(pool_job *job)
{
    call *c = H2O_STRUCT_FROM_MEMBER(call, job, job);
    c->result.outcome = HTTP_CALL_CANCELLED;
    c->result.status = 0;
    c->result.error = "shutting down";
    c->cb(c->arg, NULL, &c->result);
    release(c);
}

/* The call is over: off the list, and its callback on its way (on the pool, or here). */
static void finish(call *c, http_call_outcome outcome, const char *error)
{
    if (h2o_timeout_is_linked(&c->connect_timer))
        h2o_timeout_unlink(&c->connect_timer);
    if (c->started) {
        if (c->prev)
            c->prev->next = c->next;
        else
            c->cl->calls = c->next;
        if (c->next)
            c->next->prev = c->prev;
    }
    c->result = (http_call_result){outcome, c->status, c->resp.data ? c->resp.data : "", c->resp.len,
                                   c->content_type, error, time_mono_ms() - c->start_ms};
    if (outcome != HTTP_CALL_OK && outcome != HTTP_CALL_TOO_LARGE)
        c->result.status = 0;
    if (c->cl->pool != NULL) {
        c->job.fn = deliver_pooled;
        c->job.cancel = deliver_cancelled;
        pool_submit(c->cl->pool, POOL_FAST, &c->job);
        return;
    }
    c->cb(c->arg, NULL, &c->result);
    release(c);
}

/* A failure raised by h2o itself: h2o closes its client after the callback returns. */
static http_call_outcome classify(const char *errstr)
{
    if (strcmp(errstr, "I/O timeout") == 0)
        return HTTP_CALL_TIMEOUT;
    return HTTP_CALL_CLOSED;
}

/* ---- where a connection may go ------------------------------------------------------------------------------ */

/* The address the socket reached: never link-local (cloud metadata lives at 169.254.169.254), unspecified,
 * multicast or broadcast, whatever name led there. Loopback and private ranges are judged on the URL (register
 * time): a name that resolves there was accepted then. */
static bool peer_allowed(h2o_socket_t *sock)
{
    struct sockaddr_storage ss;
    socklen_t sl = h2o_socket_getpeername(sock, (struct sockaddr *)&ss);
    if (sl == 0)
        return false;
    if (ss.ss_family == AF_INET6) {
        const struct in6_addr *a6 = &((struct sockaddr_in6 *)&ss)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a6)) {
            struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
            uint32_t raw;
            memcpy(&raw, &a6->s6_addr[12], 4);
            v4->sin_family = AF_INET;
            v4->sin_addr.s_addr = raw;
        } else {
            return !(IN6_IS_ADDR_UNSPECIFIED(a6) || IN6_IS_ADDR_LINKLOCAL(a6) || IN6_IS_ADDR_MULTICAST(a6));
        }
    }
    if (ss.ss_family != AF_INET)
        return false;
    uint32_t ip = ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr);
    return !((ip >> 24) == 0 || (ip >> 16) == 0xA9FE || (ip >> 28) == 0xE || ip == 0xFFFFFFFFu);
}

/* ---- h2o callbacks ------------------------------------------------------------------------------------------ */

static int on_body(h2o_http1client_t *h, const char *errstr)
{
    call *c = h->data;
    h2o_buffer_t *in = h->sock->input;
    if (in->size > 0) {
        bool fit = buf_append(&c->resp, in->bytes, in->size);
        h2o_buffer_consume(&h->sock->input, in->size);
        if (!fit) {
            c->h = NULL;
            finish(c, HTTP_CALL_TOO_LARGE, "response body too large");
            return -1;
        }
    }
    if (errstr == NULL)
        return 0;
    c->h = NULL;
    if (errstr == h2o_http1client_error_is_eos)
        finish(c, HTTP_CALL_OK, NULL);
    else
        finish(c, classify(errstr), errstr);
    return -1;
}

static h2o_http1client_body_cb on_head(h2o_http1client_t *h, const char *errstr, int minor, int status, h2o_iovec_t msg,
                                       h2o_header_t *headers, size_t nheaders, int rlen)
{
    (void)minor, (void)msg, (void)rlen;
    call *c = h->data;
    for (size_t i = 0; errstr == NULL && i < nheaders; i++)
        if (headers[i].name == &H2O_TOKEN_CONTENT_TYPE->buf && headers[i].value.len < sizeof(c->content_type))
            snprintf(c->content_type, sizeof(c->content_type), "%.*s", (int)headers[i].value.len,
                     headers[i].value.base);
    if (errstr != NULL && errstr != h2o_http1client_error_is_eos) {
        c->h = NULL;
        finish(c, classify(errstr), errstr);
        return NULL;
    }
    c->status = status;
    if (errstr == h2o_http1client_error_is_eos) { /* no body (204, 304) */
        c->h = NULL;
        finish(c, HTTP_CALL_OK, NULL);
        return NULL;
    }
    return on_body;
}

static h2o_http1client_head_cb on_connect(h2o_http1client_t *h, const char *errstr, h2o_iovec_t **reqbufs,
                                          size_t *reqbufcnt, int *method_is_head)
{
    call *c = h->data;
    if (errstr != NULL) {
        c->h = NULL;
        finish(c, HTTP_CALL_CONNECT, errstr);
        return NULL;
    }
    h2o_timeout_unlink(&c->connect_timer);
    if (!peer_allowed(h->sock)) {
        c->h = NULL;
        finish(c, HTTP_CALL_REFUSED, "the agent's address is not one colony sends to");
        return NULL;
    }
    *reqbufs = c->reqbufs;
    *reqbufcnt = c->reqbufs[1].len ? 2 : 1;
    *method_is_head = 0;
    return on_head;
}

static void on_connect_timeout(h2o_timeout_entry_t *entry)
{
    call *c = H2O_STRUCT_FROM_MEMBER(call, connect_timer, entry);
    h2o_http1client_t *h = c->h;
    c->h = NULL;
    if (h != NULL)
        h2o_http1client_cancel(h);
    finish(c, HTTP_CALL_CONNECT, "connection timeout");
}

/* A failure known before any I/O still answers later, from the loop, as the contract of http_client_post says. */
static void on_refused_now(h2o_timeout_entry_t *entry)
{
    call *c = H2O_STRUCT_FROM_MEMBER(call, connect_timer, entry);
    finish(c, HTTP_CALL_REFUSED, "unsupported or malformed URL");
}

/* ---- the public face ---------------------------------------------------------------------------------------- */

/* On the client's loop: dial, or fail now. */
static void start(call *c)
{
    http_client *cl = c->cl;
    c->started = true;
    c->next = cl->calls;
    if (cl->calls)
        cl->calls->prev = c;
    cl->calls = c;
    if (cl->closed) {
        finish(c, HTTP_CALL_CANCELLED, "shutting down");
        return;
    }
    h2o_url_t u;
    bool ok = c->head != NULL && h2o_url_parse(c->url, strlen(c->url), &u) == 0;
    if (!ok) {
        c->connect_timer.cb = on_refused_now;
        h2o_timeout_link(cl->loop, &cl->connect_timeout, &c->connect_timer);
        return;
    }
    c->connect_timer.cb = on_connect_timeout;
    h2o_timeout_link(cl->loop, &cl->connect_timeout, &c->connect_timer);
    h2o_http1client_connect(&c->h, c, &cl->ctx, u.host, h2o_url_get_port(&u), u.scheme == &H2O_URL_SCHEME_HTTPS,
                            on_connect);
}

static void on_posted(h2o_multithread_receiver_t *rx, h2o_linklist_t *messages)
{
    (void)rx;
    while (!h2o_linklist_is_empty(messages)) {
        call *c = H2O_STRUCT_FROM_MEMBER(call, msg.link, messages->next);
        h2o_linklist_unlink(&c->msg.link);
        start(c);
    }
}

void http_client_post(http_client *cl, const http_call *in, http_call_cb cb, void *arg)
{
    call *c = xcalloc(1, sizeof(*c));
    c->cl = cl;
    c->cb = cb;
    c->arg = arg;
    c->start_ms = time_mono_ms();
    buf_init(&c->resp, in->max_response ? in->max_response : CLIENT_MAX_RESPONSE_DEFAULT);
    c->url = xstrdup(in->url);
    /* the request bytes are made here, on the caller's thread; the loop only dials */
    h2o_url_t u;
    bool ok = h2o_url_parse(c->url, strlen(c->url), &u) == 0 && u.host.len > 0 &&
              (u.scheme == &H2O_URL_SCHEME_HTTP || u.scheme == &H2O_URL_SCHEME_HTTPS) &&
              !memchr(u.path.base, '\r', u.path.len) && !memchr(u.path.base, '\n', u.path.len);
    size_t hl = 0;
    if (ok) {
        buf_t head = BUF_INIT(16384);
        ok = buf_printf(&head, "POST %.*s HTTP/1.1\r\nHost: %.*s\r\nUser-Agent: colony\r\nConnection: close\r\n"
                               "Content-Type: %s\r\nContent-Length: %zu\r\n",
                        (int)u.path.len, u.path.base, (int)u.authority.len, u.authority.base,
                        in->content_type ? in->content_type : "application/octet-stream", in->body_len);
        if (in->authorization)
            ok = ok && buf_printf(&head, "Authorization: %s\r\n", in->authorization);
        ok = ok && buf_puts(&head, "\r\n");
        c->head = buf_steal(&head, &hl);
        if (!ok) {
            free(c->head);
            c->head = NULL;
        }
    }
    if (ok) {
        c->body = xmalloc(in->body_len ? in->body_len : 1);
        if (in->body_len)
            memcpy(c->body, in->body, in->body_len);
        c->reqbufs[0] = h2o_iovec_init(c->head, hl);
        c->reqbufs[1] = h2o_iovec_init(c->body, in->body_len);
    }
    h2o_multithread_send_message(&cl->post_rx, &c->msg);
}

static http_client *client_new(h2o_loop_t *loop, h2o_multithread_queue_t *queue, pool_t *pool)
{
    http_client *cl = xcalloc(1, sizeof(*cl));
    cl->loop = loop;
    cl->pool = pool;
    h2o_timeout_init(loop, &cl->io_timeout, (uint64_t)defaults.idle_timeout_ms);
    h2o_timeout_init(loop, &cl->connect_timeout, (uint64_t)defaults.connect_timeout_ms);
    cl->ssl = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_default_verify_paths(cl->ssl);
    SSL_CTX_set_verify(cl->ssl, SSL_VERIFY_PEER, NULL);
    cl->ctx.loop = loop;
    cl->ctx.io_timeout = &cl->io_timeout;
    cl->ctx.ssl_ctx = cl->ssl;
    h2o_multithread_register_receiver(queue, &cl->getaddr_rx, h2o_hostinfo_getaddr_receiver);
    cl->ctx.getaddr_receiver = &cl->getaddr_rx;
    h2o_multithread_register_receiver(queue, &cl->post_rx, on_posted);
    cl->queue = queue;
    return cl;
}

http_client *engine_client_attach(h2o_loop_t *loop, h2o_multithread_queue_t *queue, pool_t *pool)
{
    return client_new(loop, queue, pool);
}

/* On the loop: cancel what is in flight; calls handed over later are cancelled as they arrive. */
static void cancel_all(http_client *cl)
{
    cl->closed = true;
    while (cl->calls != NULL) {
        call *c = cl->calls;
        h2o_http1client_t *h = c->h;
        c->h = NULL;
        if (h != NULL)
            h2o_http1client_cancel(h);
        finish(c, HTTP_CALL_CANCELLED, "shutting down");
    }
}

void engine_client_detach(http_client *cl)
{
    cancel_all(cl);
    h2o_multithread_unregister_receiver(cl->queue, &cl->getaddr_rx);
    h2o_multithread_unregister_receiver(cl->queue, &cl->post_rx);
    h2o_timeout_dispose(cl->loop, &cl->io_timeout);
    h2o_timeout_dispose(cl->loop, &cl->connect_timeout);
    SSL_CTX_free(cl->ssl);
    if (!cl->own_loop)
        free(cl);
}

void engine_client_cancel(http_client *cl) { cancel_all(cl); }

http_client *http_req_client(http_req *rq) { return ((engine_req *)rq)->w->client; }

http_client *http_client_new(void)
{
    h2o_evloop_t *loop = h2o_evloop_create();
    http_client *cl = client_new(loop, h2o_multithread_create_queue(loop), NULL);
    cl->own_loop = true;
    return cl;
}

void http_client_run(http_client *cl, int64_t max_wait_ms)
{
    h2o_evloop_run(cl->loop, (int32_t)(max_wait_ms < 0 ? 0 : max_wait_ms > 60000 ? 60000 : max_wait_ms));
}

void http_client_free(http_client *cl)
{
    if (cl == NULL)
        return;
    h2o_multithread_queue_t *q = cl->queue;
    h2o_loop_t *loop = cl->loop;
    engine_client_detach(cl);
    h2o_multithread_destroy_queue(q);
    h2o_evloop_destroy(loop);
    free(q); /* h2o 2.2's destroy closes the queue but never frees it */
    free(cl);
}
