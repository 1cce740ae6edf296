/* a2a.h - agent-to-agent messages over HTTP (runtime.md §4): POST /workspaces/:id/a2a, the queue item view and the
 * operators' drop-stale. A push delivery is an `a2a_job`: the POST to the target's URL on the worker's
 * asynchronous client, then the outcome logged, a busy target's message queued, a delegation moved, and, when a
 * request still waits for it, the answer relayed. The delegation endpoints start jobs too. */
#ifndef COLONY_API_A2A_H
#define COLONY_API_A2A_H

#include <stdbool.h>

#include "http/client.h"
#include "http/request.h"
#include "model/a2a.h"

void api_a2a(http_req *rq);
void api_a2a_queue_get(http_req *rq);
void api_a2a_drop_stale(http_req *rq);

typedef struct a2a_job a2a_job;

/* A job with its own arena: what it keeps (target, message) must be allocated there. Nobody waits for a job made
 * here; POST /workspaces/:id/a2a attaches its request to the job it starts. */
a2a_job *a2a_job_new(void);
arena_t *a2a_job_arena(a2a_job *j);
/* Deliver `m` from `caller` (NULL: a user or operator) to the push-mode target `t` through `cl`; `db` is the
 * calling worker's connection, used before this returns (the outcome is recorded later, on whichever pool worker
 * runs the client's callback, with that worker's connection). With `delegation_id`, the delegation from `caller`
 * follows the outcome. The job frees itself. */
void a2a_job_start(a2a_job *j, http_client *cl, db_t *db, const a2a_target *t, const char *caller, const a2a_msg *m,
                   bool from_canvas, const char *delegation_id);

/* Release a job that was never started. */
void a2a_job_drop(a2a_job *j);

/* How long replies may be and how long a queued message lives by default (main.c, from the config). */
void api_a2a_init(size_t max_response, int64_t queue_ttl_ms);

#endif
