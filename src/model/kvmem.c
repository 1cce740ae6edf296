/* kvmem.c - see kvmem.h. */
#include "model/kvmem.h"

#include <string.h>

#include "base/id.h"
#include "base/time.h"

#define KV_COLUMNS "key, value, version, expires_at, updated_at"

static const char SQL_LIST[] = "SELECT " KV_COLUMNS " FROM workspace_memory WHERE workspace_id = $1 AND key > $2"
                               " AND (expires_at IS NULL OR expires_at > CAST($3 AS BIGINT)) ORDER BY key LIMIT $4";
static const char SQL_GET[] = "SELECT " KV_COLUMNS " FROM workspace_memory WHERE workspace_id = $1 AND key = $2"
                              " AND (expires_at IS NULL OR expires_at > CAST($3 AS BIGINT))";
/* Into a live workspace only, and a new key only below the workspace's cap ($7). */
#define KV_INSERT                                                                                                  \
    "INSERT INTO workspace_memory (id, workspace_id, key, value, expires_at, version, updated_at)"                 \
    " SELECT $1, w.id, $3, $4, $5, 1, $6 FROM workspaces w WHERE w.id = $2 AND w.status <> 'removed'"              \
    " AND ((SELECT count(*) FROM workspace_memory m WHERE m.workspace_id = w.id) < $7"                            \
    " OR EXISTS (SELECT 1 FROM workspace_memory m WHERE m.workspace_id = w.id AND m.key = $3))"
static const char SQL_UPSERT[] = KV_INSERT
    " ON CONFLICT (workspace_id, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at,"
    " version = workspace_memory.version + 1, updated_at = excluded.updated_at RETURNING version";
static const char SQL_CREATE[] = KV_INSERT " ON CONFLICT (workspace_id, key) DO NOTHING RETURNING version";
static const char SQL_CAS[] =
    "UPDATE workspace_memory SET value = $4, expires_at = $5, version = version + 1, updated_at = $6"
    " WHERE workspace_id = $1 AND key = $2 AND version = $3 RETURNING version";
static const char SQL_VERSION[] = "SELECT version FROM workspace_memory WHERE workspace_id = $1 AND key = $2";
static const char SQL_LIVE[] = "SELECT 1 FROM workspaces WHERE id = $1 AND status <> 'removed'";
static const char SQL_DELETE[] = "DELETE FROM workspace_memory WHERE workspace_id = $1 AND key = $2";

static void read_row(db_stmt_t *st, arena_t *a, kv_row *r)
{
    r->key = db_col_dup(st, a, 0);
    r->value = db_col_dup(st, a, 1);
    r->version = db_col_int64(st, 2);
    r->expires_at = db_col_is_null(st, 3) ? 0 : db_col_int64(st, 3);
    r->updated_at = db_col_int64(st, 4);
}

cl_err kv_list(db_t *db, arena_t *a, const char *workspace_id, const char *after, int64_t limit, kv_row **rows,
               size_t *count, cl_error *err)
{
    db_stmt_t *st;
    kv_row *out = NULL;
    size_t n = 0, cap = 0;
    bool row;
    cl_err e = db_query(db, a, &st, err, SQL_LIST, "ssii", workspace_id, after ? after : "", time_now_ms(), limit);
    while (e == CL_OK && (e = db_step(st, &row, err)) == CL_OK && row) {
        out = arena_grow(a, out, n, &cap, sizeof(*out));
        read_row(st, a, &out[n++]);
    }
    db_finish(st);
    *rows = out;
    *count = n;
    return e;
}

cl_err kv_get(db_t *db, arena_t *a, const char *workspace_id, const char *key, kv_row *out, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_GET, "ssi", workspace_id, key, time_now_ms());
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK)
        read_row(st, a, out);
    db_finish(st);
    return e == CL_NOT_FOUND ? cl_fail(err, CL_NOT_FOUND, "key not found") : e;
}

/* The first column of the first row of `sql` ($1 workspace, $2 key), or CL_NOT_FOUND. */
static cl_err probe(db_t *db, arena_t *a, const char *sql, const char *ws, const char *key, int64_t *out,
                    cl_error *err)
{
    db_stmt_t *st;
    cl_err e = key ? db_query(db, a, &st, err, sql, "ss", ws, key) : db_query(db, a, &st, err, sql, "s", ws);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK)
        *out = db_col_int64(st, 0);
    db_finish(st);
    return e;
}

/* Run an insert (id, workspace, key, value) or a compare-and-set (workspace, key, version, value), then the
 * expiry ($5, NULL for none), now ($6) and, for an insert, the key cap ($7); it returns the new version, and
 * CL_NOT_FOUND when it wrote nothing. */
