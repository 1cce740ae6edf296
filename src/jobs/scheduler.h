/* scheduler.h - the thread that fires schedules (schedules-mcp.md §4): its own database connection and its own
 * event loop, on every node. It looks for due occurrences (at least every `interval_ms`, and at the next known run
 * when that is sooner), claims each with model/schedule's guarded UPDATE - so an occurrence is fired by exactly one
 * node - and hands it to `fire`, which sends it through the A2A path (api/schedule_fire.c, wired by main.c: jobs know
 * no api) and records the run. */
#ifndef COLONY_JOBS_SCHEDULER_H
#define COLONY_JOBS_SCHEDULER_H

#include <stdint.h>

#include "base/error.h"
#include "http/client.h"
#include "model/schedule.h"
#include "store/db.h"

typedef struct scheduler scheduler_t;

/* Fire `f` (borrowed: copy what outlives the call) with this thread's connection and client, and call
 * finished(arg) exactly once when its run is recorded - before returning, or later from the client's callbacks. */
typedef void (*scheduler_fire_fn)(db_t *db, http_client *cl, const sched_fire *f, void (*finished)(void *),
                                  void *arg);

typedef struct {
    const char *db_url;
    int64_t interval_ms;  /* the longest sleep between looks */
    int64_t max_inflight; /* runs of this node waiting for their agents; past it, due rows wait for the next look */
    scheduler_fire_fn fire;
} scheduler_config;

scheduler_t *scheduler_start(const scheduler_config *cfg, cl_error *err);
/* Stop: runs still waiting for an agent are recorded as failed ("colony is shutting down"), then the thread ends.
 * NULL is a no-op. */
void scheduler_stop(scheduler_t *s);

#endif
