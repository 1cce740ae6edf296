/* schedule.c - see schedule.h. */
#include "model/schedule.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "base/time.h"
#include "base/tz.h"
#include "base/utf8.h"
#include "model/event.h"
#include "model/workspace.h"

static int64_t max_per_workspace = SCHED_PER_WORKSPACE_DEFAULT;
static bool allow_seconds;

void sched_configure(int64_t max, bool seconds)
{
    max_per_workspace = max;
    allow_seconds = seconds;
}

bool sched_seconds_allowed(void) { return allow_seconds; }

int64_t sched_max_per_workspace(void) { return max_per_workspace; }

#define S_COLUMNS                                                                                                  \
    "id, workspace_id, name, cron_expr, timezone, prompt, enabled, last_run_at, next_run_at, run_count,"          \
    " last_status, last_error, source, created_at, updated_at"

/* Holding the workspace's row serialises the schedule writes of one workspace across nodes (the count below is then
 * exact) and refuses a workspace that is gone; the tree lock, shared, orders this with a cascade delete. */
static const char SQL_LOCK_WS[] = "UPDATE workspaces SET updated_at = updated_at WHERE id = $1 AND status <> 'removed'";
static const char SQL_COUNT[] =
    "SELECT count(*), COALESCE(sum(CASE WHEN name = $2 AND name <> '' THEN 1 ELSE 0 END), 0)"
    " FROM workspace_schedules WHERE workspace_id = $1";
#define SQL_INSERT_HEAD                                                                                            \
    "INSERT INTO workspace_schedules (id, workspace_id, name, cron_expr, timezone, prompt, enabled, next_run_at,"  \
    " source, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, CAST($8 AS BIGINT), $9, $10, $10)"     \
    " ON CONFLICT (workspace_id, name) WHERE name <> ''"
static const char SQL_INSERT[] = SQL_INSERT_HEAD " DO NOTHING RETURNING id";
/* a template refreshes its own rows only: a runtime schedule of that name (made or renamed by a user) stays */
static const char SQL_UPSERT_TEMPLATE[] =
    SQL_INSERT_HEAD " DO UPDATE SET cron_expr = excluded.cron_expr, timezone = excluded.timezone,"
                    " prompt = excluded.prompt, enabled = excluded.enabled, next_run_at = excluded.next_run_at,"
                    " updated_at = excluded.updated_at WHERE workspace_schedules.source = 'template' RETURNING id";
static const char SQL_BY_NAME[] = "SELECT id FROM workspace_schedules WHERE workspace_id = $1 AND name = $2";
static const char SQL_GET[] = "SELECT " S_COLUMNS " FROM workspace_schedules WHERE id = $1 AND workspace_id = $2";
static const char SQL_UPDATE[] =
    "UPDATE workspace_schedules SET name = COALESCE($3, name), prompt = COALESCE($4, prompt),"
    " enabled = COALESCE(CAST($5 AS INTEGER), enabled), cron_expr = COALESCE($6, cron_expr),"
    " timezone = COALESCE($7, timezone),"
    " next_run_at = CASE WHEN CAST($8 AS INTEGER) = 1 THEN CAST($9 AS BIGINT) ELSE next_run_at END, updated_at = $10"
    " WHERE id = $1 AND workspace_id = $2 AND (CAST($8 AS INTEGER) = 0 OR (cron_expr = $11 AND timezone = $12))";
static const char SQL_DELETE[] = "DELETE FROM workspace_schedules WHERE id = $1 AND workspace_id = $2";
static const char SQL_LIST[] = "SELECT " S_COLUMNS " FROM workspace_schedules WHERE workspace_id = $1"
                               " AND (created_at, id) > (CAST($2 AS BIGINT), $3) ORDER BY created_at, id LIMIT $4";
static const char SQL_HISTORY[] =
    "SELECT seq, created_at, duration_ms, status, error_detail, request_body FROM activity_logs"
    " WHERE schedule_id = $1 AND workspace_id = $2 AND activity_type = 'cron_run' AND seq < CAST($3 AS BIGINT)"
    " ORDER BY seq DESC LIMIT $4";
static const char SQL_DUE[] =
    "SELECT s.id FROM workspace_schedules s JOIN workspaces w ON w.id = s.workspace_id"
    " WHERE s.enabled = 1 AND s.next_run_at IS NOT NULL AND s.next_run_at <= $1 AND w.status <> 'removed'"
    " ORDER BY s.next_run_at, s.id LIMIT $2";
