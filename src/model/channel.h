/* channel.h - a workspace's chat channels (data.md §4.2, surface.md §14): the rows, an incoming webhook turned into
 * a message for the workspace, and the two queues the channel courier (jobs/courier.h) works through — incoming
 * messages to relay to the agent as A2A messages, and outgoing messages (the agent's replies, POST …/send and
 * …/test) to post through the provider's API, paced per destination and retried with back-off.
 *
 * Credentials are one JSON object sealed with the vault (VAULT_CHANNEL: the workspace and the channel's id as
 * associated data), opened only to verify a webhook or to send; they reach no response, log or activity row. */
#ifndef COLONY_MODEL_CHANNEL_H
#define COLONY_MODEL_CHANNEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "model/channel_adapter.h"
#include "model/channel_wire.h"
#include "store/db.h"

enum {
    CHAN_LIST_MAX = CHAN__COUNT,           /* channels of a workspace: one per type */
    CHAN_CANDIDATES_MAX = 8, /* channels an unauthenticated request's signature is tried against: those of its chat
                              * (the oldest), or for a request naming none (a handshake) the most recently changed */
    CHAN_SEND_MAX_FAILURES = 8,            /* retryable failures before a send is given up */
    CHAN_SEND_GIVE_UP_MS = 24 * 3600 * 1000, /* and the age past which it is */
    CHAN_RETRY_BASE_MS = 1000,             /* back-off without a Retry-After: doubles per failure… */
    CHAN_RETRY_MAX_MS = 5 * 60 * 1000,     /* …up to this */
    CHAN_RETRY_AFTER_MAX_MS = 3600 * 1000, /* the longest Retry-After honoured */
    CHAN_RELAY_MAX_ATTEMPTS = 3,           /* relays of one incoming message whose node died before it was done */
    CHAN_RELAY_PER_WORKSPACE = 8,          /* relays of one workspace in flight at a time, on all nodes */
    CHAN_KEEP_MS = 7 * 24 * 3600 * 1000LL, /* finished messages are kept this long (a provider's retry finds them) */
};

/* Process-wide settings, set once at start: DISCORD_APP_PUBLIC_KEY (hex; NULL: none), the longest a relay to an
 * agent may take (after which a relay whose node died is taken again) and how long a reply is looked for when the
 * agent did not answer at once (busy, or polling its inbox). */
void chan_configure(const char *discord_env_key, int64_t relay_lease_ms, int64_t reply_wait_ms);

/* Work for the courier appeared on this node (a webhook accepted, a reply or a send queued, a stuck send reaped):
 * set after the commit that made it; the courier takes it (and clears it) on its next turn instead of waiting for
 * its interval. Other nodes find the work on their next look. */
void chan_wake(void);
bool chan_take_wake(void);

typedef struct {
    const char *id, *workspace_id;
    chan_type type;
    json_t *clear;         /* the config's clear fields */
    json_t *secret;        /* its credentials, opened ({} when none); NULL when they do not open here */
    json_t *allowed_users; /* array */
    bool enabled, has_budget;
    int64_t budget, message_count, last_message_at, created_at, updated_at;
} chan_row;

/* ---- the rows (WorkspaceAuth routes) ---- */

/* A channel of type t for a live workspace: config checked (chan_config_check), allowed_users (NULL: []) checked,
 * credentials sealed (503 secrets_key_missing without a key). CL_NOT_FOUND "workspace not found"; CL_CONFLICT when
 * the workspace has a channel of that type (*conflict_id names it). */
cl_err chan_create(db_t *db, arena_t *a, const char *workspace_id, chan_type t, const json_t *config,
                   const json_t *allowed, bool enabled, const int64_t *budget, chan_row *out,
                   const char **conflict_id, cl_error *err);
/* The workspace's channels by creation, after (created_at, id) (0, NULL: from the first), at most `limit`. */
cl_err chan_list(db_t *db, arena_t *a, const char *workspace_id, int64_t after_created, const char *after_id,
                 int64_t limit, chan_row **rows, size_t *n, cl_error *err);
