/* secret.c - see secret.h. */
#include "model/secret.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/time.h"
#include "model/billing.h"
#include "model/vault.h"

/* A no-op update that is both the liveness check and the row lock: writers of one workspace's secrets queue on it
 * (the count below stays exact on PostgreSQL too), without an advisory lock per workspace that a large import
 * would multiply. */
static const char SQL_WS_HOLD[] =
    "UPDATE workspaces SET updated_at = updated_at WHERE id = $1 AND status <> 'removed'";
static const char SQL_WS_LIVE[] = "SELECT 1 FROM workspaces WHERE id = $1 AND status <> 'removed'";
#define GLOBAL_SCOPE_LOCK ((int64_t)0x636f6c676c62) /* "colglb": writers of the globals queue on it */

static const char SQL_UPSERT_WS[] =
    "INSERT INTO workspace_secrets (id, workspace_id, key, encrypted_value, encryption_version, key_id, created_at,"
    " updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (workspace_id, key) DO UPDATE SET"
    " encrypted_value = excluded.encrypted_value, encryption_version = excluded.encryption_version,"
    " key_id = excluded.key_id, updated_at = excluded.updated_at";
static const char SQL_UPSERT_GLOBAL[] =
    "INSERT INTO global_secrets (id, key, encrypted_value, encryption_version, key_id, created_at, updated_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (key) DO UPDATE SET"
    " encrypted_value = excluded.encrypted_value, encryption_version = excluded.encryption_version,"
    " key_id = excluded.key_id, updated_at = excluded.updated_at";
static const char SQL_COUNT_WS[] = "SELECT count(*) FROM workspace_secrets WHERE workspace_id = $1";
static const char SQL_COUNT_GLOBAL[] = "SELECT count(*) FROM global_secrets";
static const char SQL_DELETE_WS[] = "DELETE FROM workspace_secrets WHERE workspace_id = $1 AND key = $2";
static const char SQL_DELETE_GLOBAL[] = "DELETE FROM global_secrets WHERE key = $1";
static const char SQL_AUDIT[] = "INSERT INTO structure_events (id, event_type, workspace_id, payload, created_at)"
                                " VALUES ($1, $2, $3, $4, $5)";
static const char SQL_LIST_WS[] = "SELECT key, created_at, updated_at FROM workspace_secrets"
                                  " WHERE workspace_id = $1 AND key > $2 ORDER BY key LIMIT $3";
static const char SQL_LIST_GLOBAL_FOR[] =
    "SELECT g.key, g.created_at, g.updated_at FROM global_secrets g WHERE g.key > $2 AND NOT EXISTS"
    " (SELECT 1 FROM workspace_secrets w WHERE w.workspace_id = $1 AND w.key = g.key) ORDER BY g.key LIMIT $3";
static const char SQL_LIST_GLOBAL[] =
    "SELECT key, created_at, updated_at FROM global_secrets WHERE key > $1 ORDER BY key LIMIT $2";
static const char SQL_VALUES_GLOBAL[] = "SELECT key, encrypted_value, key_id FROM global_secrets";
static const char SQL_VALUES_WS[] =
    "SELECT key, encrypted_value, key_id FROM workspace_secrets WHERE workspace_id = $1";
static const char SQL_GLOBAL_NAMES[] = "SELECT key FROM global_secrets ORDER BY key";
static const char SQL_INBOUND_GET[] = "SELECT inbound_secret_sealed, inbound_secret_key_id, platform_inbound_secret"
                                      " FROM workspaces WHERE id = $1 AND status <> 'removed'";
static const char SQL_INBOUND_SET[] =
    "UPDATE workspaces SET inbound_secret_sealed = $2, inbound_secret_key_id = $3 WHERE id = $1 AND"
    " status <> 'removed' AND inbound_secret_sealed IS NULL AND platform_inbound_secret IS NULL";