static const char SQL_SOONEST[] = "SELECT min(next_run_at) FROM workspace_schedules"
                                  " WHERE enabled = 1 AND next_run_at IS NOT NULL AND next_run_at > $1";
static const char SQL_CLAIM_READ[] =
    "SELECT s.workspace_id, s.name, s.cron_expr, s.timezone, s.next_run_at FROM workspace_schedules s"
    " JOIN workspaces w ON w.id = s.workspace_id"
    " WHERE s.id = $1 AND s.enabled = 1 AND s.next_run_at <= $2 AND w.status <> 'removed'";
/* The claim: only the node whose UPDATE still finds the next run (and the expression) it read moves it on. */
static const char SQL_CLAIM[] =
    "UPDATE workspace_schedules SET next_run_at = CAST($5 AS BIGINT), last_run_at = $6, run_count = run_count + 1,"
    " updated_at = $6 WHERE id = $1 AND enabled = 1 AND next_run_at = $2 AND cron_expr = $3 AND timezone = $4"
    " RETURNING prompt, name";
static const char SQL_BROKEN[] =
    "UPDATE workspace_schedules SET next_run_at = NULL, last_status = 'error', last_error = $5, updated_at = $6"
    " WHERE id = $1 AND next_run_at = $2 AND cron_expr = $3 AND timezone = $4";
/* A run's outcome lands on the row only while it is the latest claimed (last_run_at is the claim's time). */
static const char SQL_STREAKS[] =
    "UPDATE workspace_schedules SET"
    " consecutive_empty_runs = CASE WHEN $3 = 1 THEN consecutive_empty_runs + 1 WHEN $4 = 1 THEN 0"
    " ELSE consecutive_empty_runs END,"
    " consecutive_sdk_errors = CASE WHEN $5 = 1 THEN consecutive_sdk_errors + 1 WHEN $4 = 1 THEN 0"
    " ELSE consecutive_sdk_errors END"
    " WHERE id = $1 AND last_run_at = $2 RETURNING consecutive_empty_runs, consecutive_sdk_errors";
static const char SQL_OUTCOME[] =
    "UPDATE workspace_schedules SET last_status = $3, last_error = $4,"
    " enabled = CASE WHEN $5 = 1 THEN 0 ELSE enabled END, updated_at = $6 WHERE id = $1 AND last_run_at = $2";
static const char SQL_HISTORY_ROW[] =
    "INSERT INTO activity_logs (id, workspace_id, activity_type, method, summary, request_body, status, error_detail,"
    " duration_ms, created_at, idempotency_key, schedule_id)"
    " VALUES ($1, $2, 'cron_run', 'cron', $3, $4, $5, $6, CAST($7 AS BIGINT), $8, $9, $10)"
    " ON CONFLICT (workspace_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING RETURNING seq";

static int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

static char *new_id(arena_t *a)
{
    char id[ID_UUID_LEN + 1];
    id_uuid4(id);
    return arena_strdup(a, id);
}

/* ---- checks ------------------------------------------------------------------------------------------------ */

static cl_err read_expr(const char *cron, const char *timezone, bool seconds, cron_expr *e, const tz_zone **z,
                        sched_bad *bad, cl_error *err)
{
    size_t pos;
    cl_err r = tz_get(timezone, strlen(timezone), z, &pos, err);
    if (r == CL_NOT_FOUND) {
        *bad = (sched_bad){"timezone", tz_name_valid(timezone, strlen(timezone), &pos) ? 0 : pos + 1};
        return cl_fail_code(err, CL_INVALID, "invalid_timezone", "invalid timezone: %.*s", TZ_NAME_MAX * 2, timezone);
    }
    if (r != CL_OK)
        return r;
    if (cron_parse(cron, strlen(cron), seconds, e, &pos, err) != CL_OK) {
        *bad = (sched_bad){"cron_expr", pos};
        return CL_INVALID;
    }
    return CL_OK;
}

static int64_t next_after(const cron_expr *e, const tz_zone *z, int64_t now_ms)
{
    int64_t next;
    return cron_next(e, z, floor_div(now_ms, 1000), &next) ? next * 1000 : 0;
}

