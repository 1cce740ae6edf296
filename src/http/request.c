/* request.c - the http_req accessors and the one way to answer (see request.h). */
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
    for (size_t i = 0; i < rq->nheaders; i++)
        if (strcasecmp(rq->headers[i].name, name) == 0)
            return rq->headers[i].value;
    return NULL;
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

const char *http_query_undecodable(http_req *rq)
{
    for (const char *q = rq->query; *q;) {
        const char *amp = strchr(q, '&');
        size_t plen = amp ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', plen);
        size_t klen = eq ? (size_t)(eq - q) : plen;
        if (http_pct_decode(rq->arena, q, klen, 1, NULL) == NULL ||
            (eq != NULL && http_pct_decode(rq->arena, eq + 1, plen - klen - 1, 1, NULL) == NULL))
            return arena_strndup(rq->arena, q, klen < 64 ? klen : 64);
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

/* Write the recorded response (on the request's I/O thread). */
static void send_now(engine_req *e)
{
    h2o_req_t *req = e->req;
    if (req == NULL) /* the client went away first */
        return;
    req->res.status = e->status;
    req->res.reason = http_reason(e->status);
    /* RFC 9110 8.6: no Content-Length on a 204, nor on a 304 (it would describe the body not sent); SIZE_MAX has
     * h2o write none, and its chunked filter leaves these statuses alone */
    req->res.content_length = e->status == 204 || e->status == 304 ? SIZE_MAX : e->len;
    if (e->content_type != NULL)
        add(req, "content-type", e->content_type);
    add(req, "x-request-id", e->pub.request_id);
    if (e->origin != NULL) {
        add(req, "access-control-allow-origin", e->origin);
        add(req, "access-control-allow-credentials", "true");
        add(req, "access-control-expose-headers", "X-Request-Id, Retry-After, X-RateLimit-Limit, "
                                                  "X-RateLimit-Remaining, X-RateLimit-Reset, X-Next-Cursor, Link");
        add(req, "vary", "Origin");
    }
    for (int i = 0; i < e->nheaders; i++)
        add(req, e->headers[i].name, e->headers[i].value);
    static h2o_generator_t generator = {NULL, NULL};
    h2o_start_response(req, &generator);
    h2o_iovec_t iov = h2o_iovec_init(e->body, e->len);
    bool head = strcmp(e->pub.method, "HEAD") == 0; /* answered like GET, Content-Length included, without the body */
    engine_finish(e, e->status, e->len);
    h2o_send(req, &iov, e->len && !head ? 1 : 0, H2O_SEND_STATE_FINAL); /* may dispose the request */
}

static void send_posted(void *arg)
{
    engine_req *e = arg;
    send_now(e);
    http_req_drop(&e->pub);
}

void http_respond(http_req *rq, int status, const char *content_type, const char *body, size_t len)
{
    engine_req *e = (engine_req *)rq;
    if (atomic_exchange(&rq->responded, true))
        return;
    e->status = status;
    e->content_type = content_type;
    e->body = body;
    e->len = len;
    if (engine_current() == e->w) {
        send_now(e);
        return;
    }
    engine_post(e->w, send_posted, http_req_hold(rq));
}

void engine_finish(engine_req *e, int status, size_t bytes_out)
{
    if (e->finished)
        return;
    e->finished = true;
    int64_t dur = time_mono_ns() - e->start_ns;
    http_metrics_observe(e->route_index, status, dur);
    metric_add(METRIC_HTTP_INFLIGHT, -1);
    if (e->conn != NULL) {
        e->conn->inflight--;
        e->conn->mark = e->conn->sock->bytes_read;
    }
    if (!e->w->srv->cfg->access_log)
        return;
    char qpath[512];
    log_info("request", "rid=%s method=%s path=\"%s\" route=\"%s\" status=%d dur_ms=%.3f bytes_in=%zu bytes_out=%zu "
                        "remote=%s",
             e->pub.request_id, e->pub.method, log_quote(qpath, sizeof(qpath), e->pub.path, e->pub.path_len),
             e->pub.route ? e->pub.route->pattern : "unmatched", status, (double)dur / 1e6, e->pub.body_len, bytes_out,
             e->pub.peer);
}

bool http_origin_allowed(const http_req *rq) { return ((const engine_req *)rq)->origin != NULL; }

bool http_origin_listed(const http_req *rq) { return ((const engine_req *)rq)->origin_listed; }

bool http_peer_address(http_req *rq, netaddr *out)
{
    *out = rq->peer_addr;
    return rq->peer_known;
}

void http_defer(http_req *rq) { rq->deferred = true; }

typedef struct {
    http_req *rq;
    void (*fn)(http_req *rq, void *arg);
    void *arg;
} on_loop_task;

static void run_on_loop(void *p)
{
    on_loop_task *t = p;
    t->fn(t->rq, t->arg);
    http_req_drop(t->rq);
    free(t);
}

void http_on_loop(http_req *rq, void (*fn)(http_req *rq, void *arg), void *arg)
{
    engine_req *e = (engine_req *)rq;
    rq->deferred = true;
    on_loop_task *t = xcalloc(1, sizeof(*t));
    *t = (on_loop_task){http_req_hold(rq), fn, arg};
    engine_post(e->w, run_on_loop, t);
}

typedef struct {
    pool_job job;
    void (*fn)(void *ctx, void *arg);
    void *arg;
} pooled_task;

static void run_task(void *ctx, pool_job *job)
{
    pooled_task *t = H2O_STRUCT_FROM_MEMBER(pooled_task, job, job);
    t->fn(ctx, t->arg);
    free(t);
}

static void cancel_task(pool_job *job)
{
    pooled_task *t = H2O_STRUCT_FROM_MEMBER(pooled_task, job, job);
    t->fn(NULL, t->arg);
    free(t);
}

void http_run_pooled(http_req *rq, void (*fn)(void *ctx, void *arg), void *arg)
{
    pooled_task *t = xcalloc(1, sizeof(*t));
    *t = (pooled_task){{NULL, run_task, cancel_task}, fn, arg};
    pool_submit(((engine_req *)rq)->w->srv->pool, POOL_FAST, &t->job);
}

http_client *http_req_client(http_req *rq) { return ((engine_req *)rq)->w->client; }
