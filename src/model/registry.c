/* registry.c - see registry.h. */
#define _GNU_SOURCE /* strcasestr */
#include "model/registry.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/time.h"
#include "model/budget.h"
#include "model/event.h"
#include "model/token.h"

enum { DEGRADE_ERROR_RATE_PCT = 50, RECOVER_ERROR_RATE_PCT = 10 };

static const char SQL_STATE[] = "SELECT status, kind, delivery_mode, runtime FROM workspaces WHERE id = $1";
static const char SQL_REGISTER[] =
    "UPDATE workspaces SET agent_card = $2, url = $3, delivery_mode = $4, status = 'online',"
    " last_heartbeat_at = $5, updated_at = $5, last_register_failure_at = NULL"
    " WHERE id = $1 AND status <> 'removed'";
/* A reported cumulative monthly_spend ($n > 0) replaces the stored one; spend_delta is what it added (a decrease is a
 * new month: the whole value counts), computed from the row as it was, in the statement that stores it, so two
 * heartbeats racing on one workspace never count one increment twice. */
#define SPEND_DELTA(n)                                                                                             \
    "spend_delta = CASE WHEN CAST(" n " AS BIGINT) > 0 THEN (CASE WHEN CAST(" n " AS BIGINT) >= workspaces.monthly_spend" \
    " THEN CAST(" n " AS BIGINT) - workspaces.monthly_spend ELSE CAST(" n " AS BIGINT) END) ELSE 0 END,"                 \
    " monthly_spend = CASE WHEN CAST(" n " AS BIGINT) > 0 THEN CAST(" n " AS BIGINT) ELSE workspaces.monthly_spend END"
/* previous_task keeps the task as it was (SET sees the old row), so RETURNING can tell whether it changed */
static const char SQL_HEARTBEAT[] =
    "UPDATE workspaces SET last_heartbeat_at = $2, last_error_rate = $3, last_sample_error = $4, active_tasks = $5,"
    " uptime_seconds = $6, previous_task = current_task,"
    " current_task = CASE WHEN $8 = 1 THEN $7 ELSE current_task END, " SPEND_DELTA("$9")
    " WHERE id = $1 AND status <> 'removed'"
    " RETURNING status, current_task, active_tasks, CASE WHEN previous_task <> current_task THEN 1 ELSE 0 END,"
    " spend_delta";
static const char SQL_MOVE_STATUS[] =
    "UPDATE workspaces SET status = $3, updated_at = $4 WHERE id = $1 AND status = $2";
static const char SQL_CARD[] = "UPDATE workspaces SET agent_card = $2, updated_at = $3 WHERE id = $1 AND status <> 'removed'";
static const char SQL_CHAIN[] =
    "WITH RECURSIVE anc(id, parent_id, depth) AS ("
    " SELECT id, parent_id, 0 FROM workspaces WHERE id = $1"
    " UNION ALL SELECT w.id, w.parent_id, anc.depth + 1 FROM workspaces w JOIN anc ON w.id = anc.parent_id"
    " WHERE anc.depth < 32)"
    " SELECT id, parent_id FROM anc ORDER BY depth";

/* Status and kind of a row; CL_NOT_FOUND when none. */
static cl_err state(db_t *db, arena_t *a, const char *id, const char **status, const char **kind, const char **mode,
                    const char **runtime, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_STATE, "s", id);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK) {
        *status = db_col_dup(st, a, 0);
        if (kind)
            *kind = db_col_dup(st, a, 1);
        if (mode)
            *mode = db_col_dup(st, a, 2);
        if (runtime)
            *runtime = db_col_dup(st, a, 3);
    }
    db_finish(st);
    if (e == CL_NOT_FOUND)
        cl_fail(err, e, "workspace not found");
    return e;
}

static cl_err record(db_t *db, arena_t *a, event_type t, const char *id, json_t *payload, cl_error *err)
{
    json_own(a, payload);
    return event_record(db, a, t, id, json_dump_arena(a, payload, NULL), NULL, err);
}