cl_err sched_check(const char *cron, const char *timezone, int64_t now_ms, int64_t *next, sched_bad *bad,
                   cl_error *err)
{
    cron_expr e;
    const tz_zone *z;
    cl_err r = read_expr(cron, timezone, allow_seconds, &e, &z, bad, err);
    if (r == CL_OK)
        *next = next_after(&e, z, now_ms);
    return r;
}

/* ---- rows -------------------------------------------------------------------------------------------------- */

static int64_t opt_int(db_stmt_t *st, int col) { return db_col_is_null(st, col) ? 0 : db_col_int64(st, col); }

static void read_row(db_stmt_t *st, arena_t *a, sched_row *r)
{
    r->id = db_col_dup(st, a, 0);
    r->workspace_id = db_col_dup(st, a, 1);
    r->name = db_col_dup(st, a, 2);
    r->cron_expr = db_col_dup(st, a, 3);
    r->timezone = db_col_dup(st, a, 4);
    r->prompt = db_col_dup(st, a, 5);
    r->enabled = db_col_int64(st, 6) != 0;
    r->last_run_at = opt_int(st, 7);
    r->next_run_at = opt_int(st, 8);
    r->run_count = db_col_int64(st, 9);
    r->last_status = db_col_dup(st, a, 10);
    r->last_error = db_col_dup(st, a, 11);
    r->source = db_col_dup(st, a, 12);
    r->created_at = db_col_int64(st, 13);
    r->updated_at = db_col_int64(st, 14);
}

cl_err sched_get(db_t *db, arena_t *a, const char *workspace_id, const char *id, sched_row *out, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_GET, "ss", id, workspace_id);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK)
        read_row(st, a, out);
    db_finish(st);
    return e == CL_NOT_FOUND ? cl_fail(err, CL_NOT_FOUND, "schedule not found") : e;
}

static cl_err holder(db_t *db, arena_t *a, const char *workspace_id, const char *name, const char **id,
                     cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_BY_NAME, "ss", workspace_id, name);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK)
        *id = db_col_dup(st, a, 0);
    db_finish(st);
    return e;
}

static cl_err name_taken(db_t *db, arena_t *a, const char *workspace_id, const char *name, const char **conflict_id,
                         cl_error *err)
{
    cl_error ignore;
    if (holder(db, a, workspace_id, name, conflict_id, &ignore) != CL_OK)
        *conflict_id = NULL;
    return cl_fail(err, CL_CONFLICT, "a schedule named \"%.*s\" already exists in this workspace", SCHED_NAME_MAX,
                   name);
}

/* Under the workspace's lock: room for one more (a template's refresh of a name it has needs none). */
static cl_err room_for(db_t *db, arena_t *a, const char *workspace_id, const char *name, cl_error *err)
{
    db_stmt_t *st;
    int64_t changed = 0;
    cl_err e = db_tx_lock_shared(db, WS_TREE_LOCK, err);
    if (e == CL_OK && (e = db_run(db, a, &changed, err, SQL_LOCK_WS, "s", workspace_id)) == CL_OK && changed == 0)
        return cl_fail(err, CL_NOT_FOUND, "workspace not found");
    if (e != CL_OK || (e = db_query(db, a, &st, err, SQL_COUNT, "ss", workspace_id, name)) != CL_OK)
        return e;
    if ((e = db_one(st, err)) == CL_OK && db_col_int64(st, 1) == 0 && db_col_int64(st, 0) >= max_per_workspace)
        e = cl_fail_code(err, CL_CONFLICT, "schedule_limit_reached",
                         "this workspace has %lld schedules, the most it may have", (long long)max_per_workspace);
    db_finish(st);
    return e;
}

