/* request.c - see request.h. */
#include "model/request.h"

#include <jansson.h>
#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "base/time.h"
#include "model/event.h"
#include "model/registry.h"
#include "model/workspace.h"

#define R_COLUMNS                                                                                                  \
    "r.id, r.kind, r.requester_type, r.requester_id, r.org_id, r.recipient_type, r.recipient_id, r.title,"         \
    " r.detail, r.status, r.responder_type, r.responder_id, r.priority, r.created_at, r.updated_at,"               \
    " r.responded_at"
#define OPEN "('pending', 'info_requested')"

/* The requester is a live workspace; the caller holds the tree lock shared, so a removal that commits meanwhile
 * either sees this request (and cancels it) or is seen by the insert (which then inserts nothing). */
static const char SQL_INSERT[] =
    "INSERT INTO requests (id, kind, requester_type, requester_id, org_id, recipient_type, recipient_id, title,"
    " detail, priority, created_at, updated_at) SELECT $1, $2, 'agent', w.id, $4, $5, $6, $7, $8,"
    " CAST($9 AS INTEGER), CAST($10 AS BIGINT), CAST($10 AS BIGINT) FROM workspaces w"
    " WHERE w.id = $3 AND w.status <> 'removed' RETURNING id";
static const char SQL_LIVE[] = "SELECT 1 FROM workspaces WHERE id = $1 AND status <> 'removed'";
/* the org of a workspace: the root above it, however deep (UNION visits a row once, so even a cycle ends) */
static const char SQL_ROOT[] =
    "WITH RECURSIVE anc(id, parent_id) AS (SELECT id, parent_id FROM workspaces WHERE id = $1"
    " UNION SELECT w.id, w.parent_id FROM workspaces w JOIN anc ON w.id = anc.parent_id)"
    " SELECT id FROM anc WHERE parent_id IS NULL";
/* newest first, keyset pages on (created_at, id): idx_requests_outgoing, _inbox, _open, _open_org */
#define LIST_SQL(party)                                                                                            \
    "SELECT " R_COLUMNS ", NULL FROM requests r WHERE r." party "_type = 'agent' AND r." party "_id = $1"          \
    " AND (CAST($2 AS TEXT) IS NULL OR r.status = $2)"                                                             \
    " AND (r.created_at, r.id) < (CAST($3 AS BIGINT), CAST($4 AS TEXT)) ORDER BY r.created_at DESC, r.id DESC"     \
    " LIMIT $5"
static const char SQL_OUTGOING[] = LIST_SQL("requester");
static const char SQL_INCOMING[] = LIST_SQL("recipient");
static const char SQL_PENDING[] =
    "SELECT " R_COLUMNS ", w.name FROM requests r LEFT JOIN workspaces w ON r.requester_type = 'agent'"
    " AND w.id = r.requester_id WHERE r.status IN " OPEN " AND (CAST($1 AS TEXT) IS NULL OR r.kind = $1)"
    " AND (CAST($2 AS TEXT) IS NULL OR r.org_id = $2)"
    " AND (r.created_at, r.id) < (CAST($3 AS BIGINT), CAST($4 AS TEXT)) ORDER BY r.created_at DESC, r.id DESC"
    " LIMIT $5";
static const char SQL_GET[] = "SELECT " R_COLUMNS ", NULL FROM requests r WHERE r.id = $1";
static const char SQL_THREAD[] =
    "SELECT id, request_id, author_type, author_id, body, created_at FROM (SELECT seq, id, request_id, author_type,"
    " author_id, body, created_at FROM request_messages WHERE request_id = $1 ORDER BY seq DESC LIMIT $2) m"
    " ORDER BY seq";
/* Along an edge of the state machine only; of concurrent answers the first to lock the row wins. */
static const char SQL_RESPOND[] =
    "UPDATE requests SET status = $2, responder_type = $3, responder_id = $4, responded_at = $5, updated_at = $5"
    " WHERE id = $1 AND status IN " OPEN " AND EXISTS (SELECT 1 FROM inbox_transitions t"
    " WHERE t.store = 'request' AND t.from_status = requests.status AND t.to_status = $2)";
