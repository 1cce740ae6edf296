/* channel.c - see channel.h. */
#include "model/channel.h"

#include <stdatomic.h>
#include <string.h>
#include <strings.h>

#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "base/time.h"
#include "base/utf8.h"
#include "model/a2a.h"
#include "model/activity.h"
#include "model/event.h"
#include "model/secret.h"
#include "model/vault.h"
#include "model/workspace.h"

static const char *discord_env_key;
static int64_t relay_lease_ms = 31 * 60 * 1000, reply_wait_ms = 61 * 60 * 1000;

void chan_configure(const char *discord_key, int64_t relay_lease, int64_t reply_wait)
{
    discord_env_key = discord_key && discord_key[0] ? discord_key : NULL;
    relay_lease_ms = relay_lease;
    reply_wait_ms = reply_wait;
}

static atomic_bool woken;

void chan_wake(void) { atomic_store(&woken, true); }

bool chan_take_wake(void) { return atomic_exchange(&woken, false); }

static void wake_hook(void *arg, int64_t value)
{
    (void)arg, (void)value;
    chan_wake();
}

#define C_COLUMNS                                                                                                  \
    "c.id, c.workspace_id, c.channel_type, c.channel_config, c.secrets_sealed, c.secrets_key_id, c.enabled,"      \
    " c.allowed_users, c.last_message_at, c.message_count, c.channel_budget, c.created_at, c.updated_at"

/* Holding the workspace's row serialises with its removal (and refuses a removed one); the tree lock, shared, orders
 * this with a cascade delete; SECRET_LOCK, shared, with a key rotation (which re-seals every value at once). */
static const char SQL_LOCK_WS[] = "UPDATE workspaces SET updated_at = updated_at WHERE id = $1 AND status <> 'removed'";
static const char SQL_INSERT[] =
    "INSERT INTO workspace_channels (id, workspace_id, channel_type, channel_config, secrets_sealed, secrets_key_id,"
    " enabled, allowed_users, channel_budget, created_at, updated_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CAST($9 AS BIGINT), $10, $10)"
    " ON CONFLICT (workspace_id, channel_type) DO NOTHING RETURNING id";
static const char SQL_BY_TYPE[] = "SELECT id FROM workspace_channels WHERE workspace_id = $1 AND channel_type = $2";
static const char SQL_CHAT[] = "INSERT INTO channel_chats (channel_id, channel_type, chat_id) VALUES ($1, $2, $3)"
                               " ON CONFLICT (channel_id, chat_id) DO NOTHING";
static const char SQL_CHATS_CLEAR[] = "DELETE FROM channel_chats WHERE channel_id = $1";
/* a Discord (application, channel) is one channel's: a claim of a removed workspace's channel is taken over */
static const char SQL_CLAIMS_CLEAR[] = "DELETE FROM channel_claims WHERE channel_id = $1";
static const char SQL_CLAIM[] =
    "INSERT INTO channel_claims (claim, channel_id) VALUES ($1, $2) ON CONFLICT (claim) DO UPDATE"
    " SET channel_id = excluded.channel_id WHERE NOT EXISTS (SELECT 1 FROM workspace_channels c"
    " JOIN workspaces w ON w.id = c.workspace_id WHERE c.id = channel_claims.channel_id AND w.status <> 'removed')"
    " RETURNING channel_id";
static const char SQL_GET[] = "SELECT " C_COLUMNS " FROM workspace_channels c WHERE c.id = $1 AND c.workspace_id = $2";
static const char SQL_BY_ID[] = "SELECT " C_COLUMNS " FROM workspace_channels c WHERE c.id = $1";
static const char SQL_LIVE[] = "SELECT 1 FROM workspaces WHERE id = $1 AND status <> 'removed'";
static const char SQL_LIST[] = "SELECT " C_COLUMNS " FROM workspace_channels c WHERE c.workspace_id = $1"
                               " AND (c.created_at, c.id) > (CAST($2 AS BIGINT), $3) ORDER BY c.created_at, c.id"
                               " LIMIT $4";
static const char SQL_LOCK_ROW[] =
    "UPDATE workspace_channels SET updated_at = updated_at WHERE id = $1 AND workspace_id = $2";
static const char SQL_UPDATE[] =
    "UPDATE workspace_channels SET channel_config = $3, secrets_sealed = $4, secrets_key_id = $5, enabled = $6,"
    " allowed_users = $7, channel_budget = CAST($8 AS BIGINT), updated_at = $9 WHERE id = $1 AND workspace_id = $2";
static const char SQL_DELETE[] = "DELETE FROM workspace_channels WHERE id = $1 AND workspace_id = $2";

static const char SQL_CANDIDATES[] =
    "SELECT " C_COLUMNS " FROM channel_chats h JOIN workspace_channels c ON c.id = h.channel_id"
    " JOIN workspaces w ON w.id = c.workspace_id"
    " WHERE h.channel_type = $1 AND h.chat_id = $2 AND c.enabled = 1 AND w.status <> 'removed'"
    " ORDER BY c.created_at, c.id LIMIT $3";
static const char SQL_OF_TYPE[] =
    "SELECT " C_COLUMNS " FROM workspace_channels c JOIN workspaces w ON w.id = c.workspace_id"
    " WHERE c.channel_type = $1 AND c.enabled = 1 AND w.status <> 'removed' ORDER BY c.updated_at DESC, c.id"
    " LIMIT $2";
static const char SQL_ACCEPT[] =
    "INSERT INTO channel_messages (id, channel_id, workspace_id, provider_key, chat_id, thread, username, text,"
    " status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'received', $9, $9)"
    " ON CONFLICT (channel_id, provider_key) DO NOTHING RETURNING id";
static const char SQL_ACCEPTED[] = "SELECT id FROM channel_messages WHERE channel_id = $1 AND provider_key = $2";
static const char SQL_COUNT[] =
    "UPDATE workspace_channels SET message_count = message_count + 1, last_message_at = $2 WHERE id = $1";

/* at most CHAN_RELAY_PER_WORKSPACE relays of a workspace at a time (on all nodes): a workspace whose agent hangs
 * with a backlog holds that many and hides no other workspace's messages */
static const char SQL_IN_DUE[] =
    "WITH busy AS (SELECT workspace_id, count(*) AS n FROM channel_messages WHERE status = 'relaying'"
    " GROUP BY workspace_id),"
    " due AS (SELECT id, workspace_id, updated_at,"
    " ROW_NUMBER() OVER (PARTITION BY workspace_id ORDER BY updated_at, id) AS rn"
    " FROM channel_messages WHERE status = 'received')"
    " SELECT d.id FROM due d LEFT JOIN busy b ON b.workspace_id = d.workspace_id"
    " WHERE d.rn + COALESCE(b.n, 0) <= CAST($2 AS BIGINT) ORDER BY d.updated_at, d.id LIMIT $1";
static const char SQL_IN_CLAIM[] =
    "UPDATE channel_messages SET status = 'relaying', claimed_at = $2, attempts = attempts + 1, updated_at = $2"
    " WHERE id = $1 AND status = 'received' AND EXISTS (SELECT 1 FROM workspaces w"
    " WHERE w.id = channel_messages.workspace_id AND w.status <> 'removed')";
