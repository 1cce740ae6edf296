/* client.c - see client.h. One `call` per POST: it owns a copy of the request bytes and the response buffer, and is
 * linked into its client's list until its callback has run, so that a shutdown can cancel what is still in flight. */
#include "http/client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/metrics.h"
#include "base/netaddr.h"
#include "base/time.h"
#define H2O_USE_LIBUV 0
#include <h2o.h>

#include "base/pool.h"

enum { CLIENT_MAX_RESPONSE_DEFAULT = 64 << 20 };

typedef struct call call;

struct http_client {
    h2o_loop_t *loop;
    bool own_loop;
    bool closed;                    /* cancelled: new calls end at once */
    bool hurried;                   /* the server is stopping: waiters are told at once (http_client_hurry) */
    pool_t *pool;                   /* where callbacks run (NULL: on the loop) */
    h2o_multithread_queue_t *queue; /* where the resolver threads and other threads reach the loop */
    h2o_multithread_receiver_t getaddr_rx;
    h2o_multithread_receiver_t post_rx; /* calls handed over by other threads */
    h2o_http1client_ctx_t ctx, brief_ctx; /* the second for brief calls: the same, with the brief idle timeout */
    h2o_timeout_t io_timeout, brief_timeout, connect_timeout, slow_timeout;
    SSL_CTX *ssl;
    call *calls;    /* in flight */
    call *dialling; /* the call inside h2o_http1client_connect, until it returns or the call finishes */
};

struct call {
    h2o_multithread_message_t msg; /* first: how a call reaches the loop from another thread */
    pool_job job;                  /* how its result reaches the pool */
    call *prev, *next;
    http_client *cl;
    h2o_http1client_t *h; /* NULL once h2o is done with it */
    h2o_hostinfo_getaddr_req_t *getaddr; /* resolving the host name, until it answers */
    h2o_timeout_entry_t connect_timer;
    h2o_timeout_entry_t slow_timer;
    void (*on_slow)(void *arg, bool stopping);
    char *url, *head;
    h2o_iovec_t name; /* the host as the URL names it (into url; IPv6 without brackets) */
    uint16_t port;
    bool tls;
    netaddr_host_kind kind; /* of the URL's host, judged on the loop */
    netaddr addr;           /* when numeric */
    void *body;
    h2o_iovec_t reqbufs[2];
    buf_t resp;
    int status;
    bool brief;
    char content_type[128];
    char content_disposition[512];
    char retry_after[64]; /* the response's Retry-After, "" when none (or too long to be one) */
    int64_t start_ms;
    http_call_cb cb;
    void *arg;
    http_call_result result;
    bool started; /* linked into the client's list */
};

static http_client_limits defaults = {10000, 30 * 60 * 1000, HTTP_CLIENT_BRIEF_IDLE_MS, 0};

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
    if (h2o_timeout_is_linked(&c->slow_timer))
        h2o_timeout_unlink(&c->slow_timer);
    if (c->getaddr != NULL)
        h2o_hostinfo_getaddr_cancel(c->getaddr);
    if (c->cl->dialling == c)
        c->cl->dialling = NULL;
    if (c->started) {
        if (c->prev)
            c->prev->next = c->next;
        else
            c->cl->calls = c->next;
        if (c->next)
            c->next->prev = c->prev;
    }
    c->result = (http_call_result){outcome, c->status, c->resp.data ? c->resp.data : "", c->resp.len,
                                   c->content_type, c->content_disposition, error, time_mono_ms() - c->start_ms, -1};
    if (outcome != HTTP_CALL_OK && outcome != HTTP_CALL_TOO_LARGE)
        c->result.status = 0;
    else if (c->retry_after[0] != '\0' &&
             !time_retry_after_ms(c->retry_after, strlen(c->retry_after), time_now_ms(), &c->result.retry_after_ms))
        c->result.retry_after_ms = -1;
    if (c->cl->pool != NULL) {
        c->job.fn = deliver_pooled;
        c->job.cancel = deliver_cancelled;
        pool_submit(c->cl->pool, POOL_FAST, &c->job);
        return;
    }
    c->cb(c->arg, NULL, &c->result);
    release(c);
}