static cl_err do_register(db_t *db, arena_t *a, const reg_register *r, reg_result *out, cl_error *err)
{
    const char *status = NULL, *kind = NULL, *mode = NULL, *runtime = NULL;
    cl_err e = state(db, a, r->id, &status, &kind, &mode, &runtime, err);
    if (e != CL_OK && e != CL_NOT_FOUND)
        return e;
    bool exists = e == CL_OK;
    if (r->bootstrap && exists)
        return cl_fail(err, CL_UNAUTHORIZED, "missing workspace auth token");
    if (exists && strcmp(status, "removed") == 0)
        return cl_fail(err, CL_GONE, "workspace removed: it cannot be registered again");
    if (r->kind && strcmp(r->kind, "platform") == 0 && !(exists && strcmp(kind, "platform") == 0))
        return cl_fail(err, CL_FORBIDDEN, "kind='platform' may only be assigned by the platform-agent install path");
    out->delivery_mode = r->delivery_mode ? r->delivery_mode
                         : exists         ? mode
                         : "push";
    if (exists && r->delivery_mode == NULL && ws_runtime_external_like(runtime))
        out->delivery_mode = mode;
    if (!exists) { /* one authority: a new runtime row is created by the resolver, named by its id */
        ws_spec s = {.id = r->id, .name = r->id, .status = "online", .delivery_mode = out->delivery_mode,
                     .url = r->url, .tier = 1, .own_event = true};
        ws_row row;
        ws_outcome how;
        e = ws_resolve(db, a, &s, &row, &how, err);
        if (r->bootstrap && (e == CL_CONFLICT || e == CL_GONE || (e == CL_OK && how != WS_CREATED)))
            return cl_fail(err, CL_UNAUTHORIZED, "missing workspace auth token"); /* someone made it meanwhile */
        if (e != CL_OK)
            return e;
    }
    int64_t now = time_now_ms();
    int64_t changed = 0;
    e = db_run(db, a, &changed, err, SQL_REGISTER, "ssssi", r->id, r->agent_card, r->url ? r->url : "",
               out->delivery_mode, now);
    if (e == CL_OK && changed == 0)
        return cl_fail(err, CL_GONE, "workspace removed: it cannot be registered again");
    json_t *card = json_loads(r->agent_card, 0, NULL);
    if (e == CL_OK)
        e = record(db, a, EV_WORKSPACE_ONLINE, r->id,
                   json_pack("{s:s, s:o, s:s}", "url", r->url ? r->url : "", "agent_card", card ? card : json_null(),
                             "delivery_mode", out->delivery_mode),
                   err);
    else
        json_decref(card);
    return e;
}

cl_err reg_register_ws(db_t *db, arena_t *a, const reg_register *r, reg_result *out, cl_error *err)
{
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    return db_tx_end(db, do_register(db, a, r, out, err), err);
}

/* Move a row from `from` to `to` if it is still there; one event when it moved. */
static cl_err move(db_t *db, arena_t *a, const char *id, const char *from, const char *to, event_type ev,
                   json_t *payload, bool *moved, cl_error *err)
{
    int64_t changed = 0;
    cl_err e = db_run(db, a, &changed, err, SQL_MOVE_STATUS, "sssi", id, from, to, time_now_ms());
    *moved = e == CL_OK && changed == 1;
    if (*moved)
        return record(db, a, ev, id, payload, err);
    json_decref(payload);
    return e;
}

/* Would `h` move a workspace in `status`? (The same rules as evaluate, without writing.) */
static bool needs_move(const reg_heartbeat *h, const char *s)
{
    bool wedged = h->runtime_state && strcmp(h->runtime_state, "wedged") == 0;
    if (!strcmp(s, "offline") || !strcmp(s, "awaiting_agent") || !strcmp(s, "failed") || !strcmp(s, "provisioning"))
        return true;
    if (!strcmp(s, "online"))
        return wedged || h->error_rate * 100 >= DEGRADE_ERROR_RATE_PCT;
    return !strcmp(s, "degraded") && !wedged && h->error_rate * 100 < RECOVER_ERROR_RATE_PCT;
}