#define IN_COLUMNS                                                                                                 \
    "m.id, m.channel_id, m.workspace_id, m.chat_id, m.thread, m.username, m.text, c.channel_type, m.claimed_at,"  \
    " m.deadline_at"
static const char SQL_IN_READ[] = "SELECT " IN_COLUMNS " FROM channel_messages m"
                                  " JOIN workspace_channels c ON c.id = m.channel_id WHERE m.id = $1";
static const char SQL_IN_SETTLE[] =
    "UPDATE channel_messages SET status = $2, error = $3, deadline_at = CAST($4 AS BIGINT), claimed_at = $5,"
    " updated_at = $5 WHERE id = $1 AND ((status = 'relaying' AND claimed_at = $6) OR status = 'awaiting')";
static const char SQL_REPLY[] =
    "INSERT INTO channel_outbox (id, channel_id, workspace_id, target, thread, text, origin, inbound_id, status,"
    " next_attempt_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'reply', $7, 'pending', $8, $8, $8)"
    " ON CONFLICT (inbound_id) DO NOTHING";
/* The awaiting messages whose A2A message (an operator's: no sender, messageId "channel-<id>") has its reply
 * stored, however it came: the agent's answer to a push, the busy queue's delivery, a poll-mode agent's notify or
 * message naming it in in_reply_to. Found through the activity log's (workspace, sender, message id) index. */
#define REPLY_OF_M                                                                                                 \
    "l.workspace_id = m.workspace_id AND COALESCE(l.source_id, '') = '' AND l.message_id = 'channel-' || m.id"      \
    " AND l.activity_type = 'a2a_receive' AND l.response_body IS NOT NULL AND l.status = 'ok'"
static const char SQL_ANSWERED[] =
    "SELECT " IN_COLUMNS ", l.response_body FROM channel_messages m JOIN workspace_channels c ON c.id = m.channel_id"
    " JOIN activity_logs l ON " REPLY_OF_M " WHERE m.status = 'awaiting' ORDER BY m.claimed_at, m.id LIMIT $1";
/* past their deadline without a reply (one answered but not settled yet, past the batch above, is not failed) */
static const char SQL_EXPIRED[] =
    "SELECT " IN_COLUMNS " FROM channel_messages m JOIN workspace_channels c ON c.id = m.channel_id"
    " WHERE m.status = 'awaiting' AND m.deadline_at <= $1 AND NOT EXISTS (SELECT 1 FROM activity_logs l WHERE "
    REPLY_OF_M ") ORDER BY m.deadline_at, m.id LIMIT $2";

static const char SQL_OUT_LOCK[] = "UPDATE workspace_channels SET updated_at = updated_at WHERE id = $1"
                                   " AND workspace_id = $2 RETURNING channel_budget, message_count";
static const char SQL_OUT_OPEN[] = "SELECT count(*) FROM channel_outbox WHERE channel_id = $1"
                                   " AND status IN ('pending', 'sending') AND origin <> 'test'";
static const char SQL_OUT_ADD[] =
    "INSERT INTO channel_outbox (id, channel_id, workspace_id, target, text, origin, status, next_attempt_at,"
    " created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7, $7)";
/* per destination: its oldest open message, when it is due and the destination's pace has passed — a destination
 * told to wait (a Retry-After, a backlog) never fills the batch and hides the others */
static const char SQL_OUT_DUE[] =
    "SELECT o.id FROM channel_outbox o JOIN workspace_channels c ON c.id = o.channel_id AND c.enabled = 1"
    " LEFT JOIN channel_pace p ON p.channel_id = o.channel_id AND p.target = o.target"
    " WHERE o.status = 'pending' AND o.next_attempt_at <= $1 AND COALESCE(p.next_send_at, 0) <= $1"
    " AND o.id = (SELECT x.id FROM channel_outbox x WHERE x.channel_id = o.channel_id AND x.target = o.target"
    " AND x.status IN ('pending', 'sending') ORDER BY x.created_at, x.id LIMIT 1)"
    " ORDER BY o.next_attempt_at, o.created_at, o.id LIMIT $2";
static const char SQL_OUT_PEEK[] = "SELECT channel_id, target FROM channel_outbox WHERE id = $1 AND status = 'pending'"
                                   " AND next_attempt_at <= $2";
static const char SQL_PACE_ROW[] = "INSERT INTO channel_pace (channel_id, target, next_send_at) VALUES ($1, $2, 0)"
                                   " ON CONFLICT (channel_id, target) DO NOTHING";
/* the claim of a destination: one courier wins it until the send is settled or the lease passes */
static const char SQL_PACE_TAKE[] = "UPDATE channel_pace SET next_send_at = $4 WHERE channel_id = $1 AND target = $2"
                                    " AND next_send_at <= $3";
static const char SQL_PACE_SET[] = "UPDATE channel_pace SET next_send_at = $3 WHERE channel_id = $1 AND target = $2";
/* only the destination's oldest open message goes: its messages arrive in order */
static const char SQL_OUT_TAKE[] =
    "UPDATE channel_outbox SET status = 'sending', claimed_at = $4, updated_at = $4"
    " WHERE id = (SELECT id FROM channel_outbox WHERE channel_id = $1 AND target = $2"
    " AND status IN ('pending', 'sending') ORDER BY created_at, id LIMIT 1)"
    " AND id = $3 AND status = 'pending' AND next_attempt_at <= $4 AND EXISTS (SELECT 1 FROM workspaces w"
    " WHERE w.id = channel_outbox.workspace_id AND w.status <> 'removed')"
    " AND EXISTS (SELECT 1 FROM workspace_channels c WHERE c.id = $1 AND c.enabled = 1)"
    " RETURNING thread, text, origin, sent_bytes, failures, created_at";
static const char SQL_OUT_SETTLE[] =
    "UPDATE channel_outbox SET status = $3, sent_bytes = $4, failures = failures + $5, last_error = $6,"
    " next_attempt_at = $7, updated_at = $8 WHERE id = $1 AND status = 'sending' AND claimed_at = $2";

static const char SQL_REAP_SENDS[] = "UPDATE channel_outbox SET status = 'pending', updated_at = $1"
                                     " WHERE status = 'sending' AND claimed_at < $2";
static const char SQL_REAP_RELAYS[] = "UPDATE channel_messages SET status = 'received', updated_at = $1"
                                      " WHERE status = 'relaying' AND claimed_at < $2 AND attempts < $3";
static const char SQL_FAIL_RELAYS[] =
    "UPDATE channel_messages SET status = 'failed', error = 'the relay was interrupted too often', updated_at = $1"
    " WHERE status = 'relaying' AND claimed_at < $2 AND attempts >= $3";
static const char SQL_DROP_IN[] =
    "DELETE FROM channel_messages WHERE id IN (SELECT id FROM channel_messages"
    " WHERE status IN ('replied', 'delivered', 'failed') AND updated_at < $1 LIMIT 500)";
static const char SQL_DROP_OUT[] = "DELETE FROM channel_outbox WHERE id IN (SELECT id FROM channel_outbox"
                                   " WHERE status IN ('sent', 'failed') AND updated_at < $1 LIMIT 500)";

