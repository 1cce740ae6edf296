/* secret_keys.c - see secret_keys.h. */
#include "model/secret_keys.h"

#include <jansson.h>
#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "base/time.h"
#include "model/secret.h"
#include "model/vault.h"

enum { PAGE = 256 }; /* rows read at a time, each page in its own arena */

/* One kind of stored value: rows (id, workspace id, name, sealed bytes, key id) not under key $1, after id $2, by
 * id, at most $3; and the guarded update that re-seals one ($1 id, $2 bytes, $3 new key id, $4 the key id read). */
typedef struct {
    vault_place place;
    const char *what, *select, *update;
} kind;

static const kind KINDS[] = {
    {VAULT_WORKSPACE, "workspace secret",
     "SELECT id, workspace_id, key, encrypted_value, key_id FROM workspace_secrets WHERE key_id <> $1 AND id > $2"
     " ORDER BY id LIMIT $3",
     "UPDATE workspace_secrets SET encrypted_value = $2, key_id = $3 WHERE id = $1 AND key_id = $4"},
    {VAULT_GLOBAL, "global secret",
     "SELECT id, CAST(NULL AS TEXT), key, encrypted_value, key_id FROM global_secrets WHERE key_id <> $1 AND id > "
     "$2"
     " ORDER BY id LIMIT $3",
     "UPDATE global_secrets SET encrypted_value = $2, key_id = $3 WHERE id = $1 AND key_id = $4"},
    {VAULT_INBOUND, "inbound secret",
     "SELECT id, id, CAST(NULL AS TEXT), inbound_secret_sealed, inbound_secret_key_id FROM workspaces"
     " WHERE inbound_secret_sealed IS NOT NULL AND inbound_secret_key_id <> $1 AND id > $2 ORDER BY id LIMIT $3",
     "UPDATE workspaces SET inbound_secret_sealed = $2, inbound_secret_key_id = $3"
     " WHERE id = $1 AND inbound_secret_key_id = $4"},
    {VAULT_CHANNEL, "channel's credentials",
     "SELECT id, workspace_id, id, secrets_sealed, secrets_key_id FROM workspace_channels"
     " WHERE secrets_sealed IS NOT NULL AND secrets_key_id <> $1 AND id > $2 ORDER BY id LIMIT $3",
     "UPDATE workspace_channels SET secrets_sealed = $2, secrets_key_id = $3 WHERE id = $1 AND secrets_key_id = $4"},
};

static const char SQL_CURRENT[] =
    "SELECT (SELECT count(*) FROM workspace_secrets WHERE key_id = $1) + (SELECT count(*) FROM global_secrets"
    " WHERE key_id = $1) + (SELECT count(*) FROM workspaces WHERE inbound_secret_key_id = $1)"
    " + (SELECT count(*) FROM workspace_channels WHERE secrets_key_id = $1)";
static const char SQL_EVENT[] = "INSERT INTO structure_events (id, event_type, payload, created_at)"
                                " VALUES ($1, $2, $3, $4)";
static const char SQL_PLAINTEXT[] = "SELECT id, platform_inbound_secret FROM workspaces"
                                    " WHERE platform_inbound_secret IS NOT NULL AND id > $1 ORDER BY id LIMIT $2";
static const char SQL_SEAL_PLAINTEXT[] =
    "UPDATE workspaces SET inbound_secret_sealed = $2, inbound_secret_key_id = $3, platform_inbound_secret = NULL"
    " WHERE id = $1 AND platform_inbound_secret IS NOT NULL AND inbound_secret_sealed IS NULL";
static const char SQL_CENSUS[] =
    "SELECT key_id, count(*) FROM (SELECT key_id FROM workspace_secrets UNION ALL SELECT key_id FROM global_secrets"
    " UNION ALL SELECT inbound_secret_key_id FROM workspaces WHERE inbound_secret_key_id IS NOT NULL"
    " UNION ALL SELECT secrets_key_id FROM workspace_channels WHERE secrets_key_id IS NOT NULL) k"
    " GROUP BY key_id ORDER BY key_id";