static const char SQL_MESSAGE[] =
    "INSERT INTO request_messages (id, request_id, author_type, author_id, body, created_at)"
    " VALUES ($1, $2, $3, $4, $5, $6)";
static const char SQL_ASK_INFO[] =
    "UPDATE requests SET status = 'info_requested', updated_at = $2 WHERE id = $1 AND status IN " OPEN;
static const char SQL_CANCEL[] =
    "UPDATE requests SET status = 'cancelled', updated_at = $2 WHERE id = $1 AND status IN " OPEN;
static const char SQL_CANCEL_PARTY[] =
    "UPDATE requests SET status = 'cancelled', updated_at = $2 WHERE status IN " OPEN
    " AND ((requester_type = 'agent' AND requester_id = $1) OR (recipient_type = 'agent' AND recipient_id = $1))";
static const char SQL_DELETE_PARTY[] = "DELETE FROM requests WHERE (requester_type = 'agent' AND requester_id = $1)"
                                       " OR (recipient_type = 'agent' AND recipient_id = $1)";

/* Open requests an agent recipient owes a move on: waiting since before $1, not nudged since $2. In
 * info_requested the requester owes the answer until it has written last. */
#define NUDGE_WHERE(t)                                                                                             \
    " " t ".recipient_type = 'agent' AND " t ".status IN " OPEN " AND " t ".created_at < $1"                       \
    " AND (" t ".last_nudged_at IS NULL OR " t ".last_nudged_at < $2) AND (" t ".status = 'pending'"               \
    " OR (SELECT m.author_type || ':' || m.author_id FROM request_messages m WHERE m.request_id = " t ".id"        \
    " ORDER BY m.seq DESC LIMIT 1) = " t ".requester_type || ':' || " t ".requester_id)"
#define NUDGE_IDLE " AND w.status = 'online' AND COALESCE(w.active_tasks, 0) = 0"
static const char SQL_NUDGE_AGENTS[] =
    "SELECT r.recipient_id FROM requests r JOIN workspaces w ON w.id = r.recipient_id"
    " WHERE" NUDGE_WHERE("r") NUDGE_IDLE " GROUP BY r.recipient_id"
                                         " ORDER BY min(r.created_at), r.recipient_id LIMIT $3";
/* The guard is on the updated rows themselves: a sweeper on another node stamping the same rows first makes this
 * one change nothing (and send nothing). */
static const char SQL_NUDGE_STAMP[] =
    "UPDATE requests SET last_nudged_at = $3 WHERE recipient_id = $4 AND" NUDGE_WHERE("requests");

static const char *const STATUSES[] = {"pending", "info_requested", "done", "rejected", "approved", "cancelled"};

static bool one_of(const char *s, const char *const *set, size_t n)
{
    for (size_t i = 0; s && i < n; i++)
        if (strcmp(s, set[i]) == 0)
            return true;
    return false;
}

static bool party_type(const char *s)
{
    return s && (strcmp(s, "user") == 0 || strcmp(s, "agent") == 0);
}

static bool is_agent(const char *type, const char *id, const char *agent)
{
    return agent && strcmp(type, "agent") == 0 && strcmp(id, agent) == 0;
}

static void read_row(db_stmt_t *st, arena_t *a, void *row)
{
    request_row *r = row;
    const char **text[] = {&r->id,     &r->kind,           &r->requester_type, &r->requester_id,
                           &r->org_id, &r->recipient_type, &r->recipient_id,   &r->title,
                           &r->detail, &r->status,         &r->responder_type, &r->responder_id};
    int c = 0;
    for (; c < 12; c++)
        *text[c] = db_col_dup(st, a, c);
    r->has_priority = !db_col_is_null(st, c);
    r->priority = r->has_priority ? db_col_int64(st, c) : 0;
    r->created_at = db_col_int64(st, 13);
    r->updated_at = db_col_int64(st, 14);
    r->responded_at = db_col_is_null(st, 15) ? 0 : db_col_int64(st, 15);
    r->workspace_name = db_col_dup(st, a, 16);
}

