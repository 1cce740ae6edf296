/* a2a.h - agent-to-agent messages (runtime.md §4): the JSON-RPC normalisation every message goes through
 * (vectors.md §3.5), the activity rows of an exchange, and the busy queue (`a2a_queue`) that holds push deliveries
 * which found their target busy until the dispatcher delivers them.
 *
 * Queue states: queued → dispatched → completed | queued (retry later, with back-off) | failed (expired, or the
 * target is gone) | dropped (by an operator, or superseded). A row is completed only with a real (2xx) reply. */
#ifndef COLONY_MODEL_A2A_H
#define COLONY_MODEL_A2A_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "model/budget.h"
#include "store/db.h"

enum {
    A2A_PRIORITY_TASK = 50,         /* what every message is queued with (the column allows 0..100) */
    A2A_RETRY_BASE_MS = 1000,       /* first back-off; doubles per attempt */
    A2A_RETRY_MAX_MS = 60 * 1000,   /* back-off ceiling */
};

/* One message after normalisation. Strings are arena-owned; absent ones are NULL. */
typedef struct {
    const char *body;         /* the normalised JSON-RPC text */
    size_t body_len;
    const char *method;       /* "" when the body names none */
    const char *message_id;   /* params.message.messageId (generated when missing), NULL without params.message */
    const char *text;         /* first text part of the message */
    const char *delegation_id;/* params.message.metadata.delegation_id */
    const char *in_reply_to;  /* params.message.metadata.in_reply_to: the message this one answers */
    int64_t expires_in_s;     /* params.expires_in_seconds: whole seconds, 0 when absent, negative or not a number */
    bool is_send;             /* message/send in any spelling (v0.2 tasks/send, v1.0 SendMessage) */
} a2a_msg;

/* Normalise a request body. CL_INVALID_JSON when it is not JSON (or not an object); CL_INVALID with the sheet's
 * message for a message whose content is neither parts nor text. */
cl_err a2a_normalize(arena_t *a, const char *body, size_t len, a2a_msg *out, cl_error *err);

/* The message/send colony writes itself for a user's or an operator's text (a schedule's prompt, a chat message, a
 * delegated task, a nudge): `message_id` is both the JSON-RPC id and the messageId, `metadata` (taken over; NULL:
 * none) goes on the message. Owned by `a`; a caller may append parts to params.message.parts before a2a_send_body. */
json_t *a2a_user_send(arena_t *a, const char *message_id, const char *text, json_t *metadata);
/* `body` (from a2a_user_send) normalised into `out`, as a request carrying it would be. */
cl_err a2a_send_body(arena_t *a, const json_t *body, a2a_msg *out, cl_error *err);

/* The first text part of a JSON-RPC reply: result.parts, else result.artifacts[].parts, else result.status.message
 * parts; NULL when there is none (or the body is not JSON). */
const char *a2a_reply_text(arena_t *a, const char *body, size_t len);

/* The part of a message that carries an attached file {uri, name, mimeType?} (activity_attachments):
 * {"kind": "image" | "audio" | "video" | "file" by the family of its type, "file": {"uri", "mime_type", "name"}}
 * (the reference's spelling of the outbound shape, runtime.md §4.4). A new reference. */
json_t *a2a_file_part(const json_t *attachment);

/* What the proxy needs of a target. `lease` is the budget's metering lease a push delivery holds (a2a_admit),
 * released with its outcome (a2a_log_outcome, a2a_enqueue); NULL when none. */
typedef struct {
    const char *id, *name, *url, *status, *delivery_mode;
    int64_t active_tasks, max_concurrent_tasks; /* as last heartbeaten */
    const char *lease;
} a2a_target;

/* CL_NOT_FOUND for a missing or removed workspace. */
cl_err a2a_target_get(db_t *db, arena_t *a, const char *id, a2a_target *out, cl_error *err);

/* A message/send arrives (any mode): its a2a_receive row on the target, keyed by message id so that the reply
 * completes the same row, and USER_MESSAGE; in one transaction. `summary_tag` is "ingest" or "queued for poll". */
cl_err a2a_log_ingest(db_t *db, arena_t *a, const a2a_target *t, const char *caller, const a2a_msg *m,
                      const char *summary_tag, cl_error *err);
/* The outcome of a delivery: completes the message's row (or writes a row when there is no message id). `ok`
 * false writes the failure row "A2A request to <name> failed: <error>". The caller's last_outbound_at is bumped
 * on success. */
typedef struct {
    const char *response_body; /* JSON text or NULL */
    const char *error;         /* for failures */
    int64_t duration_ms;
    int status;                /* upstream HTTP status, 0 for transport failures */
    bool ok;
    bool from_canvas;          /* also record A2A_RESPONSE */
} a2a_outcome;
cl_err a2a_log_outcome(db_t *db, arena_t *a, const a2a_target *t, const char *caller, const a2a_msg *m,
                       const a2a_outcome *o, cl_error *err);

/* The reply already stored for message `message_id` from `sender` (NULL: an operator) on `workspace`: a retried
 * send is answered from it instead of being delivered again. Dedupe is per sender: another sender's message with the
 * same id is another message. CL_NOT_FOUND when there is none. */
cl_err a2a_prior_reply(db_t *db, arena_t *a, const char *workspace, const char *sender, const char *message_id,
                       const char **reply, cl_error *err);