cl_err sched_create(db_t *db, arena_t *a, const char *workspace_id, const sched_spec *s, sched_row *out,
                    const char **conflict_id, bool *skipped, sched_bad *bad, cl_error *err)
{
    int64_t now = time_now_ms(), next;
    bool template = strcmp(s->source, "template") == 0;
    *skipped = false;
    *conflict_id = NULL;
    const char *tz = s->timezone && s->timezone[0] ? s->timezone : "UTC";
    cl_err e = sched_check(s->cron_expr, tz, now, &next, bad, err);
    if (e != CL_OK)
        return e;
    const char *id = new_id(a), *name = s->name ? s->name : "";
    if ((e = db_tx_begin(db, err)) != CL_OK)
        return e;
    e = room_for(db, a, workspace_id, name, err);
    db_stmt_t *st = NULL;
    if (e == CL_OK)
        e = db_query(db, a, &st, err, template ? SQL_UPSERT_TEMPLATE : SQL_INSERT, "ssssssinsi", id, workspace_id,
                     name, s->cron_expr, tz, s->prompt, (int64_t)s->enabled, s->source, now);
    if (e == CL_OK && next > 0)
        db_bind_int64(st, 8, next);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK) {
        id = db_col_dup(st, a, 0);
        e = db_exec(st, err);
    }
    db_finish(st);
    if (e == CL_NOT_FOUND && template) { /* a runtime schedule holds the name: left as it is */
        *skipped = true;
        e = holder(db, a, workspace_id, name, &id, err);
    } else if (e == CL_NOT_FOUND) {
        e = name_taken(db, a, workspace_id, name, conflict_id, err);
    }
    if (e == CL_OK)
        e = sched_get(db, a, workspace_id, id, out, err);
    return db_tx_end(db, e, err);
}

cl_err sched_update(db_t *db, arena_t *a, const char *workspace_id, const char *id, const sched_patch *p,
                    const char **conflict_id, sched_bad *bad, cl_error *err)
{
    *conflict_id = NULL;
    bool timing = p->has_cron || p->has_timezone;
    for (int attempt = 0; attempt < 5; attempt++) {
        sched_row cur = {0};
        int64_t now = time_now_ms(), next = 0;
        cl_err e;
        if (timing) { /* merge with what is stored, check, and write only if that is still what is stored */
            if ((e = sched_get(db, a, workspace_id, id, &cur, err)) != CL_OK)
                return e;
            const char *tz = p->has_timezone ? p->timezone : cur.timezone;
            if ((e = sched_check(p->has_cron ? p->cron_expr : cur.cron_expr, tz[0] ? tz : "UTC", now, &next, bad,
                                 err)) != CL_OK)
                return e;
        }
        db_stmt_t *st;
        e = db_query(db, a, &st, err, SQL_UPDATE, "ssssnssiniss", id, workspace_id, p->has_name ? p->name : NULL,
                     p->has_prompt ? p->prompt : NULL, p->has_cron ? p->cron_expr : NULL,
                     p->has_timezone ? (p->timezone[0] ? p->timezone : "UTC") : NULL, (int64_t)timing, now,
                     cur.cron_expr, cur.timezone);
        if (e == CL_OK && p->has_enabled)
            db_bind_int64(st, 5, p->enabled);
        if (e == CL_OK && next > 0)
            db_bind_int64(st, 9, next);
        if (e == CL_OK)
            e = db_exec(st, err);
        int64_t changed = e == CL_OK ? db_changes(st) : 0;
        db_finish(st);
        if (e == CL_CONFLICT)
            return name_taken(db, a, workspace_id, p->name, conflict_id, err);
        if (e != CL_OK || changed > 0)
            return e;
        if (!timing) /* nothing raced: the schedule is not there */
            return cl_fail(err, CL_NOT_FOUND, "schedule not found");
    }
    return cl_fail(err, CL_UNAVAILABLE, "the schedule kept changing; retry");
}

cl_err sched_delete(db_t *db, arena_t *a, const char *workspace_id, const char *id, cl_error *err)
{
    int64_t changed = 0;
    cl_err e = db_run(db, a, &changed, err, SQL_DELETE, "ss", id, workspace_id);
    if (e == CL_OK && changed == 0)
        return cl_fail(err, CL_NOT_FOUND, "schedule not found");
    return e;
}

static const char SQL_COUNT_ENABLED[] =
    "SELECT count(*) FROM workspace_schedules WHERE workspace_id = $1 AND enabled = 1";

cl_err sched_count_enabled(db_t *db, arena_t *a, const char *workspace_id, int64_t *count, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_COUNT_ENABLED, "s", workspace_id);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK)
        *count = db_col_int64(st, 0);
    db_finish(st);
    return e;
}

