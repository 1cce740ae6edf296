/* metrics.c - see metrics.h. */
#include "base/metrics.h"

#include <stdatomic.h>
#include <string.h>

static const struct {
    const char *type, *name, *labels, *help;
} DEFS[] = {
#define XX(id, type, name, labels, help) {type, name, labels, help},
    METRICS_MAP(XX)
#undef XX
};

static _Atomic int64_t values[METRIC__COUNT];

void metric_add(metric_id id, int64_t delta) { atomic_fetch_add_explicit(&values[id], delta, memory_order_relaxed); }
int64_t metric_get(metric_id id) { return atomic_load_explicit(&values[id], memory_order_relaxed); }

void metrics_render(buf_t *out)
{
    for (int i = 0; i < METRIC__COUNT; i++) {
        if (i == 0 || strcmp(DEFS[i].name, DEFS[i - 1].name) != 0)
            buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", DEFS[i].name, DEFS[i].help, DEFS[i].name, DEFS[i].type);
        buf_printf(out, "%s%s%s%s %lld\n", DEFS[i].name, DEFS[i].labels[0] ? "{" : "", DEFS[i].labels,
                   DEFS[i].labels[0] ? "}" : "", (long long)metric_get((metric_id)i));
    }
}
