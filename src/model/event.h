/* event.h - the typed event names (one table: the 36 of shared/api/vectors.md §3.3, then the approval outcomes of
 * inbox.md §7) and the durable event log: every event is written to `events` (monotonic id) before anyone is told
 * of it. */
#ifndef COLONY_MODEL_EVENT_H
#define COLONY_MODEL_EVENT_H

#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "store/db.h"

#define EVENT_TYPES(XX)                                                                                            \
    XX(A2A_RESPONSE)                                                                                               \
    XX(ACTIVITY_LOGGED)                                                                                            \
    XX(AGENT_ASSIGNED)                                                                                             \
    XX(AGENT_CARD_UPDATED)                                                                                         \
    XX(AGENT_MESSAGE)                                                                                              \
    XX(AGENT_MOVED)                                                                                                \
    XX(AGENT_REMOVED)                                                                                              \
    XX(AGENT_REPLACED)                                                                                             \
    XX(APPROVAL_ESCALATED)                                                                                         \
    XX(APPROVAL_REQUESTED)                                                                                         \
    XX(CHANNEL_MESSAGE)                                                                                            \
    XX(CRON_EXECUTED)                                                                                              \
    XX(CRON_SKIPPED)                                                                                               \
    XX(DELEGATION_COMPLETE)                                                                                        \
    XX(DELEGATION_FAILED)                                                                                          \
    XX(DELEGATION_SENT)                                                                                            \
    XX(DELEGATION_STATUS)                                                                                          \
    XX(EXTERNAL_CREDENTIALS_ROTATED)                                                                               \
    XX(REQUEST_CREATED)                                                                                            \
    XX(REQUEST_MESSAGE)                                                                                            \
    XX(REQUEST_RESPONDED)                                                                                          \
    XX(SESSION_RESET)                                                                                              \
    XX(TASK_UPDATED)                                                                                               \
    XX(USER_MESSAGE)                                                                                               \
    XX(USER_TASK_REQUESTED)                                                                                        \
    XX(USER_TASK_RESOLVED)                                                                                         \
    XX(WORKSPACE_AWAITING_AGENT)                                                                                   \
    XX(WORKSPACE_DEGRADED)                                                                                         \
    XX(WORKSPACE_HEARTBEAT)                                                                                        \
    XX(WORKSPACE_HIBERNATED)                                                                                       \
    XX(WORKSPACE_OFFLINE)                                                                                          \
    XX(WORKSPACE_ONLINE)                                                                                           \
    XX(WORKSPACE_PAUSED)                                                                                           \
    XX(WORKSPACE_PROVISIONING)                                                                                     \
    XX(WORKSPACE_PROVISION_FAILED)                                                                                 \
    XX(WORKSPACE_REMOVED)                                                                                          \
    /* emitted by the reference outside its list of 36 (inbox.md §7): an approval decided or withdrawn */         \
    XX(APPROVAL_APPROVED)                                                                                          \
    XX(APPROVAL_DENIED)                                                                                            \
    XX(APPROVAL_WITHDRAWN)                                                                                         \
    /* a broadcast reaching a workspace (surface.md §14; the reference sends it live only) */                      \
    XX(BROADCAST_MESSAGE)                                                                                          \
    /* colony's own: a workspace's config, files or model changed (the reference restarts its container instead) */ \
    XX(WORKSPACE_CONFIG_UPDATED)

/* What one live event may carry: a payload over EVENT_PAYLOAD_MAX bytes is recorded with its strings cut to
 * EVENT_STRING_MAX (the rows behind it keep everything), so one subscriber can never pin megabytes. */
enum { EVENT_PAYLOAD_MAX = 256 * 1024, EVENT_STRING_MAX = 16 * 1024 };

/* The cross-node channel on which every committed event id is announced (PostgreSQL NOTIFY). */
#define EVENT_CHANNEL "colony_events"

typedef enum {
#define XX(name) EV_##name,
    EVENT_TYPES(XX)
#undef XX
        EV__COUNT
} event_type;

/* The wire name ("WORKSPACE_ONLINE"). */
const char *event_name(event_type t);
/* The type of a wire name; false when unknown. */
bool event_from_name(const char *name, event_type *out);

/* Append one event (payload: a JSON object text, or NULL for {}) inside the caller's transaction, if any; *id
 * (may be NULL) receives its id. */
cl_err event_record(db_t *db, arena_t *a, event_type t, const char *workspace_id, const char *payload, int64_t *id,
                    cl_error *err);

typedef struct {
    int64_t id, created_at;
    const char *type, *workspace_id, *payload;
} event_row;

/* Events of one workspace or (workspace_id NULL) of all, newest first: those with an id below `before_id` (0: from
 * the newest), at most `limit`. */
cl_err event_list(db_t *db, arena_t *a, const char *workspace_id, int64_t before_id, int64_t limit, event_row **rows,
                  size_t *count, cl_error *err);

/* The highest event id (0 when none). */
cl_err event_latest_id(db_t *db, arena_t *a, int64_t *id, cl_error *err);
/* Events with after < id <= upto, oldest first, at most `limit` (for ids the caller knows are final). */
cl_err event_list_range(db_t *db, arena_t *a, int64_t after, int64_t upto, int64_t limit, event_row **rows,
                        size_t *count, cl_error *err);

/* Reading the log in id order without skipping. On PostgreSQL ids are drawn when a transaction inserts and become
 * visible when it commits, in any order: a reader that passed id 7 while 6 was still uncommitted would never see
 * 6. event_read_settled therefore returns only an unbroken run after `after`, and passes a missing id only once
 * every transaction that could hold it has ended (the snapshot rule of migration 0020). The reader keeps `h`
 * between calls. *settling: something was held back behind a transaction still running (read again soon; a
 * transaction that rolls back sends no notification). On SQLite ids commit in order and nothing is held back. */
typedef struct {
    bool pending;
    int64_t seen_upto, seen_xmax; /* the newest id seen past a gap, and an xid drawn right after it was seen */
} event_horizon;
cl_err event_read_settled(db_t *db, arena_t *a, int64_t after, int64_t limit, event_horizon *h, event_row **rows,
                          size_t *count, bool *settling, cl_error *err);
/* Where a new reader starts: the newest id at or below which every id is final (the newest id on SQLite; on
 * PostgreSQL the newest visible id once the transactions running now have ended, waiting at most wait_ms). */
cl_err event_read_start(db_t *db, arena_t *a, int64_t wait_ms, int64_t *start, cl_error *err);

#endif