cl_err sched_list(db_t *db, arena_t *a, const char *workspace_id, int64_t after_created, const char *after_id,
                  int64_t limit, sched_row **rows, size_t *count, cl_error *err)
{
    db_stmt_t *st;
    sched_row *out = arena_calloc(a, (size_t)limit + 1, sizeof(*out));
    size_t n = 0;
    bool row = true;
    cl_err e = db_query(db, a, &st, err, SQL_LIST, "sisi", workspace_id, after_id ? after_created : INT64_MIN,
                        after_id ? after_id : "", limit);
    while (e == CL_OK && (e = db_step(st, &row, err)) == CL_OK && row && n < (size_t)limit)
        read_row(st, a, &out[n++]);
    db_finish(st);
    *rows = out, *count = n;
    return e;
}

cl_err sched_history(db_t *db, arena_t *a, const char *workspace_id, const char *id, int64_t before_seq,
                     int64_t limit, sched_run **rows, size_t *count, cl_error *err)
{
    db_stmt_t *st;
    sched_run *out = arena_calloc(a, (size_t)limit + 1, sizeof(*out));
    size_t n = 0;
    bool row = true;
    cl_err e = db_query(db, a, &st, err, SQL_HISTORY, "ssii", id, workspace_id, before_seq > 0 ? before_seq : INT64_MAX,
                        limit);
    while (e == CL_OK && (e = db_step(st, &row, err)) == CL_OK && row && n < (size_t)limit) {
        sched_run *r = &out[n++];
        r->seq = db_col_int64(st, 0);
        r->created_at = db_col_int64(st, 1);
        r->duration_ms = db_col_is_null(st, 2) ? -1 : db_col_int64(st, 2);
        r->status = db_col_dup(st, a, 3);
        r->error_detail = db_col_dup(st, a, 4);
        r->request = db_col_dup(st, a, 5);
    }
    db_finish(st);
    *rows = out, *count = n;
    return e;
}

/* ---- the engine -------------------------------------------------------------------------------------------- */

cl_err sched_due(db_t *db, arena_t *a, int64_t now_ms, int64_t limit, const char ***ids, size_t *count,
                 int64_t *soonest_later, cl_error *err)
{
    db_stmt_t *st;
    const char **out = arena_calloc(a, (size_t)limit + 1, sizeof(*out));
    size_t n = 0;
    bool row = true;
    cl_err e = db_query(db, a, &st, err, SQL_DUE, "ii", now_ms, limit);
    while (e == CL_OK && (e = db_step(st, &row, err)) == CL_OK && row && n < (size_t)limit)
        out[n++] = db_col_dup(st, a, 0);
    db_finish(st);
    *ids = out, *count = n, *soonest_later = 0;
    if (e == CL_OK && (e = db_query(db, a, &st, err, SQL_SOONEST, "i", now_ms)) == CL_OK &&
        (e = db_one(st, err)) == CL_OK)
        *soonest_later = opt_int(st, 0);
    db_finish(st);
    return e;
}

/* cron-<schedule id>-<YYYYMMDDTHHMMSSZ>: one occurrence of one schedule, whichever node fires it. */
static const char *message_id(arena_t *a, const char *schedule_id, int64_t at_ms)
{
    int64_t s = floor_div(at_ms, 1000), days = floor_div(s, 86400), sod = s - days * 86400, y;
    int m, d;
    time_civil_from_days(days, &y, &m, &d);
    return arena_sprintf(a, "cron-%s-%04lld%02d%02dT%02lld%02lld%02lldZ", schedule_id, (long long)y, m, d,
                         (long long)(sod / 3600), (long long)(sod / 60 % 60), (long long)(sod % 60));
}