static cl_err evaluate(db_t *db, arena_t *a, const reg_heartbeat *h, const char **status, cl_error *err)
{
    const char *s = *status, *to = NULL;
    bool wedged = h->runtime_state && strcmp(h->runtime_state, "wedged") == 0;
    bool moved = false;
    cl_err e = CL_OK;
    if (!strcmp(s, "offline") || !strcmp(s, "awaiting_agent") || !strcmp(s, "failed") || !strcmp(s, "provisioning")) {
        to = "online"; /* a heartbeat is proof of life */
        e = move(db, a, h->workspace_id, s, to, EV_WORKSPACE_ONLINE, json_pack("{s:s}", "recovered_from", s), &moved,
                 err);
    } else if (!strcmp(s, "online") && (wedged || h->error_rate * 100 >= DEGRADE_ERROR_RATE_PCT)) {
        to = "degraded";
        json_t *p = wedged ? json_pack("{s:s, s:s}", "runtime_state", "wedged", "sample_error",
                                       h->sample_error ? h->sample_error : "")
                           : json_pack("{s:f, s:s}", "error_rate", h->error_rate, "sample_error",
                                       h->sample_error ? h->sample_error : "");
        e = move(db, a, h->workspace_id, s, to, EV_WORKSPACE_DEGRADED, p, &moved, err);
    } else if (!strcmp(s, "degraded") && !wedged && h->error_rate * 100 < RECOVER_ERROR_RATE_PCT) {
        to = "online";
        e = move(db, a, h->workspace_id, s, to, EV_WORKSPACE_ONLINE, json_object(), &moved, err);
    }
    if (moved) {
        *status = to;
        metric_inc(strcmp(to, "online") == 0 ? METRIC_LIVENESS_ONLINE : METRIC_LIVENESS_DEGRADED);
    }
    return e;
}

/* A heartbeat that changed the workspace's task or added to its spend, as the write returned it. */
typedef struct {
    const char *id, *task;
    int64_t active_tasks, spend_delta;
    bool task_changed;
} task_change;

/* TASK_UPDATED {current_task, active_tasks} (runtime.md §1.6), inside the transaction of the write that changed
 * the task. */
static cl_err task_updated(db_t *db, arena_t *a, const task_change *c, cl_error *err)
{
    cl_err e = CL_OK;
    if (c->task_changed)
        e = record(db, a, EV_TASK_UPDATED, c->id,
                   json_pack("{s:s, s:I}", "current_task", c->task, "active_tasks", (json_int_t)c->active_tasks), err);
    if (e == CL_OK && c->spend_delta > 0) /* the ledger counts micro-USD; a heartbeat reports cents */
        e = budget_spend_add(db, a, c->id, c->spend_delta * BUDGET_MICRO_PER_CENT, BUDGET_SOURCE_HEARTBEAT, err);
    return e;
}

/* One heartbeat's write; CL_NOT_FOUND when it matched no live row. *changed tells whether it changed the task. */
static cl_err write_heartbeat(db_t *db, arena_t *a, const reg_heartbeat *h, const char **status, task_change *c,
                              bool *changed, cl_error *err)
{
    db_stmt_t *st;
    *changed = false;
    cl_err e = db_query(db, a, &st, err, SQL_HEARTBEAT, "sidsiisii", h->workspace_id, time_now_ms(), h->error_rate,
                        h->sample_error ? h->sample_error : "", h->active_tasks, h->uptime_seconds, h->current_task,
                        (int64_t)h->has_current_task, h->monthly_spend);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK) {
        *status = db_col_dup(st, a, 0);
        *c = (task_change){h->workspace_id, db_col_dup(st, a, 1), db_col_int64(st, 2), db_col_int64(st, 4),
                           db_col_int64(st, 3) == 1};
        *changed = c->task_changed || c->spend_delta > 0;
        db_exec(st, err);
    }
    db_finish(st);
    return e;
}

/* After the write: a status change opens a transaction for the guarded move and its event. */
static cl_err after_write(db_t *db, arena_t *a, const reg_heartbeat *h, const char **status, cl_error *err)
{
    if (!needs_move(h, *status))
        return CL_OK;
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    return db_tx_end(db, evaluate(db, a, h, status, err), err);
}

enum { HB_COLUMNS = 10, HB_SHAPES = 16 /* group sizes 1, 2, 4, … */ };

/* Group writers take turns (a PostgreSQL transaction advisory lock; SQLite's write lock already serialises them):
 * a single UPDATE … FROM locks its rows in plan order, so two concurrent groups could otherwise deadlock. */
static const int64_t HB_GROUP_LOCK = 0x636f6c6e6862; /* "colnhb" */

/* One statement for a whole group: UPDATE … FROM (VALUES (…), …) AS v, portable because both databases name the
 * columns of an unaliased VALUES list column1, column2, …. Groups are padded to a power of two (padding rows are
 * NULL and match nothing), so at most nine statement shapes ever reach the statement cache. */