/* A reply from `replier` (a poll-mode agent answering with a message whose metadata names in_reply_to, a
 * delegation_id, or both): the a2a_receive row that `to` sent to the replier of the message it answers
 * (in_reply_to, else the delegation id) gets the reply, and the delegation from `to` to the replier that it settles
 * (delegation_id, else in_reply_to) completes. Rows that do not match are left alone. */
cl_err a2a_note_reply(db_t *db, arena_t *a, const char *replier, const char *to, const a2a_msg *m, cl_error *err);

typedef struct {
    const char *id, *workspace_id, *caller_id, *body, *method, *idempotency_key, *status, *last_error,
        *response_body;
    int64_t priority, attempts, enqueued_at, dispatched_at, completed_at, expires_at, next_attempt_at;
    /* joined from the target when claimed */
    const char *url, *target_status;
    const char *lease; /* the budget's metering lease of this delivery (a2a_meter_queued), or NULL */
} a2a_queue_row;

/* Queue a push delivery for a busy target. With a key, a live row with the same key is the answer (nothing is
 * inserted twice); an expired queued row with that key is dropped first. *id and *depth (queued rows of the
 * workspace) are filled. expires_at 0: none. A busy-queued activity row is written in the same transaction. */
cl_err a2a_enqueue(db_t *db, arena_t *a, const a2a_target *t, const char *caller, const a2a_msg *m, int priority,
                   int64_t expires_at, const char **id, int64_t *depth, bool *existing, cl_error *err);
/* Claim the next due row of a target that has nothing in flight, is not paused and whose metering lease is free:
 * queued → dispatched, attempts + 1. CL_NOT_FOUND when nothing is due. Safe across nodes: two claimers never take
 * the same row. */
cl_err a2a_claim(db_t *db, arena_t *a, a2a_queue_row *out, cl_error *err);
/* dispatched → completed with the reply; a delegation named by the body's metadata completes with it (via
 * "queue_drain"), and the message's activity row gets the reply. */
cl_err a2a_complete(db_t *db, arena_t *a, const a2a_queue_row *r, const char *reply, int64_t duration_ms,
                    cl_error *err);
/* dispatched → queued again, next attempt after a back-off that doubles per attempt (A2A_RETRY_*). */
cl_err a2a_retry_later(db_t *db, arena_t *a, const a2a_queue_row *r, const char *error, cl_error *err);
/* dispatched or queued → failed (the target is gone); a delegation named by the body fails with it. */
cl_err a2a_fail(db_t *db, arena_t *a, const a2a_queue_row *r, const char *error, cl_error *err);
/* Housekeeping: queued rows past expires_at → failed ("expired"), and rows left dispatched longer than
 * `orphan_ms` (a node died mid-delivery) → queued again. Counts go to *expired and *reaped. */
cl_err a2a_queue_sweep(db_t *db, arena_t *a, int64_t orphan_ms, int64_t *expired, int64_t *reaped, cl_error *err);
/* CL_NOT_FOUND when there is no such row. */
cl_err a2a_queue_get(db_t *db, arena_t *a, const char *id, a2a_queue_row *out, cl_error *err);
/* queued rows enqueued more than max_age_ms ago (of one workspace, or all when NULL) → dropped. */
cl_err a2a_drop_stale(db_t *db, arena_t *a, int64_t max_age_ms, const char *workspace_id, int64_t *dropped,
                      cl_error *err);
/* Rows queued now, across all workspaces. */
cl_err a2a_queue_depth(db_t *db, arena_t *a, int64_t *depth, cl_error *err);

/* ---- admission: budget, pause, hibernation (budget.h, lifecycle.h) ---- */

/* What admission decided for a message that passed the budget gate. */
typedef enum {
    A2A_DELIVER,      /* push it now (t->lease holds the metering lease when the target has a budget), or poll */
    A2A_HOLD_PAUSED,  /* the target is paused: the message waits in the busy queue until it resumes */
    A2A_HOLD_METERED, /* another metered delivery to the target is in flight: the busy queue delivers this later */
    A2A_WAKING,       /* the target was hibernated and is woken now: the sender retries in ~15 s */
} a2a_admission;

/* Admit one message to `t`, in one transaction: the budget gate (CL_PAYMENT_REQUIRED "workspace budget limit
 * exceeded" with the periods in `over`; nothing is written then), then, for a push target, its state (paused →
 * held; hibernated → woken; a deliverable target with a budget → its metering lease, or held while another delivery
 * holds it), and the activity row of the message when `ingest_tag` is not NULL (as a2a_log_ingest writes it). The
 * verdict is in *out. */
cl_err a2a_admit(db_t *db, arena_t *a, a2a_target *t, const char *caller, const a2a_msg *m, const char *ingest_tag,
                 a2a_admission *out, budget_refusal *over, cl_error *err);
/* The same gate for a claimed queue row before the dispatcher delivers it: CL_PAYMENT_REQUIRED (the caller fails
 * the row), *held when the lease is taken or the target was hibernated (woken now; the caller retries the row
 * later), else CL_OK with r->lease set when the target has a budget. */
cl_err a2a_meter_queued(db_t *db, arena_t *a, a2a_queue_row *r, bool *held, cl_error *err);

#endif