bool secret_name_valid(const char *s, size_t n)
{
    if (n == 0 || n > SECRET_NAME_MAX || s[0] < 'A' || s[0] > 'Z')
        return false;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

/* data.md §3.4 guard 1's list, sorted (bsearch) */
static const char *const LLM_CREDENTIALS[] = {
    "AI_GATEWAY_API_KEY", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ARCEEAI_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN",
    "CODEX_AUTH_JSON", "DASHSCOPE_API_KEY", "DEEPSEEK_API_KEY", "GEMINI_API_KEY", "GLM_API_KEY",
    "HERMES_CUSTOM_API_KEY", "HERMES_CUSTOM_BASE_URL", "HF_TOKEN", "KIMI_API_KEY", "KIMI_CN_API_KEY",
    "MINIMAX_API_KEY", "MINIMAX_CN_API_KEY", "NOUS_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL",
    "OPENROUTER_API_KEY", "XAI_API_KEY", "ZAI_API_KEY",
};

static int name_cmp(const void *key, const void *elem)
{
    return strcasecmp(key, *(const char *const *)elem);
}

bool secret_is_llm_credential(const char *name)
{
    return name != NULL && bsearch(name, LLM_CREDENTIALS, sizeof(LLM_CREDENTIALS) / sizeof(LLM_CREDENTIALS[0]),
                                   sizeof(LLM_CREDENTIALS[0]), name_cmp) != NULL;
}

cl_err secret_llm_guard(db_t *db, arena_t *a, const char *workspace_id, const char *name, cl_error *err)
{
    if (!secret_is_llm_credential(name))
        return CL_OK;
    billing_resolution r;
    cl_err e = billing_resolve(db, a, workspace_id, &r, err);
    if (e != CL_OK || strcmp(r.resolved_mode, "platform_managed") != 0)
        return e;
    return cl_fail_code(err, CL_INVALID, SECRET_PLATFORM_MANAGED_CODE,
                        "%s cannot be set on this workspace: its LLM billing is platform-managed (by %s), so the "
                        "platform supplies the provider credentials",
                        name, r.workspace_override ? "its override" : "the deployment's default");
}

static const char *scope_name(const char *workspace_id)
{
    return workspace_id ? "workspace" : "global";
}

/* The scope's writers queue here; CL_NOT_FOUND for a workspace that is missing or removed. */
static cl_err hold_scope(db_t *db, arena_t *a, const char *workspace_id, cl_error *err)
{
    cl_err e = db_tx_lock_shared(db, SECRET_LOCK, err);
    if (e != CL_OK || workspace_id == NULL)
        return e == CL_OK ? db_tx_lock(db, GLOBAL_SCOPE_LOCK, err) : e;
    int64_t held = 0;
    if ((e = db_run(db, a, &held, err, SQL_WS_HOLD, "s", workspace_id)) == CL_OK && held == 0)
        e = cl_fail(err, CL_NOT_FOUND, "workspace not found");
    return e;
}

/* The audit record of one change, in its transaction; `extra` (NULL, or "value_hash"/"reason") is its last field.
 */
static cl_err audit(db_t *db, arena_t *a, const char *type, const char *workspace_id, const char *name,
                    const secret_actor *by, const char *extra_key, const char *extra, cl_error *err)
{
    json_t *p = json_own(a, json_pack("{s:s, s:s, s:s, s:s?}", "key", name, "scope", scope_name(workspace_id),
                                      "actor_kind", by->kind, "actor", by->id));
    if (extra != NULL)
        json_object_set_new(p, extra_key, json_string(extra));
    char id[ID_UUID_LEN + 1];
    id_uuid4(id);
    return db_run(db, a, NULL, err, SQL_AUDIT, "ssssi", id, type, workspace_id, json_dump_arena(a, p, NULL),
                  time_now_ms());
}

/* The audit log line, once the change is durable (the outermost transaction committed it). */
static void audit_log(const char *type, const char *workspace_id, const char *name, const secret_actor *by,
                      const char *value_hash)
{
    log_info("audit", "event=%s scope=%s workspace=%s key=%s actor_kind=%s actor=%s value_hash=%s", type,
             scope_name(workspace_id), workspace_id ? workspace_id : "-", name, by->kind, by->id ? by->id : "-",
             value_hash ? value_hash : "-");
}

static cl_err upsert(db_t *db, arena_t *a, const char *workspace_id, const secret_pair *p, const vault_sealed *s,
                     int64_t now, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_prepare(db, a, workspace_id ? SQL_UPSERT_WS : SQL_UPSERT_GLOBAL, &st, err);
    if (e != CL_OK)
        return e;
    char id[ID_UUID_LEN + 1];
    id_uuid4(id);
    int k = 1; /* the global statement has no workspace_id */
    db_bind_str(st, k++, arena_strdup(a, id));
    if (workspace_id != NULL)
        db_bind_str(st, k++, workspace_id);
    db_bind_str(st, k++, p->name);
    db_bind_blob(st, k++, s->bytes, s->len);
    db_bind_int64(st, k++, VAULT_VERSION);
    db_bind_str(st, k++, s->key_id);
    db_bind_int64(st, k, now);
    e = db_exec(st, err);
    db_finish(st);
    return e;
}

static cl_err put_all(db_t *db, arena_t *a, const char *workspace_id, const secret_pair *pairs, size_t n,
                      const secret_actor *by, bool guarded, char (*hashes)[SEAL_FINGERPRINT_LEN + 1], cl_error *err)
{
    cl_err e = hold_scope(db, a, workspace_id, err);
    int64_t now = time_now_ms();
    for (size_t i = 0; e == CL_OK && i < n; i++) {
        vault_sealed s;
        if (guarded && (e = secret_llm_guard(db, a, workspace_id, pairs[i].name, err)) != CL_OK)
            break;
        vault_fingerprint(pairs[i].value, pairs[i].len, hashes[i]);
        if ((e = vault_seal(a, workspace_id ? VAULT_WORKSPACE : VAULT_GLOBAL, workspace_id, pairs[i].name,
                            pairs[i].value, pairs[i].len, &s, err)) == CL_OK &&
            (e = upsert(db, a, workspace_id, &pairs[i], &s, now, err)) == CL_OK)
            e = audit(db, a, "secret.set", workspace_id, pairs[i].name, by, "value_hash", hashes[i], err);
    }
    db_stmt_t *st = NULL;
    if (e == CL_OK &&
        (e = workspace_id ? db_query(db, a, &st, err, SQL_COUNT_WS, "s", workspace_id)
                          : db_query(db, a, &st, err, SQL_COUNT_GLOBAL, "")) == CL_OK &&
        (e = db_one(st, err)) == CL_OK && db_col_int64(st, 0) > SECRET_MAX_PER_SCOPE)
        e = cl_fail(err, CL_CONFLICT, "too many secrets: a %s holds at most %d; delete some first",
                    workspace_id ? "workspace" : "deployment's globals", SECRET_MAX_PER_SCOPE);
    db_finish(st);
    return e;
}

static cl_err put(db_t *db, arena_t *a, const char *workspace_id, const secret_pair *pairs, size_t n,
                  const secret_actor *by, bool guarded, cl_error *err)
{
    cl_err e = vault_require(err);
    if (e != CL_OK || n == 0)
        return e;
    char(*hashes)[SEAL_FINGERPRINT_LEN + 1] = arena_alloc(a, n * sizeof(*hashes));
    if ((e = db_tx_begin(db, err)) != CL_OK)
        return e;
    e = db_tx_end(db, put_all(db, a, workspace_id, pairs, n, by, guarded, hashes, err), err);
    if (e == CL_OK && !db_in_tx(db))
        for (size_t i = 0; i < n; i++)
            audit_log("secret.set", workspace_id, pairs[i].name, by, hashes[i]);
    return e;
}

cl_err secret_put(db_t *db, arena_t *a, const char *workspace_id, const secret_pair *pairs, size_t n,
                  const secret_actor *by, cl_error *err)
{
    return put(db, a, workspace_id, pairs, n, by, false, err);
}

cl_err secret_put_guarded(db_t *db, arena_t *a, const char *workspace_id, const secret_pair *pair,
                          const secret_actor *by, cl_error *err)
{
    return put(db, a, workspace_id, pair, 1, by, true, err);
}

static cl_err delete_one(db_t *db, arena_t *a, const char *workspace_id, const char *name, const secret_actor *by,
                         cl_error *err)
{
    cl_err e = hold_scope(db, a, workspace_id, err);
    int64_t gone = 0;
    if (e == CL_OK)
        e = workspace_id ? db_run(db, a, &gone, err, SQL_DELETE_WS, "ss", workspace_id, name)
                         : db_run(db, a, &gone, err, SQL_DELETE_GLOBAL, "s", name);
    if (e == CL_OK && gone == 0)
        e = cl_fail(err, CL_NOT_FOUND, "secret not found");
    return e == CL_OK ? audit(db, a, "secret.delete", workspace_id, name, by, NULL, NULL, err) : e;
}

cl_err secret_delete(db_t *db, arena_t *a, const char *workspace_id, const char *name, const secret_actor *by,
                     cl_error *err)
{
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    e = db_tx_end(db, delete_one(db, a, workspace_id, name, by, err), err);
    if (e == CL_OK && !db_in_tx(db))
        audit_log("secret.delete", workspace_id, name, by, NULL);
    return e;
}

cl_err secret_refused(db_t *db, arena_t *a, const char *workspace_id, const char *name, const secret_actor *by,
                      const char *reason, cl_error *err)
{
    cl_err e = audit(db, a, "secret.set.refused", workspace_id, name, by, "reason", reason, err);
    log_warn("audit", "event=secret.set.refused scope=%s workspace=%s key=%s actor_kind=%s reason=%s",
             scope_name(workspace_id), workspace_id ? workspace_id : "-", name, by->kind, reason);
    return e;
}

static cl_err live(db_t *db, arena_t *a, const char *workspace_id, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_WS_LIVE, "s", workspace_id);
    if (e == CL_OK)
        e = db_one(st, err);
    db_finish(st);
    return e == CL_NOT_FOUND ? cl_fail(err, e, "workspace not found") : e;
}

