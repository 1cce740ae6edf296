/* delegations.h - the delegation endpoints (runtime.md §5.1): a workspace hands a task to another, records one it
 * dispatched itself, reports an outcome; operators list and count them. */
#ifndef COLONY_API_DELEGATIONS_H
#define COLONY_API_DELEGATIONS_H

#include <jansson.h>

#include "api/a2a.h"
#include "http/request.h"

void api_delegate(http_req *rq);
void api_delegations_list(http_req *rq);
void api_delegation_record(http_req *rq);
void api_delegation_update(http_req *rq);
void api_admin_delegations(http_req *rq);
void api_admin_delegation_stats(http_req *rq);

/* How a delegation went out: into a poll-mode agent's inbox (in progress until it answers), into the busy queue
 * (its agent has no URL yet, or holds its messages: paused, waking, a metered delivery in flight), to a push agent
 * by a job (the outcome follows), or not at all (refused by the target's budget, or failed; logged). */
typedef enum { DELEG_SENT_POLL, DELEG_SENT_QUEUED, DELEG_SENT_PUSH, DELEG_SENT_FAILED } deleg_sent;

/* Who waits for a push delivery's outcome (a2a_job_wait). */
typedef struct {
    a2a_done_fn done;
    void (*slow)(void *arg, bool stopping);
    void *arg;
} deleg_waiter;

/* Send delegation `did` from `caller` (recorded already: deleg_create) to `target` as a message/send whose
 * messageId and metadata.delegation_id are `did`, admitted as any message (a2a_admit: the budget gate, a paused or
 * hibernated target): the task as its text part, then a file part per attachment of `files`
 * (activity_attachments; may be NULL). With `w`, a push delivery tells it the outcome; nobody else waits. A
 * delegation that cannot be sent fails at once in the ledger (with the budget gate's reason, or "not dispatched:
 * <why>"; also in *err, which may be NULL). */
deleg_sent api_delegation_send(http_req *rq, const char *caller, const char *target, const char *task,
                               const char *did, const json_t *files, const deleg_waiter *w, cl_error *err);

#endif