/* CL_NOT_FOUND "channel not found" (also for another workspace's channel). */
cl_err chan_get(db_t *db, arena_t *a, const char *workspace_id, const char *id, chan_row *out, cl_error *err);

typedef struct {
    const json_t *config;  /* replaces the config (masked credentials keep their value); NULL: unchanged */
    const json_t *allowed; /* replaces allowed_users; NULL: unchanged */
    bool has_enabled, enabled;
    bool has_budget, budget_null; /* channel_budget: set, or cleared */
    int64_t budget;
} chan_patch;
cl_err chan_update(db_t *db, arena_t *a, const char *workspace_id, const char *id, const chan_patch *p,
                   cl_error *err);
cl_err chan_delete(db_t *db, arena_t *a, const char *workspace_id, const char *id, cl_error *err);

/* ---- incoming (POST /webhooks/:type) ---- */

typedef enum {
    CHAN_RECV_ACCEPTED,
    CHAN_RECV_DUPLICATE,     /* a provider's retry of an update already accepted: nothing new */
    CHAN_RECV_HANDSHAKE,     /* answered with the challenge (or Discord's PONG) */
    CHAN_RECV_IGNORED,       /* nothing to relay, or a sender the channel does not allow */
    CHAN_RECV_NO_CHANNEL,    /* no enabled channel listens to that chat */
    CHAN_RECV_UNKNOWN_AGENT, /* "[slug] …" named no candidate */
} chan_recv_status;

typedef struct {
    chan_recv_status status;
    const char *challenge;      /* HANDSHAKE (Slack, Lark) */
    const char *requested_slug; /* UNKNOWN_AGENT */
    const char **available;     /* UNKNOWN_AGENT: "[name]" of each candidate with a username */
    size_t navailable;
    const char *channel_id, *message_id; /* ACCEPTED, DUPLICATE */
} chan_receipt;

/* An incoming webhook of type t: its signature checked the way the provider signs (chan_sig_precheck, then
 * chan_sig_verify against the channels it could be for), read (chan_parse), routed to one enabled channel of a live
 * workspace (its chat in the channel's chat list, the sender allowed, a "[slug]" choosing by username among several)
 * and recorded once per provider update id, with the channel's count and CHANNEL_MESSAGE, in one transaction.
 * CL_UNAUTHORIZED "invalid signature" (unsigned, stale, or signed by no candidate); CL_INVALID "webhook parse
 * failed". */
cl_err chan_receive(db_t *db, arena_t *a, chan_type t, const chan_sig_headers *h, const char *body, size_t len,
                    int64_t now_ms, chan_receipt *out, cl_error *err);

/* ---- the courier's work ---- */

/* Incoming messages waiting for a relay (oldest first), of each workspace only as many as keep its relays in flight
 * (on every node) within CHAN_RELAY_PER_WORKSPACE. */
cl_err chan_inbound_due(db_t *db, arena_t *a, int64_t limit, const char ***ids, size_t *n, cl_error *err);

typedef struct {
    const char *id, *channel_id, *workspace_id, *chat_id, *thread, *username, *text;
    const char *message_id; /* the A2A messageId: "channel-<id>" */
    chan_type type;
    int64_t claimed_at;
} chan_inbound_row;

/* Take one for relaying (received → relaying); CL_NOT_FOUND when another courier took it first. */
cl_err chan_inbound_claim(db_t *db, arena_t *a, const char *id, int64_t now_ms, chan_inbound_row *out,
                          cl_error *err);

typedef enum {
    CHAN_RELAY_REPLIED,   /* the agent answered: its text (may be empty) goes back to the chat */
    CHAN_RELAY_DELIVERED, /* in a poll-mode agent's inbox: awaits the reply the agent names it in (in_reply_to) */
    CHAN_RELAY_AWAITING,  /* the agent was busy: awaits the reply the busy queue stores */
    CHAN_RELAY_FAILED,    /* `error` says why (also an activity row) */
} chan_relay_outcome;