/* Append the rows of `st` (name, created_at, updated_at) to out[*n..limit). */
static cl_err read_meta(db_stmt_t *st, arena_t *a, bool global, secret_meta *out, size_t *n, int64_t limit,
                        cl_error *err)
{
    bool row = true;
    cl_err e = CL_OK;
    while ((int64_t)*n < limit && (e = db_step(st, &row, err)) == CL_OK && row)
        out[(*n)++] = (secret_meta){db_col_dup(st, a, 0), global, db_col_int64(st, 1), db_col_int64(st, 2)};
    return e;
}

cl_err secret_list(db_t *db, arena_t *a, const char *workspace_id, bool after_global, const char *after_name,
                   int64_t limit, secret_meta **rows, size_t *count, cl_error *err)
{
    secret_meta *out = arena_calloc(a, (size_t)limit + 1, sizeof(*out));
    size_t n = 0;
    db_stmt_t *st = NULL;
    cl_err e = CL_OK;
    const char *from = after_name ? after_name : "";
    if (workspace_id == NULL) {
        if ((e = db_query(db, a, &st, err, SQL_LIST_GLOBAL, "si", from, limit)) == CL_OK)
            e = read_meta(st, a, true, out, &n, limit, err);
    } else if ((e = live(db, a, workspace_id, err)) == CL_OK) {
        if (!after_global &&
            (e = db_query(db, a, &st, err, SQL_LIST_WS, "ssi", workspace_id, from, limit)) == CL_OK)
            e = read_meta(st, a, false, out, &n, limit, err);
        db_finish(st);
        st = NULL;
        if (e == CL_OK && (int64_t)n < limit &&
            (e = db_query(db, a, &st, err, SQL_LIST_GLOBAL_FOR, "ssi", workspace_id, after_global ? from : "",
                          limit - (int64_t)n)) == CL_OK)
            e = read_meta(st, a, true, out, &n, limit, err);
    }
    db_finish(st);
    *rows = out;
    *count = e == CL_OK ? n : 0;
    return e;
}