static char *build_group_sql(size_t rows)
{
    buf_t b;
    buf_init(&b, 1 << 20);
    buf_puts(&b, "UPDATE workspaces SET last_heartbeat_at = CAST(v.column2 AS BIGINT),"
                 " last_error_rate = CAST(v.column3 AS DOUBLE PRECISION), last_sample_error = v.column4,"
                 " active_tasks = CAST(v.column5 AS INTEGER), uptime_seconds = CAST(v.column6 AS BIGINT),"
                 " previous_task = workspaces.current_task,"
                 " current_task = CASE WHEN CAST(v.column8 AS INTEGER) = 1 THEN v.column7"
                 " ELSE workspaces.current_task END, " SPEND_DELTA("v.column10") " FROM (VALUES ");
    for (size_t r = 0; r < rows; r++) {
        buf_puts(&b, r ? ", (" : "(");
        for (int c = 1; c <= HB_COLUMNS; c++)
            buf_printf(&b, "%s$%zu", c > 1 ? ", " : "", r * HB_COLUMNS + (size_t)c);
        buf_putc(&b, ')');
    }
    buf_puts(&b, ") AS v WHERE workspaces.id = v.column1 AND workspaces.status <> 'removed'"
                 " AND EXISTS (SELECT 1 FROM workspace_auth_tokens t WHERE t.workspace_id = v.column1"
                 " AND t.token_hash = v.column9 AND t.revoked_at IS NULL)"
                 " RETURNING workspaces.id, workspaces.status, workspaces.current_task, workspaces.active_tasks,"
                 " CASE WHEN workspaces.previous_task <> workspaces.current_task THEN 1 ELSE 0 END,"
                 " workspaces.spend_delta");
    return buf_steal(&b, NULL);
}

/* The statement for a group of `rows` (a power of two), built once per shape and kept for the process. */
static const char *group_sql(size_t rows)
{
    static _Atomic(char *) shapes[HB_SHAPES];
    size_t k = 0;
    while ((size_t)1 << k < rows)
        k++;
    char *sql = atomic_load(&shapes[k]);
    if (sql != NULL)
        return sql;
    char *mine = build_group_sql(rows), *none = NULL;
    if (atomic_compare_exchange_strong(&shapes[k], &none, mine))
        return mine;
    free(mine); /* another thread built it first */
    return none;
}

static int by_workspace(const void *x, const void *y)
{
    const reg_hb_item *a = *(const reg_hb_item *const *)x, *b = *(const reg_hb_item *const *)y;
    return strcmp(a->h.workspace_id, b->h.workspace_id);
}

/* Write `n` items with one statement; items get proved/status, and the task changes are collected into *changes
 * (arena-owned; one per changed workspace, however often it appears in the group). */
static cl_err write_group(db_t *db, arena_t *a, reg_hb_item **order, size_t n, task_change **changes,
                          size_t *nchanges, cl_error *err)
{
    size_t rows = 1, cap = 0;
    while (rows < n)
        rows <<= 1;
    db_stmt_t *st;
    cl_err e = db_prepare(db, a, group_sql(rows), &st, err);
    if (e != CL_OK)
        return e;
    int64_t now = time_now_ms();
    /* One item per workspace in the statement: the UPDATE writes a row once whichever VALUES row proved it, so with
     * two items of one workspace the returned row could not tell which was proven (a bad token would ride on a good
     * one). Later items of the same workspace (adjacent: the order is by id) are left for the general path. */
    bool *dup = arena_calloc(a, n ? n : 1, sizeof(bool));
    for (size_t i = 1; i < n; i++)
        dup[i] = strcmp(order[i]->h.workspace_id, order[i - 1]->h.workspace_id) == 0;
    for (size_t r = 0; r < rows; r++) {
        int base = (int)(r * HB_COLUMNS);
        if (r >= n) {
            for (int c = 1; c <= HB_COLUMNS; c++)
                db_bind_null(st, base + c);
            continue;
        }
        const reg_heartbeat *h = &order[r]->h;
        if (dup[r]) { /* bound as padding: it takes the general path, with its own proof */
            for (int c = 1; c <= HB_COLUMNS; c++)
                db_bind_null(st, base + c);
            continue;
        }
        char *hash = arena_alloc(a, 2 * ID_SHA256_LEN + 1);
        token_hash_hex(order[r]->bearer, hash);
        db_bind_str(st, base + 1, h->workspace_id);
        db_bind_int64(st, base + 2, now);
        db_bind_double(st, base + 3, h->error_rate);
        db_bind_str(st, base + 4, h->sample_error ? h->sample_error : "");
        db_bind_int64(st, base + 5, h->active_tasks);
        db_bind_int64(st, base + 6, h->uptime_seconds);
        db_bind_str(st, base + 7, h->current_task);
        db_bind_int64(st, base + 8, h->has_current_task);
        db_bind_str(st, base + 9, hash);
        db_bind_int64(st, base + 10, h->monthly_spend);
    }
    bool row = true;
    while ((e = db_step(st, &row, err)) == CL_OK && row) {
        const char *id = db_col_text(st, 0);
        for (size_t i = 0; i < n; i++) { /* rows come back in any order; each names the one item bound for it */
            if (!order[i]->proved && !dup[i] && strcmp(order[i]->h.workspace_id, id) == 0) {
                order[i]->proved = true;
                order[i]->status = db_col_dup(st, a, 1);
                break;
            }
        }
        if (db_col_int64(st, 4) == 1 || db_col_int64(st, 5) > 0) {
            *changes = arena_grow(a, *changes, *nchanges, &cap, sizeof(**changes));
            (*changes)[(*nchanges)++] = (task_change){db_col_dup(st, a, 0), db_col_dup(st, a, 2), db_col_int64(st, 3),
                                                      db_col_int64(st, 5), db_col_int64(st, 4) == 1};
        }
    }
    db_finish(st);
    return e;
}

