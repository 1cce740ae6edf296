/* channel_adapter.h - the chat providers colony speaks (data.md §4.2: Telegram, Slack, Discord, Lark / Feishu):
 * what the canvas's Channels tab offers (GET /channels/adapters), and what a channel's config may hold — each field
 * checked for its form, credentials split from what may be shown. Pure functions: no database, no network.
 *
 * A config is a JSON object of strings. The fields marked sensitive (bot tokens, webhook URLs — which carry a
 * token —, signing secrets, verification tokens) are sealed at rest and shown as CHAN_MASK; a write that gives
 * CHAN_MASK for one keeps the stored value, so a client can send back the config it was shown. */
#ifndef COLONY_MODEL_CHANNEL_ADAPTER_H
#define COLONY_MODEL_CHANNEL_ADAPTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"

#define CHAN_MASK "***"
/* What a type that names no adapter is told (POST …/channels, an org template's channel). */
#define CHAN_UNKNOWN_TYPE "unknown channel type (one of discord, lark, slack, telegram)"

enum {
    CHAN_VALUE_MAX = 2048,    /* bytes of one config value */
    CHAN_TARGETS_MAX = 50,    /* chats in a channel's chat list */
    CHAN_TARGET_MAX = 128,    /* bytes of one chat id */
    CHAN_ALLOWED_MAX = 1000,  /* entries of allowed_users */
    CHAN_USER_MAX = 128,      /* bytes of one of them */
    CHAN_NAME_MAX = 80,       /* bytes of a username (the [slug] that selects an agent) */
    CHAN_SECRET_MIN = 16,     /* bytes of a webhook secret, signing secret or verification token */
    CHAN_SCRUB_MIN = 4,       /* bytes of the shortest credential (part) scrubbed from a provider's words */
};

typedef enum { CHAN_TELEGRAM, CHAN_SLACK, CHAN_DISCORD, CHAN_LARK, CHAN__COUNT } chan_type;

/* One field of an adapter's config_schema. */
typedef struct {
    const char *key, *label, *type; /* type: "text" or "password" (a sensitive field) */
    bool required, sensitive;
    const char *placeholder, *help; /* NULL when none */
    int form;                       /* how a value is checked (channel_adapter.c) */
} chan_field;

typedef struct {
    chan_type type;
    const char *name, *display_name;
    const chan_field *fields;
    size_t nfields;
    const char *targets_key; /* the field holding the comma-separated chat list ("chat_id", "channel_id") */
} chan_adapter;

/* Every adapter, sorted by display name. */
const chan_adapter *chan_adapters(size_t *n);
const chan_adapter *chan_adapter_of(chan_type t);
/* The type named `name` ("telegram"…); false for anything else. */
bool chan_type_parse(const char *name, chan_type *out);
const char *chan_type_name(chan_type t);

/* A config split for storage: `clear` (shown as is) and `secret` (sealed), both JSON objects owned by the arena. */
typedef struct {
    json_t *clear, *secret;
} chan_config;

/* Check `in` (a JSON object) as a config of type t: string values only, known keys, each value's form, the
 * required fields (Slack: a bot token and channel ids, or a webhook URL). `stored` (may be NULL) is the secret
 * object kept so far: a sensitive field given as CHAN_MASK keeps its value from there. CL_INVALID "invalid config:
 * <why>" naming the field (never its value). */
cl_err chan_config_check(arena_t *a, chan_type t, const json_t *in, const json_t *stored, chan_config *out,
                         cl_error *err);
/* The config as shown: the clear fields, and each sensitive field that has a value as CHAN_MASK (a new reference). */
json_t *chan_config_masked(const json_t *clear, const json_t *secret);

/* The chats of a config (its chat list split on commas, trimmed, without duplicates), arena-owned; *n of them. */
void chan_targets(arena_t *a, chan_type t, const json_t *clear, const char ***out, size_t *n);
/* Does the chat list contain `chat`? */
bool chan_has_target(arena_t *a, chan_type t, const json_t *clear, const char *chat);

/* allowed_users: a JSON array of at most CHAN_ALLOWED_MAX non-empty strings of at most CHAN_USER_MAX bytes. */
cl_err chan_allowed_check(const json_t *v, cl_error *err);
/* May this sender write to the channel? An empty list lets everyone; otherwise an entry of digits alone (a numeric
 * user id) must equal user_id, any other entry must name `username` (the provider's real, unique username, with or
 * without a leading '@', case-insensitively); ids and names never match each other. */
bool chan_user_allowed(const json_t *allowed, const char *user_id, const char *username);

/* How long a destination of type t waits between two sends (the provider's published per-chat or per-webhook
 * rate): Telegram 1 s per chat (3 s in a group: ids below zero), Slack 1 s, Discord 2 s per webhook, Lark 0.6 s. */
int64_t chan_pace_ms(chan_type t, const char *target);

/* `text` with every value of `secret` — and the token part of a hook URL (its last path segment) or a bot token
 * (past its ':') — of CHAN_SCRUB_MIN bytes or longer replaced by [REDACTED], the text read once (a credential
 * spelled like the marker cannot loop): a provider's error message never carries a credential into a log or an
 * activity row. Arena-owned; NULL stays NULL. */
const char *chan_scrub(arena_t *a, const char *text, const json_t *secret);

#endif