cl_err sched_claim(db_t *db, arena_t *a, const char *id, int64_t now_ms, sched_fire *out, sched_claim_result *result,
                   cl_error *err)
{
    *result = SCHED_NOT_DUE;
    memset(out, 0, sizeof(*out));
    db_stmt_t *st;
    const char *tz = NULL;
    int64_t due = 0;
    cl_err e = db_query(db, a, &st, err, SQL_CLAIM_READ, "si", id, now_ms);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK) {
        out->workspace_id = db_col_dup(st, a, 0);
        out->name = db_col_dup(st, a, 1);
        out->cron_expr = db_col_dup(st, a, 2);
        tz = db_col_dup(st, a, 3);
        due = db_col_int64(st, 4);
    }
    db_finish(st);
    if (e != CL_OK)
        return e == CL_NOT_FOUND ? CL_OK : e;
    cron_expr ex;
    const tz_zone *z;
    sched_bad bad;
    cl_error why;
    int64_t now = time_now_ms(), changed = 0;
    if ((e = read_expr(out->cron_expr, tz, true, &ex, &z, &bad, &why)) != CL_OK) {
        if (e != CL_INVALID)
            return cl_fail(err, e, "%s", why.msg);
        e = db_run(db, a, &changed, err, SQL_BROKEN, "sisssi", id, due, out->cron_expr, tz,
                   arena_sprintf(a, "%s: %s", bad.field, why.msg), now);
        *result = e == CL_OK && changed ? SCHED_BROKEN : SCHED_NOT_DUE;
        return e;
    }
    int64_t missed, latest = cron_latest(&ex, z, floor_div(due, 1000), floor_div(now_ms, 1000), &missed) * 1000;
    if (latest < due) /* a stored time off the second (never written by colony): fire it as it is */
        latest = due;
    int64_t next = next_after(&ex, z, latest > now_ms ? latest : now_ms);
    e = db_query(db, a, &st, err, SQL_CLAIM, "sissni", id, due, out->cron_expr, tz, now);
    if (e == CL_OK && next > 0)
        db_bind_int64(st, 5, next);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK) {
        out->prompt = db_col_dup(st, a, 0);
        out->name = db_col_dup(st, a, 1);
        e = db_exec(st, err);
        *result = e == CL_OK ? SCHED_CLAIMED : SCHED_NOT_DUE;
    }
    db_finish(st);
    if (e == CL_NOT_FOUND) /* another node moved it first */
        return CL_OK;
    out->schedule_id = arena_strdup(a, id);
    out->scheduled_at = latest;
    out->fired_at = now;
    out->next_run_at = next;
    out->missed = missed;
    out->message_id = message_id(a, id, latest);
    return e;
}

/* ---- outcomes ---------------------------------------------------------------------------------------------- */

static const char *str_at(const json_t *obj, const char *key)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool contains(const char *s, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; n <= len && i <= len - n; i++)
        if (memcmp(s + i, needle, n) == 0)
            return true;
    return false;
}

void sched_classify_reply(arena_t *a, const char *body, size_t len, sched_outcome *o)
{
    o->status = "ok";
    o->error = "";
    o->empty = o->sdk_kind = false;
    json_t *root;
    cl_error ignore;
    if (len > 0 && json_parse(a, body, len, &root, &ignore) == CL_OK && json_is_object(root)) {
        const json_t *error = json_object_get(root, "error");
        const char *msg = json_is_string(error) ? json_string_value(error) : str_at(error, "message");
        if (msg != NULL) {
            o->status = "error";
            o->error = utf8_cut_copy(a, arena_sprintf(a, "A2A adapter error: %s", msg), SCHED_ERROR_MAX, true);
            return;
        }
        const json_t *result = json_object_get(root, "result");
        const char *kind = str_at(result, "kind") ? str_at(result, "kind") : str_at(result, "result_kind");
        if (kind != NULL && kind[0] && strcmp(kind, "ok") != 0 && strcmp(kind, "message") != 0) {
            const char *state = strcmp(kind, "task") == 0 ? str_at(json_object_get(result, "status"), "state") : kind;
            bool fine = state == NULL || state[0] == '\0' || strcmp(state, "submitted") == 0 ||
                        strcmp(state, "working") == 0 || strcmp(state, "completed") == 0;
            if (!fine || strcmp(kind, "task") != 0) {
                o->status = utf8_cut_copy(a, state, 64, false);
                o->error = utf8_cut_copy(a, arena_sprintf(a, "SDK error: result_kind=%s", kind), SCHED_ERROR_MAX,
                                         true);
                o->sdk_kind = true;
                return;
            }
        }
    }
    o->empty = len == 0 || contains(body, len, "(no response generated)") || contains(body, len, "\"text\":\"\"") ||
               contains(body, len, "\"text\": \"\"");
}

static char *iso_time(arena_t *a, int64_t ms)
{
    char buf[TIME_RFC3339_MAX];
    time_format_rfc3339(ms, buf);
    return arena_strdup(a, buf);
}

