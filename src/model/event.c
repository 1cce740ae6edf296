/* event.c - see event.h. */
#include "model/event.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/json.h"
#include "base/time.h"
#include "base/utf8.h"
#include "bus/hub.h"

static const char *const NAMES[] = {
#define XX(name) #name,
    EVENT_TYPES(XX)
#undef XX
};

static const char SQL_RECORD[] = "INSERT INTO events (type, workspace_id, payload, created_at) VALUES ($1, $2, $3, $4)"
                                 " RETURNING id";

const char *event_name(event_type t) { return (unsigned)t < EV__COUNT ? NAMES[t] : "UNKNOWN"; }

bool event_from_name(const char *name, event_type *out)
{
    for (int i = 0; i < EV__COUNT; i++) {
        if (strcmp(NAMES[i], name) == 0) {
            *out = (event_type)i;
            return true;
        }
    }
    return false;
}

static void publish(void *arg, int64_t id)
{
    (void)arg;
    hub_publish(id);
}

/* Cut every string of `v` longer than EVENT_STRING_MAX bytes, in place. */
static void cut_strings(arena_t *a, json_t *v)
{
    if (json_is_string(v)) {
        if (json_string_length(v) > EVENT_STRING_MAX)
            json_string_set(v, utf8_cut_copy(a, json_string_value(v), EVENT_STRING_MAX, true));
        return;
    }
    const char *key;
    size_t i;
    json_t *item;
    if (json_is_object(v)) {
        json_object_foreach(v, key, item) cut_strings(a, item);
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, item) cut_strings(a, item);
    }
}

/* A payload a live subscriber can take: at most EVENT_PAYLOAD_MAX bytes. A bigger one (a long chat message, a
 * large reply) keeps its shape with its long strings cut on a code-point boundary (the activity row keeps the whole
 * text); if that is still too big, it becomes {"truncated":true,"bytes":N}. */
static const char *bounded_payload(arena_t *a, const char *payload)
{
    size_t n = strlen(payload);
    if (n <= EVENT_PAYLOAD_MAX)
        return payload;
    json_t *v = json_loads(payload, JSON_DECODE_ANY, NULL);
    const char *out = NULL;
    if (v != NULL) {
        json_own(a, v);
        cut_strings(a, v);
        size_t len;
        out = json_dump_arena(a, v, &len);
        if (len > EVENT_PAYLOAD_MAX)
            out = NULL;
    }
    return out ? out : arena_sprintf(a, "{\"truncated\":true,\"bytes\":%zu}", n);
}

cl_err event_record(db_t *db, arena_t *a, event_type t, const char *workspace_id, const char *payload, int64_t *id,
                    cl_error *err)
{
    db_stmt_t *st;
    payload = payload ? bounded_payload(a, payload) : NULL;
    cl_err e = db_query(db, a, &st, err, SQL_RECORD, "sssi", event_name(t), workspace_id, payload ? payload : "{}",
                        time_now_ms());
    int64_t new_id = 0;
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK)
        new_id = db_col_int64(st, 0);
    if (e == CL_OK)
        db_exec(st, err); /* drain: PostgreSQL and SQLite both finish the statement here */
    db_finish(st);
    if (e == CL_OK) /* other nodes hear of it at commit (NOTIFY is transactional), once per transaction */
        e = db_notify_max(db, EVENT_CHANNEL, new_id, err);
    if (e == CL_OK) {
        if (id != NULL)
            *id = new_id;
        db_after_commit(db, publish, NULL, new_id); /* this node's subscribers, once it is durable */
    }
    return e == CL_NOT_FOUND ? cl_fail(err, CL_INTERNAL, "event insert returned no id") : e;
}

/* Rows of (id, type, workspace_id, payload, created_at) from a prepared query `st` (query status `e`). */
static cl_err collect(db_stmt_t *st, arena_t *a, cl_err e, event_row **rows, size_t *count, cl_error *err)
{
    size_t n = 0, cap = 0;
    event_row *out = NULL;
    bool row = true;
    while (e == CL_OK && (e = db_step(st, &row, err)) == CL_OK && row) {
        out = arena_grow(a, out, n, &cap, sizeof(*out));
        out[n++] = (event_row){db_col_int64(st, 0), db_col_int64(st, 4), db_col_dup(st, a, 1), db_col_dup(st, a, 2),
                               db_col_dup(st, a, 3)};
    }
    db_finish(st);
    *rows = out, *count = n;
    return e;
}

cl_err event_list(db_t *db, arena_t *a, const char *workspace_id, int64_t before_id, int64_t limit, event_row **rows,
                  size_t *count, cl_error *err)
{
    db_stmt_t *st;
    int64_t before = before_id > 0 ? before_id : INT64_MAX;
    cl_err e = workspace_id == NULL /* two statements, so each walks its own index backwards from the cursor */
                   ? db_query(db, a, &st, err,
                              "SELECT id, type, workspace_id, payload, created_at FROM events WHERE id < $1"
                              " ORDER BY id DESC LIMIT $2",
                              "ii", before, limit)
                   : db_query(db, a, &st, err,
                              "SELECT id, type, workspace_id, payload, created_at FROM events"
                              " WHERE workspace_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
                              "sii", workspace_id, before, limit);
    return collect(st, a, e, rows, count, err);
}

cl_err event_latest_id(db_t *db, arena_t *a, int64_t *id, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, "SELECT COALESCE(max(id), 0) FROM events", "");
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK)
        *id = db_col_int64(st, 0);
    db_finish(st);
    return e;
}

