/* a2a.c - see a2a.h. Difference 6: a caller id needs a valid token for that caller (401 otherwise) and the
 * hierarchy check always runs. Difference 7: a message for a busy target is queued and delivered later, never
 * marked completed without a reply. */
#include "api/a2a.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/auth.h"
#include "api/errors.h"
#include "api/input.h"
#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/time.h"
#include "http/server.h"
#include "model/delegation.h"
#include "model/token.h"
#include "model/urlcheck.h"

static size_t reply_cap = 64 << 20;
static int64_t default_ttl_ms = 3600 * 1000;

void api_a2a_init(size_t max_response, int64_t queue_ttl_ms)
{
    reply_cap = max_response;
    default_ttl_ms = queue_ttl_ms;
}

/* ---- jobs --------------------------------------------------------------------------------------------------- */

struct a2a_job {
    http_req *rq; /* held until answered; NULL when nobody waits */
    arena_t *arena;
    a2a_target t;
    const a2a_msg *m;
    const char *caller, *delegation_id;
    bool from_canvas;
    db_t *own_db;      /* a background sender's connection (its client's callbacks have no worker context) */
    a2a_done_fn done;  /* told the outcome, when set */
    void *done_arg;
    void (*slow)(void *arg, bool stopping); /* told on the loop when the agent is slow to answer (a2a_job_wait) */
    a2a_done outcome;
};

static void job_free(a2a_job *j)
{
    if (j->rq != NULL)
        http_req_drop(j->rq);
    arena_free(j->arena);
    free(j);
}

a2a_job *a2a_job_new(void)
{
    a2a_job *j = xcalloc(1, sizeof(*j));
    j->arena = arena_new();
    j->outcome = (a2a_done){.kind = A2A_DONE_FAILED, .duration_ms = -1};
    return j;
}

/* Tell the sender, if it asked, then free the job. */
static void job_finish(a2a_job *j, db_t *db)
{
    if (j->done != NULL)
        j->done(j->done_arg, db, &j->outcome);
    job_free(j);
}

/* The job answers rq when its outcome is known. */
static void job_attach(a2a_job *j, http_req *rq)
{
    http_defer(rq);
    j->rq = http_req_hold(rq);
}

arena_t *a2a_job_arena(a2a_job *j) { return j->arena; }

void a2a_job_wait(a2a_job *j, a2a_done_fn done, void (*slow)(void *arg, bool stopping), void *arg)
{
    j->done = done;
    j->slow = slow;
    j->done_arg = arg;
}

void a2a_job_drop(a2a_job *j) { job_free(j); }

/* Answer the waiting request, if any (takes the reference of v). */
static void job_reply(a2a_job *j, int status, json_t *v)
{
    if (j->rq != NULL)
        api_reply_json(j->rq, status, v);
    else
        json_decref(v);
}

/* Fail the waiting request, if any, through api/errors.c (takes the reference of extra). */
static void job_fail(a2a_job *j, cl_err err, json_t *extra, const char *msg)
{
    if (j->rq != NULL)
        api_fail_with(j->rq, err, NULL, extra, "%s", msg);
    else
        json_decref(extra);
}

static bool busy_reply(int status) { return status == 429 || status == 503; }

