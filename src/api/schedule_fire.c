/* schedule_fire.c - see schedule_fire.h. */
#include "api/schedule_fire.h"

#include <jansson.h>
#include <string.h>

#include "api/a2a.h"
#include "base/json.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/time.h"

/* One occurrence on its way: lives in the job's arena, until the job tells how it went. */
typedef struct {
    sched_fire f;
    void (*finished)(void *);
    void *finished_arg;
} cron_send;

/* The reference's wording of each outcome (schedules-mcp.md §4, steps 4-6). */
static void outcome_of(arena_t *a, const a2a_done *d, sched_outcome *o)
{
    *o = (sched_outcome){.status = "ok", .error = "", .active_tasks = d->active_tasks, .duration_ms = d->duration_ms};
    switch (d->kind) {
    case A2A_DONE_REPLIED:
        sched_classify_reply(a, d->body ? d->body : "", d->body ? d->body_len : 0, o);
        break;
    case A2A_DONE_STORED:
        break;
    case A2A_DONE_QUEUED:
        o->status = "queued";
        o->queued = true;
        o->queue_id = d->queue_id;
        o->queue_depth = d->queue_depth;
        o->error = arena_sprintf(a, "queued: workspace busy (active_tasks=%lld), buffered (id=%.8s, depth=%lld)",
                                 (long long)d->active_tasks, d->queue_id, (long long)d->queue_depth);
        break;
    case A2A_DONE_FAILED:
        if (d->busy) {
            o->status = "skipped";
            o->skipped = true;
            o->error = arena_sprintf(a, "skipped: workspace busy (active_tasks=%lld)", (long long)d->active_tasks);
        } else {
            o->status = "error";
            o->error = d->error && d->error[0] ? d->error : "proxy a2a error";
        }
        break;
    }
}

static void on_sent(void *arg, db_t *db, const a2a_done *d)
{
    cron_send *c = arg;
    arena_t *a = arena_new();
    sched_outcome o;
    outcome_of(a, d, &o);
    bool disabled = false;
    cl_error e;
    if (sched_record(db, a, &c->f, &o, &disabled, &e) != CL_OK) {
        metric_inc(METRIC_SCHED_ERRORS);
        log_warn("schedule run not recorded", "schedule=%s message_id=%s error=\"%s\"", c->f.schedule_id,
                 c->f.message_id, e.msg);
    }
    if (o.skipped)
        metric_inc(METRIC_SCHED_SKIPPED);
    else if (!o.queued && strcmp(o.status, "ok") != 0)
        metric_inc(METRIC_SCHED_FAILED);
    if (disabled)
        log_warn("schedule disabled after repeated SDK errors", "schedule=%s status=%s", c->f.schedule_id, o.status);
    arena_free(a);
    c->finished(c->finished_arg);
}

void api_schedule_fire(db_t *db, http_client *cl, const sched_fire *f, void (*finished)(void *), void *arg)
{
    a2a_job *j = a2a_job_new();
    arena_t *a = a2a_job_arena(j);
    cron_send *c = arena_calloc(a, 1, sizeof(*c));
    c->f = *f;
    const char **strings[] = {&c->f.schedule_id, &c->f.workspace_id, &c->f.name, &c->f.cron_expr, &c->f.prompt,
                              &c->f.message_id};
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
        *strings[i] = arena_strdup(a, *strings[i] ? *strings[i] : "");
    c->finished = finished;
    c->finished_arg = arg;
    /* the reference's body */
    a2a_msg *m = arena_calloc(a, 1, sizeof(*m));
    cl_error e;
    if (a2a_send_body(a, a2a_user_send(a, c->f.message_id, c->f.prompt, NULL), m, &e) != CL_OK) { /* a body of our own making: cannot happen */
        a2a_done failed = {.kind = A2A_DONE_FAILED, .error = "cannot build the message", .duration_ms = -1};
        on_sent(c, db, &failed);
        a2a_job_drop(j);
        return;
    }
    /* a copy buffered for a busy agent expires when the next occurrence is due (the queue's default without one) */
    int64_t ttl = (f->next_run_at - time_now_ms() + 999) / 1000;
    m->expires_in_s = f->next_run_at == 0 ? 0 : ttl < 1 ? 1 : ttl;
    a2a_send_background(j, cl, db, c->f.workspace_id, m, on_sent, c);
}
