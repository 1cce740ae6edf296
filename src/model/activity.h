/* activity.h - the activity log of each workspace (runtime.md §6): what agents report, messages in and out, and
 * the agent→user chat. A row that is also shown live is written in the same transaction as its event: if the row
 * cannot be written, nothing is told. */
#ifndef COLONY_MODEL_ACTIVITY_H
#define COLONY_MODEL_ACTIVITY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "store/db.h"

enum {
    ACTIVITY_LIMIT_DEFAULT = 100,
    ACTIVITY_LIMIT_MAX = 500,
    ACTIVITY_SINCE_MAX_S = 30 * 24 * 3600,
    ACTIVITY_TEXT_MAX = 64 * 1024,      /* summary, error_detail */
    ACTIVITY_BODY_MAX = 1024 * 1024,    /* request/response bodies as JSON text */
    NOTIFY_PREVIEW_RUNES = 80,
    ACTIVITY_EVENT_DETAIL_MAX = 4096,   /* error_detail in ACTIVITY_LOGGED */
    ACTIVITY_ATTACHMENTS_MAX = 32,      /* files attached to one agent message or task */
};

typedef struct {
    const char *id, *workspace_id, *activity_type, *source_id, *target_id, *method, *summary, *request_body,
        *response_body, *status, *error_detail;
    const char *tool_trace; /* JSON text or NULL (read only) */
    const char *message_id; /* A2A messageId: a second write with the same id completes the first row */
    int64_t duration_ms, created_at, seq;
    bool has_duration;
} activity_row;

/* One of a2a_send, a2a_receive, task_update, agent_log, skill_promotion, memory_write, error (what agents report). */
bool activity_type_reportable(const char *type);

/* Insert `r` (id and created_at are filled) and bump the workspace's last_activity_at. With a message_id that the
 * workspace already has a row for, that row is completed instead: response_body and duration_ms when given, status
 * and error_detail always (the row keeps its id, summary and request). */
cl_err activity_record(db_t *db, arena_t *a, activity_row *r, cl_error *err);

/* What an agent reports (POST /workspaces/:id/activity): the row, as activity_record writes it, and ACTIVITY_LOGGED
 * {activity_type, method, summary, status, source_id, target_id, duration_ms, request_body?, response_body?,
 * error_detail? (secrets masked, capped), message_id?} in one transaction: told only if written, written only if
 * told. */
cl_err activity_report(db_t *db, arena_t *a, activity_row *r, cl_error *err);

typedef struct {
    const char *type;        /* exact activity_type, or NULL */
    int source;              /* 0 any, 1 canvas (source NULL), 2 agent (source set) */
    const char *peer_id;     /* source or target, or NULL */
    const char *since_id;    /* the reference's cursor: rows after it, oldest first */
    bool has_cursor;         /* a page cursor (instead of since_id): rows after cursor_seq oldest first when
                                ascending, else before it newest first */
    bool ascending;
    int64_t cursor_seq;
    int64_t since_ms;        /* created_at >= (0: none) */
    int64_t before_ms;       /* created_at < (0: none) */
    int64_t limit;
} activity_filter;

/* Rows of a workspace: newest first, or oldest first after since_id (or an ascending cursor), at most f->limit.
 * CL_GONE when since_id is not a row of this workspace. */
cl_err activity_list(db_t *db, arena_t *a, const char *workspace_id, const activity_filter *f, activity_row **rows,
                     size_t *count, cl_error *err);

/* The files attached to an agent message (POST /workspaces/:id/notify, the MCP send_message_to_user) or to a
 * delegated task (MCP delegate_task): absent or JSON null → *out NULL; otherwise an array of at most
 * ACTIVITY_ATTACHMENTS_MAX objects {uri, name (non-empty strings), mimeType? (string), size? (integer)}, copied with
 * those keys only (*out is a new array owned by `a`). CL_INVALID "attachments must be an array", "attachments: at
 * most 32 files", "attachment[<i>]: must be an object", "attachment[<i>]: uri and name are required". */
cl_err activity_attachments(arena_t *a, const json_t *v, json_t **out, cl_error *err);

/* The agent→user message: CL_NOT_FOUND (missing or removed), CL_FORBIDDEN (talk_to_user disabled); otherwise the
 * a2a_receive/notify row and the AGENT_MESSAGE event in one transaction. `attachments` is a JSON array text or
 * NULL. `in_reply_to` (NULL: none) names the operator's message (no sender) in the workspace's inbox that this one
 * answers: while that message has no reply, its row gets this one (as an A2A reply naming it: the chat history shows
 * it under the question, and a relayed chat message's reply goes back to its chat) and no notify row is written. */
cl_err activity_notify(db_t *db, arena_t *a, const char *workspace_id, const char *message, const char *attachments,
                       const char *in_reply_to, cl_error *err);

/* Reports and notifies written together (group commit): one transaction for all, each item's outcome in its
 * `result` (a refused notify fails only itself). When the database refuses the group, each item is written again
 * alone, so one bad item never fails another. */
typedef struct {
    bool notify;                                      /* a notify (below) rather than a report (row) */
    activity_row row;                                 /* report; row.id is set once written */
    const char *workspace_id, *message, *attachments; /* notify */
    const char *in_reply_to;                          /* notify: the operator message it answers, or NULL */
    cl_err result;
    cl_error err;
} activity_write;
void activity_write_group(db_t *db, arena_t *a, activity_write *items, size_t n);

/* Start a new chat session: history before it is hidden; SESSION_RESET recorded. *at receives the marker. */
cl_err activity_chat_reset(db_t *db, arena_t *a, const char *workspace_id, int64_t *at, cl_error *err);
/* A position in the chat history, which runs newest first by (created_at, seq) descending. */
typedef struct {
    int64_t created_at, seq;
} activity_key;

/* Chat rows (a2a_receive from the canvas or notify) since the session marker, newest first: created before
 * `before_ms` (0: any) and before `before` (NULL: from the newest), at most `limit`. */
cl_err activity_chat_rows(db_t *db, arena_t *a, const char *workspace_id, int64_t before_ms, const activity_key *before,
                          int64_t limit, activity_row **rows, size_t *count, cl_error *err);
/* The workspace's tool steps (agent_log rows whose summary starts with `marker`) created in [from_ms, to_ms],
 * oldest first, at most `limit`. */
cl_err activity_tool_steps(db_t *db, arena_t *a, const char *workspace_id, const char *marker, int64_t from_ms,
                           int64_t to_ms, int64_t limit, activity_row **rows, size_t *count, cl_error *err);
/* Rows whose summary, type, method, status or bodies contain `q` (case-folded), newest first: those with a seq below
 * `before_seq` (0: from the newest), at most `limit`. */
cl_err activity_search(db_t *db, arena_t *a, const char *workspace_id, const char *q, int64_t before_seq,
                       int64_t limit, activity_row **rows, size_t *count, cl_error *err);

#endif