/* The target is busy (or holds its messages): queue the message (once per messageId) and say so. */
static void job_enqueue_as(a2a_job *j, db_t *db, const char *why, const char *message)
{
    j->outcome.error = "workspace agent busy — retry after a short backoff";
    j->outcome.busy = true;
    j->outcome.active_tasks = j->t.active_tasks;
    const char *id = NULL;
    int64_t depth = 0;
    bool existing;
    cl_error e;
    int64_t ttl = j->m->expires_in_s > 0 ? j->m->expires_in_s * 1000 : default_ttl_ms;
    if (a2a_enqueue(db, j->arena, &j->t, j->caller, j->m, A2A_PRIORITY_TASK, time_now_ms() + ttl, &id, &depth,
                    &existing, &e) != CL_OK) {
        log_warn("a2a enqueue failed", "target=%s error=\"%s\"", j->t.id, e.msg);
        if (j->rq)
            http_add_header(j->rq, "retry-after", "30");
        job_fail(j, CL_UNAVAILABLE, json_pack("{s:b, s:i}", "busy", 1, "retry_after", 30),
                 "workspace agent busy — retry after a short backoff");
        return;
    }
    if (!existing)
        metric_inc(METRIC_A2A_QUEUED);
    j->outcome = (a2a_done){.kind = A2A_DONE_QUEUED, .busy = true, .queue_id = id, .queue_depth = depth,
                            .active_tasks = j->t.active_tasks, .duration_ms = j->outcome.duration_ms};
    log_info("a2a queued", "target=%s queue_id=%s depth=%lld reason=\"%s\"", j->t.id, id, (long long)depth, why);
    job_reply(j, 202, json_pack("{s:b, s:s, s:I, s:s}", "queued", 1, "queue_id", id, "queue_depth", (json_int_t)depth,
                                "message", message));
}

static void job_enqueue(a2a_job *j, db_t *db, const char *why)
{
    job_enqueue_as(j, db, why, "workspace agent busy — request queued, will dispatch when capacity available");
}

static void job_delegation(a2a_job *j, db_t *db, const char *status, const char *error, const char *preview)
{
    if (j->delegation_id == NULL)
        return;
    bool moved;
    cl_error e;
    if (deleg_set_status(db, j->arena, j->delegation_id, j->caller, status, error, preview, NULL, &moved, &e) !=
        CL_OK)
        log_warn("delegation update failed", "delegation=%s error=\"%s\"", j->delegation_id, e.msg);
}

static void job_log(a2a_job *j, db_t *db, const a2a_outcome *o)
{
    cl_error e;
    if (a2a_log_outcome(db, j->arena, &j->t, j->caller, j->m, o, &e) != CL_OK)
        log_warn("a2a activity not recorded", "target=%s error=\"%s\"", j->t.id, e.msg);
}