static char *new_id(arena_t *a)
{
    char id[ID_UUID_LEN + 1];
    id_uuid4(id);
    return arena_strdup(a, id);
}

static int64_t opt_int(db_stmt_t *st, int col) { return db_col_is_null(st, col) ? 0 : db_col_int64(st, col); }

static json_t *stored_json(arena_t *a, const char *text, json_t *fallback)
{
    json_t *v;
    cl_error ignore;
    if (text == NULL || json_parse(a, text, strlen(text), &v, &ignore) != CL_OK)
        return json_own(a, fallback);
    json_decref(fallback);
    return v;
}

/* The sealed credentials as stored. */
typedef struct {
    const uint8_t *bytes;
    size_t len;
    const char *key_id;
} sealed_blob;

/* Open a channel's credentials: {} when it has none, NULL when they do not open here (logged, never served). */
static json_t *open_secret(arena_t *a, const char *ws, const char *id, const sealed_blob *s)
{
    if (s->bytes == NULL)
        return json_own(a, json_object());
    vault_sealed in = {s->bytes, s->len, s->key_id};
    char *plain;
    size_t n;
    json_t *v;
    cl_error ignore;
    if (!vault_open(a, VAULT_CHANNEL, ws, id, &in, &plain, &n) ||
        json_parse_object(a, plain, n, &v, &ignore) != CL_OK) {
        log_warn("a channel's credentials do not open", "channel=%s key_id=%s%s", id, s->key_id,
                 vault_knows(s->key_id) ? " (altered or moved)" : " (a key this node does not hold)");
        return NULL;
    }
    return v;
}

static void read_row(db_stmt_t *st, arena_t *a, chan_row *r, sealed_blob *raw)
{
    sealed_blob b = {0};
    memset(r, 0, sizeof(*r));
    r->id = db_col_dup(st, a, 0);
    r->workspace_id = db_col_dup(st, a, 1);
    if (!chan_type_parse(db_col_text(st, 2), &r->type))
        r->type = CHAN_TELEGRAM; /* the schema's CHECK allows no other */
    r->clear = stored_json(a, db_col_text(st, 3), json_object());
    b.bytes = db_col_blob(st, a, 4, &b.len);
    b.key_id = db_col_dup(st, a, 5);
    r->enabled = db_col_int64(st, 6) != 0;
    r->allowed_users = stored_json(a, db_col_text(st, 7), json_array());
    r->last_message_at = opt_int(st, 8);
    r->message_count = db_col_int64(st, 9);
    r->has_budget = !db_col_is_null(st, 10);
    r->budget = opt_int(st, 10);
    r->created_at = db_col_int64(st, 11);
    r->updated_at = db_col_int64(st, 12);
    r->secret = open_secret(a, r->workspace_id, r->id, &b);
    if (raw != NULL)
        *raw = b;
}

static cl_err read_rows(db_stmt_t *st, arena_t *a, cl_err e, chan_row **rows, size_t *n, cl_error *err)
{
    size_t cap = 0;
    bool more = true;
    *rows = NULL;
    *n = 0;
    while (e == CL_OK && (e = db_step(st, &more, err)) == CL_OK && more) {
        *rows = arena_grow(a, *rows, *n, &cap, sizeof(**rows));
        read_row(st, a, &(*rows)[(*n)++], NULL);
    }
    db_finish(st);
    return e;
}

/* Seal a credentials object for (workspace, channel); none when it is empty. */
static cl_err seal_secret(arena_t *a, const char *ws, const char *id, const json_t *secret, sealed_blob *out,
                          cl_error *err)
{
    memset(out, 0, sizeof(*out));
    if (secret == NULL || json_object_size(secret) == 0)
        return CL_OK;
    size_t n;
    const char *text = json_dump_arena(a, secret, &n);
    vault_sealed s;
    cl_err e = vault_seal(a, VAULT_CHANNEL, ws, id, text, n, &s, err);
    if (e == CL_OK)
        *out = (sealed_blob){s.bytes, s.len, s.key_id};
    return e;
}

static void bind_blob(db_stmt_t *st, int idx, const sealed_blob *b)
{
    if (b->bytes != NULL)
        db_bind_blob(st, idx, b->bytes, b->len);
    else
        db_bind_null(st, idx);
}

/* The application key a Discord channel's interactions are signed with, in lower case ("env": none known yet). */
static const char *discord_claim_key(arena_t *a, const json_t *clear)
{
    const char *key = json_string_value(json_object_get(clear, "public_key"));
    char *k = arena_strdup(a, key ? key : discord_env_key ? discord_env_key : "env");
    for (char *p = k; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    return k;
}

static cl_err claim_discord(db_t *db, arena_t *a, const char *id, const char *key, const char *chat, cl_error *err)
{
    db_stmt_t *st = NULL;
    cl_err e = db_query(db, a, &st, err, SQL_CLAIM, "ss", arena_sprintf(a, "discord:%s:%s", key, chat), id);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK)
        e = db_exec(st, err);
    db_finish(st);
    return e == CL_NOT_FOUND ? cl_fail(err, CL_CONFLICT, "a channel of this Discord application already listens to"
                                                         " that channel")
                             : e;
}

/* The routing index of a channel's chat list, rewritten (and, for Discord, its claims). */
static cl_err write_chats(db_t *db, arena_t *a, const char *id, chan_type t, const json_t *clear, cl_error *err)
{
    const char **targets;
    size_t n;
    chan_targets(a, t, clear, &targets, &n);
    const char *key = t == CHAN_DISCORD ? discord_claim_key(a, clear) : NULL;
    cl_err e = db_run(db, a, NULL, err, SQL_CHATS_CLEAR, "s", id);
    if (e == CL_OK && key != NULL)
        e = db_run(db, a, NULL, err, SQL_CLAIMS_CLEAR, "s", id);
    for (size_t i = 0; e == CL_OK && i < n; i++) {
        e = db_run(db, a, NULL, err, SQL_CHAT, "sss", id, chan_type_name(t), targets[i]);
        if (e == CL_OK && key != NULL)
            e = claim_discord(db, a, id, key, targets[i], err);
    }
    return e;
}

static cl_err lock_scope(db_t *db, arena_t *a, const char *ws, cl_error *err)
{
    int64_t changed = 0;
    cl_err e = db_tx_lock_shared(db, WS_TREE_LOCK, err);
    if (e == CL_OK)
        e = db_tx_lock_shared(db, SECRET_LOCK, err);
    if (e == CL_OK && (e = db_run(db, a, &changed, err, SQL_LOCK_WS, "s", ws)) == CL_OK && changed == 0)
        return cl_fail(err, CL_NOT_FOUND, "workspace not found");
    return e;
}

/* ---- the rows ----------------------------------------------------------------------------------------------- */

