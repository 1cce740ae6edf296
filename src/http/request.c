/* request.c - the http_req accessors and the one way to answer (see request.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/metrics.h"
#include "base/time.h"
#include "base/utf8.h"
#include "http/engine.h"
#include "http/http_metrics.h"

const char *http_param_get(const http_req *rq, const char *name)
{
    for (int i = 0; i < rq->nparams; i++)
        if (strcmp(rq->params[i].name, name) == 0)
            return rq->params[i].value;
    return NULL;
}

const char *http_header(http_req *rq, const char *name)
{
    h2o_req_t *req = ((engine_req *)rq)->req;
    ssize_t i = h2o_find_header_by_str(&req->headers, name, strlen(name), -1);
    if (i < 0) { /* h2o lower-cases header names; accept callers' mixed case too */
        for (size_t k = 0; k < req->headers.size; k++) {
            const h2o_iovec_t *n = req->headers.entries[k].name;
            if (n->len == strlen(name) && strncasecmp(n->base, name, n->len) == 0) {
                i = (ssize_t)k;
                break;
            }
        }
        if (i < 0)
            return NULL;
    }
    const h2o_iovec_t *v = &req->headers.entries[i].value;
    return arena_strndup(rq->arena, v->base, v->len);
}

const char *http_query(http_req *rq, const char *name)
{
    size_t nlen = strlen(name);
    const char *q = rq->query;
    while (*q) {
        const char *amp = strchr(q, '&');
        size_t plen = amp ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', plen);
        size_t klen = eq ? (size_t)(eq - q) : plen;
        size_t dklen;
        char *key = http_pct_decode(rq->arena, q, klen, 1, &dklen);
        if (key != NULL && dklen == nlen && memcmp(key, name, nlen) == 0) {
            if (eq == NULL)
                return arena_strdup(rq->arena, "");
            size_t vlen;
            char *v = http_pct_decode(rq->arena, eq + 1, plen - klen - 1, 1, &vlen);
            if (v == NULL || utf8_valid(v, vlen))
                return v;
            /* a value is text: invalid bytes become U+FFFD (it then matches nothing stored, and PostgreSQL, which
             * refuses invalid UTF-8 as a database error, never sees them) */
            char *clean = arena_alloc(rq->arena, 3 * vlen + 1);
            clean[utf8_sanitize(v, vlen, clean)] = '\0';
            return clean;
        }
        q += plen + (amp != NULL);
    }
    return NULL;
}

void http_add_header(http_req *rq, const char *name, const char *value)
{
    engine_req *e = (engine_req *)rq;
    if (e->nheaders == HTTP_MAX_RESP_HEADERS) {
        log_error("too many response headers", "rid=%s name=%s", rq->request_id, name);
        return;
    }
    e->headers[e->nheaders].name = arena_strdup(rq->arena, name);
    e->headers[e->nheaders].value = arena_strdup(rq->arena, value);
    e->nheaders++;
}

static void add(h2o_req_t *req, const char *name, const char *value)
{
    h2o_add_header_by_str(&req->pool, &req->res.headers, name, strlen(name), 1, NULL, value, strlen(value));
}

void http_respond(http_req *rq, int status, const char *content_type, const char *body, size_t len)
{
    engine_req *e = (engine_req *)rq;
    if (rq->responded)
        return;
    rq->responded = true;
    h2o_req_t *req = e->req;
    req->res.status = status;
    req->res.reason = http_reason(status);
    req->res.content_length = len;
    if (content_type != NULL)
        add(req, "content-type", content_type);
    add(req, "x-request-id", rq->request_id);
    if (e->origin != NULL) {
        add(req, "access-control-allow-origin", e->origin);
        add(req, "access-control-allow-credentials", "true");
        add(req, "access-control-expose-headers", "X-Request-Id, Retry-After, X-RateLimit-Limit, "
                                                  "X-RateLimit-Remaining, X-RateLimit-Reset");
        add(req, "vary", "Origin");
    }
    for (int i = 0; i < e->nheaders; i++)
        add(req, e->headers[i].name, e->headers[i].value);
    static h2o_generator_t generator = {NULL, NULL};
    h2o_start_response(req, &generator);
    h2o_iovec_t iov = h2o_iovec_init(body, len);
    bool head = strcmp(rq->method, "HEAD") == 0; /* answered like GET, Content-Length included, without the body */
    h2o_send(req, &iov, len && !head ? 1 : 0, H2O_SEND_STATE_FINAL);
    engine_finish(e, status, len);
}

void engine_finish(engine_req *e, int status, size_t bytes_out)
{
    int64_t dur = time_mono_ns() - e->start_ns;
    http_metrics_observe(e->route_index, status, dur);
    metric_add(METRIC_HTTP_INFLIGHT, -1);
    if (e->conn != NULL) {
        e->conn->inflight--;
        e->conn->mark = e->conn->sock->bytes_read;
    }
    if (!e->w->srv->cfg->access_log)
        return;
    char qpath[512], peer[64] = "-";
    struct sockaddr_storage ss;
    socklen_t sl = e->req->conn->callbacks->get_peername(e->req->conn, (struct sockaddr *)&ss);
    if (sl > 0)
        h2o_socket_getnumerichost((struct sockaddr *)&ss, sl, peer);
    log_info("request", "rid=%s method=%s path=\"%s\" route=\"%s\" status=%d dur_ms=%.3f bytes_in=%zu bytes_out=%zu "
                        "remote=%s",
             e->pub.request_id, e->pub.method, log_quote(qpath, sizeof(qpath), e->pub.path, e->pub.path_len),
             e->pub.route ? e->pub.route->pattern : "unmatched", status, (double)dur / 1e6, e->pub.body_len, bytes_out,
             peer);
}

bool http_peer_is_loopback(http_req *rq)
{
    h2o_req_t *req = ((engine_req *)rq)->req;
    struct sockaddr_storage ss;
    socklen_t sl = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);
    if (sl == 0)
        return false;
    if (ss.ss_family == AF_INET)
        return (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127;
    if (ss.ss_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&ss)->sin6_addr);
    return false;
}

bool http_peer_address(http_req *rq, netaddr *out)
{
    h2o_req_t *req = ((engine_req *)rq)->req;
    struct sockaddr_storage ss;
    socklen_t sl = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);
    return sl != 0 && netaddr_from_sockaddr((struct sockaddr *)&ss, out);
}

void http_defer(http_req *rq) { rq->deferred = true; }

typedef struct {
    h2o_timeout_entry_t entry; /* first: the callback gets this pointer */
    void (*fn)(void *arg);
    void *arg;
} after_io;

static void on_after_io(h2o_timeout_entry_t *entry)
{
    after_io *t = (after_io *)entry;
    t->fn(t->arg);
    free(t);
}

void http_after_io(http_req *rq, void (*fn)(void *arg), void *arg)
{
    engine_req *e = (engine_req *)rq;
    after_io *t = xcalloc(1, sizeof(*t));
    t->entry.cb = on_after_io;
    t->fn = fn;
    t->arg = arg;
    h2o_timeout_link(e->w->loop, &e->w->ctx.zero_timeout, &t->entry);
}