static void on_delivered(void *arg, void *ctx, const http_call_result *r)
{
    a2a_job *j = arg;
    db_t *db = ctx ? ctx : j->own_db;
    if (db == NULL) { /* the server is stopping: nothing is recorded; the sender retries */
        job_fail(j, CL_UNAVAILABLE, NULL, "colony is shutting down; retry");
        j->outcome = (a2a_done){.kind = A2A_DONE_FAILED, .error = "colony is shutting down; retry", .stopping = true,
                                .duration_ms = -1};
        job_finish(j, NULL);
        return;
    }
    a2a_outcome o = {.duration_ms = r->duration_ms, .status = r->status, .from_canvas = j->from_canvas};
    j->outcome = (a2a_done){.kind = A2A_DONE_FAILED, .status = r->status, .error = r->error,
                            .duration_ms = r->duration_ms};
    bool busy = r->outcome == HTTP_CALL_TIMEOUT || r->outcome == HTTP_CALL_CLOSED ||
                (r->outcome == HTTP_CALL_OK && busy_reply(r->status));
    if (busy) {
        metric_inc(METRIC_A2A_BUSY);
        job_enqueue(j, db, r->error ? r->error : "busy");
    } else if (r->outcome == HTTP_CALL_OK && r->status < 300 && r->body_len > 0) {
        metric_inc(METRIC_A2A_DELIVERED);
        o.ok = true;
        o.response_body = arena_strndup(j->arena, r->body, r->body_len);
        j->outcome.kind = A2A_DONE_REPLIED;
        j->outcome.body = o.response_body;
        j->outcome.body_len = r->body_len;
        job_log(j, db, &o);
        const char *text = a2a_reply_text(j->arena, r->body, r->body_len);
        job_delegation(j, db, "completed", NULL, text ? text : o.response_body);
        if (j->rq)
            http_respond(j->rq, r->status, "application/json", arena_strndup(j->rq->arena, r->body, r->body_len),
                         r->body_len);
    } else if (r->outcome == HTTP_CALL_OK) {
        metric_inc(METRIC_A2A_FAILED);
        json_t *body;
        cl_error ignore;
        const char *upstream = NULL;
        if (r->body_len > 0 && json_parse(j->arena, r->body, r->body_len, &body, &ignore) == CL_OK)
            upstream = json_string_value(json_object_get(body, "error"));
        const char *msg = r->status < 300 ? "agent returned empty response body"
                                          : upstream ? upstream : http_reason(r->status);
        o.error = msg;
        o.ok = r->status < 300;
        j->outcome.kind = o.ok ? A2A_DONE_REPLIED : A2A_DONE_FAILED; /* an empty 2xx is an answer, with nothing */
        j->outcome.body = "";
        j->outcome.error = msg;
        job_log(j, db, &o);
        job_delegation(j, db, "failed", msg, NULL);
        if (j->rq != NULL)
            api_relay_error(j->rq, r->status, msg, NULL);
    } else {
        metric_inc(METRIC_A2A_FAILED);
        o.error = r->error;
        job_log(j, db, &o);
        if (r->outcome != HTTP_CALL_CANCELLED) /* cut by a stop, the delegation stays open: the agent may have it */
            job_delegation(j, db, "failed", r->error, NULL);
        j->outcome.stopping = r->outcome == HTTP_CALL_CANCELLED;
        j->outcome.error = r->outcome == HTTP_CALL_TOO_LARGE      ? "agent response too large"
                           : r->outcome == HTTP_CALL_REFUSED    ? "workspace URL is not publicly routable"
                           : r->outcome == HTTP_CALL_CANCELLED ? "colony is shutting down; retry"
                                                                : arena_sprintf(j->arena, "failed to reach workspace "
                                                                                          "agent: %s",
                                                                                r->error ? r->error : "no answer");
        if (r->outcome == HTTP_CALL_TOO_LARGE)
            job_fail(j, CL_BAD_GATEWAY,
                     json_pack("{s:b, s:b, s:I}", "delivery_confirmed", 1, "truncated", 1, "max_bytes",
                               (json_int_t)reply_cap),
                     "agent response too large");
        else if (r->outcome == HTTP_CALL_REFUSED)
            job_fail(j, CL_BAD_GATEWAY, NULL, "workspace URL is not publicly routable");
        else if (r->outcome == HTTP_CALL_CANCELLED)
            job_fail(j, CL_UNAVAILABLE, NULL, "colony is shutting down; retry");
        else
            job_fail(j, CL_BAD_GATEWAY, json_pack("{s:s?}", "detail", r->error), "failed to reach workspace agent");
    }
    job_finish(j, db);
}

void a2a_job_hold(a2a_job *j, db_t *db, const a2a_target *t, const char *sender, const a2a_msg *m,
                  a2a_admission why)
{
    j->t = *t;
    j->m = m;
    j->caller = sender;
    if (why == A2A_HOLD_PAUSED) {
        metric_inc(METRIC_A2A_HELD_PAUSED);
        job_enqueue_as(j, db, "target paused", "workspace paused — request queued, will dispatch when it resumes");
    } else if (why == A2A_WAKING) {
        job_enqueue_as(j, db, "target waking", "workspace is waking from hibernation — request queued");
    } else {
        metric_inc(METRIC_A2A_HELD_METERED);
        job_enqueue(j, db, "a metered delivery to the target is in flight");
    }
    job_finish(j, db);
}

/* On the I/O loop, before the outcome (client.h): only the waiter's own business. */
static void job_slow(void *arg, bool stopping)
{
    a2a_job *j = arg;
    j->slow(j->done_arg, stopping);
}