char *http_call_take_body(const http_call_result *r)
{
    call *c = H2O_STRUCT_FROM_MEMBER(call, result, r);
    return buf_steal(&c->resp, NULL);
}

/* A failure raised by h2o itself: h2o closes its client after the callback returns. */
static http_call_outcome classify(const char *errstr)
{
    if (strcmp(errstr, "I/O timeout") == 0)
        return HTTP_CALL_TIMEOUT;
    return HTTP_CALL_CLOSED;
}

/* ---- where a connection may go ------------------------------------------------------------------------------ */

/* The one outbound-address policy (base/netaddr.h) decides, on the address about to be dialled: a numeric host at
 * once, a name on every address it resolves to (any refused address refuses the call: a name that resolves to a
 * public and a private address is not trusted with either), and the socket's peer once more when connected. The
 * address judged is the address dialled: the connection goes to that numeric address, never to the name again, so a
 * second lookup (DNS rebinding) has nothing to change. */
static bool may_dial(const netaddr *a)
{
    if (netaddr_may_dial(a, NULL))
        return true;
    metric_inc(METRIC_OUTBOUND_REFUSED_DIAL);
    return false;
}

/* A name by its form ("localhost" is loopback); what it resolves to is judged in on_getaddr. */
static bool name_may_dial(h2o_iovec_t name)
{
    if (netaddr_name_may_dial(name.base, name.len, NULL))
        return true;
    metric_inc(METRIC_OUTBOUND_REFUSED_DIAL);
    return false;
}

static bool peer_allowed(h2o_socket_t *sock)
{
    struct sockaddr_storage ss;
    netaddr a;
    socklen_t sl = h2o_socket_getpeername(sock, (struct sockaddr *)&ss);
    return sl != 0 && netaddr_from_sockaddr((struct sockaddr *)&ss, &a) && may_dial(&a);
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
    for (size_t i = 0; errstr == NULL && i < nheaders; i++) {
        if (headers[i].name == &H2O_TOKEN_CONTENT_TYPE->buf && headers[i].value.len < sizeof(c->content_type))
            snprintf(c->content_type, sizeof(c->content_type), "%.*s", (int)headers[i].value.len,
                     headers[i].value.base);
        else if (h2o_lcstris(headers[i].name->base, headers[i].name->len, H2O_STRLIT("content-disposition")) &&
                 headers[i].value.len < sizeof(c->content_disposition))
            snprintf(c->content_disposition, sizeof(c->content_disposition), "%.*s", (int)headers[i].value.len,
                     headers[i].value.base);
        else if (h2o_lcstris(headers[i].name->base, headers[i].name->len, H2O_STRLIT("retry-after")) &&
                 headers[i].value.len < sizeof(c->retry_after))
            snprintf(c->retry_after, sizeof(c->retry_after), "%.*s", (int)headers[i].value.len,
                     headers[i].value.base);
    }
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
    h2o_http1client_t *h = c->h; /* NULL while the name is still being resolved (finish cancels that) */
    c->h = NULL;
    if (h != NULL)
        h2o_http1client_cancel(h);
    finish(c, HTTP_CALL_CONNECT, "connection timeout");
}

static void on_slow_timeout(h2o_timeout_entry_t *entry)
{
    call *c = H2O_STRUCT_FROM_MEMBER(call, slow_timer, entry);
    c->on_slow(c->arg, false);
}

/* A failure known before any I/O still answers later, from the loop, as the contract of http_client_post says. */
static void on_refused_now(h2o_timeout_entry_t *entry)
{
    call *c = H2O_STRUCT_FROM_MEMBER(call, connect_timer, entry);
    finish(c, HTTP_CALL_REFUSED, "the agent's address is not one colony sends to");
}

static void refuse_later(call *c)
{
    if (h2o_timeout_is_linked(&c->connect_timer))
        h2o_timeout_unlink(&c->connect_timer);
    c->connect_timer.cb = on_refused_now;
    h2o_timeout_link(c->cl->loop, &c->cl->connect_timeout, &c->connect_timer);
}

