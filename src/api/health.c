/* health.c - see health.h. */
#include "api/health.h"

#include "api/errors.h"
#include "base/buf.h"
#include "base/metrics.h"
#include "http/http_metrics.h"
#include "model/node.h"
#include "version.h"

enum { METRICS_MAX_BYTES = 8 << 20, HEALTH_MAX_AGE_MS = 3000 /* three missed checks */ };

void api_health(http_req *rq)
{
    if (!node_db_healthy(HEALTH_MAX_AGE_MS)) {
        api_fail(rq, CL_UNAVAILABLE, "database unavailable");
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:s}", "status", "ok"));
}

void api_buildinfo(http_req *rq)
{
    api_reply_json(rq, 200, json_pack("{s:s, s:s}", "version", COLONY_VERSION, "git_sha", COLONY_GIT_SHA));
}

static void free_buf(void *p) { buf_free(p); }

void api_metrics(http_req *rq)
{
    buf_t *b = arena_alloc(rq->arena, sizeof(*b));
    buf_init(b, METRICS_MAX_BYTES);
    arena_defer(rq->arena, free_buf, b);
    buf_printf(b, "# HELP colony_build_info Build identity (always 1).\n# TYPE colony_build_info gauge\n"
                  "colony_build_info{version=\"%s\",git_sha=\"%s\"} 1\n",
               COLONY_VERSION, COLONY_GIT_SHA);
    metrics_render(b);
    http_metrics_render(b);
    http_respond(rq, 200, "text/plain; version=0.0.4; charset=utf-8", b->data ? b->data : "", b->len);
}