/* The request, or CL_NOT_FOUND with `not_found` — also when `as_agent` is not one of its parties. */
static cl_err load(db_t *db, arena_t *a, const char *id, const char *as_agent, const char *not_found,
                   request_row *r, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_GET, "s", id);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK)
        read_row(st, a, r);
    db_finish(st);
    if (e == CL_OK && as_agent && !is_agent(r->requester_type, r->requester_id, as_agent) &&
        !is_agent(r->recipient_type, r->recipient_id, as_agent))
        e = CL_NOT_FOUND;
    return e == CL_NOT_FOUND ? cl_fail(err, CL_NOT_FOUND, "%s", not_found) : e;
}

/* An event about `r` goes to its requester agent, else its recipient agent (none between users). */
static cl_err announce(db_t *db, arena_t *a, const request_row *r, event_type t, json_t *payload, cl_error *err)
{
    const char *anchor = strcmp(r->requester_type, "agent") == 0   ? r->requester_id
                         : strcmp(r->recipient_type, "agent") == 0 ? r->recipient_id
                                                                   : NULL;
    if (anchor == NULL) {
        json_decref(payload);
        return CL_OK;
    }
    return inbox_event(db, a, t, anchor, payload, err);
}

static cl_err exists(db_t *db, arena_t *a, const char *sql, const char *p, const char **out, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, sql, "s", p);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK && out)
        *out = db_col_dup(st, a, 0);
    db_finish(st);
    return e;
}

/* An agent recipient: a live workspace, not the requester, that the requester may talk to. */
static cl_err check_recipient(db_t *db, arena_t *a, const char *requester, const char *recipient, cl_error *err)
{
    if (!id_is_uuid(recipient, strlen(recipient)))
        return cl_fail(err, CL_INVALID, "request: an agent recipient_id must be a workspace id");
    if (strcmp(recipient, requester) == 0)
        return cl_fail(err, CL_INVALID, "request: recipient cannot be the requester");
    cl_err e = exists(db, a, SQL_LIVE, recipient, NULL, err);
    if (e == CL_NOT_FOUND)
        return cl_fail(err, CL_NOT_FOUND, "recipient workspace not found");
    bool ok = false;
    if (e == CL_OK && (e = reg_can_communicate(db, a, requester, recipient, &ok, err)) == CL_OK && !ok)
        e = cl_fail(err, CL_FORBIDDEN, "access denied: workspaces cannot communicate per hierarchy rules");
    return e;
}

cl_err request_create(db_t *db, arena_t *a, const char *requester, const request_spec *s, const char **id,
                      cl_error *err)
{
    if (!one_of(s->kind, (const char *const[]){"task", "approval"}, 2))
        return cl_fail(err, CL_INVALID, "request: kind must be 'task' or 'approval'");
    if (!party_type(s->recipient_type))
        return cl_fail(err, CL_INVALID, "request: type must be 'user' or 'agent'");
    const char *recipient = s->recipient_id ? s->recipient_id : "";
    if (inbox_text("title", s->title, INBOX_TITLE_MAX, true, err) != CL_OK ||
        inbox_text("detail", s->detail, INBOX_TEXT_MAX, false, err) != CL_OK ||
        inbox_text("recipient_id", recipient, INBOX_NAME_MAX, false, err) != CL_OK)
        return CL_INVALID;
    if (s->has_priority && (s->priority < -32768 || s->priority > 32767))
        return cl_fail(err, CL_INVALID, "priority must be an integer from -32768 to 32767");
    bool to_agent = strcmp(s->recipient_type, "agent") == 0;
    if (to_agent)
        recipient = id_lower(arena_strdup(a, recipient));
    char fresh[ID_UUID_LEN + 1];
    id_uuid4(fresh);
    const char *org = NULL;
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    if ((e = db_tx_lock_shared(db, WS_TREE_LOCK, err)) == CL_OK && to_agent)
        e = check_recipient(db, a, requester, recipient, err);
    if (e == CL_OK && (e = exists(db, a, SQL_ROOT, requester, &org, err)) == CL_NOT_FOUND)
        e = CL_OK; /* no root (a missing workspace, or a cycle): no org, never a refusal */
    db_stmt_t *st;
    if (e == CL_OK) {
        e = db_query(db, a, &st, err, SQL_INSERT, "ssssssssni", fresh, s->kind, requester, org, s->recipient_type,
                     recipient, s->title, s->detail && s->detail[0] ? s->detail : NULL, time_now_ms());
        if (e == CL_OK && s->has_priority)
            db_bind_int64(st, 9, s->priority);
        if (e == CL_OK && (e = db_one(st, err)) == CL_OK) {
            *id = db_col_dup(st, a, 0);
            e = db_exec(st, err);
        }
        db_finish(st);
        if (e == CL_NOT_FOUND)
            e = cl_fail(err, CL_NOT_FOUND, "workspace not found");
    }
    if (e == CL_OK)
        e = inbox_event(db, a, EV_REQUEST_CREATED, to_agent ? recipient : requester,
                        json_pack("{s:s, s:s, s:s, s:s, s:s}", "request_id", *id, "kind", s->kind, "recipient_type",
                                  s->recipient_type, "recipient_id", recipient, "title", s->title),
                        err);
    return db_tx_end(db, e, err);
}