/* Connect to the numeric address `a` (already judged). When the URL named a host, TLS must still name it: h2o takes
 * the SNI and certificate name from the host it is given, so it is swapped back to the URL's name before the
 * handshake (which starts only once the TCP connection is up, on a later turn of the loop). */
static void dial(call *c, const netaddr *a, bool named)
{
    char text[NETADDR_TEXT_MAX];
    netaddr_format(a, text);
    http_client *cl = c->cl;
    cl->dialling = c;
    h2o_http1client_connect(&c->h, c, c->brief ? &cl->brief_ctx : &cl->ctx, h2o_iovec_init(text, strlen(text)),
                            c->port, c->tls, on_connect);
    if (named && cl->dialling == c && c->h != NULL && c->tls && c->h->ssl.server_name != NULL) {
        free(c->h->ssl.server_name);
        c->h->ssl.server_name = h2o_strdup(NULL, c->name.base, c->name.len).base;
    }
    cl->dialling = NULL;
}

static void on_getaddr(h2o_hostinfo_getaddr_req_t *req, const char *errstr, struct addrinfo *res, void *arg)
{
    call *c = arg;
    (void)req;
    c->getaddr = NULL;
    if (errstr != NULL) {
        finish(c, HTTP_CALL_CONNECT, errstr);
        return;
    }
    netaddr first = {0}, a;
    bool have = false;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        if (!netaddr_from_sockaddr(ai->ai_addr, &a))
            continue;
        if (!may_dial(&a)) {
            finish(c, HTTP_CALL_REFUSED, "the agent's address is not one colony sends to");
            return;
        }
        if (!have)
            first = a, have = true;
    }
    if (!have) {
        finish(c, HTTP_CALL_CONNECT, "the agent's host has no address");
        return;
    }
    dial(c, &first, true);
}

/* ---- the public face ---------------------------------------------------------------------------------------- */