static const char SQL_PLAINTEXT_COUNT[] =
    "SELECT count(*) FROM workspaces WHERE platform_inbound_secret IS NOT NULL";

static cl_err run_blob(db_t *db, arena_t *a, const char *sql, const char *id, const vault_sealed *s,
                       const char *guard, int64_t *changed, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_prepare(db, a, sql, &st, err);
    if (e != CL_OK)
        return e;
    db_bind_str(st, 1, id);
    db_bind_blob(st, 2, s->bytes, s->len);
    db_bind_str(st, 3, s->key_id);
    if (guard != NULL)
        db_bind_str(st, 4, guard);
    if ((e = db_exec(st, err)) == CL_OK)
        *changed = db_changes(st);
    db_finish(st);
    return e;
}

typedef struct {
    const char *id, *scope, *name, *key_id;
    vault_sealed sealed;
} row;

/* Re-seal one page of `k`'s rows after *last; *n receives how many were read. */
static cl_err rotate_page(db_t *db, arena_t *a, const kind *k, const char **last, size_t *n, int64_t *count,
                          cl_error *err)
{
    row rows[PAGE];
    db_stmt_t *st;
    bool more = true;
    *n = 0;
    cl_err e = db_query(db, a, &st, err, k->select, "ssi", vault_key_id(), *last, (int64_t)PAGE);
    while (e == CL_OK && (e = db_step(st, &more, err)) == CL_OK && more && *n < PAGE) {
        row *r = &rows[(*n)++];
        r->id = db_col_dup(st, a, 0), r->scope = db_col_dup(st, a, 1), r->name = db_col_dup(st, a, 2);
        r->key_id = db_col_dup(st, a, 4);
        r->sealed = (vault_sealed){NULL, 0, r->key_id};
        r->sealed.bytes = db_col_blob(st, a, 3, &r->sealed.len);
    }
    db_finish(st);
    for (size_t i = 0; e == CL_OK && i < *n; i++) {
        row *r = &rows[i];
        char *plain;
        size_t len;
        vault_sealed fresh;
        int64_t changed = 0;
        if (!vault_open(a, k->place, r->scope, r->name, &r->sealed, &plain, &len))
            return cl_fail(err, CL_INTERNAL,
                           "the %s %s%s%s does not open (sealed under key %s%s); nothing was rotated", k->what,
                           r->name ? r->name : "", r->scope ? " of workspace " : "", r->scope ? r->scope : "",
                           r->key_id, vault_knows(r->key_id) ? ", but altered or moved" : ", which was not given");
        if ((e = vault_seal(a, k->place, r->scope, r->name, plain, len, &fresh, err)) == CL_OK &&
            (e = run_blob(db, a, k->update, r->id, &fresh, r->key_id, &changed, err)) == CL_OK)
            *count += changed;
        *last = r->id;
    }
    return e;
}

static cl_err rotate_all(db_t *db, arena_t *a, secret_rotation *out, cl_error *err)
{
    db_stmt_t *st = NULL;
    cl_err e = db_tx_lock(db, SECRET_LOCK, err);
    if (e == CL_OK && (e = db_query(db, a, &st, err, SQL_CURRENT, "s", vault_key_id())) == CL_OK &&
        (e = db_one(st, err)) == CL_OK)
        out->current = db_col_int64(st, 0);
    db_finish(st);
    int64_t *counts[] = {&out->workspace, &out->global, &out->inbound, &out->channel};
    for (size_t k = 0; e == CL_OK && k < sizeof(KINDS) / sizeof(KINDS[0]); k++) {
        const char *last = "";
        size_t n = PAGE;
        while (e == CL_OK && n == PAGE) {
            arena_t *page = arena_new();
            e = rotate_page(db, page, &KINDS[k], &last, &n, counts[k], err);
            last = arena_strdup(a, last);
            arena_free(page);
        }
    }
    if (e != CL_OK)
        return e;
    json_t *p = json_own(a, json_pack("{s:s, s:I, s:I, s:I, s:I}", "key_id", vault_key_id(), "workspace",
                                      (json_int_t)out->workspace, "global", (json_int_t)out->global, "inbound",
                                      (json_int_t)out->inbound, "channel", (json_int_t)out->channel));
    char id[ID_UUID_LEN + 1];
    id_uuid4(id);
    return db_run(db, a, NULL, err, SQL_EVENT, "sssi", id, "secret.rotate", json_dump_arena(a, p, NULL),
                  time_now_ms());
}