cl_err request_list(db_t *db, arena_t *a, request_side side, const char *agent, const char *status,
                    const inbox_key *before, int64_t limit, request_row **rows, size_t *count, cl_error *err)
{
    if (status && !one_of(status, STATUSES, 6))
        return cl_fail(err, CL_INVALID,
                       "status must be one of pending, info_requested, done, rejected, approved, cancelled");
    const char *lead[] = {agent, status};
    return inbox_list(db, a, side == REQUEST_OUTGOING ? SQL_OUTGOING : SQL_INCOMING, lead, 2, before, limit,
                      sizeof(**rows), read_row, rows, count, err);
}

cl_err request_list_pending(db_t *db, arena_t *a, const char *kind, const char *org_id, const inbox_key *before,
                            int64_t limit, request_row **rows, size_t *count, cl_error *err)
{
    if (kind && !one_of(kind, (const char *const[]){"task", "approval"}, 2))
        return cl_fail(err, CL_INVALID, "kind must be 'task' or 'approval'");
    const char *lead[] = {kind, org_id};
    return inbox_list(db, a, SQL_PENDING, lead, 2, before, limit, sizeof(**rows), read_row, rows, count, err);
}

cl_err request_get(db_t *db, arena_t *a, const char *id, const char *as_agent, request_row *row, request_msg **msgs,
                   size_t *count, cl_error *err)
{
    *msgs = NULL;
    *count = 0;
    cl_err e = load(db, a, id, as_agent, "request not found", row, err);
    db_stmt_t *st;
    if (e != CL_OK || (e = db_query(db, a, &st, err, SQL_THREAD, "si", id, (int64_t)REQUEST_THREAD_MAX)) != CL_OK)
        return e;
    size_t cap = 0;
    bool more;
    while ((e = db_step(st, &more, err)) == CL_OK && more) {
        *msgs = arena_grow(a, *msgs, *count, &cap, sizeof(request_msg));
        request_msg *m = &(*msgs)[(*count)++];
        m->id = db_col_dup(st, a, 0);
        m->request_id = db_col_dup(st, a, 1);
        m->author_type = db_col_dup(st, a, 2);
        m->author_id = db_col_dup(st, a, 3);
        m->body = db_col_dup(st, a, 4);
        m->created_at = db_col_int64(st, 5);
    }
    db_finish(st);
    return e;
}

/* The requester of `r`, when it is an agent other than (type, id): it gets a notification turn. */
static const char *agent_to_tell(const request_row *r, const char *type, const char *id)
{
    if (strcmp(r->requester_type, "agent") != 0 || (strcmp(type, "agent") == 0 && strcmp(id, r->requester_id) == 0))
        return NULL;
    return r->requester_id;
}