void a2a_job_start(a2a_job *j, http_client *cl, db_t *db, const a2a_target *t, const char *sender, const a2a_msg *m,
                   bool from_canvas, const char *delegation_id)
{
    j->t = *t;
    j->m = m;
    j->caller = sender;
    j->from_canvas = from_canvas;
    j->delegation_id = delegation_id;
    if (delegation_id != NULL)
        job_delegation(j, db, "dispatched", NULL, NULL);
    http_call c = {.url = t->url, .content_type = "application/json", .body = m->body, .body_len = m->body_len,
                   .max_response = reply_cap, .on_slow = j->slow ? job_slow : NULL};
    http_client_post(cl, &c, on_delivered, j);
}

/* ---- messages no request waits for ------------------------------------------------------------------------- */

/* A background sender's outcome that needs no agent: told at once. */
static void send_settled(a2a_job *j, db_t *db, a2a_done_kind kind, const char *error)
{
    j->outcome.kind = kind;
    j->outcome.error = error;
    job_finish(j, db);
}

void a2a_send_background(a2a_job *j, http_client *cl, db_t *db, const char *target_id, const a2a_msg *m,
                         a2a_done_fn done, void *arg)
{
    j->done = done;
    j->done_arg = arg;
    j->own_db = db;
    j->m = m;
    cl_error e;
    const char *prior = NULL;
    cl_err r = a2a_target_get(db, j->arena, target_id, &j->t, &e);
    if (r == CL_OK && m->message_id && (r = a2a_prior_reply(db, j->arena, j->t.id, NULL, m->message_id, &prior, &e)) ==
                                           CL_NOT_FOUND)
        r = CL_OK;
    if (r != CL_OK) {
        send_settled(j, db, A2A_DONE_FAILED, arena_strdup(j->arena, e.msg));
        return;
    }
    if (prior != NULL) { /* this very message was answered: that answer, never a second delivery */
        metric_inc(METRIC_A2A_DEDUPED);
        j->outcome.status = 200;
        j->outcome.body = prior;
        j->outcome.body_len = strlen(prior);
        send_settled(j, db, A2A_DONE_REPLIED, NULL);
        return;
    }
    bool poll = strcmp(j->t.delivery_mode, "poll") == 0;
    if (!poll && j->t.url && j->t.url[0] && j->t.active_tasks >= j->t.max_concurrent_tasks) {
        metric_inc(METRIC_A2A_BUSY);
        job_enqueue(j, db, "busy: active tasks at the workspace's maximum");
        job_finish(j, db);
        return;
    }
    /* admitted as any message (model/a2a.h a2a_admit): the budget gate, a paused or hibernated target, the lease */
    a2a_admission adm = A2A_DELIVER;
    budget_refusal over;
    if ((r = a2a_admit(db, j->arena, &j->t, NULL, m, poll ? "queued for poll" : "ingest", &adm, &over, &e)) !=
        CL_OK) {
        if (r == CL_PAYMENT_REQUIRED)
            metric_inc(METRIC_A2A_BUDGET_REFUSED);
        send_settled(j, db, A2A_DONE_FAILED, arena_strdup(j->arena, e.msg));
    } else if (!poll && adm != A2A_DELIVER) { /* held (paused, metered) or waking: the busy queue delivers it later */
        a2a_job_hold(j, db, &j->t, NULL, m, adm);
    } else if (poll) {
        metric_inc(METRIC_A2A_POLL);
        send_settled(j, db, A2A_DONE_STORED, NULL);
    } else if (j->t.url == NULL || j->t.url[0] == '\0') {
        send_settled(j, db, A2A_DONE_FAILED, "workspace has no URL");
    } else if (url_check_agent(j->t.url, &e) != CL_OK) {
        budget_settle(db, j->arena, j->t.id, j->t.lease, NULL, &e); /* no delivery: the lease goes at once */
        send_settled(j, db, A2A_DONE_FAILED, "workspace URL is not publicly routable");
    } else {
        a2a_target t = j->t;
        a2a_job_start(j, cl, db, &t, NULL, m, true, NULL);
    }
}

