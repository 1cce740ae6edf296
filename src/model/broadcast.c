/* broadcast.c - see broadcast.h. */
#include "model/broadcast.h"

#include <jansson.h>
#include <stdbool.h>
#include <string.h>

#include "base/json.h"
#include "base/utf8.h"
#include "model/activity.h"
#include "model/event.h"
#include "model/workspace.h"

static const char SQL_SENDER[] = "SELECT name, broadcast_enabled FROM workspaces WHERE id = $1 AND status <> 'removed'";
static const char SQL_RECIPIENTS[] =
    "WITH RECURSIVE sub(id, depth) AS ("
    " SELECT id, 0 FROM workspaces WHERE id = $1"
    " UNION ALL SELECT w.id, sub.depth + 1 FROM workspaces w JOIN sub ON w.parent_id = sub.id"
    " WHERE w.status <> 'removed' AND sub.depth < 10000)"
    " SELECT sub.id FROM sub JOIN workspaces w ON w.id = sub.id"
    " WHERE w.status <> 'removed' AND sub.id <> $2 LIMIT $3";

/* The message cut to its first BROADCAST_SUMMARY_RUNES code points, with "…" when something was cut. */
static const char *preview(arena_t *a, const char *msg)
{
    size_t n = strlen(msg), at = 0;
    for (int runes = 0; at < n && runes < BROADCAST_SUMMARY_RUNES; runes++)
        at += utf8_seq_len(msg + at, n - at);
    return at < n ? arena_sprintf(a, "%.*s" UTF8_ELLIPSIS, (int)at, msg) : msg;
}

static cl_err send(db_t *db, arena_t *a, const char *sender_id, const char *message, int64_t *delivered,
                   cl_error *err)
{
    db_stmt_t *st = NULL;
    const char *name = NULL, *root;
    bool enabled = false;
    cl_err e = db_tx_lock_shared(db, WS_TREE_LOCK, err); /* no removal interleaves with the fan-out */
    if (e == CL_OK && (e = db_query(db, a, &st, err, SQL_SENDER, "s", sender_id)) == CL_OK &&
        (e = db_one(st, err)) == CL_OK) {
        name = db_col_dup(st, a, 0);
        enabled = db_col_bool(st, 1);
    }
    db_finish(st);
    if (e == CL_NOT_FOUND)
        return cl_fail(err, CL_NOT_FOUND, "workspace not found");
    if (e != CL_OK)
        return e;
    if (!enabled)
        return cl_fail_code(err, CL_FORBIDDEN, "broadcast_disabled", "broadcast_disabled");
    if ((e = ws_org_root(db, a, sender_id, &root, err)) != CL_OK)
        return e;
    const char **ids = NULL;
    size_t n = 0, cap = 0;
    bool row = true;
    e = db_query(db, a, &st, err, SQL_RECIPIENTS, "ssi", root, sender_id, (int64_t)BROADCAST_RECIPIENTS_MAX + 1);
    while (e == CL_OK && (e = db_step(st, &row, err)) == CL_OK && row) {
        ids = arena_grow(a, ids, n, &cap, sizeof(char *));
        ids[n++] = db_col_dup(st, a, 0);
    }
    db_finish(st);
    if (e == CL_OK && n > BROADCAST_RECIPIENTS_MAX)
        e = cl_fail(err, CL_TOO_LARGE, "a broadcast reaches at most %d workspaces", BROADCAST_RECIPIENTS_MAX);
    if (e == CL_OK && n > 0 && strlen(message) > BROADCAST_TOTAL_MAX / n)
        e = cl_fail(err, CL_TOO_LARGE, "broadcast too large: %zu bytes to %zu workspaces exceeds %d bytes in total",
                    strlen(message), n, BROADCAST_TOTAL_MAX);
    if (e != CL_OK)
        return e;
    json_t *p = json_own(a, json_pack("{s:s, s:s, s:s}", "message", message, "sender_id", sender_id, "sender", name));
    const char *payload = json_dump_arena(a, p, NULL);
    const char *summary = arena_sprintf(a, "Broadcast from %s: %s", name, preview(a, message));
    for (size_t i = 0; e == CL_OK && i < n; i++) {
        activity_row r = {.workspace_id = ids[i], .activity_type = "broadcast_receive", .source_id = sender_id,
                          .target_id = ids[i], .method = "broadcast", .summary = summary, .request_body = payload};
        if ((e = activity_record(db, a, &r, err)) == CL_OK)
            e = event_record(db, a, EV_BROADCAST_MESSAGE, ids[i], payload, NULL, err);
    }
    if (e != CL_OK)
        return e;
    json_t *sent = json_own(a, json_pack("{s:s, s:I}", "message", message, "delivered", (json_int_t)n));
    activity_row r = {.workspace_id = sender_id, .activity_type = "broadcast_sent", .method = "broadcast", .summary = arena_sprintf(a, "Broadcast sent to %zu workspace(s)", n),
                      .request_body = json_dump_arena(a, sent, NULL)};
    *delivered = (int64_t)n;
    return activity_record(db, a, &r, err);
}

cl_err broadcast_send(db_t *db, arena_t *a, const char *sender_id, const char *message, int64_t *delivered,
                      cl_error *err)
{
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    return db_tx_end(db, send(db, a, sender_id, message, delivered, err), err);
}