cl_err request_respond(db_t *db, arena_t *a, const char *id, const char *as_agent, const char *responder_type,
                       const char *responder_id, const char *action, cl_error *err)
{
    static const char gone[] = "request not found or already resolved";
    if (as_agent) {
        responder_type = "agent", responder_id = as_agent;
    } else {
        responder_type = responder_type && responder_type[0] ? responder_type : "user";
        responder_id = responder_id && responder_id[0] ? responder_id : "human";
        if (!party_type(responder_type))
            return cl_fail(err, CL_INVALID, "request: type must be 'user' or 'agent'");
        if (inbox_text("responder_id", responder_id, INBOX_NAME_MAX, false, err) != CL_OK)
            return CL_INVALID;
    }
    request_row r;
    int64_t changed = 0;
    cl_err e = db_tx_begin(db, err);
    if (e == CL_OK)
        e = load(db, a, id, as_agent, gone, &r, err);
    if (e != CL_OK)
        return db_tx_end(db, e, err);
    if (as_agent && !is_agent(r.recipient_type, r.recipient_id, as_agent))
        e = cl_fail(err, CL_FORBIDDEN, "not the recipient");
    else if (strcmp(responder_type, r.requester_type) == 0 && strcmp(responder_id, r.requester_id) == 0)
        e = cl_fail(err, CL_INVALID, "request: responder cannot be the requester");
    else if (!action || !(strcmp(action, "rejected") == 0 ||
                          strcmp(action, strcmp(r.kind, "approval") == 0 ? "approved" : "done") == 0))
        e = cl_fail(err, CL_INVALID, "request: invalid action for this request kind");
    if (e == CL_OK)
        e = db_run(db, a, &changed, err, SQL_RESPOND, "ssssi", id, action, responder_type, responder_id,
                   time_now_ms());
    if (e == CL_OK && changed == 0)
        e = cl_fail(err, CL_CONFLICT, "request not pending (already resolved)");
    if (e == CL_OK)
        e = announce(db, a, &r, EV_REQUEST_RESPONDED,
                     json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "request_id", id, "status", action,
                               "responder_type", responder_type, "responder_id", responder_id, "title", r.title,
                               "kind", r.kind),
                     err);
    const char *tell = e == CL_OK ? agent_to_tell(&r, responder_type, responder_id) : NULL;
    if (tell) {
        const char *by =
            strcmp(responder_type, "user") == 0 ? "the user" : arena_sprintf(a, "agent %s", responder_id);
        inbox_notify_agent(db, a, tell, arena_sprintf(a, "request-responded:%s", id),
                           arena_sprintf(a,
                                         "Your %s request \"%s\" (id %s) was %s by %s.\nUse get_request (or "
                                         "check_requests) to read it, and acknowledge with send_message_to_user.",
                                         r.kind, r.title, id, action, by),
                           NULL);
    }
    return db_tx_end(db, e, err);
}

cl_err request_add_message(db_t *db, arena_t *a, const char *id, const char *as_agent, const char *author_type,
                           const char *author_id, const char *body, const char **message_id, cl_error *err)
{
    if (as_agent) {
        author_type = "agent", author_id = as_agent;
    } else {
        author_id = author_id ? author_id : "";
        if (!party_type(author_type))
            return cl_fail(err, CL_INVALID, "request: type must be 'user' or 'agent'");
        if (inbox_text("author_id", author_id, INBOX_NAME_MAX, false, err) != CL_OK)
            return CL_INVALID;
    }
    if (inbox_text("body", body, INBOX_TEXT_MAX, true, err) != CL_OK)
        return CL_INVALID;
    char fresh[ID_UUID_LEN + 1];
    id_uuid4(fresh);
    request_row r;
    int64_t now = time_now_ms();
    cl_err e = db_tx_begin(db, err);
    if (e == CL_OK && (e = load(db, a, id, as_agent, "request not found", &r, err)) == CL_OK)
        e = db_run(db, a, NULL, err, SQL_MESSAGE, "sssssi", fresh, id, author_type, author_id, body, now);
    const char *tell = e == CL_OK ? agent_to_tell(&r, author_type, author_id) : NULL;
    bool by_requester =
        e == CL_OK && strcmp(author_type, r.requester_type) == 0 && strcmp(author_id, r.requester_id) == 0;
    if (e == CL_OK && !by_requester) /* a question for the requester; a settled request keeps its status */
        e = db_run(db, a, NULL, err, SQL_ASK_INFO, "si", id, now);
    if (e == CL_OK)
        e = announce(db, a, &r, EV_REQUEST_MESSAGE,
                     json_pack("{s:s, s:s, s:s, s:s}", "request_id", id, "message_id", fresh, "author_type",
                               author_type, "author_id", author_id),
                     err);
    if (e == CL_OK && tell)
        inbox_notify_agent(db, a, tell, arena_sprintf(a, "request-message:%s", fresh),
                           arena_sprintf(a,
                                         "More info requested on your %s request \"%s\" (id %s): %s\nReply with "
                                         "add_request_message.",
                                         r.kind, r.title, id, body),
                           NULL);
    if (e == CL_OK)
        *message_id = arena_strdup(a, fresh);
    return db_tx_end(db, e, err);
}

