/* event.h - the typed event names (one table, shared/api/vectors.md §3.3) and the durable event log: every event
 * is written to `events` (monotonic id) before anyone is told of it. */
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
    XX(WORKSPACE_REMOVED)

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

/* The newest `limit` events, of one workspace or (workspace_id NULL) of all, newest first. */
cl_err event_list(db_t *db, arena_t *a, const char *workspace_id, int64_t limit, event_row **rows, size_t *count,
                  cl_error *err);

/* The highest event id (0 when none). */
cl_err event_latest_id(db_t *db, arena_t *a, int64_t *id, cl_error *err);
/* Events with id > after, oldest first, at most `limit`. */
cl_err event_list_after(db_t *db, arena_t *a, int64_t after, int64_t limit, event_row **rows, size_t *count,
                        cl_error *err);

#endif