cl_err event_list_range(db_t *db, arena_t *a, int64_t after, int64_t upto, int64_t limit, event_row **rows,
                        size_t *count, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err,
                        "SELECT id, type, workspace_id, payload, created_at FROM events WHERE id > $1 AND id <= $2"
                        " ORDER BY id LIMIT $3",
                        "iii", after, upto, limit);
    return collect(st, a, e, rows, count, err);
}

/* One read with the snapshot it ran in: at least one row (event columns NULL when no event is past `after`). */
static const char SQL_READ_PG[] =
    "WITH s AS (SELECT pg_current_snapshot() AS snap)"
    " SELECT e.id, e.type, e.workspace_id, e.payload, e.created_at, CAST(pg_snapshot_xmin(s.snap) AS TEXT),"
    " CAST(pg_snapshot_xmax(s.snap) AS TEXT)"
    " FROM s LEFT JOIN LATERAL (SELECT id, type, workspace_id, payload, created_at FROM events WHERE id > $1"
    " ORDER BY id LIMIT $2) e ON true ORDER BY e.id";

/* The rows after `after` with the snapshot's xmin and xmax. */
static cl_err read_pg(db_t *db, arena_t *a, int64_t after, int64_t limit, event_row **rows, size_t *count,
                      int64_t *xmin, int64_t *xmax, cl_error *err)
{
    db_stmt_t *st;
    size_t n = 0, cap = 0;
    event_row *out = NULL;
    bool row = true;
    cl_err e = db_query(db, a, &st, err, SQL_READ_PG, "ii", after, limit);
    while (e == CL_OK && (e = db_step(st, &row, err)) == CL_OK && row) {
        *xmin = strtoll(db_col_text(st, 5), NULL, 10);
        *xmax = strtoll(db_col_text(st, 6), NULL, 10);
        if (db_col_is_null(st, 0))
            continue;
        out = arena_grow(a, out, n, &cap, sizeof(*out));
        out[n++] = (event_row){db_col_int64(st, 0), db_col_int64(st, 4), db_col_dup(st, a, 1), db_col_dup(st, a, 2),
                               db_col_dup(st, a, 3)};
    }
    db_finish(st);
    *rows = out, *count = n;
    return e;
}

/* An xid drawn now (the statement is its own transaction): every transaction that took its xid before this call has
 * a smaller one. A snapshot's xmax cannot serve: it is one past the newest *completed* xid, so a transaction that
 * took a newer xid and still runs is neither below xmax nor in the snapshot's running list. */
static cl_err fresh_xid(db_t *db, arena_t *a, int64_t *xid, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, "SELECT CAST(pg_current_xact_id() AS TEXT)", "");
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK)
        *xid = strtoll(db_col_text(st, 0), NULL, 10);
    db_finish(st);
    return e;
}

cl_err event_read_settled(db_t *db, arena_t *a, int64_t after, int64_t limit, event_horizon *h, event_row **rows,
                          size_t *count, bool *settling, cl_error *err)
{
    *settling = false;
    if (db_kind(db) != DB_POSTGRES)
        return event_list_range(db, a, after, INT64_MAX, limit, rows, count, err);
    int64_t xmin = 0, xmax = 0;
    size_t n;
    cl_err e = read_pg(db, a, after, limit, rows, &n, &xmin, &xmax, err);
    *count = 0;
    if (e != CL_OK)
        return e;
    /* ids up to `final` are committed or will never be: every transaction that held an xid when they were seen has
     * ended (its xid is below the bound drawn then, and this snapshot runs nothing below the bound) */
    bool settled = h->pending && xmin >= h->seen_xmax;
    int64_t final = settled ? h->seen_upto : after;
    if (settled)
        h->pending = false;
    int64_t expected = after + 1;
    size_t ok = 0;
    while (ok < n && ((*rows)[ok].id == expected || (*rows)[ok].id - 1 <= final))
        expected = (*rows)[ok++].id + 1;
    if (ok < n) {
        /* a gap. A bound is taken once per gap and kept until it settles: replacing it on every read would let
         * overlapping transactions (each one shorter than the gap's wait) hold the feed back forever */
        if (!h->pending) {
            int64_t bound;
            if ((e = fresh_xid(db, a, &bound, err)) != CL_OK)
                return e;
            h->pending = true;
            h->seen_upto = (*rows)[n - 1].id;
            h->seen_xmax = bound;
        }
        *settling = true;
    } else {
        h->pending = false;
    }
    *count = ok;
    return CL_OK;
}

cl_err event_read_start(db_t *db, arena_t *a, int64_t wait_ms, int64_t *start, cl_error *err)
{
    cl_err e = event_latest_id(db, a, start, err);
    if (e != CL_OK || db_kind(db) != DB_POSTGRES)
        return e;
    event_row *rows;
    size_t n;
    int64_t xmin = 0, xmax = 0, seen_xmax = -1, deadline = time_mono_ms() + wait_ms;
    for (;;) {
        if ((e = read_pg(db, a, *start, 1, &rows, &n, &xmin, &xmax, err)) != CL_OK)
            return e;
        if (seen_xmax < 0 && (e = fresh_xid(db, a, &seen_xmax, err)) != CL_OK) /* after *start was read */
            return e;
        if (xmin >= seen_xmax || time_mono_ms() > deadline)
            return CL_OK;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}
