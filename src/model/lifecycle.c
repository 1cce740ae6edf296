/* lifecycle.c - see lifecycle.h. */
#include "model/lifecycle.h"

#include <jansson.h>
#include <string.h>

#include "base/json.h"
#include "base/time.h"
#include "model/event.h"
#include "model/workspace.h"

static int64_t stale_ms = 180000;

void lifecycle_set_stale_ms(int64_t ms) { stale_ms = ms > 0 ? ms : stale_ms; }

static const char SQL_STATE[] = "SELECT status, runtime, active_tasks FROM workspaces WHERE id = $1";
/* the nearest paused ancestor */
static const char SQL_PAUSED_ANCESTOR[] =
    "WITH RECURSIVE anc(id, parent_id, status, name, depth) AS ("
    " SELECT id, parent_id, status, name, 0 FROM workspaces WHERE id = $1"
    " UNION ALL SELECT w.id, w.parent_id, w.status, w.name, anc.depth + 1 FROM workspaces w"
    " JOIN anc ON w.id = anc.parent_id WHERE anc.depth < 64)"
    " SELECT name FROM anc WHERE depth > 0 AND status = 'paused' ORDER BY depth LIMIT 1";
/* live descendants, nearest first */
static const char SQL_DESCENDANTS[] =
    "WITH RECURSIVE sub(id, depth) AS (SELECT id, 0 FROM workspaces WHERE id = $1"
    " UNION ALL SELECT w.id, sub.depth + 1 FROM workspaces w JOIN sub ON w.parent_id = sub.id"
    " WHERE w.status <> 'removed' AND sub.depth < 10000)"
    " SELECT w.id, w.name, w.status FROM sub JOIN workspaces w ON w.id = sub.id WHERE sub.depth > 0"
    " ORDER BY sub.depth, w.created_at, w.id";
static const char SQL_PAUSE[] = "UPDATE workspaces SET status = 'paused', updated_at = $2"
                                " WHERE id = $1 AND status NOT IN ('removed', 'paused') RETURNING name";
/* back to work: online when the agent heartbeated within the window, else waiting for it */
#define BACK_FROM(from)                                                                                            \
    "UPDATE workspaces SET status = CASE WHEN last_heartbeat_at >= $2 THEN 'online' ELSE 'awaiting_agent' END,"    \
    " updated_at = $3 WHERE id = $1 AND status = '" from "' RETURNING status"
static const char SQL_RESUME[] = BACK_FROM("paused");
static const char SQL_WAKE[] = BACK_FROM("hibernated");
static const char SQL_DRAIN[] =
    "UPDATE a2a_queue SET next_attempt_at = NULL WHERE workspace_id = $1 AND status = 'queued'";
static const char SQL_HIBERNATE[] =
    "UPDATE workspaces SET status = 'hibernated', updated_at = $3 WHERE id = $1 AND status IN ('online', 'degraded')"
    " AND ($2 = 1 OR active_tasks = 0) RETURNING name, tier";

static cl_err state(db_t *db, arena_t *a, const char *id, const char **status, const char **runtime,
                    int64_t *active, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_STATE, "s", id);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK) {
        *status = db_col_dup(st, a, 0);
        if (runtime)
            *runtime = db_col_dup(st, a, 1);
        if (active)
            *active = db_col_int64(st, 2);
    }
    db_finish(st);
    return e;
}

static cl_err paused_ancestor(db_t *db, arena_t *a, const char *id, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_PAUSED_ANCESTOR, "s", id);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK)
        e = cl_fail(err, CL_CONFLICT, "parent workspace \"%s\" is paused \xE2\x80\x94 resume it first",
                    db_col_text(st, 0));
    db_finish(st);
    return e == CL_NOT_FOUND ? CL_OK : e;
}