/* On the client's loop: judge the host and dial it, or resolve it first, or fail now. */
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
    c->connect_timer.cb = on_connect_timeout; /* from now on it bounds resolution and connect together */
    h2o_timeout_link(cl->loop, &cl->connect_timeout, &c->connect_timer);
    if (c->on_slow != NULL && cl->hurried) {
        c->on_slow(c->arg, true);
    } else if (c->on_slow != NULL && defaults.slow_after_ms > 0) {
        c->slow_timer.cb = on_slow_timeout;
        h2o_timeout_link(cl->loop, &cl->slow_timeout, &c->slow_timer);
    }
    bool allowed = c->kind == NETADDR_NUMERIC ? may_dial(&c->addr)
                                              : c->kind == NETADDR_NAME && name_may_dial(c->name);
    if (!allowed) {
        refuse_later(c);
        return;
    }
    if (c->kind == NETADDR_NUMERIC) {
        dial(c, &c->addr, false);
        return;
    }
    char port[8];
    snprintf(port, sizeof(port), "%u", (unsigned)c->port);
    c->getaddr =
        h2o_hostinfo_getaddr(cl->ctx.getaddr_receiver, c->name, h2o_iovec_init(port, strlen(port)), AF_UNSPEC,
                             SOCK_STREAM, IPPROTO_TCP, AI_ADDRCONFIG | AI_NUMERICSERV, on_getaddr, c);
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
    c->on_slow = in->on_slow;
    c->start_ms = time_mono_ms();
    c->brief = in->brief;
    buf_init(&c->resp, in->max_response ? in->max_response : CLIENT_MAX_RESPONSE_DEFAULT);
    c->url = xstrdup(in->url);
    c->kind = NETADDR_MALFORMED;
    /* the request bytes and the verdict's input are made here, on the caller's thread; the loop dials */
    h2o_url_t u;
    bool ok = h2o_url_parse(c->url, strlen(c->url), &u) == 0 && u.host.len > 0 &&
              (u.scheme == &H2O_URL_SCHEME_HTTP || u.scheme == &H2O_URL_SCHEME_HTTPS) &&
              !memchr(u.path.base, '\r', u.path.len) && !memchr(u.path.base, '\n', u.path.len);
    size_t hl = 0;
    if (ok) {
        buf_t head = BUF_INIT(16384);
        bool get = in->method != NULL && strcmp(in->method, "GET") == 0;
        ok = buf_printf(&head, "%s %.*s HTTP/1.1\r\nHost: %.*s\r\nUser-Agent: colony\r\nConnection: close\r\n",
                        get ? "GET" : "POST", (int)u.path.len, u.path.base, (int)u.authority.len, u.authority.base);
        if (!get)
            ok = ok && buf_printf(&head, "Content-Type: %s\r\nContent-Length: %zu\r\n",
                                  in->content_type ? in->content_type : "application/octet-stream", in->body_len);
        if (in->authorization)
            ok = ok && buf_printf(&head, "Authorization: %s\r\n", in->authorization);
        ok = ok && buf_puts(&head, "\r\n");
        c->head = buf_steal(&head, &hl);
    }
    if (ok) {
        c->name = u.host;
        if (c->name.len >= 2 && c->name.base[0] == '[' && c->name.base[c->name.len - 1] == ']')
            c->name = h2o_iovec_init(c->name.base + 1, c->name.len - 2);
        c->port = h2o_url_get_port(&u);
        c->tls = u.scheme == &H2O_URL_SCHEME_HTTPS;
        c->kind = netaddr_parse_host(c->name.base, c->name.len, &c->addr);
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
    h2o_timeout_init(loop, &cl->brief_timeout,
                     (uint64_t)(defaults.brief_idle_timeout_ms > 0 ? defaults.brief_idle_timeout_ms
                                                                   : HTTP_CLIENT_BRIEF_IDLE_MS));
    h2o_timeout_init(loop, &cl->connect_timeout, (uint64_t)defaults.connect_timeout_ms);
    h2o_timeout_init(loop, &cl->slow_timeout, (uint64_t)defaults.slow_after_ms);
    cl->ssl = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_default_verify_paths(cl->ssl);
    SSL_CTX_set_verify(cl->ssl, SSL_VERIFY_PEER, NULL);
    cl->ctx.loop = loop;
    cl->ctx.io_timeout = &cl->io_timeout;
    cl->ctx.ssl_ctx = cl->ssl;
    h2o_multithread_register_receiver(queue, &cl->getaddr_rx, h2o_hostinfo_getaddr_receiver);
    cl->ctx.getaddr_receiver = &cl->getaddr_rx;
    cl->brief_ctx = cl->ctx;
    cl->brief_ctx.io_timeout = &cl->brief_timeout;
    h2o_multithread_register_receiver(queue, &cl->post_rx, on_posted);
    cl->queue = queue;
    return cl;
}

http_client *http_client_attach(struct st_h2o_evloop_t *loop, struct st_h2o_multithread_queue_t *queue, pool_t *pool)
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

void http_client_hurry(http_client *cl)
{
    cl->hurried = true;
    for (call *c = cl->calls; c != NULL; c = c->next) {
        if (c->on_slow != NULL && h2o_timeout_is_linked(&c->slow_timer)) { /* linked: not told yet */
            h2o_timeout_unlink(&c->slow_timer);
            c->on_slow(c->arg, true);
        }
    }
}

void http_client_detach(http_client *cl)
{
    cancel_all(cl);
    h2o_multithread_unregister_receiver(cl->queue, &cl->getaddr_rx);
    h2o_multithread_unregister_receiver(cl->queue, &cl->post_rx);
    h2o_timeout_dispose(cl->loop, &cl->io_timeout);
    h2o_timeout_dispose(cl->loop, &cl->brief_timeout);
    h2o_timeout_dispose(cl->loop, &cl->connect_timeout);
    h2o_timeout_dispose(cl->loop, &cl->slow_timeout);
    SSL_CTX_free(cl->ssl);
    if (!cl->own_loop)
        free(cl);
}

void http_client_cancel(http_client *cl) { cancel_all(cl); }

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
    http_client_detach(cl);
    h2o_multithread_destroy_queue(q);
    h2o_evloop_destroy(loop);
    free(q); /* h2o 2.2's destroy closes the queue but never frees it */
    free(cl);
}