/* The history row's request_body. */
static const char *run_request(arena_t *a, const sched_fire *f, const sched_outcome *o)
{
    json_t *r = json_own(a, json_pack("{s:s, s:s, s:s, s:s, s:s}", "schedule_id", f->schedule_id, "schedule_name",
                                      f->name, "cron_expr", f->cron_expr, "scheduled_for",
                                      iso_time(a, f->scheduled_at), "message_id", f->message_id));
    if (o->queued || o->skipped) {
        json_object_set_new(r, o->queued ? "queued" : "skipped", json_true());
        json_object_set_new(r, "active_tasks", json_integer(o->active_tasks));
    }
    if (o->queued) {
        json_object_set_new(r, "queue_id", json_string(o->queue_id));
        json_object_set_new(r, "queue_depth", json_integer(o->queue_depth));
    } else if (!o->skipped) {
        json_object_set_new(r, "prompt", json_string(utf8_cut_copy(a, f->prompt, SCHED_PROMPT_PREVIEW, true)));
    }
    if (f->missed > 0)
        json_object_set_new(r, "missed", json_integer(f->missed));
    return json_dump_arena(a, r, NULL);
}

cl_err sched_record(db_t *db, arena_t *a, const sched_fire *f, const sched_outcome *o, bool *disabled, cl_error *err)
{
    *disabled = false;
    const char *status = o->status, *error = utf8_cut_copy(a, o->error ? o->error : "", SCHED_ERROR_MAX, true);
    bool ok = strcmp(status, "ok") == 0 && !o->queued && !o->skipped;
    int64_t now = time_now_ms(), empties = 0, sdk = 0, seq = -1;
    cl_err e = db_tx_begin(db, err);
    db_stmt_t *st = NULL;
    if (e == CL_OK)
        e = db_query(db, a, &st, err, SQL_STREAKS, "siiii", f->schedule_id, f->fired_at, (int64_t)(ok && o->empty),
                     (int64_t)(ok && !o->empty), (int64_t)o->sdk_kind);
    bool latest = false;
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK) {
        empties = db_col_int64(st, 0);
        sdk = db_col_int64(st, 1);
        latest = true;
        e = db_exec(st, err);
    }
    db_finish(st);
    if (e == CL_NOT_FOUND) /* a later occurrence was claimed, or the schedule is gone: only the history is written */
        e = CL_OK;
    if (ok && o->empty && empties >= SCHED_STREAK) {
        status = "stale";
        error = arena_sprintf(a, "empty response %lld consecutive times \xE2\x80\x94 agent may be phantom-producing "
                                 "(#795)", (long long)empties);
    }
    *disabled = latest && o->sdk_kind && sdk >= SCHED_STREAK;
    if (e == CL_OK && latest)
        e = db_run(db, a, NULL, err, SQL_OUTCOME, "sissii", f->schedule_id, f->fired_at, status, error,
                   (int64_t)*disabled, now);
    const char *summary = arena_sprintf(a, "%s: %s", o->queued ? "Cron queued (busy)" : o->skipped ? "Cron skipped"
                                                                                                     : "Cron",
                                        f->name);
    if (e == CL_OK)
        e = db_query(db, a, &st, err, SQL_HISTORY_ROW, "ssssssniss", new_id(a), f->workspace_id, summary,
                     run_request(a, f, o), status, error, now, f->message_id, f->schedule_id);
    if (e == CL_OK && o->duration_ms >= 0)
        db_bind_int64(st, 7, o->duration_ms);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK) {
        seq = db_col_int64(st, 0);
        e = db_exec(st, err);
    }
    db_finish(st);
    if (e == CL_NOT_FOUND) /* this occurrence was recorded already: nothing more to tell */
        e = CL_OK;
    if (e == CL_OK && seq >= 0) {
        json_t *p = json_own(a, json_pack("{s:s, s:s}", "schedule_id", f->schedule_id, "schedule_name", f->name));
        if (o->queued || o->skipped) {
            json_object_set_new(p, "reason", json_string(error));
            if (o->queued)
                json_object_set_new(p, "queued", json_true());
        } else {
            json_object_set_new(p, "status", json_string(status));
        }
        e = event_record(db, a, o->queued || o->skipped ? EV_CRON_SKIPPED : EV_CRON_EXECUTED, f->workspace_id,
                         json_dump_arena(a, p, NULL), NULL, err);
    }
    if (e != CL_OK)
        *disabled = false;
    return db_tx_end(db, e, err);
}