/* Write `n` items (in workspace-id order) and the task changes they make, in one transaction. On failure nothing
 * is written and no item is proved. */
static cl_err write_together(db_t *db, arena_t *a, reg_hb_item **order, size_t n, cl_error *err)
{
    task_change *changes = NULL;
    size_t nchanges = 0;
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    if (n > 1) /* one row cannot deadlock with anything */
        e = db_tx_lock(db, HB_GROUP_LOCK, err);
    if (e == CL_OK)
        e = write_group(db, a, order, n, &changes, &nchanges, err);
    for (size_t i = 0; e == CL_OK && i < nchanges; i++)
        e = task_updated(db, a, &changes[i], err);
    if ((e = db_tx_end(db, e, err)) != CL_OK)
        for (size_t i = 0; i < n; i++)
            order[i]->proved = false;
    return e;
}

cl_err reg_heartbeat_group(db_t *db, arena_t *a, reg_hb_item *items, size_t n, cl_error *err)
{
    /* in workspace-id order: equal heartbeats of one workspace stay adjacent, the statement is deterministic */
    reg_hb_item **order = arena_alloc(a, (n ? n : 1) * sizeof(*order));
    for (size_t i = 0; i < n; i++) {
        order[i] = &items[i];
        items[i].proved = false;
    }
    qsort(order, n, sizeof(*order), by_workspace);
    if (write_together(db, a, order, n, err) != CL_OK && n > 1) {
        /* the database refused the group as a whole: one bad item (or a lock conflict) must not fail the others,
         * so each is written alone; one that fails again stays unproved and the general path answers it */
        log_warn("heartbeat group refused; writing its items one by one", "items=%zu error=\"%s\"", n, err->msg);
        for (size_t i = 0; i < n; i++) {
            cl_error ignored;
            write_together(db, a, &order[i], 1, &ignored);
        }
    }
    for (size_t i = 0; i < n; i++) {
        cl_error ignored; /* a status move that fails leaves the item to the general path, which tries it again */
        if (items[i].proved) {
            metric_inc(METRIC_HEARTBEATS);
            if (after_write(db, a, &items[i].h, &items[i].status, &ignored) != CL_OK)
                items[i].proved = false;
        }
    }
    return CL_OK;
}

cl_err reg_heartbeat_ws(db_t *db, arena_t *a, const reg_heartbeat *h, const char **status, cl_error *err)
{
    metric_inc(METRIC_HEARTBEATS);
    /* the hot path is one autocommit write; a heartbeat naming a task or a spend is a transaction, so that a task
     * change and its TASK_UPDATED, or a spend and its ledger row, are written together; only a status change opens
     * another */
    bool tx = h->has_current_task || h->monthly_spend > 0;
    cl_err e = tx ? db_tx_begin(db, err) : CL_OK;
    if (e != CL_OK)
        return e;
    task_change c;
    bool changed;
    e = write_heartbeat(db, a, h, status, &c, &changed, err);
    if (e == CL_OK && changed)
        e = task_updated(db, a, &c, err);
    if (tx)
        e = db_tx_end(db, e, err);
    if (e == CL_NOT_FOUND) { /* unknown, or removed: say which */
        const char *s;
        if ((e = state(db, a, h->workspace_id, &s, NULL, NULL, NULL, err)) == CL_OK)
            e = cl_fail(err, CL_GONE, "workspace removed");
        return e;
    }
    return e == CL_OK ? after_write(db, a, h, status, err) : e;
}