/* Record a relay's outcome (relaying or awaiting → …); a reply with text becomes the message's one outgoing reply,
 * to the chat (and thread) it came from, in the same transaction. DELIVERED and AWAITING leave the message
 * awaiting its reply until the reply wait ends (chan_awaiting_check). */
cl_err chan_inbound_settle(db_t *db, arena_t *a, const chan_inbound_row *r, chan_relay_outcome o, const char *reply,
                           const char *error, int64_t now_ms, cl_error *err);

/* Settle up to `limit` awaiting messages whose reply is stored (as the A2A path stores the reply of an operator's
 * message "channel-<id>": a push reply, the busy queue's delivery, a poll-mode agent's answer naming it), and fail
 * up to `limit` whose wait (the reply wait of chan_configure, from the relay) has ended. A message is settled once
 * on any number of nodes (a guarded UPDATE; its one reply row is unique per message). */
cl_err chan_awaiting_check(db_t *db, arena_t *a, int64_t now_ms, int64_t limit, int64_t *replied, int64_t *expired,
                           cl_error *err);

/* POST …/channels/:channelId/send and …/test: one outgoing message per destination of the channel (each chat of
 * its list; its webhook when it has no list). `send` (not a test) is refused with CL_RATE_LIMITED "channel budget
 * exceeded" when the channel has a budget and its messages (sent and queued) reach it. Ids of the rows in *ids. */
cl_err chan_outbox_add(db_t *db, arena_t *a, const char *workspace_id, const char *channel_id, const char *text,
                       bool test, const char ***ids, size_t *n, cl_error *err);

/* Outgoing messages due now (oldest first): of each destination whose pace has passed, its oldest open message
 * when that one is due — so a destination held back never hides another's work. */
cl_err chan_outbox_due(db_t *db, arena_t *a, int64_t now_ms, int64_t limit, const char ***ids, size_t *n,
                       cl_error *err);

/* An outgoing message claimed for one send of its next chunk. */
typedef struct {
    const char *id, *target, *thread, *text, *origin;
    int64_t sent_bytes, failures, created_at, claimed_at;
    chan_row ch; /* its channel, credentials opened */
} chan_send;

/* Claim outgoing message `id` if it is the oldest pending message of its destination, due, and the destination's
 * pace allows a send now; the destination is then held (nothing else goes to it) until the send is settled or
 * `lease_ms` passes. CL_NOT_FOUND when not now. */
cl_err chan_outbox_claim(db_t *db, arena_t *a, const char *id, int64_t now_ms, int64_t lease_ms, chan_send *out,
                         cl_error *err);

/* How one send went: CHAN_SENT with the end of the chunk sent (the message is done when it reaches the end of the
 * text: the channel's count, last_message_at and CHANNEL_MESSAGE), CHAN_RETRY after `wait_ms` (-1: the back-off),
 * CHAN_FAILED with `error` (an activity row "channel"/"send" and the reason on the row). A test, a message past
 * CHAN_SEND_MAX_FAILURES or CHAN_SEND_GIVE_UP_MS is failed instead of retried. The destination's pace moves past
 * the provider's interval (or the wait). *state: "sent", "pending" or "failed". */
cl_err chan_outbox_settle(db_t *db, arena_t *a, const chan_send *s, chan_verdict v, int64_t sent_upto,
                          int64_t wait_ms, const char *error, int64_t now_ms, const char **state, cl_error *err);

/* Housekeeping: sends held past `send_lease_ms` (their node died) become pending again, relays past the relay lease
 * are taken again (failed after CHAN_RELAY_MAX_ATTEMPTS), finished messages older than CHAN_KEEP_MS are deleted. */
cl_err chan_reap(db_t *db, arena_t *a, int64_t now_ms, int64_t send_lease_ms, int64_t *reaped, cl_error *err);

#endif
