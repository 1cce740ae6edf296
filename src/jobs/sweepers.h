/* sweepers.h - background work on a timer: a thread with its own database connection runs every sweeper once at
 * start and then every `interval_ms`, survives errors (counted, retried next tick), and stops on request. */
#ifndef COLONY_JOBS_SWEEPERS_H
#define COLONY_JOBS_SWEEPERS_H

#include <stdint.h>

#include "base/error.h"

typedef struct sweepers sweepers_t;

typedef struct {
    const char *db_url;
    int64_t interval_ms;      /* between runs */
    int64_t stale_after_ms;   /* liveness: heartbeat age that makes a workspace offline */
    int64_t upload_interval_ms;  /* staged uploads: how often to sweep */
    int64_t upload_retention_ms; /* staged uploads: how long acknowledged files are kept */
    int64_t delegation_interval_ms;  /* delegations: how often to check deadlines and silence */
    int64_t delegation_stuck_ms;     /* delegations: callee silence that makes an in-progress row stuck */
    int64_t a2a_orphan_ms;           /* busy queue: a delivery dispatched longer than this was interrupted */
    int64_t nudge_interval_ms;       /* inbox nudges: how often (0: never) */
    int64_t nudge_after_ms;          /* inbox nudges: how long a request waits before its agent is nudged */
    int64_t nudge_repeat_ms;         /* inbox nudges: how long before the same request counts again */
    int64_t memory_interval_ms;      /* memory: how often expired memories and key/value entries are deleted */
} sweepers_config;

/* Start the thread (its connection is opened there). NULL with err set when the thread cannot start. */
sweepers_t *sweepers_start(const sweepers_config *cfg, cl_error *err);
/* Ask it to stop, wait for it, free it. NULL is a no-op. */
void sweepers_stop(sweepers_t *s);

#endif