/* Live descendants whose status is (want_paused) or is not (!want_paused) 'paused'. */
static cl_err descendants(db_t *db, arena_t *a, const char *id, bool want_paused, lifecycle_ref **out, size_t *n,
                          cl_error *err)
{
    db_stmt_t *st;
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    cl_err e = db_query(db, a, &st, err, SQL_DESCENDANTS, "s", id);
    bool row = true;
    while (e == CL_OK && (e = db_step(st, &row, err)) == CL_OK && row) {
        if ((strcmp(db_col_text(st, 2), "paused") == 0) != want_paused)
            continue;
        *out = arena_grow(a, *out, *n, &cap, sizeof(**out));
        (*out)[(*n)++] = (lifecycle_ref){db_col_dup(st, a, 0), db_col_dup(st, a, 1)};
    }
    db_finish(st);
    return e;
}

static cl_err record(db_t *db, arena_t *a, event_type t, const char *id, json_t *payload, cl_error *err)
{
    json_own(a, payload);
    return event_record(db, a, t, id, json_dump_arena(a, payload, NULL), NULL, err);
}

static cl_err pause_one(db_t *db, arena_t *a, const char *id, int64_t *count, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_PAUSE, "si", id, time_now_ms());
    const char *name = NULL;
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK) {
        name = db_col_dup(st, a, 0);
        e = db_exec(st, err);
    }
    db_finish(st);
    if (e == CL_NOT_FOUND) /* paused or removed meanwhile: nothing to do */
        return CL_OK;
    if (e == CL_OK) {
        (*count)++;
        e = record(db, a, EV_WORKSPACE_PAUSED, id, json_pack("{s:s}", "name", name), err);
    }
    return e;
}

static cl_err do_pause(db_t *db, arena_t *a, const char *id, bool cascade, int64_t *count, lifecycle_ref **blockers,
                       size_t *nblockers, cl_error *err)
{
    const char *status;
    cl_err e = state(db, a, id, &status, NULL, NULL, err);
    if (e == CL_NOT_FOUND || (e == CL_OK && (strcmp(status, "removed") == 0 || strcmp(status, "paused") == 0)))
        return cl_fail(err, CL_NOT_FOUND, "workspace not found or already paused");
    if (e == CL_OK)
        e = descendants(db, a, id, false, blockers, nblockers, err);
    if (e == CL_OK && *nblockers > 0 && !cascade)
        return cl_fail(err, CL_CONFLICT, "workspace has descendants that are not paused; pass ?cascade=true to pause"
                                         " them too");
    if (e == CL_OK && (e = pause_one(db, a, id, count, err)) == CL_OK && *count == 0) /* paused meanwhile */
        return cl_fail(err, CL_NOT_FOUND, "workspace not found or already paused");
    for (size_t i = 0; e == CL_OK && i < *nblockers; i++)
        e = pause_one(db, a, (*blockers)[i].id, count, err);
    return e;
}

cl_err lifecycle_pause(db_t *db, arena_t *a, const char *id, bool cascade, int64_t *count, lifecycle_ref **blockers,
                       size_t *nblockers, cl_error *err)
{
    *count = 0;
    *nblockers = 0;
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    /* shared with every other addition to the tree: a removal waits, or this sees its rows removed */
    if ((e = db_tx_lock_shared(db, WS_TREE_LOCK, err)) == CL_OK)
        e = do_pause(db, a, id, cascade, count, blockers, nblockers, err);
    return db_tx_end(db, e, err);
}

/* A row back from `sql`'s state (paused, hibernated) with its event; *status the new one, or NULL when it was not
 * in that state any more. */
static cl_err back(db_t *db, arena_t *a, const char *sql, const char *id, const char *from_key, const char *from,
                   const char **status, cl_error *err)
{
    int64_t now = time_now_ms();
    db_stmt_t *st;
    *status = NULL;
    cl_err e = db_query(db, a, &st, err, sql, "sii", id, now - stale_ms, now);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK) {
        *status = db_col_dup(st, a, 0);
        e = db_exec(st, err);
    }
    db_finish(st);
    if (e == CL_NOT_FOUND)
        return CL_OK;
    if (e == CL_OK)
        e = record(db, a, strcmp(*status, "online") == 0 ? EV_WORKSPACE_ONLINE : EV_WORKSPACE_AWAITING_AGENT, id,
                   json_pack("{s:s}", from_key, from), err);
    if (e == CL_OK) /* its held messages are due now */
        e = db_run(db, a, NULL, err, SQL_DRAIN, "s", id);
    return e;
}