static cl_err insert_row(db_t *db, arena_t *a, const char *id, const char *ws, chan_type t, const chan_config *cfg,
                         const sealed_blob *sealed, bool enabled, const char *allowed, const int64_t *budget,
                         int64_t now, bool *inserted, cl_error *err)
{
    db_stmt_t *st = NULL;
    cl_err e = db_prepare(db, a, SQL_INSERT, &st, err);
    if (e != CL_OK)
        return e;
    db_bind_str(st, 1, id);
    db_bind_str(st, 2, ws);
    db_bind_str(st, 3, chan_type_name(t));
    db_bind_str(st, 4, json_dump_arena(a, cfg->clear, NULL));
    bind_blob(st, 5, sealed);
    db_bind_str(st, 6, sealed->key_id);
    db_bind_int64(st, 7, enabled);
    db_bind_str(st, 8, allowed);
    if (budget != NULL)
        db_bind_int64(st, 9, *budget);
    else
        db_bind_null(st, 9);
    db_bind_int64(st, 10, now);
    e = db_one(st, err);
    *inserted = e == CL_OK;
    if (e == CL_OK)
        e = db_exec(st, err);
    db_finish(st);
    return e == CL_NOT_FOUND ? CL_OK : e;
}

cl_err chan_create(db_t *db, arena_t *a, const char *workspace_id, chan_type t, const json_t *config,
                   const json_t *allowed, bool enabled, const int64_t *budget, chan_row *out,
                   const char **conflict_id, cl_error *err)
{
    *conflict_id = NULL;
    chan_config cfg;
    cl_err e = chan_config_check(a, t, config, NULL, &cfg, err);
    if (e == CL_OK && allowed != NULL)
        e = chan_allowed_check(allowed, err);
    if (e != CL_OK)
        return e;
    const char *id = new_id(a), *allowed_text = allowed ? json_dump_arena(a, allowed, NULL) : "[]";
    sealed_blob sealed;
    if ((e = seal_secret(a, workspace_id, id, cfg.secret, &sealed, err)) != CL_OK ||
        (e = db_tx_begin(db, err)) != CL_OK)
        return e;
    bool inserted = false;
    int64_t now = time_now_ms();
    e = lock_scope(db, a, workspace_id, err);
    if (e == CL_OK)
        e = insert_row(db, a, id, workspace_id, t, &cfg, &sealed, enabled, allowed_text, budget, now, &inserted, err);
    if (e == CL_OK && !inserted) {
        db_stmt_t *st = NULL;
        if ((e = db_query(db, a, &st, err, SQL_BY_TYPE, "ss", workspace_id, chan_type_name(t))) == CL_OK &&
            (e = db_one(st, err)) == CL_OK)
            *conflict_id = db_col_dup(st, a, 0);
        db_finish(st);
        if (e == CL_OK || e == CL_NOT_FOUND)
            e = cl_fail(err, CL_CONFLICT, "this workspace already has a %s channel", chan_type_name(t));
    }
    if (e == CL_OK)
        e = write_chats(db, a, id, t, cfg.clear, err);
    if (e == CL_OK)
        e = chan_get(db, a, workspace_id, id, out, err);
    return db_tx_end(db, e, err);
}

cl_err chan_list(db_t *db, arena_t *a, const char *workspace_id, int64_t after_created, const char *after_id,
                 int64_t limit, chan_row **rows, size_t *n, cl_error *err)
{
    db_stmt_t *st = NULL;
    cl_err e = db_query(db, a, &st, err, SQL_LIVE, "s", workspace_id);
    if (e == CL_OK)
        e = db_one(st, err);
    db_finish(st);
    *n = 0;
    if (e != CL_OK)
        return e == CL_NOT_FOUND ? cl_fail(err, CL_NOT_FOUND, "workspace not found") : e;
    e = db_query(db, a, &st, err, SQL_LIST, "sisi", workspace_id, after_created, after_id ? after_id : "", limit);
    return read_rows(st, a, e, rows, n, err);
}

static cl_err get_row(db_t *db, arena_t *a, const char *workspace_id, const char *id, chan_row *out,
                      sealed_blob *raw, cl_error *err)
{
    db_stmt_t *st = NULL;
    cl_err e = workspace_id ? db_query(db, a, &st, err, SQL_GET, "ss", id, workspace_id)
                            : db_query(db, a, &st, err, SQL_BY_ID, "s", id);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK)
        read_row(st, a, out, raw);
    db_finish(st);
    return e == CL_NOT_FOUND ? cl_fail(err, CL_NOT_FOUND, "channel not found") : e;
}

cl_err chan_get(db_t *db, arena_t *a, const char *workspace_id, const char *id, chan_row *out, cl_error *err)
{
    return get_row(db, a, workspace_id, id, out, NULL, err);
}

/* Under the channel's row lock: merge the patch into what is stored and write it whole. */
static cl_err update_locked(db_t *db, arena_t *a, const char *ws, const char *id, const chan_patch *p,
                            cl_error *err)
{
    int64_t changed = 0;
    cl_err e = db_tx_lock_shared(db, SECRET_LOCK, err);
    if (e == CL_OK && (e = db_run(db, a, &changed, err, SQL_LOCK_ROW, "ss", id, ws)) == CL_OK && changed == 0)
        return cl_fail(err, CL_NOT_FOUND, "channel not found");
    chan_row cur;
    sealed_blob sealed;
    if (e != CL_OK || (e = get_row(db, a, ws, id, &cur, &sealed, err)) != CL_OK)
        return e;
    json_t *clear = cur.clear;
    if (p->config != NULL) {
        chan_config cfg;
        if (cur.secret == NULL && sealed.bytes != NULL) /* masked values could not be kept: say so */
            return cl_fail_code(err, CL_UNAVAILABLE, "secrets_key_missing",
                                "the channel's credentials do not open with this node's secrets key");
        if ((e = chan_config_check(a, cur.type, p->config, cur.secret, &cfg, err)) != CL_OK ||
            (e = seal_secret(a, ws, id, cfg.secret, &sealed, err)) != CL_OK ||
            (e = write_chats(db, a, id, cur.type, cfg.clear, err)) != CL_OK)
            return e;
        clear = cfg.clear;
    }
    if (p->allowed != NULL && (e = chan_allowed_check(p->allowed, err)) != CL_OK)
        return e;
    db_stmt_t *st = NULL;
    if ((e = db_prepare(db, a, SQL_UPDATE, &st, err)) != CL_OK)
        return e;
    db_bind_str(st, 1, id);
    db_bind_str(st, 2, ws);
    db_bind_str(st, 3, json_dump_arena(a, clear, NULL));
    bind_blob(st, 4, &sealed);
    db_bind_str(st, 5, sealed.key_id);
    db_bind_int64(st, 6, p->has_enabled ? p->enabled : cur.enabled);
    db_bind_str(st, 7, json_dump_arena(a, p->allowed ? p->allowed : cur.allowed_users, NULL));
    bool budget = p->has_budget ? !p->budget_null : cur.has_budget;
    if (budget)
        db_bind_int64(st, 8, p->has_budget ? p->budget : cur.budget);
    else
        db_bind_null(st, 8);
    db_bind_int64(st, 9, time_now_ms());
    e = db_exec(st, err);
    db_finish(st);
    return e;
}

cl_err chan_update(db_t *db, arena_t *a, const char *workspace_id, const char *id, const chan_patch *p,
                   cl_error *err)
{
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    return db_tx_end(db, update_locked(db, a, workspace_id, id, p, err), err);
}