cl_err request_cancel(db_t *db, arena_t *a, const char *id, const char *as_agent, cl_error *err)
{
    request_row r;
    int64_t changed = 0;
    cl_err e = db_tx_begin(db, err);
    if (e == CL_OK && (e = load(db, a, id, as_agent, "request not found or already resolved", &r, err)) == CL_OK &&
        as_agent && !is_agent(r.requester_type, r.requester_id, as_agent))
        e = cl_fail(err, CL_FORBIDDEN, "not the requester");
    if (e == CL_OK)
        e = db_run(db, a, &changed, err, SQL_CANCEL, "si", id, time_now_ms());
    if (e == CL_OK && changed == 0)
        e = cl_fail(err, CL_CONFLICT, "request not pending (already resolved)");
    return db_tx_end(db, e, err);
}

cl_err request_nudge_sweep(db_t *db, arena_t *a, int64_t after_ms, int64_t repeat_ms, int64_t *agents,
                           int64_t *items, cl_error *err)
{
    *agents = *items = 0;
    int64_t now = time_now_ms();
    const char **ids;
    size_t n = 0;
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_NUDGE_AGENTS, "iii", now - after_ms, now - repeat_ms,
                        (int64_t)REQUEST_NUDGE_AGENTS_MAX);
    if (e == CL_OK)
        e = inbox_ids(st, a, &ids, &n, err);
    if (e != CL_OK)
        return e;
    /* one agent's failure does not hold back the others; the sweep reports the first */
    for (size_t i = 0; i < n; i++) {
        cl_error one;
        int64_t stamped = 0;
        bool sent = false;
        cl_err r = db_tx_begin(db, &one);
        if (r != CL_OK) {
            e = e == CL_OK ? cl_fail(err, r, "%s", one.msg) : e;
            continue;
        }
        r = db_run(db, a, &stamped, &one, SQL_NUDGE_STAMP, "iiis", now - after_ms, now - repeat_ms, now, ids[i]);
        if (r == CL_OK && stamped > 0) {
            inbox_notify_agent(db, a, ids[i], "inbox-nudge",
                               arena_sprintf(a,
                                             "You have %lld unhandled inbox request%s. Use list_inbox to see them, "
                                             "then respond_request to answer, or add_request_message to ask for "
                                             "more information.",
                                             (long long)stamped, stamped == 1 ? "" : "s"),
                               &sent);
            if (!sent) /* nothing stamped: the next sweep tries again */
                r = cl_fail(&one, CL_UNAVAILABLE, "nudge for %s not queued", ids[i]);
        }
        if ((r = db_tx_end(db, r, &one)) == CL_OK && sent) {
            (*agents)++;
            *items += stamped;
        } else if (r != CL_OK && e == CL_OK) {
            e = cl_fail(err, r, "%s", one.msg);
        }
    }
    return e;
}

cl_err request_on_removed(db_t *db, arena_t *a, const char *id, bool purge, cl_error *err)
{
    return purge ? db_run(db, a, NULL, err, SQL_DELETE_PARTY, "s", id)
                 : db_run(db, a, NULL, err, SQL_CANCEL_PARTY, "si", id, time_now_ms());
}