cl_err reg_update_card(db_t *db, arena_t *a, const char *id, const char *card, cl_error *err)
{
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    int64_t changed = 0;
    e = db_run(db, a, &changed, err, SQL_CARD, "ssi", id, card, time_now_ms());
    if (e == CL_OK && changed == 0) {
        const char *s;
        if ((e = state(db, a, id, &s, NULL, NULL, NULL, err)) == CL_OK)
            e = cl_fail(err, CL_GONE, "workspace removed");
    }
    if (e == CL_OK) {
        json_t *c = json_loads(card, 0, NULL);
        e = record(db, a, EV_AGENT_CARD_UPDATED, id, json_pack("{s:o}", "agent_card", c ? c : json_null()), err);
    }
    return db_tx_end(db, e, err);
}

/* The ancestor chain of `id`, self first, as (id, parent) pairs; count 0 when the row does not exist. */
static cl_err chain(db_t *db, arena_t *a, const char *id, const char ***ids, const char ***parents, size_t *n,
                    cl_error *err)
{
    db_stmt_t *st;
    size_t icap = 0, pcap = 0;
    *ids = NULL, *parents = NULL, *n = 0;
    cl_err e = db_query(db, a, &st, err, SQL_CHAIN, "s", id);
    bool row = true;
    while (e == CL_OK && (e = db_step(st, &row, err)) == CL_OK && row) {
        *ids = arena_grow(a, *ids, *n, &icap, sizeof(char *));
        *parents = arena_grow(a, *parents, *n, &pcap, sizeof(char *));
        (*ids)[*n] = db_col_dup(st, a, 0);
        (*parents)[(*n)++] = db_col_dup(st, a, 1);
    }
    db_finish(st);
    return e;
}

static bool in_list(const char *const *list, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], id) == 0)
            return true;
    return false;
}

cl_err reg_can_communicate(db_t *db, arena_t *a, const char *caller_id, const char *target, bool *allowed,
                           cl_error *err)
{
    const char **ci, **cp, **ti, **tp;
    size_t cn, tn;
    *allowed = false;
    cl_err e = chain(db, a, caller_id, &ci, &cp, &cn, err);
    if (e == CL_OK)
        e = chain(db, a, target, &ti, &tp, &tn, err);
    if (e != CL_OK || cn == 0 || tn == 0)
        return e;
    if (strcmp(caller_id, target) == 0 || (cp[0] && tp[0] && strcmp(cp[0], tp[0]) == 0))
        *allowed = true; /* self, or siblings under one parent */
    else /* ancestor and descendant, either way (parent and child included) */
        *allowed = in_list(ci, cn, target) || in_list(ti, tn, caller_id);
    return CL_OK;
}

bool reg_peer_matches(const ws_row *w, const char *q)
{
    return q == NULL || *q == '\0' || strcasestr(w->name, q) != NULL || (w->role && strcasestr(w->role, q) != NULL);
}

cl_err reg_reachable(db_t *db, arena_t *a, const char *id, const char ***ids, size_t *count, cl_error *err)
{
    const char **ci, **cp;
    size_t cn, cap = 0, n = 0;
    cl_err e = chain(db, a, id, &ci, &cp, &cn, err);
    if (e != CL_OK)
        return e;
    const char **out = NULL;
    for (size_t i = 0; i < cn; i++) { /* self and ancestors */
        out = arena_grow(a, out, n, &cap, sizeof(char *));
        out[n++] = ci[i];
    }
    db_stmt_t *st;
    e = db_query(db, a, &st, err,
                 "WITH RECURSIVE sub(id, depth) AS (SELECT id, 0 FROM workspaces WHERE parent_id = $1"
                 " UNION ALL SELECT w.id, sub.depth + 1 FROM workspaces w JOIN sub ON w.parent_id = sub.id"
                 " WHERE sub.depth < 10000)"
                 " SELECT id FROM sub UNION SELECT id FROM workspaces WHERE parent_id = CAST($2 AS TEXT) AND id <> $1",
                 "ss", id, cn > 0 ? cp[0] : NULL);
    bool row = true;
    while (e == CL_OK && (e = db_step(st, &row, err)) == CL_OK && row) {
        out = arena_grow(a, out, n, &cap, sizeof(char *));
        out[n++] = db_col_dup(st, a, 0);
    }
    db_finish(st);
    *ids = out, *count = n;
    return e;
}