cl_err chan_delete(db_t *db, arena_t *a, const char *workspace_id, const char *id, cl_error *err)
{
    int64_t changed = 0;
    cl_err e = db_run(db, a, &changed, err, SQL_DELETE, "ss", id, workspace_id);
    if (e == CL_OK && changed == 0)
        return cl_fail(err, CL_NOT_FOUND, "channel not found");
    return e;
}

/* ---- incoming ----------------------------------------------------------------------------------------------- */

static cl_err load(db_t *db, arena_t *a, chan_type t, const char *chat, chan_row **rows, size_t *n, cl_error *err)
{
    db_stmt_t *st = NULL;
    cl_err e = chat ? db_query(db, a, &st, err, SQL_CANDIDATES, "ssi", chan_type_name(t), chat,
                               (int64_t)CHAN_CANDIDATES_MAX)
                    : db_query(db, a, &st, err, SQL_OF_TYPE, "si", chan_type_name(t), (int64_t)CHAN_CANDIDATES_MAX);
    return read_rows(st, a, e, rows, n, err);
}

/* Keep the rows whose credentials verify the request. */
static size_t keep_verified(chan_type t, const chan_sig_headers *h, const char *body, size_t len,
                            const chan_inbound *in, chan_row *rows, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (rows[i].secret != NULL &&
            chan_sig_verify(t, h, body, len, in, rows[i].clear, rows[i].secret, discord_env_key))
            rows[k++] = rows[i];
    return k;
}

static cl_err unsigned_request(cl_error *err) { return cl_fail(err, CL_UNAUTHORIZED, "invalid signature"); }

/* No candidate verified the request: a 401, unless one of them could not be checked here (its credentials are
 * sealed under a key this node lacks) — then this node cannot tell, a 503. */
static cl_err unverified(const chan_row *rows, size_t n, cl_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (rows[i].secret == NULL)
            return cl_fail_code(err, CL_UNAVAILABLE, "secrets_key_missing",
                                "the channel's credentials do not open with this node's secrets key");
    return unsigned_request(err);
}

static bool same_name(const char *a, const char *b)
{
    while (*a == ' ')
        a++;
    size_t n = strlen(a);
    while (n > 0 && a[n - 1] == ' ')
        n--;
    return strlen(b) == n && strncasecmp(a, b, n) == 0;
}

/* Among the candidates, the one a "[slug]" names (the text then loses it), else the first. NULL: unknown slug. */
static chan_row *pick(arena_t *a, chan_row *rows, size_t n, const char **text, chan_receipt *out)
{
    const char *slug, *rest;
    if (!chan_slug(a, *text, &slug, &rest))
        return &rows[0];
    for (size_t i = 0; i < n; i++) {
        const char *name = json_string_value(json_object_get(rows[i].clear, "username"));
        if (name != NULL && same_name(name, slug)) {
            *text = rest;
            return &rows[i];
        }
    }
    out->requested_slug = slug;
    out->available = arena_calloc(a, n + 1, sizeof(*out->available));
    for (size_t i = 0; i < n; i++) {
        const char *name = json_string_value(json_object_get(rows[i].clear, "username"));
        if (name != NULL)
            out->available[out->navailable++] = arena_sprintf(a, "[%s]", name);
    }
    return NULL;
}

static cl_err channel_event(db_t *db, arena_t *a, const chan_row *c, const char *username, const char *direction,
                            cl_error *err)
{
    json_t *p = json_own(a, json_pack("{s:s, s:s, s:s}", "channel_id", c->id, "channel_type",
                                      chan_type_name(c->type), "direction", direction));
    if (username != NULL)
        json_object_set_new(p, "username", json_string(username));
    return event_record(db, a, EV_CHANNEL_MESSAGE, c->workspace_id, json_dump_arena(a, p, NULL), NULL, err);
}

static cl_err accept(db_t *db, arena_t *a, const chan_row *c, const chan_inbound *in, const char *text, int64_t now,
                     chan_receipt *out, cl_error *err)
{
    const char *id = new_id(a);
    db_stmt_t *st = NULL;
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    if ((e = db_query(db, a, &st, err, SQL_ACCEPT, "ssssssssi", id, c->id, c->workspace_id, in->key, in->chat,
                      in->thread, in->username ? in->username : "", text, now)) == CL_OK &&
        (e = db_one(st, err)) == CL_OK)
        e = db_exec(st, err);
    db_finish(st);
    out->channel_id = c->id;
    if (e == CL_NOT_FOUND) { /* the provider's retry of an update already here */
        out->status = CHAN_RECV_DUPLICATE;
        if ((e = db_query(db, a, &st, err, SQL_ACCEPTED, "ss", c->id, in->key)) == CL_OK &&
            (e = db_one(st, err)) == CL_OK)
            id = db_col_dup(st, a, 0);
        db_finish(st);
    } else if (e == CL_OK && (e = db_run(db, a, NULL, err, SQL_COUNT, "si", c->id, now)) == CL_OK &&
               (e = channel_event(db, a, c, in->username ? in->username : "", "inbound", err)) == CL_OK) {
        out->status = CHAN_RECV_ACCEPTED;
        db_after_commit(db, wake_hook, NULL, 0);
    }
    out->message_id = arena_sprintf(a, "channel-%s", id);
    return db_tx_end(db, e, err);
}

/* Discord signs with one key per application, whatever the body: checked first, as the reference does, against
 * DISCORD_APP_PUBLIC_KEY and the keys (each distinct one once) of the channels listening to the interaction's
 * chat — or, for a request naming no chat (a PING), of the most recently changed Discord channels — at most
 * CHAN_CANDIDATES_MAX of them: unauthenticated work does not grow with the number of channels. */
static cl_err discord_first(db_t *db, arena_t *a, const chan_sig_headers *h, const char *body, size_t len,
                            const char *chat, chan_row **rows, size_t *n, bool *env_ok, cl_error *err)
{
    chan_row *all;
    size_t count;
    cl_err e = load(db, a, CHAN_DISCORD, chat, &all, &count, err);
    if (e != CL_OK)
        return e;
    *env_ok = chan_sig_verify(CHAN_DISCORD, h, body, len, NULL, NULL, NULL, discord_env_key);
    const char **keys = arena_calloc(a, count + 1, sizeof(*keys));
    bool *good = arena_calloc(a, count + 1, sizeof(*good));
    size_t nkeys = 0, k = 0;
    for (size_t i = 0; i < count; i++) {
        const char *key = json_string_value(json_object_get(all[i].clear, "public_key"));
        if (key == NULL) {
            if (*env_ok)
                all[k++] = all[i];
            continue;
        }
        size_t j = 0;
        while (j < nkeys && strcasecmp(keys[j], key) != 0)
            j++;
        if (j == nkeys) {
            keys[nkeys] = key;
            good[nkeys++] = chan_sig_verify(CHAN_DISCORD, h, body, len, NULL, all[i].clear, all[i].secret, NULL);
        }
        if (good[j])
            all[k++] = all[i];
    }
    *rows = all;
    *n = k;
    return k == 0 && !*env_ok ? unsigned_request(err) : CL_OK;
}

