/* metrics.h - process-wide counters and gauges (atomics), declared in one table and rendered in the Prometheus
 * text format. Families with labels list one row per label set; HELP/TYPE are printed once per family. */
#ifndef COLONY_BASE_METRICS_H
#define COLONY_BASE_METRICS_H

#include <stdint.h>

#include "base/buf.h"

/* XX(ID, type, family name, label set, help) */
#define METRICS_MAP(XX)                                                                                            \
    XX(DB_ERRORS, "counter", "colony_db_errors_total", "", "Database errors (not counting no-row results).")      \
    XX(HTTP_INFLIGHT, "gauge", "colony_http_requests_in_flight", "", "Requests being served now.")                \
    XX(HTTP_CONNECTIONS, "gauge", "colony_http_connections_open", "", "Open client connections.")

typedef enum {
#define XX(id, type, name, labels, help) METRIC_##id,
    METRICS_MAP(XX)
#undef XX
        METRIC__COUNT
} metric_id;

void metric_add(metric_id id, int64_t delta);
static inline void metric_inc(metric_id id) { metric_add(id, 1); }
int64_t metric_get(metric_id id);

/* Append every metric of the table to `out` (HELP and TYPE lines included). */
void metrics_render(buf_t *out);

#endif