static cl_err do_resume(db_t *db, arena_t *a, const char *id, bool cascade, const char **status, int64_t *count,
                        lifecycle_ref **blockers, size_t *nblockers, cl_error *err)
{
    const char *now_status;
    cl_err e = state(db, a, id, &now_status, NULL, NULL, err);
    if (e == CL_NOT_FOUND || (e == CL_OK && strcmp(now_status, "paused") != 0))
        return cl_fail(err, CL_NOT_FOUND, "workspace not found or not paused");
    if (e == CL_OK)
        e = paused_ancestor(db, a, id, err);
    if (e == CL_OK)
        e = descendants(db, a, id, true, blockers, nblockers, err);
    if (e == CL_OK && *nblockers > 0 && !cascade)
        return cl_fail(err, CL_CONFLICT, "workspace has paused descendants; pass ?cascade=true to resume them too");
    if (e == CL_OK)
        e = back(db, a, SQL_RESUME, id, "resumed_from", "paused", status, err);
    *count = *status != NULL;
    for (size_t i = 0; e == CL_OK && i < *nblockers; i++) {
        const char *s;
        if ((e = back(db, a, SQL_RESUME, (*blockers)[i].id, "resumed_from", "paused", &s, err)) == CL_OK && s)
            (*count)++;
    }
    if (e == CL_OK && *status == NULL) /* resumed by someone else meanwhile */
        e = cl_fail(err, CL_NOT_FOUND, "workspace not found or not paused");
    return e;
}

cl_err lifecycle_resume(db_t *db, arena_t *a, const char *id, bool cascade, const char **status, int64_t *count,
                        lifecycle_ref **blockers, size_t *nblockers, cl_error *err)
{
    *count = 0;
    *nblockers = 0;
    *status = NULL;
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    if ((e = db_tx_lock_shared(db, WS_TREE_LOCK, err)) == CL_OK)
        e = do_resume(db, a, id, cascade, status, count, blockers, nblockers, err);
    return db_tx_end(db, e, err);
}

cl_err lifecycle_hibernate(db_t *db, arena_t *a, const char *id, bool force, int64_t *active_tasks, cl_error *err)
{
    *active_tasks = 0;
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    db_stmt_t *st;
    const char *name = NULL;
    int64_t tier = 0;
    e = db_query(db, a, &st, err, SQL_HIBERNATE, "sii", id, (int64_t)force, time_now_ms());
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK) {
        name = db_col_dup(st, a, 0);
        tier = db_col_int64(st, 1);
        e = db_exec(st, err);
    }
    db_finish(st);
    if (e == CL_OK)
        e = record(db, a, EV_WORKSPACE_HIBERNATED, id, json_pack("{s:s, s:I}", "name", name, "tier", (json_int_t)tier),
                   err);
    if (e == CL_NOT_FOUND) { /* say why: busy, or not in a state that hibernates */
        const char *status;
        e = state(db, a, id, &status, NULL, active_tasks, err);
        if (e == CL_OK && (strcmp(status, "online") == 0 || strcmp(status, "degraded") == 0) && *active_tasks > 0)
            e = cl_fail(err, CL_CONFLICT, "workspace has active tasks; use ?force=true to terminate them");
        else if (e == CL_OK || e == CL_NOT_FOUND)
            e = cl_fail(err, CL_NOT_FOUND,
                        "workspace not found or not in a hibernatable state (must be online or degraded)");
    }
    return db_tx_end(db, e, err);
}

cl_err lifecycle_wake(db_t *db, arena_t *a, const char *id, cl_error *err)
{
    const char *status;
    return back(db, a, SQL_WAKE, id, "woken_from", "hibernated", &status, err);
}

cl_err lifecycle_restart_check(db_t *db, arena_t *a, const char *id, const char **runtime, cl_error *err)
{
    const char *status;
    cl_err e = state(db, a, id, &status, runtime, NULL, err);
    if (e == CL_NOT_FOUND || (e == CL_OK && strcmp(status, "removed") == 0))
        return cl_fail(err, CL_NOT_FOUND, "workspace not found");
    return e == CL_OK ? paused_ancestor(db, a, id, err) : e;
}