cl_err chan_receive(db_t *db, arena_t *a, chan_type t, const chan_sig_headers *h, const char *body, size_t len,
                    int64_t now_ms, chan_receipt *out, cl_error *err)
{
    memset(out, 0, sizeof(*out));
    if (chan_sig_precheck(t, h, now_ms / 1000) != CHAN_SIG_OK)
        return unsigned_request(err);
    chan_row *rows = NULL;
    size_t n = 0;
    bool env_ok = false;
    cl_err e;
    chan_inbound in;
    cl_err parsed = chan_parse(a, t, body, len, &in, err);
    const char *chat = parsed == CL_OK && in.kind == CHAN_IN_MESSAGE ? in.chat : NULL;
    if (t == CHAN_DISCORD && (e = discord_first(db, a, h, body, len, chat, &rows, &n, &env_ok, err)) != CL_OK)
        return e;
    if ((e = parsed) != CL_OK)
        return e;
    if (in.kind == CHAN_IN_HANDSHAKE) {
        if (t != CHAN_DISCORD) { /* any channel of the type that the request verifies under */
            if ((e = load(db, a, t, NULL, &rows, &n, err)) != CL_OK)
                return e;
            size_t all = n;
            if (keep_verified(t, h, body, len, &in, rows, n) == 0)
                return unverified(rows, all, err);
        }
        out->status = CHAN_RECV_HANDSHAKE;
        out->challenge = in.challenge;
        return CL_OK;
    }
    if (in.kind == CHAN_IN_NONE) {
        out->status = CHAN_RECV_IGNORED;
        return CL_OK;
    }
    if (t == CHAN_DISCORD) { /* verified already: those of them that listen to the chat */
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (chan_has_target(a, t, rows[i].clear, in.chat))
                rows[k++] = rows[i];
        n = k;
    } else {
        if ((t == CHAN_TELEGRAM && h->telegram_secret == NULL) || (t == CHAN_LARK && in.token == NULL))
            return unsigned_request(err);
        if ((e = load(db, a, t, in.chat, &rows, &n, err)) != CL_OK)
            return e;
        size_t all = n;
        if (n > 0 && (n = keep_verified(t, h, body, len, &in, rows, n)) == 0)
            return unverified(rows, all, err);
    }
    if (n == 0) {
        out->status = CHAN_RECV_NO_CHANNEL;
        return CL_OK;
    }
    if (t == CHAN_DISCORD && n > 1) { /* claims make this one channel; a key set since in the environment may not */
        log_warn("a Discord interaction verifies for several channels of its chat: not routed", "chat=%s", in.chat);
        out->status = CHAN_RECV_IGNORED;
        return CL_OK;
    }
    /* the channel the message is for decides who may write: a sender it refuses never falls through to another */
    const char *text = in.text;
    chan_row *c = pick(a, rows, n, &text, out);
    if (c != NULL && (text[0] == '\0' || !chan_user_allowed(c->allowed_users, in.user_id, in.username))) {
        out->status = CHAN_RECV_IGNORED;
        return CL_OK;
    }
    if (c == NULL) {
        out->status = CHAN_RECV_UNKNOWN_AGENT;
        return CL_OK;
    }
    return accept(db, a, c, &in, text, now_ms, out, err);
}

/* ---- relaying incoming messages ------------------------------------------------------------------------------- */

cl_err chan_inbound_due(db_t *db, arena_t *a, int64_t limit, const char ***ids, size_t *n, cl_error *err)
{
    db_stmt_t *st = NULL;
    bool more = true;
    size_t cap = 0;
    *ids = NULL;
    *n = 0;
    cl_err e = db_query(db, a, &st, err, SQL_IN_DUE, "ii", limit, (int64_t)CHAN_RELAY_PER_WORKSPACE);
    while (e == CL_OK && (e = db_step(st, &more, err)) == CL_OK && more) {
        *ids = arena_grow(a, *ids, *n, &cap, sizeof(**ids));
        (*ids)[(*n)++] = db_col_dup(st, a, 0);
    }
    db_finish(st);
    return e;
}

static void read_inbound(db_stmt_t *st, arena_t *a, chan_inbound_row *r, int64_t *deadline)
{
    memset(r, 0, sizeof(*r));
    r->id = db_col_dup(st, a, 0);
    r->channel_id = db_col_dup(st, a, 1);
    r->workspace_id = db_col_dup(st, a, 2);
    r->chat_id = db_col_dup(st, a, 3);
    r->thread = db_col_dup(st, a, 4);
    r->username = db_col_dup(st, a, 5);
    r->text = db_col_dup(st, a, 6);
    if (!chan_type_parse(db_col_text(st, 7), &r->type))
        r->type = CHAN_TELEGRAM;
    r->claimed_at = opt_int(st, 8);
    *deadline = opt_int(st, 9);
    r->message_id = arena_sprintf(a, "channel-%s", r->id);
}

cl_err chan_inbound_claim(db_t *db, arena_t *a, const char *id, int64_t now_ms, chan_inbound_row *out,
                          cl_error *err)
{
    int64_t changed = 0, deadline;
    db_stmt_t *st = NULL;
    cl_err e = db_run(db, a, &changed, err, SQL_IN_CLAIM, "si", id, now_ms);
    if (e == CL_OK && changed == 0)
        return CL_NOT_FOUND;
    if (e == CL_OK && (e = db_query(db, a, &st, err, SQL_IN_READ, "s", id)) == CL_OK &&
        (e = db_one(st, err)) == CL_OK)
        read_inbound(st, a, out, &deadline);
    db_finish(st);
    return e;
}

/* Where a reply goes: the chat it came from when the channel posts to chats (Telegram, Slack with a bot token),
 * else the channel's webhook (''). */
static const char *reply_target(const chan_row *c, const char *chat)
{
    bool bot = c->type == CHAN_TELEGRAM ||
               (c->type == CHAN_SLACK && c->secret && json_object_get(c->secret, "bot_token") != NULL);
    return bot ? chat : "";
}

static cl_err failure_row(db_t *db, arena_t *a, const char *ws, const char *method, const char *summary,
                          const char *error, json_t *request, cl_error *err)
{
    activity_row r = {.workspace_id = ws,
                      .activity_type = "channel",
                      .method = method,
                      .summary = summary,
                      .status = "error",
                      .error_detail = error,
                      .request_body = json_dump_arena(a, json_own(a, request), NULL)};
    return activity_report(db, a, &r, err);
}

