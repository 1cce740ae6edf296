/* inbox.h - what the three human-in-the-loop stores share (shared/api/inbox.md): approvals (approval.h), user
 * tasks (usertask.h) and the requests inbox (request.h) are separate tables, never mirrored, but their lists page
 * alike, their text fields are bounded alike, they send agents the same kind of notification turn, and a
 * workspace's removal settles the pending items of all three in its own transaction. */
#ifndef COLONY_MODEL_INBOX_H
#define COLONY_MODEL_INBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/arena.h"
#include "base/error.h"
#include "model/event.h"
#include "store/db.h"

enum {
    INBOX_LIST_MAX = 500,           /* rows of one page of any inbox list */
    INBOX_NAME_MAX = 256,           /* a party, decider or resolver name, a task id */
    INBOX_TITLE_MAX = 1000,         /* a title or an approval's action */
    INBOX_TEXT_MAX = 64 * 1024,     /* a detail, reason or message body */
    INBOX_CONTEXT_MAX = 64 * 1024,  /* an approval's context, as JSON text */
    INBOX_NOTIFY_TTL_MS = 86400000, /* a notification turn for a push agent is retried for a day */
};

/* A position in a newest-first list: (created_at, id) descending. */
typedef struct {
    int64_t created_at;
    const char *id;
} inbox_key;

/* Reads the current row of `st` into `row` (a store's row type). */
typedef void (*inbox_row_fn)(db_stmt_t *st, arena_t *a, void *row);

/* A page of a newest-first list: `sql` takes the texts lead[0..nlead) as $1.. (NULL binds NULL), then the position
 * (created_at, id) of `before` (NULL: from the newest) and `limit`. Each row is read by `read` into a zeroed
 * element of an arena array of `size`-byte elements: *rows (a T **) and *count receive it. */
cl_err inbox_list(db_t *db, arena_t *a, const char *sql, const char *const *lead, int nlead,
                  const inbox_key *before, int64_t limit, size_t size, inbox_row_fn read, void *rows, size_t *count,
                  cl_error *err);

/* Column 0 of every row of `st` (which is finished here): the ids an UPDATE … RETURNING changed, and the like. */
cl_err inbox_ids(db_stmt_t *st, arena_t *a, const char ***ids, size_t *n, cl_error *err);

/* Run a removal's settling `sql` (an UPDATE … RETURNING id of $1 the workspace, $2 INBOX_REMOVED_BY, $3 now): the
 * ids of the items it settled. */
cl_err inbox_settle(db_t *db, arena_t *a, const char *sql, const char *workspace_id, const char ***ids, size_t *n,
                    cl_error *err);

/* Record event `t` on workspace `ws` with `payload` (a new reference, taken), in the caller's transaction. */
cl_err inbox_event(db_t *db, arena_t *a, event_type t, const char *ws, json_t *payload, cl_error *err);

/* The decider, resolver or responder name recorded when a workspace's removal settles its items. */
#define INBOX_REMOVED_BY "workspace_removed"

/* `s` (NULL: absent) as a field of at most `max` bytes: CL_INVALID "<field> is longer than <max> bytes", or
 * "<field> is required" when `required` and it is absent or empty. Text reaching the model is valid UTF-8 already
 * (the JSON parser refuses anything else). */
cl_err inbox_text(const char *field, const char *s, size_t max, bool required, cl_error *err);

/* May an item of state machine `store` ("approval", "user_task", "request" of inbox_transitions) move from `from`
 * to `to`? Staying is always allowed. Otherwise CL_INVALID "<what> is '<from>': status can only become a, b" (the
 * edges of the schema's own table), or "<what> is '<from>', which is final". */
cl_err inbox_check_move(db_t *db, arena_t *a, const char *store, const char *what, const char *from, const char *to,
                        cl_error *err);

/* Send agent `workspace_id` a user turn (message/send, no sender) with `text`; its messageId is "<key>-<uuid>".
 * A poll-mode agent finds it in its inbox; a push agent gets it through the busy queue (retried for
 * INBOX_NOTIFY_TTL_MS). Inside the caller's transaction, in a savepoint of its own: a failure is logged and
 * undone alone — the inbox row is the durable truth, the turn a courtesy. *sent (may be NULL) tells whether it
 * was queued. */
void inbox_notify_agent(db_t *db, arena_t *a, const char *workspace_id, const char *key, const char *text,
                        bool *sent);

/* The workspaces `ids` are being removed (inside the removal's transaction). Without `purge`, their pending items
 * are settled: approvals withdrawn and user tasks dismissed (by INBOX_REMOVED_BY, each with its event), open
 * requests they raised or were asked cancelled. With `purge`, the requests they are party to are deleted (their
 * approvals and user tasks go with the rows, by foreign key). */
cl_err inbox_on_removed(db_t *db, arena_t *a, const char *const *ids, size_t n, bool purge, cl_error *err);

#endif
