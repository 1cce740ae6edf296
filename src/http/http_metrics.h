/* http_metrics.h - per-route request counters and latency histograms, rendered into /metrics. Lock-free: every
 * cell is an atomic the I/O threads bump. */
#ifndef COLONY_HTTP_HTTP_METRICS_H
#define COLONY_HTTP_HTTP_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "http/router.h"

/* Size the tables for the router's routes (plus one "unmatched" row). Call once before serving. */
void http_metrics_init(const router_t *r);
void http_metrics_free(void);
/* Record one answered request: route index (or (size_t)-1 for unmatched), status, duration. */
void http_metrics_observe(size_t route, int status, int64_t dur_ns);
/* Append colony_http_requests_total and colony_http_request_duration_seconds. */
void http_metrics_render(buf_t *out);

#endif