static cl_err settle_inbound(db_t *db, arena_t *a, const chan_inbound_row *r, chan_relay_outcome o,
                             const char *reply, const char *error, int64_t now, cl_error *err)
{
    /* a poll-mode agent's inbox and a busy agent's queue both answer later: the message awaits its reply */
    static const char *const states[] = {"replied", "awaiting", "awaiting", "failed"};
    bool waits = o == CHAN_RELAY_DELIVERED || o == CHAN_RELAY_AWAITING;
    db_stmt_t *st = NULL;
    cl_err e = db_query(db, a, &st, err, SQL_IN_SETTLE, "sssnii", r->id, states[o], error, now, r->claimed_at);
    if (e == CL_OK && waits)
        db_bind_int64(st, 4, now + reply_wait_ms);
    int64_t changed = 0;
    if (e == CL_OK && (e = db_exec(st, err)) == CL_OK)
        changed = db_changes(st);
    db_finish(st);
    if (e != CL_OK || changed == 0) /* settled already (another courier, or a reaped relay taken again) */
        return e;
    if (waits) { /* a reply that landed while it was relayed is looked for at once */
        db_after_commit(db, wake_hook, NULL, 0);
        return CL_OK;
    }
    if (o == CHAN_RELAY_FAILED) {
        const char *display = chan_adapter_of(r->type)->display_name;
        return failure_row(db, a, r->workspace_id, "receive",
                           arena_sprintf(a, "%s message not relayed to the agent", display), error,
                           json_pack("{s:s, s:s, s:s, s:s}", "channel_id", r->channel_id, "channel_type",
                                     chan_type_name(r->type), "chat_id", r->chat_id, "message_id", r->message_id),
                           err);
    }
    if (o != CHAN_RELAY_REPLIED || reply == NULL || reply[0] == '\0')
        return CL_OK;
    chan_row c;
    if ((e = get_row(db, a, NULL, r->channel_id, &c, NULL, err)) != CL_OK)
        return e == CL_NOT_FOUND ? CL_OK : e; /* the channel was deleted meanwhile: nowhere to answer */
    const char *text = utf8_cut_copy(a, reply, CHAN_TEXT_MAX, true);
    e = db_run(db, a, NULL, err, SQL_REPLY, "sssssssi", new_id(a), r->channel_id, r->workspace_id,
               reply_target(&c, r->chat_id), r->thread, text, r->id, now);
    if (e == CL_OK)
        db_after_commit(db, wake_hook, NULL, 0);
    return e;
}

cl_err chan_inbound_settle(db_t *db, arena_t *a, const chan_inbound_row *r, chan_relay_outcome o, const char *reply,
                           const char *error, int64_t now_ms, cl_error *err)
{
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    return db_tx_end(db, settle_inbound(db, a, r, o, reply, error, now_ms, err), err);
}

/* Read the rows of an awaiting-message query (IN_COLUMNS, then the reply when `with_reply`). */
static cl_err read_awaiting(db_stmt_t *st, arena_t *a, cl_err e, bool with_reply, chan_inbound_row **rows,
                            const char ***replies, size_t *n, cl_error *err)
{
    bool more = true;
    size_t cap = 0, rcap = 0;
    int64_t deadline;
    *rows = NULL, *replies = NULL, *n = 0;
    while (e == CL_OK && (e = db_step(st, &more, err)) == CL_OK && more) {
        *rows = arena_grow(a, *rows, *n, &cap, sizeof(**rows));
        *replies = arena_grow(a, *replies, *n, &rcap, sizeof(**replies));
        read_inbound(st, a, &(*rows)[*n], &deadline);
        (*replies)[(*n)++] = with_reply ? db_col_dup(st, a, 10) : NULL;
    }
    db_finish(st);
    return e;
}

cl_err chan_awaiting_check(db_t *db, arena_t *a, int64_t now_ms, int64_t limit, int64_t *replied, int64_t *expired,
                           cl_error *err)
{
    db_stmt_t *st = NULL;
    chan_inbound_row *rows;
    const char **replies;
    size_t n;
    *replied = *expired = 0;
    cl_err e = db_query(db, a, &st, err, SQL_ANSWERED, "i", limit);
    e = read_awaiting(st, a, e, true, &rows, &replies, &n, err);
    for (size_t i = 0; e == CL_OK && i < n; i++) {
        const char *text = a2a_reply_text(a, replies[i], strlen(replies[i]));
        e = chan_inbound_settle(db, a, &rows[i], CHAN_RELAY_REPLIED, text ? text : "", NULL, now_ms, err);
        (*replied)++;
    }
    if (e != CL_OK)
        return e;
    e = db_query(db, a, &st, err, SQL_EXPIRED, "ii", now_ms, limit);
    e = read_awaiting(st, a, e, false, &rows, &replies, &n, err);
    for (size_t i = 0; e == CL_OK && i < n; i++) {
        e = chan_inbound_settle(db, a, &rows[i], CHAN_RELAY_FAILED, NULL, "the agent did not answer in time", now_ms,
                                err);
        (*expired)++;
    }
    return e;
}

/* ---- outgoing ----------------------------------------------------------------------------------------------- */

static cl_err add_locked(db_t *db, arena_t *a, const char *ws, const char *id, const char *text, bool test,
                         const char ***ids, size_t *n, cl_error *err)
{
    db_stmt_t *st = NULL;
    cl_err e = lock_scope(db, a, ws, err);
    if (e == CL_OK)
        e = db_query(db, a, &st, err, SQL_OUT_LOCK, "ss", id, ws);
    bool budget = false;
    int64_t limit = 0, count = 0, open = 0;
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK) {
        budget = !db_col_is_null(st, 0);
        limit = opt_int(st, 0);
        count = db_col_int64(st, 1);
        e = db_exec(st, err);
    }
    db_finish(st);
    if (e == CL_NOT_FOUND)
        return cl_fail(err, CL_NOT_FOUND, "channel not found");
    if (e == CL_OK && budget && !test && (e = db_query(db, a, &st, err, SQL_OUT_OPEN, "s", id)) == CL_OK &&
        (e = db_one(st, err)) == CL_OK)
        open = db_col_int64(st, 0);
    db_finish(st);
    if (e == CL_OK && budget && !test && count + open >= limit)
        return cl_fail_code(err, CL_RATE_LIMITED, "channel_budget_exceeded", "channel budget exceeded");
    chan_row c;
    if (e != CL_OK || (e = chan_get(db, a, ws, id, &c, err)) != CL_OK)
        return e;
    if (!c.enabled) /* it sends nothing; what it queued before waits for it to be enabled again */
        return cl_fail(err, CL_CONFLICT, "channel is disabled");
    const char **targets;
    size_t nt;
    chan_targets(a, c.type, c.clear, &targets, &nt);
    if (nt == 0 || reply_target(&c, "x")[0] == '\0') { /* posts to its webhook */
        static const char *webhook[] = {""};
        targets = webhook;
        nt = 1;
    }
    *ids = arena_calloc(a, nt, sizeof(**ids));
    int64_t now = time_now_ms();
    for (size_t i = 0; e == CL_OK && i < nt; i++) {
        (*ids)[i] = new_id(a);
        e = db_run(db, a, NULL, err, SQL_OUT_ADD, "ssssssi", (*ids)[i], id, ws, targets[i], text,
                   test ? "test" : "send", now);
    }
    *n = nt;
    return e;
}

cl_err chan_outbox_add(db_t *db, arena_t *a, const char *workspace_id, const char *channel_id, const char *text,
                       bool test, const char ***ids, size_t *n, cl_error *err)
{
    *n = 0;
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    return db_tx_end(db, add_locked(db, a, workspace_id, channel_id, text, test, ids, n, err), err);
}

cl_err chan_outbox_due(db_t *db, arena_t *a, int64_t now_ms, int64_t limit, const char ***ids, size_t *n,
                       cl_error *err)
{
    db_stmt_t *st = NULL;
    bool more = true;
    size_t cap = 0;
    *ids = NULL;
    *n = 0;
    cl_err e = db_query(db, a, &st, err, SQL_OUT_DUE, "ii", now_ms, limit);
    while (e == CL_OK && (e = db_step(st, &more, err)) == CL_OK && more) {
        *ids = arena_grow(a, *ids, *n, &cap, sizeof(**ids));
        (*ids)[(*n)++] = db_col_dup(st, a, 0);
    }
    db_finish(st);
    return e;
}

