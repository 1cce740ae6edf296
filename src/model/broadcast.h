/* broadcast.h - one workspace's message to its whole org (surface.md §14): every live workspace under its org root
 * but itself gets a `broadcast_receive` activity row and a BROADCAST_MESSAGE event, the sender a `broadcast_sent`
 * row, all in one transaction. Nothing goes by A2A: agents see it in their activity (and live, on /ws). */
#ifndef COLONY_MODEL_BROADCAST_H
#define COLONY_MODEL_BROADCAST_H

#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "store/db.h"

enum {
    BROADCAST_MESSAGE_MAX = 64 * 1024, /* bytes of a message */
    BROADCAST_RECIPIENTS_MAX = 20000,  /* workspaces one broadcast reaches (an org's size) */
    BROADCAST_SUMMARY_RUNES = 120,     /* of the message, in a recipient's activity summary */
    BROADCAST_TOTAL_MAX = 4 << 20,     /* message bytes x recipients: each keeps it twice (activity row, event) */
};

/* Send `message` from `sender_id`. CL_NOT_FOUND "workspace not found" for a missing or removed sender; CL_FORBIDDEN
 * with code "broadcast_disabled" when its broadcast ability is off; CL_TOO_LARGE past BROADCAST_RECIPIENTS_MAX or BROADCAST_TOTAL_MAX, nothing written.
 * *delivered receives the number of recipients. */
cl_err broadcast_send(db_t *db, arena_t *a, const char *sender_id, const char *message, int64_t *delivered,
                      cl_error *err);

#endif