typedef struct {
    const char *name;
    vault_sealed sealed;
    bool global;
} stored;

/* Read (name, encrypted_value, key_id) rows into out[*n..), replacing a row of the same name already there. */
static cl_err read_stored(db_stmt_t *st, arena_t *a, bool global, stored *out, size_t *n, cl_error *err)
{
    bool row = true;
    cl_err e;
    while ((e = db_step(st, &row, err)) == CL_OK && row) {
        stored s = {db_col_dup(st, a, 0), {NULL, 0, db_col_dup(st, a, 2)}, global};
        s.sealed.bytes = db_col_blob(st, a, 1, &s.sealed.len);
        size_t i = 0;
        while (i < *n && strcmp(out[i].name, s.name) != 0)
            i++;
        if (i == *n && *n == 2 * SECRET_MAX_PER_SCOPE) /* the caps hold under the scope's lock */
            return cl_fail(err, CL_INTERNAL, "more secrets than a workspace may see");
        out[i] = s;
        if (i == *n)
            (*n)++;
    }
    return e;
}

static int by_text(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static int by_name(const void *x, const void *y)
{
    return strcmp(((const secret_pair *)x)->name, ((const secret_pair *)y)->name);
}

cl_err secret_values(db_t *db, arena_t *a, const char *workspace_id, secret_pair **pairs, size_t *count,
                     const char ***failed, size_t *nfailed, cl_error *err)
{
    stored *rows = arena_calloc(a, 2 * SECRET_MAX_PER_SCOPE, sizeof(*rows));
    size_t n = 0;
    *pairs = NULL, *count = 0, *failed = NULL, *nfailed = 0;
    db_stmt_t *st = NULL;
    cl_err e = live(db, a, workspace_id, err);
    if (e == CL_OK && (e = db_query(db, a, &st, err, SQL_VALUES_GLOBAL, "")) == CL_OK)
        e = read_stored(st, a, true, rows, &n, err); /* the globals first, then the workspace's own over them */
    db_finish(st);
    st = NULL;
    if (e == CL_OK && (e = db_query(db, a, &st, err, SQL_VALUES_WS, "s", workspace_id)) == CL_OK)
        e = read_stored(st, a, false, rows, &n, err);
    db_finish(st);
    if (e == CL_OK && n > 0)
        e = vault_require(err);
    if (e != CL_OK)
        return e;
    secret_pair *out = arena_calloc(a, n + 1, sizeof(*out));
    const char **bad = arena_calloc(a, n + 1, sizeof(*bad));
    size_t nbad = 0;
    for (size_t i = 0; i < n; i++) {
        char *plain;
        const char *scope = rows[i].global ? NULL : workspace_id;
        if (vault_open(a, rows[i].global ? VAULT_GLOBAL : VAULT_WORKSPACE, scope, rows[i].name, &rows[i].sealed,
                       &plain, &out[i].len)) {
            out[i].name = rows[i].name, out[i].value = plain;
            continue;
        }
        bad[nbad++] = arena_sprintf(a, "%s:%s", rows[i].global ? "global" : "workspace", rows[i].name);
        metric_inc(METRIC_SECRETS_UNREADABLE);
        log_error("secret failed to decrypt", "scope=%s workspace=%s key=%s key_id=%s known_key=%s",
                  scope_name(scope), workspace_id, rows[i].name,
                  rows[i].sealed.key_id ? rows[i].sealed.key_id : "-",
                  vault_knows(rows[i].sealed.key_id) ? "yes" : "no");
    }
    if (nbad > 0) {
        qsort(bad, nbad, sizeof(*bad), by_text);
        *failed = bad, *nfailed = nbad;
        return cl_fail(err, CL_INTERNAL,
                       "one or more secrets failed to decrypt; refusing to return partial bundle");
    }
    qsort(out, n, sizeof(*out), by_name);
    *pairs = out, *count = n;
    return CL_OK;
}

cl_err secret_global_names(db_t *db, arena_t *a, const char ***names, size_t *count, cl_error *err)
{
    const char **out = arena_calloc(a, SECRET_MAX_PER_SCOPE + 1, sizeof(*out));
    size_t n = 0;
    db_stmt_t *st;
    bool row = true;
    cl_err e = db_query(db, a, &st, err, SQL_GLOBAL_NAMES, "");
    while (e == CL_OK && (e = db_step(st, &row, err)) == CL_OK && row && n < SECRET_MAX_PER_SCOPE)
        out[n++] = db_col_dup(st, a, 0);
    db_finish(st);
    *names = out, *count = e == CL_OK ? n : 0;
    return e;
}

/* The stored inbound secret of a live workspace: *secret NULL when it has none. */
static cl_err inbound_read(db_t *db, arena_t *a, const char *workspace_id, const char **secret, cl_error *err)
{
    db_stmt_t *st;
    *secret = NULL;
    cl_err e = db_query(db, a, &st, err, SQL_INBOUND_GET, "s", workspace_id);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK) {
        vault_sealed s = {NULL, 0, db_col_dup(st, a, 1)};
        s.bytes = db_col_blob(st, a, 0, &s.len);
        char *plain;
        size_t n;
        if (s.bytes != NULL && !vault_ready()) {
            e = vault_require(err); /* no key at all: say that, not that the value is damaged */
        } else if (s.bytes != NULL && !vault_open(a, VAULT_INBOUND, workspace_id, NULL, &s, &plain, &n)) {
            metric_inc(METRIC_SECRETS_UNREADABLE);
            log_error("secret failed to decrypt",
                      "scope=inbound workspace=%s key=platform_inbound_secret key_id=%s "
                      "known_key=%s",
                      workspace_id, s.key_id ? s.key_id : "-", vault_knows(s.key_id) ? "yes" : "no");
            e = cl_fail(err, CL_INTERNAL, "the workspace's inbound secret failed to decrypt");
        } else {
            *secret =
                s.bytes != NULL ? plain : db_col_dup(st, a, 2); /* else: plaintext from before 0023, or none */
        }
    }
    db_finish(st);
    return e == CL_NOT_FOUND ? cl_fail(err, e, "workspace not found") : e;
}

