/* channel_wire.h - what each chat provider sends colony and what colony sends it (surface.md §14): reading an
 * incoming webhook (Telegram updates, Slack Events API callbacks, Discord interactions, Lark events), checking it
 * the way the provider signs it, the [slug] that picks an agent, and building the API call of an outgoing message
 * and reading its answer (sent, retry — after how long —, or failed). Pure functions: no database, no network. */
#ifndef COLONY_MODEL_CHANNEL_WIRE_H
#define COLONY_MODEL_CHANNEL_WIRE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "model/channel_adapter.h"

enum {
    CHAN_WEBHOOK_BODY_MAX = 256 * 1024, /* bytes of an incoming webhook (refused before any key work past it) */
    CHAN_SKEW_S = 300,               /* a signed timestamp more than this far from now is stale (a replay) */
    CHAN_TEXT_MAX = 64 * 1024,       /* bytes of a message colony relays either way (longer ones are cut) */
    CHAN_KEY_MAX = 200,              /* bytes of a provider's update id */
    CHAN_BASE_MAX = 512,             /* bytes of a test seam's base URL (longer ones are ignored) */
};

/* ---- incoming ---- */

typedef enum {
    CHAN_IN_NONE,      /* nothing colony acts on (an edit, a bot's own message, a photo without text…): ignored */
    CHAN_IN_MESSAGE,   /* a person wrote something */
    CHAN_IN_HANDSHAKE, /* the provider checks the endpoint (Slack and Lark url_verification, Discord PING) */
} chan_in_kind;

/* An incoming update, read. Strings are arena-owned; absent ones NULL. */
typedef struct {
    chan_in_kind kind;
    const char *key;       /* the provider's id of the update: what a retry repeats */
    const char *chat;      /* the chat it came from */
    const char *user_id;
    const char *username;  /* the sender's real username (Slack, Lark: their user id); NULL when none */
    const char *text;      /* at most CHAN_TEXT_MAX bytes, valid UTF-8 */
    const char *thread;    /* Slack: the thread to answer in */
    const char *challenge; /* a handshake's, to echo */
    const char *token;     /* Lark: the verification token the body carries */
} chan_inbound;

/* Read a webhook body of type t. CL_INVALID "webhook parse failed" when it is not an update of that provider. */
cl_err chan_parse(arena_t *a, chan_type t, const char *body, size_t len, chan_inbound *out, cl_error *err);

/* The headers a provider signs with (NULL when absent). */
typedef struct {
    const char *telegram_secret; /* X-Telegram-Bot-Api-Secret-Token */
    const char *signature;       /* Slack X-Slack-Signature ("v0=<hex>"), Discord X-Signature-Ed25519 (hex) */
    const char *timestamp;       /* Slack X-Slack-Request-Timestamp, Discord X-Signature-Timestamp (Unix seconds) */
} chan_sig_headers;

typedef enum { CHAN_SIG_OK, CHAN_SIG_MISSING, CHAN_SIG_STALE } chan_sig_check;

/* What can be refused before any key is known: for Slack and Discord, a signature and a timestamp of the right
 * form, the timestamp within CHAN_SKEW_S of now (older is a replay). Telegram and Lark sign nothing of the sort:
 * always OK here. */
chan_sig_check chan_sig_precheck(chan_type t, const chan_sig_headers *h, int64_t now_s);

/* Does the request verify under this channel's config? Telegram: the secret header equals webhook_secret (a channel
 * without one takes no webhook). Slack: HMAC-SHA256 of "v0:<timestamp>:<body>" under signing_secret. Discord:
 * Ed25519 over timestamp ‖ body under public_key, else `discord_env_key` (hex; DISCORD_APP_PUBLIC_KEY). Lark: the
 * body's token equals verify_token. Comparisons take constant time. */
bool chan_sig_verify(chan_type t, const chan_sig_headers *h, const char *body, size_t len, const chan_inbound *in,
                     const json_t *clear, const json_t *secret, const char *discord_env_key);

/* "[slug] rest": a text starting with '[' whose ']' stands at byte 2 to 39, the slug made of letters, digits,
 * spaces, '_' and '-'. True with the slug (arena-owned) and the rest (past the ']' and its spaces). */
bool chan_slug(arena_t *a, const char *text, const char **slug, const char **rest);

/* ---- outgoing ---- */

/* Where provider APIs are: the test seams MOLECULE_CHANNELS_TEST_TELEGRAM_API_BASE (instead of
 * https://api.telegram.org) and MOLECULE_CHANNELS_TEST_WEBHOOK_BASE (every other provider host: a webhook URL keeps
 * its path under it, Slack's API goes to <base>/api/…). NULL: the providers'. Set once at start. */
void chan_set_bases(const char *telegram_api, const char *webhook);

typedef struct {
    const char *url, *authorization, *content_type, *body;
    size_t body_len;
} chan_request;

/* Where the next chunk of text[from..len) ends: the provider's size for one message (Telegram 4096, Slack 4000,
 * Discord 2000, Lark 4000 bytes), cut after a line break or a space in its second half when there is one, never
 * inside a UTF-8 sequence. */
size_t chan_chunk_end(chan_type t, const char *text, size_t len, size_t from);

/* The API call that posts `chunk` to `target` ("" for a webhook-based channel) of a channel with this config,
 * `thread` (may be NULL) naming a Slack thread. Arena-owned. */
void chan_request_build(arena_t *a, chan_type t, const json_t *clear, const json_t *secret, const char *target,
                        const char *thread, const char *chunk, size_t chunk_len, chan_request *out);

typedef enum { CHAN_SENT, CHAN_RETRY, CHAN_FAILED } chan_verdict;

/* What the provider's answer means: sent; retry (a 429, a 5xx, Slack's "ratelimited", Lark's frequency limit) —
 * *wait_ms the provider's own wait (Retry-After, Telegram's parameters.retry_after, Discord's retry_after) or -1;
 * or failed, *error saying why (the provider's own description, at most 200 bytes). */
chan_verdict chan_response(arena_t *a, chan_type t, int status, const char *body, size_t len,
                           int64_t retry_after_ms, int64_t *wait_ms, const char **error);

/* ---- POST /channels/discover (Telegram) ---- */

/* The URL of Bot API method `method` ("getMe", "getUpdates") for this token (under the test seam when set). */
const char *chan_telegram_url(arena_t *a, const char *token, const char *method);

/* What getMe and getUpdates answered, as the reference's discover answer: {bot_username, chats: [{chat_id, type,
 * title}] (each chat once, in order of appearance, at most CHAN_TARGETS_MAX), can_read_all_group_messages,
 * privacy_warning (null when the bot reads every group message), hint}. `updates` may be NULL (not answered: no
 * chats, and the hint says why). NULL with *error when getMe did not accept the token. A new reference. */
json_t *chan_discover_result(arena_t *a, const char *me, size_t me_len, const char *updates, size_t updates_len,
                             const char **error);

#endif
