/* http_metrics.c - see http_metrics.h. */
#include "http/http_metrics.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "base/arena.h"

enum { STATUS_MIN = 100, STATUS_SPAN = 500 };

static const double BUCKETS[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define NBUCKETS (sizeof(BUCKETS) / sizeof(BUCKETS[0]))

typedef struct {
    _Atomic uint64_t status[STATUS_SPAN];
    _Atomic uint64_t bucket[NBUCKETS + 1]; /* last: +Inf */
    _Atomic uint64_t sum_ns, count;
} route_cells;

static const router_t *router;
static route_cells *cells; /* router_count + 1 rows; the last is "unmatched" */
static size_t nrows;

void http_metrics_init(const router_t *r)
{
    router = r;
    nrows = router_count(r) + 1;
    cells = xcalloc(nrows, sizeof(*cells));
}

void http_metrics_free(void)
{
    free(cells);
    cells = NULL;
    nrows = 0;
}

void http_metrics_observe(size_t route, int status, int64_t dur_ns)
{
    if (cells == NULL)
        return;
    route_cells *c = &cells[route < nrows - 1 ? route : nrows - 1];
    if (status >= STATUS_MIN && status < STATUS_MIN + STATUS_SPAN)
        atomic_fetch_add_explicit(&c->status[status - STATUS_MIN], 1, memory_order_relaxed);
    double secs = (double)dur_ns / 1e9;
    size_t b = 0;
    while (b < NBUCKETS && secs > BUCKETS[b])
        b++;
    atomic_fetch_add_explicit(&c->bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->sum_ns, (uint64_t)(dur_ns > 0 ? dur_ns : 0), memory_order_relaxed);
    atomic_fetch_add_explicit(&c->count, 1, memory_order_relaxed);
}

static void labels(size_t i, const char **method, const char **route)
{
    if (i == nrows - 1) {
        *method = "any";
        *route = "unmatched";
    } else {
        *method = router_route(router, i)->method;
        *route = router_route(router, i)->pattern;
    }
}

void http_metrics_render(buf_t *out)
{
    const char *m, *r;
    buf_puts(out, "# HELP colony_http_requests_total HTTP requests answered, by route and status code.\n"
                  "# TYPE colony_http_requests_total counter\n");
    for (size_t i = 0; i < nrows; i++) {
        labels(i, &m, &r);
        for (int s = 0; s < STATUS_SPAN; s++) {
            uint64_t v = atomic_load_explicit(&cells[i].status[s], memory_order_relaxed);
            if (v != 0)
                buf_printf(out, "colony_http_requests_total{method=\"%s\",route=\"%s\",code=\"%d\"} %llu\n", m, r,
                           s + STATUS_MIN, (unsigned long long)v);
        }
    }
    buf_puts(out, "# HELP colony_http_request_duration_seconds Time from request to response, by route.\n"
                  "# TYPE colony_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < nrows; i++) {
        uint64_t count = atomic_load_explicit(&cells[i].count, memory_order_relaxed);
        if (count == 0)
            continue;
        labels(i, &m, &r);
        uint64_t cum = 0;
        for (size_t b = 0; b <= NBUCKETS; b++) {
            cum += atomic_load_explicit(&cells[i].bucket[b], memory_order_relaxed);
            if (b < NBUCKETS)
                buf_printf(out, "colony_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"%g\"} %llu\n",
                           m, r, BUCKETS[b], (unsigned long long)cum);
            else
                buf_printf(out, "colony_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"+Inf\"} %llu\n",
                           m, r, (unsigned long long)cum);
        }
        buf_printf(out, "colony_http_request_duration_seconds_sum{method=\"%s\",route=\"%s\"} %.9f\n", m, r,
                   (double)atomic_load_explicit(&cells[i].sum_ns, memory_order_relaxed) / 1e9);
        buf_printf(out, "colony_http_request_duration_seconds_count{method=\"%s\",route=\"%s\"} %llu\n", m, r,
                   (unsigned long long)count);
    }
}