/* ---- POST /workspaces/:id/a2a ------------------------------------------------------------------------------- */

void api_a2a(http_req *rq)
{
    const char *target_id, *sender;
    bool canvas;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &target_id) || !api_sender_or_reply(rq, &sender, &canvas))
        return;
    if (sender != NULL && strcasecmp(sender, target_id) != 0 && !api_may_talk_or_reply(rq, sender, target_id))
        return;
    cl_error e;
    a2a_job *j = a2a_job_new();
    arena_t *a = a2a_job_arena(j);
    a2a_msg *m = arena_calloc(a, 1, sizeof(*m));
    a2a_target t;
    sender = sender ? arena_strdup(a, sender) : NULL;
    cl_err r = rq->body_len == 0 ? cl_fail(&e, CL_INVALID_JSON, "invalid JSON")
                                 : a2a_normalize(a, rq->body, rq->body_len, m, &e);
    if (r == CL_OK)
        r = a2a_target_get(rq->db, a, target_id, &t, &e);
    /* a reply from a workspace (metadata in_reply_to / delegation_id) completes what it answers */
    if (r == CL_OK && sender != NULL)
        r = a2a_note_reply(rq->db, a, sender, t.id, m, &e);
    const char *prior = NULL;
    if (r == CL_OK && m->is_send && m->message_id) {
        r = a2a_prior_reply(rq->db, a, t.id, sender, m->message_id, &prior, &e);
        if (r == CL_NOT_FOUND)
            r = CL_OK;
    }
    bool poll = r == CL_OK && strcmp(t.delivery_mode, "poll") == 0;
    /* one transaction admits it: the budget gate (402), a paused or hibernated target, the metering lease, and the
     * ingest row (model/a2a.h a2a_admit) */
    a2a_admission adm = A2A_DELIVER;
    budget_refusal over = {0};
    if (r == CL_OK && prior == NULL)
        r = a2a_admit(rq->db, a, &t, sender, m, m->is_send || poll ? poll ? "queued for poll" : "ingest" : NULL, &adm,
                      &over, &e);
    if (r == CL_PAYMENT_REQUIRED) {
        metric_inc(METRIC_A2A_BUDGET_REFUSED);
        json_t *periods = json_array();
        for (int i = 0; i < over.count; i++)
            json_array_append_new(periods, json_string(over.periods[i]));
        api_fail_with(rq, CL_PAYMENT_REQUIRED, NULL, json_pack("{s:o}", "exceeded_periods", periods), "%s", e.msg);
        job_free(j);
        return;
    }
    if (r != CL_OK) {
        api_reply_error(rq, &e);
        job_free(j);
        return;
    }
    if (adm == A2A_HOLD_PAUSED || adm == A2A_HOLD_METERED) { /* waits in the busy queue (lifecycle.h, budget.h) */
        job_attach(j, rq);
        a2a_job_hold(j, rq->db, &t, sender, m, adm);
        return;
    }
    if (adm == A2A_WAKING) {
        http_add_header(rq, "retry-after", "15");
        api_fail_with(rq, CL_UNAVAILABLE, NULL, json_pack("{s:b, s:i}", "waking", 1, "retry_after", 15),
                      "workspace is waking from hibernation — retry in ~15 seconds");
    } else if (prior != NULL) { /* the same message again: its reply, not a second delivery */
        metric_inc(METRIC_A2A_DEDUPED);
        http_respond(rq, 200, "application/json", arena_strdup(rq->arena, prior), strlen(prior));
    } else if (poll) {
        metric_inc(METRIC_A2A_POLL);
        api_reply_json(rq, 200, json_pack("{s:s, s:s, s:s}", "status", "queued", "delivery_mode", "poll", "method",
                                          m->method));
    } else if (t.url == NULL || t.url[0] == '\0') {
        api_fail_with(rq, CL_UNAVAILABLE, NULL, json_pack("{s:s?}", "status", t.status), "workspace has no URL");
    } else if (url_check_agent(t.url, &e) != CL_OK) {
        budget_settle(rq->db, a, t.id, t.lease, NULL, &e); /* no delivery: its metering lease goes at once */
        api_fail(rq, CL_BAD_GATEWAY, "workspace URL is not publicly routable");
    } else {
        job_attach(j, rq);
        a2a_job_start(j, http_req_client(rq), rq->db, &t, sender, m, canvas, NULL);
        return;
    }
    job_free(j);
}

