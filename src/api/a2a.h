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

/* Queue `m` for `t` instead of delivering it now, for a2a_admit's reason `why` (the target is paused, waking, or
 * another metered delivery to it is in flight): the request attached to the job, if any, gets the 202 of the busy
 * queue. The job frees itself. */
void a2a_job_hold(a2a_job *j, db_t *db, const a2a_target *t, const char *caller, const a2a_msg *m,
                  a2a_admission why);

/* Release a job that was never started. */
void a2a_job_drop(a2a_job *j);

/* How a message that no request waits for went, for whoever sent it. */
typedef enum {
    A2A_DONE_REPLIED, /* a push agent answered 2xx (the body may be empty), or the message was answered before */
    A2A_DONE_STORED,  /* a poll-mode agent will find it in its inbox */
    A2A_DONE_QUEUED,  /* the agent was busy: it waits in the busy queue */
    A2A_DONE_FAILED,  /* refused or failed: `error` says why, as the proxy says it to a sender */
} a2a_done_kind;

typedef struct {
    a2a_done_kind kind;
    int status;        /* the agent's HTTP status (0: none) */
    const char *body;  /* its reply (valid during the callback), NULL when none */
    size_t body_len;
    const char *error;
    bool busy;            /* the agent was busy: QUEUED, or FAILED when the queue would not take it */
    bool stopping;        /* FAILED because the server stopped first: nothing is known of the agent's answer */
    const char *queue_id; /* QUEUED */
    int64_t queue_depth, active_tasks;
    int64_t duration_ms;  /* a push's, else -1 */
} a2a_done;

/* Called once with the outcome and a connection to record it with (the thread's own, see below; NULL when the
 * server is stopping and no worker is left to lend one). */
typedef void (*a2a_done_fn)(void *arg, db_t *db, const a2a_done *d);

/* A waiter for a job started with a2a_job_start (call before it): `done` is told the outcome once, on a pool
 * worker; `slow`, when not NULL, is told on the I/O loop, and before `done`, when the agent has not answered within
 * the client's slow threshold, or when the server begins to stop (`stopping`; http_call.on_slow: no blocking, no
 * database). */
void a2a_job_wait(a2a_job *j, a2a_done_fn done, void (*slow)(void *arg, bool stopping), void *arg);

/* Send `m` (built in the job's arena) from no workspace (as the canvas does: a schedule's prompt) to workspace
 * `target_id`, from a background thread whose connection is `db` and whose own client is `cl`, the way POST
 * /workspaces/:id/a2a delivers: an answer already stored for its messageId is the answer (never a second delivery);
 * a poll-mode target gets it in its inbox; a push-mode target whose active tasks are at its maximum gets it in the
 * busy queue at once (runtime.md §4, "never fired into a busy agent"); otherwise the job pushes it, and a target
 * that turns out busy gets it queued. A queued message lives `m->expires_in_s` (else the default TTL). `done` is
 * told exactly once: before this returns, or later on the thread that runs `cl`. The job is consumed. */
void a2a_send_background(a2a_job *j, http_client *cl, db_t *db, const char *target_id, const a2a_msg *m,
                         a2a_done_fn done, void *arg);

/* How long replies may be and how long a queued message lives by default (main.c, from the config). */
void api_a2a_init(size_t max_response, int64_t queue_ttl_ms);

#endif