cl_err secret_inbound(db_t *db, arena_t *a, const char *workspace_id, const char **secret, bool *minted,
                      cl_error *err)
{
    *minted = false;
    cl_err e = inbound_read(db, a, workspace_id, secret, err);
    if (e != CL_OK || *secret != NULL || (e = vault_require(err)) != CL_OK)
        return e;
    char fresh[ID_TOKEN_LEN + 1];
    id_token(fresh);
    vault_sealed s;
    int64_t set = 0;
    if ((e = vault_seal(a, VAULT_INBOUND, workspace_id, NULL, fresh, strlen(fresh), &s, err)) != CL_OK ||
        (e = db_tx_begin(db, err)) != CL_OK)
        return e;
    db_stmt_t *st = NULL;
    if ((e = db_tx_lock_shared(db, SECRET_LOCK, err)) == CL_OK &&
        (e = db_prepare(db, a, SQL_INBOUND_SET, &st, err)) == CL_OK) {
        db_bind_str(st, 1, workspace_id);
        db_bind_blob(st, 2, s.bytes, s.len);
        db_bind_str(st, 3, s.key_id);
        if ((e = db_exec(st, err)) == CL_OK)
            set = db_changes(st);
    }
    db_finish(st);
    if ((e = db_tx_end(db, e, err)) != CL_OK)
        return e;
    if (set == 1) {
        *secret = arena_strdup(a, fresh);
        *minted = true;
        return CL_OK;
    }
    /* another request minted it first (or the workspace went away meanwhile) */
    if ((e = inbound_read(db, a, workspace_id, secret, err)) == CL_OK && *secret == NULL)
        e = cl_fail(err, CL_UNAVAILABLE, "the workspace's inbound secret could not be minted; retry");
    return e;
}
