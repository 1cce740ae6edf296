/* schedules_admin.c - see schedules_admin.h. Where colony differs: a disabled schedule's health is `disabled`
 * (the reference called it stale); a schedule's workspace cannot be missing here (the database deletes its
 * schedules with it), so an orphan's workspace_status is always "removed"; both lists page (the whole list up to
 * 20,000 rows by default, as the reference answers it). */
#include "api/schedules_admin.h"

#include "api/errors.h"
#include "api/paging.h"
#include "base/time.h"
#include "model/schedule_admin.h"

static const char *row_cursor(arena_t *a, const void *row)
{
    return api_cursor_text(a, "u", &(api_cursor){.id = ((const sched_admin_row *)row)->id});
}

static void health_write(jsonw *w, const void *row)
{
    const sched_admin_row *r = row;
    int64_t now_ms = time_now_ms(), threshold = sched_stale_threshold_s(r->cron_expr, r->timezone, now_ms);
    const char *status = !r->enabled           ? "disabled"
                         : r->last_run_at == 0 ? "never_run"
                         : threshold > 0 && (now_ms - r->last_run_at) / 1000 > threshold ? "stale"
                                                                                         : "ok";
    jsonw_obj_open(w);
    jsonw_kstr(w, "workspace_id", r->workspace_id);
    jsonw_kstr(w, "workspace_name", r->workspace_name);
    jsonw_kstr(w, "schedule_id", r->id);
    jsonw_kstr(w, "schedule_name", r->name);
    jsonw_kstr(w, "cron_expr", r->cron_expr);
    api_jsonw_time(w, "last_run_at", r->last_run_at);
    api_jsonw_time(w, "expected_next_run", r->next_run_at);
    jsonw_kstr(w, "status", status);
    jsonw_kint(w, "stale_threshold_seconds", threshold);
    jsonw_obj_close(w);
}

static void orphan_write(jsonw *w, const void *row)
{
    const sched_admin_row *r = row;
    jsonw_obj_open(w);
    jsonw_kstr(w, "workspace_id", r->workspace_id);
    jsonw_kstr(w, "workspace_status", "removed");
    jsonw_kstr(w, "schedule_id", r->id);
    jsonw_kstr(w, "schedule_name", r->name);
    jsonw_kstr(w, "source", r->source);
    jsonw_kbool(w, "enabled", r->enabled);
    jsonw_kstr(w, "cron_expr", r->cron_expr);
    jsonw_obj_close(w);
}

typedef cl_err (*admin_page_fn)(db_t *db, arena_t *a, const char *after_id, int64_t limit, sched_admin_row **rows,
                                size_t *count, cl_error *err);

static void reply_page(http_req *rq, admin_page_fn read, api_row_writer write)
{
    int64_t limit;
    api_cursor c;
    if (!api_limit_or_reply(rq, SCHED_ADMIN_MAX, SCHED_ADMIN_MAX, &limit) || !api_cursor_or_reply(rq, "u", &c))
        return;
    sched_admin_row *rows;
    size_t n;
    cl_error e;
    if (read(rq->db, rq->arena, c.set ? c.id : NULL, limit + 1, &rows, &n, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_rows(rq, rows, n, sizeof(*rows), limit, write, row_cursor);
}

void api_admin_schedules_health(http_req *rq) { reply_page(rq, sched_admin_health, health_write); }

void api_admin_schedules_orphans(http_req *rq) { reply_page(rq, sched_admin_orphans, orphan_write); }

void api_admin_schedules_reap(http_req *rq)
{
    int64_t repointed, disabled;
    cl_error e;
    if (sched_reap_orphans(rq->db, rq->arena, &repointed, &disabled, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:I, s:I}", "repointed", (json_int_t)repointed, "disabled",
                                      (json_int_t)disabled));
}