static cl_err claim_locked(db_t *db, arena_t *a, const char *id, int64_t now, int64_t lease, chan_send *out,
                           cl_error *err)
{
    db_stmt_t *st = NULL;
    const char *channel = NULL, *target = NULL;
    cl_err e = db_query(db, a, &st, err, SQL_OUT_PEEK, "si", id, now);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK) {
        channel = db_col_dup(st, a, 0);
        target = db_col_dup(st, a, 1);
    }
    db_finish(st);
    int64_t changed = 0;
    if (e == CL_OK && (e = db_run(db, a, NULL, err, SQL_PACE_ROW, "ss", channel, target)) == CL_OK &&
        (e = db_run(db, a, &changed, err, SQL_PACE_TAKE, "ssii", channel, target, now, now + lease)) == CL_OK &&
        changed == 0)
        return CL_NOT_FOUND; /* another send to it is in flight, or its pace has not passed */
    if (e == CL_OK && (e = db_query(db, a, &st, err, SQL_OUT_TAKE, "sssi", channel, target, id, now)) == CL_OK &&
        (e = db_one(st, err)) == CL_OK) {
        out->id = arena_strdup(a, id);
        out->target = target;
        out->thread = db_col_dup(st, a, 0);
        out->text = db_col_dup(st, a, 1);
        out->origin = db_col_dup(st, a, 2);
        out->sent_bytes = db_col_int64(st, 3);
        out->failures = db_col_int64(st, 4);
        out->created_at = db_col_int64(st, 5);
        out->claimed_at = now;
        e = db_exec(st, err);
    }
    db_finish(st);
    if (e == CL_OK)
        e = get_row(db, a, NULL, channel, &out->ch, NULL, err);
    return e;
}

cl_err chan_outbox_claim(db_t *db, arena_t *a, const char *id, int64_t now_ms, int64_t lease_ms, chan_send *out,
                         cl_error *err)
{
    memset(out, 0, sizeof(*out));
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    e = claim_locked(db, a, id, now_ms, lease_ms, out, err);
    if (e == CL_NOT_FOUND) { /* nothing to do now: nothing taken */
        db_tx_rollback(db);
        return CL_NOT_FOUND;
    }
    return db_tx_end(db, e, err);
}

static int64_t backoff_ms(int64_t failures)
{
    int64_t w = CHAN_RETRY_BASE_MS;
    for (int64_t i = 1; i < failures && w < CHAN_RETRY_MAX_MS; i++)
        w *= 2;
    return w < CHAN_RETRY_MAX_MS ? w : CHAN_RETRY_MAX_MS;
}

static cl_err settle_locked(db_t *db, arena_t *a, const chan_send *s, chan_verdict v, int64_t sent_upto,
                            int64_t wait_ms, const char *error, int64_t now, const char **state, cl_error *err)
{
    const chan_row *c = &s->ch;
    int64_t len = (int64_t)strlen(s->text), failures = 0, next = now, pace = chan_pace_ms(c->type, s->target);
    if (v == CHAN_RETRY) {
        failures = 1;
        if (strcmp(s->origin, "test") == 0 || s->failures + 1 >= CHAN_SEND_MAX_FAILURES ||
            now - s->created_at >= CHAN_SEND_GIVE_UP_MS) {
            v = CHAN_FAILED;
            error = arena_sprintf(a, "%s (gave up after %lld attempt%s)", error ? error : "send failed",
                                  (long long)(s->failures + 1), s->failures ? "s" : "");
        } else {
            pace = wait_ms >= 0 ? (wait_ms < CHAN_RETRY_AFTER_MAX_MS ? wait_ms : CHAN_RETRY_AFTER_MAX_MS)
                                : backoff_ms(s->failures + 1);
            next = now + pace;
        }
    }
    if (v == CHAN_SENT)
        next = now + pace; /* the next chunk, if any, after the provider's interval */
    *state = v == CHAN_FAILED ? "failed" : v == CHAN_SENT && sent_upto >= len ? "sent" : "pending";
    int64_t changed = 0;
    cl_err e = db_run(db, a, &changed, err, SQL_OUT_SETTLE, "sisiisii", s->id, s->claimed_at, *state,
                      v == CHAN_SENT ? sent_upto : s->sent_bytes, failures, v == CHAN_SENT ? NULL : error, next,
                      now);
    if (e != CL_OK || changed == 0) /* reaped and taken again meanwhile: that send settles it */
        return e;
    if ((e = db_run(db, a, NULL, err, SQL_PACE_SET, "ssi", c->id, s->target, now + pace)) != CL_OK)
        return e;
    if (strcmp(*state, "sent") == 0 && (e = db_run(db, a, NULL, err, SQL_COUNT, "si", c->id, now)) == CL_OK)
        return channel_event(db, a, c, NULL, "outbound", err);
    if (strcmp(*state, "failed") == 0)
        return failure_row(db, a, c->workspace_id, "send",
                           arena_sprintf(a, "%s send failed", chan_adapter_of(c->type)->display_name), error,
                           json_pack("{s:s, s:s, s:s, s:s, s:I}", "channel_id", c->id, "channel_type",
                                     chan_type_name(c->type), "target", s->target, "outbox_id", s->id, "attempts",
                                     (json_int_t)(s->failures + failures)),
                           err);
    return CL_OK;
}

cl_err chan_outbox_settle(db_t *db, arena_t *a, const chan_send *s, chan_verdict v, int64_t sent_upto,
                          int64_t wait_ms, const char *error, int64_t now_ms, const char **state, cl_error *err)
{
    *state = "pending";
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    return db_tx_end(db, settle_locked(db, a, s, v, sent_upto, wait_ms, error, now_ms, state, err), err);
}

cl_err chan_reap(db_t *db, arena_t *a, int64_t now_ms, int64_t send_lease_ms, int64_t *reaped, cl_error *err)
{
    int64_t sends = 0, relays = 0;
    cl_err e = db_run(db, a, &sends, err, SQL_REAP_SENDS, "ii", now_ms, now_ms - send_lease_ms);
    if (e == CL_OK)
        e = db_run(db, a, &relays, err, SQL_REAP_RELAYS, "iii", now_ms, now_ms - relay_lease_ms,
                   (int64_t)CHAN_RELAY_MAX_ATTEMPTS);
    if (e == CL_OK)
        e = db_run(db, a, NULL, err, SQL_FAIL_RELAYS, "iii", now_ms, now_ms - relay_lease_ms,
                   (int64_t)CHAN_RELAY_MAX_ATTEMPTS);
    if (e == CL_OK)
        e = db_run(db, a, NULL, err, SQL_DROP_IN, "i", now_ms - CHAN_KEEP_MS);
    if (e == CL_OK)
        e = db_run(db, a, NULL, err, SQL_DROP_OUT, "i", now_ms - CHAN_KEEP_MS);
    *reaped = sends + relays;
    if (sends + relays > 0)
        chan_wake();
    return e;
}