cl_err secret_rotate(db_t *db, arena_t *a, secret_rotation *out, cl_error *err)
{
    memset(out, 0, sizeof(*out));
    cl_err e = vault_require(err);
    if (e != CL_OK || (e = db_tx_begin(db, err)) != CL_OK)
        return e;
    e = db_tx_end(db, rotate_all(db, a, out, err), err);
    if (e != CL_OK) {
        secret_rotation none = {0};
        *out = none;
    }
    return e;
}

static cl_err seal_plaintext_all(db_t *db, arena_t *a, int64_t *sealed, cl_error *err)
{
    cl_err e = db_tx_lock(db, SECRET_LOCK, err);
    const char *last = "";
    size_t n = PAGE;
    while (e == CL_OK && n == PAGE) {
        arena_t *page = arena_new();
        db_stmt_t *st;
        const char *ids[PAGE], *plain[PAGE];
        bool more = true;
        n = 0;
        e = db_query(db, page, &st, err, SQL_PLAINTEXT, "si", last, (int64_t)PAGE);
        while (e == CL_OK && (e = db_step(st, &more, err)) == CL_OK && more && n < PAGE) {
            ids[n] = db_col_dup(st, page, 0), plain[n] = db_col_dup(st, page, 1);
            n++;
        }
        db_finish(st);
        for (size_t i = 0; e == CL_OK && i < n; i++) {
            vault_sealed s;
            int64_t changed = 0;
            if ((e = vault_seal(page, VAULT_INBOUND, ids[i], NULL, plain[i], strlen(plain[i]), &s, err)) == CL_OK &&
                (e = run_blob(db, page, SQL_SEAL_PLAINTEXT, ids[i], &s, NULL, &changed, err)) == CL_OK)
                *sealed += changed;
        }
        if (n > 0)
            last = arena_strdup(a, ids[n - 1]);
        arena_free(page);
    }
    return e;
}

cl_err secret_seal_plaintext(db_t *db, arena_t *a, int64_t *sealed, cl_error *err)
{
    *sealed = 0;
    cl_err e = vault_require(err);
    if (e != CL_OK || (e = db_tx_begin(db, err)) != CL_OK)
        return e;
    e = db_tx_end(db, seal_plaintext_all(db, a, sealed, err), err);
    if (e != CL_OK)
        *sealed = 0;
    return e;
}

cl_err secret_key_census(db_t *db, arena_t *a, int64_t *unreadable, int64_t *plaintext, cl_error *err)
{
    db_stmt_t *st;
    bool more = true;
    *unreadable = *plaintext = 0;
    cl_err e = db_query(db, a, &st, err, SQL_CENSUS, "");
    while (e == CL_OK && (e = db_step(st, &more, err)) == CL_OK && more) {
        const char *id = db_col_text(st, 0);
        int64_t n = db_col_int64(st, 1);
        if (vault_knows(id))
            continue;
        *unreadable += n;
        log_warn("secrets sealed under a key this node does not hold cannot be read", "key_id=%s values=%lld", id,
                 (long long)n);
    }
    db_finish(st);
    if (e == CL_OK && (e = db_query(db, a, &st, err, SQL_PLAINTEXT_COUNT, "")) == CL_OK &&
        (e = db_one(st, err)) == CL_OK)
        *plaintext = db_col_int64(st, 0);
    db_finish(st);
    return e;
}