/* ---- the queue ---------------------------------------------------------------------------------------------- */

void api_a2a_queue_get(http_req *rq)
{
    const char *ws, *qid;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &ws) || !api_uuid_param_or_reply(rq, "queue_id", "queue", &qid))
        return;
    const char *bearer = token_from_header(rq->arena, http_header(rq, "authorization"));
    caller c = {0};
    if (bearer != NULL && api_identify(rq, bearer, &c) != CL_OK)
        return;
    if (c.kind == CALLER_NONE) {
        api_fail(rq, CL_UNAUTHORIZED, "caller identity required");
        return;
    }
    a2a_queue_row r;
    cl_error e;
    cl_err found = a2a_queue_get(rq->db, rq->arena, qid, &r, &e);
    if (found != CL_OK || strcasecmp(r.workspace_id, ws) != 0) {
        if (found == CL_NOT_FOUND || found == CL_OK)
            api_fail_with(rq, CL_NOT_FOUND, NULL, json_pack("{s:b}", "retryable", 1), "queue item not found");
        else
            api_reply_error(rq, &e);
        return;
    }
    bool mine = c.kind != CALLER_WORKSPACE || strcasecmp(c.workspace_id, r.workspace_id) == 0 ||
                (r.caller_id && strcasecmp(c.workspace_id, r.caller_id) == 0);
    if (!mine) {
        api_fail(rq, CL_FORBIDDEN, "access denied");
        return;
    }
    json_t *v = json_pack("{s:s, s:s, s:s, s:I, s:I}", "queue_id", r.id, "workspace_id", r.workspace_id, "status",
                          r.status, "priority", (json_int_t)r.priority, "attempts", (json_int_t)r.attempts);
    json_object_set_new(v, "enqueued_at", api_json_time(r.enqueued_at));
    const char *keys[] = {"dispatched_at", "completed_at", "expires_at", "next_attempt_at"};
    int64_t vals[] = {r.dispatched_at, r.completed_at, r.expires_at, r.next_attempt_at};
    for (size_t i = 0; i < 4; i++)
        if (vals[i])
            json_object_set_new(v, keys[i], api_json_time(vals[i]));
    if (r.last_error)
        json_object_set_new(v, "last_error", json_string(r.last_error));
    if (r.response_body && strcmp(r.status, "completed") == 0)
        json_object_set_new(v, "response_body", json_loads(r.response_body, JSON_DECODE_ANY, NULL) ?: json_null());
    api_reply_json(rq, 200, v);
}

void api_a2a_drop_stale(http_req *rq)
{
    int64_t minutes, dropped = 0;
    if (!api_query_int_or_reply(rq, "max_age_minutes", 60, 1, 525600, &minutes))
        return;
    const char *ws = http_query(rq, "workspace_id");
    if (ws != NULL && (ws[0] == '\0' || !id_is_uuid(ws, strlen(ws)))) {
        api_fail(rq, CL_INVALID, "workspace_id must be a UUID");
        return;
    }
    cl_error e;
    if (a2a_drop_stale(rq->db, rq->arena, minutes * 60000, ws ? id_lower((char *)ws) : NULL, &dropped, &e) !=
        CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    metric_add(METRIC_A2A_DROPPED, dropped);
    api_reply_json(rq, 200, json_pack("{s:I}", "dropped", (json_int_t)dropped));
}
