/* metrics.c - see metrics.h. */
#include "base/metrics.h"

#include <stdatomic.h>
#include <stdbool.h>
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
void metric_set(metric_id id, int64_t value) { atomic_store_explicit(&values[id], value, memory_order_relaxed); }
int64_t metric_get(metric_id id) { return atomic_load_explicit(&values[id], memory_order_relaxed); }

/* Has a row before `i` the family of row `i`? (Then that family was rendered whole already.) */
static bool seen_before(int i)
{
    for (int j = 0; j < i; j++)
        if (strcmp(DEFS[j].name, DEFS[i].name) == 0)
            return true;
    return false;
}

void metrics_render(buf_t *out)
{
    for (int i = 0; i < METRIC__COUNT; i++) {
        if (seen_before(i))
            continue;
        buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", DEFS[i].name, DEFS[i].help, DEFS[i].name, DEFS[i].type);
        for (int j = i; j < METRIC__COUNT; j++)
            if (strcmp(DEFS[j].name, DEFS[i].name) == 0)
                buf_printf(out, "%s%s%s%s %lld\n", DEFS[j].name, DEFS[j].labels[0] ? "{" : "", DEFS[j].labels,
                           DEFS[j].labels[0] ? "}" : "", (long long)metric_get((metric_id)j));
    }
}