static cl_err put_row(db_t *db, arena_t *a, const char *sql, const char *const *s, int64_t cas_version,
                      int64_t expires, int64_t *version, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_prepare(db, a, sql, &st, err);
    if (e == CL_OK) {
        for (int i = 0; i < 4; i++)
            db_bind_str(st, i + 1, s[i]);
        if (s[2] == NULL)
            db_bind_int64(st, 3, cas_version);
        else
            db_bind_int64(st, 7, KV_KEYS_MAX);
        if (expires > 0)
            db_bind_int64(st, 5, expires);
        else
            db_bind_null(st, 5);
        db_bind_int64(st, 6, time_now_ms());
        if ((e = db_one(st, err)) == CL_OK) {
            *version = db_col_int64(st, 0);
            e = db_exec(st, err);
        }
    }
    db_finish(st);
    return e;
}

/* Nothing was inserted: a removed or unknown workspace, or a new key past the cap. */
static cl_err refused(db_t *db, arena_t *a, const char *ws, cl_error *err)
{
    int64_t one;
    cl_err e = probe(db, a, SQL_LIVE, ws, NULL, &one, err);
    if (e == CL_NOT_FOUND)
        return cl_fail(err, CL_NOT_FOUND, "workspace not found");
    if (e != CL_OK)
        return e;
    return cl_fail_code(err, CL_CONFLICT, "too_many_keys", "workspace has %d keys; delete some first", KV_KEYS_MAX);
}

/* A transaction lock per workspace: two new keys written at once are counted one after the other. */
static int64_t lock_key(const char *ws)
{
    uint8_t d[ID_SHA256_LEN];
    id_sha256(ws, strlen(ws), d);
    uint64_t k = 0;
    for (int i = 0; i < 8; i++)
        k = (k << 8) | d[i];
    return (int64_t)(k >> 1); /* a non-negative key */
}

static cl_err set_tx(db_t *db, arena_t *a, const char *ws, const kv_put *p, int64_t *version, kv_mismatch *mm,
                     cl_error *err)
{
    char id[ID_UUID_LEN + 1];
    id_uuid4(id);
    const char *ins[4] = {id, ws, p->key, p->value};
    const char *upd[4] = {ws, p->key, NULL, p->value};
    int64_t expires = p->ttl_s > 0 ? time_now_ms() + p->ttl_s * 1000 : 0;
    cl_err e = db_tx_lock(db, lock_key(ws), err);
    if (e != CL_OK)
        return e;
    if (!p->has_version) {
        e = put_row(db, a, SQL_UPSERT, ins, 0, expires, version, err);
        return e == CL_NOT_FOUND ? refused(db, a, ws, err) : e;
    }
    if ((e = put_row(db, a, SQL_CAS, upd, p->if_match_version, expires, version, err)) != CL_NOT_FOUND)
        return e;
    int64_t current;
    e = probe(db, a, SQL_VERSION, ws, p->key, &current, err); /* expired entries count, as the reference's */
    if (e == CL_NOT_FOUND && p->if_match_version == 0) {
        if ((e = put_row(db, a, SQL_CREATE, ins, 0, expires, version, err)) != CL_NOT_FOUND)
            return e;
        if ((e = probe(db, a, SQL_VERSION, ws, p->key, &current, err)) == CL_NOT_FOUND)
            return refused(db, a, ws, err);
    }
    if (e != CL_OK && e != CL_NOT_FOUND)
        return e;
    *mm = (kv_mismatch){p->if_match_version, e == CL_OK ? current : 0, e == CL_OK};
    return cl_fail(err, CL_CONFLICT, e == CL_OK ? "if_match_version mismatch"
                                                : "if_match_version mismatch: key does not exist");
}

cl_err kv_set(db_t *db, arena_t *a, const char *workspace_id, const kv_put *p, int64_t *version, kv_mismatch *mm,
              cl_error *err)
{
    size_t klen = p->key ? strlen(p->key) : 0;
    if (klen == 0)
        return cl_fail(err, CL_INVALID, "key is required");
    if (klen > KV_KEY_MAX)
        return cl_fail(err, CL_INVALID, "key is longer than %d bytes", KV_KEY_MAX);
    if (strcmp(p->key, ".") == 0 || strcmp(p->key, "..") == 0) /* a client normalises /memory/.. away */
        return cl_fail(err, CL_INVALID, "key must not be \".\" or \"..\": no URL can name it");
    if (p->value == NULL)
        return cl_fail(err, CL_INVALID, "value is required");
    if (strlen(p->value) > KV_VALUE_MAX)
        return cl_fail(err, CL_TOO_LARGE, "value is larger than %d bytes", KV_VALUE_MAX);
    if (p->ttl_s < 0 || p->ttl_s > KV_TTL_MAX)
        return cl_fail(err, CL_INVALID, "ttl_seconds must be between 0 and %d", KV_TTL_MAX);
    if (p->has_version && p->if_match_version < 0)
        return cl_fail(err, CL_INVALID, "if_match_version must not be negative");
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    return db_tx_end(db, set_tx(db, a, workspace_id, p, version, mm, err), err);
}

cl_err kv_delete(db_t *db, arena_t *a, const char *workspace_id, const char *key, cl_error *err)
{
    return db_run(db, a, NULL, err, SQL_DELETE, "ss", workspace_id, key);
}
