/* dispatch.h - the busy-queue dispatcher (runtime.md §4.8, difference 7): a thread with its own database connection
 * and its own event loop that claims due rows of a2a_queue (one in flight per target), POSTs them with the
 * asynchronous client, and settles each by what came back: a 2xx reply completes it, a busy or unreachable agent
 * puts it back with a doubling back-off, a target that is gone fails it. Expiry is the sweeper's job. */
#ifndef COLONY_JOBS_DISPATCH_H
#define COLONY_JOBS_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

typedef struct dispatcher dispatcher_t;

typedef struct {
    const char *db_url;
    int64_t interval_ms;   /* how often the queue is looked at */
    int64_t max_inflight;  /* deliveries at once from this node */
    size_t max_response;   /* reply cap */
} dispatch_config;

dispatcher_t *dispatch_start(const dispatch_config *cfg, cl_error *err);
/* Stop, cancel deliveries in flight (their rows are requeued by the sweeper's orphan rule), free. NULL: no-op. */
void dispatch_stop(dispatcher_t *d);

#endif
