/* token.c - see token.h. */
#include "model/token.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/time.h"
#include "model/event.h"
#include "model/workspace.h"

enum { LAST_USED_RESOLUTION_MS = 60000 };

static const char SQL_WS_LIVE[] = "SELECT 1 FROM workspaces WHERE id = $1 AND status <> 'removed'";
static const char SQL_WS_COUNT[] =
    "SELECT count(*) FROM workspace_auth_tokens WHERE workspace_id = $1 AND revoked_at IS NULL";
static const char SQL_WS_INSERT[] = "INSERT INTO workspace_auth_tokens (id, workspace_id, token_hash, prefix, kind,"
                                    " created_at) VALUES ($1, $2, $3, $4, $5, $6)";
/* both lists: newest first, keyset pages on (created_at, id) */
static const char SQL_WS_LIST[] =
    "SELECT id, prefix, kind, created_at, last_used_at FROM workspace_auth_tokens"
    " WHERE workspace_id = $1 AND revoked_at IS NULL AND (created_at, id) < (CAST($2 AS BIGINT), CAST($3 AS TEXT))"
    " ORDER BY created_at DESC, id DESC LIMIT $4 OFFSET $5";
static const char SQL_WS_REVOKE[] = "UPDATE workspace_auth_tokens SET revoked_at = $3"
                                    " WHERE id = $1 AND workspace_id = $2 AND revoked_at IS NULL";
static const char SQL_WS_REVOKE_ALL[] =
    "UPDATE workspace_auth_tokens SET revoked_at = $2 WHERE workspace_id = $1 AND revoked_at IS NULL";
static const char SQL_WS_FIND[] =
    "SELECT t.id, t.workspace_id, t.prefix, t.token_hash, t.last_used_at FROM workspace_auth_tokens t"
    " JOIN workspaces w ON w.id = t.workspace_id"
    " WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND w.status <> 'removed'";
static const char SQL_WS_TOUCH[] = "UPDATE workspace_auth_tokens SET last_used_at = $2"
                                   " WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)";
static const char SQL_ORG_INSERT[] = "INSERT INTO org_api_tokens (id, token_hash, prefix, name, created_by,"
                                     " created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, CAST($7 AS BIGINT))";
static const char SQL_ORG_LIST[] =
    "SELECT id, prefix, name, org_id, created_by, created_at, last_used_at, expires_at FROM org_api_tokens"
    " WHERE revoked_at IS NULL AND (created_at, id) < (CAST($1 AS BIGINT), CAST($2 AS TEXT))"
    " ORDER BY created_at DESC, id DESC LIMIT $3";
static const char SQL_ORG_REVOKE[] = "UPDATE org_api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL";
static const char SQL_ORG_FIND[] = "SELECT id, prefix, token_hash, expires_at, org_id, last_used_at FROM org_api_tokens"
                                   " WHERE token_hash = $1 AND revoked_at IS NULL";
static const char SQL_ORG_TOUCH[] = "UPDATE org_api_tokens SET last_used_at = $2"
                                    " WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)";

const char *token_from_header(arena_t *a, const char *h)
{
    if (h == NULL || strncmp(h, "Bearer ", 7) != 0)
        return NULL;
    h += 7;
    while (*h == ' ' || *h == '\t')
        h++;
    size_t n = strlen(h);
    while (n > 0 && (h[n - 1] == ' ' || h[n - 1] == '\t'))
        n--;
    return n == 0 ? NULL : arena_strndup(a, h, n);
}

void token_hash_hex(const char *plain, char out[2 * ID_SHA256_LEN + 1])
{
    uint8_t h[ID_SHA256_LEN];
    id_sha256(plain, strlen(plain), h);
    static const char digits[] = "0123456789abcdef"; /* on every authenticated request: no printf */
    for (int i = 0; i < ID_SHA256_LEN; i++) {
        out[2 * i] = digits[h[i] >> 4];
        out[2 * i + 1] = digits[h[i] & 15];
    }
    out[2 * ID_SHA256_LEN] = '\0';
}

static void fresh(arena_t *a, char plain[ID_TOKEN_LEN + 1], token_row *row, char hex[2 * ID_SHA256_LEN + 1])
{
    char id[ID_UUID_LEN + 1];
    id_token(plain);
    token_hash_hex(plain, hex);
    id_uuid4(id);
    row->id = arena_strdup(a, id);
    row->prefix = arena_strndup(a, plain, ID_TOKEN_PREFIX_LEN);
    row->created_at = time_now_ms();
}

cl_err token_mint_workspace(db_t *db, arena_t *a, const char *workspace_id, const char *kind,
                            char plain[ID_TOKEN_LEN + 1], token_row *row, cl_error *err)
{
    db_stmt_t *st = NULL;
    memset(row, 0, sizeof(*row));
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    /* the tree lock, shared: a removal of the workspace either committed before the check below (no token) or
     * waits for this mint to commit and then revokes the new token with the others */
    if ((e = db_tx_lock_shared(db, WS_TREE_LOCK, err)) == CL_OK &&
        (e = db_query(db, a, &st, err, SQL_WS_LIVE, "s", workspace_id)) == CL_OK)
        e = db_one(st, err);
    db_finish(st);
    if (e == CL_NOT_FOUND)
        cl_fail(err, e, "workspace not found");
    if (e == CL_OK && (e = db_query(db, a, &st, err, SQL_WS_COUNT, "s", workspace_id)) == CL_OK &&
        (e = db_one(st, err)) == CL_OK && db_col_int64(st, 0) >= TOKEN_MAX_LIVE_PER_WORKSPACE)
        e = cl_fail(err, CL_RATE_LIMITED, "too many live tokens for this workspace (max %d); revoke some first",
                    TOKEN_MAX_LIVE_PER_WORKSPACE);
    db_finish(st);
    char hex[2 * ID_SHA256_LEN + 1];
    if (e == CL_OK) {
        fresh(a, plain, row, hex);
        row->workspace_id = workspace_id;
        row->kind = kind;
        e = db_run(db, a, NULL, err, SQL_WS_INSERT, "sssssi", row->id, workspace_id, hex, row->prefix, kind,
                   row->created_at);
    }
    return db_tx_end(db, e, err);
}

cl_err token_list_workspace(db_t *db, arena_t *a, const char *workspace_id, const token_key *before, int64_t limit,
                            int64_t offset, token_row **rows, size_t *count, cl_error *err)
{
    db_stmt_t *st;
    token_row *out = arena_calloc(a, (size_t)limit + 1, sizeof(*out));
    size_t n = 0;
    bool row = true;
    cl_err e = db_query(db, a, &st, err, SQL_WS_LIST, "sisii", workspace_id, before ? before->created_at : INT64_MAX,
                        before ? before->id : "", limit, offset);
    while (e == CL_OK && (e = db_step(st, &row, err)) == CL_OK && row && n < (size_t)limit) {
        token_row *r = &out[n++];
        r->id = db_col_dup(st, a, 0);
        r->workspace_id = workspace_id;
        r->prefix = db_col_dup(st, a, 1);
        r->kind = db_col_dup(st, a, 2);
        r->created_at = db_col_int64(st, 3);
        r->last_used_at = db_col_is_null(st, 4) ? 0 : db_col_int64(st, 4);
    }
    db_finish(st);
    *rows = out, *count = n;
    return e;
}

cl_err token_revoke_workspace(db_t *db, arena_t *a, const char *workspace_id, const char *token_id, cl_error *err)
{
    int64_t changed = 0;
    cl_err e = db_run(db, a, &changed, err, SQL_WS_REVOKE, "ssi", token_id, workspace_id, time_now_ms());
    if (e == CL_OK && changed == 0)
        return cl_fail(err, CL_NOT_FOUND, "token not found or already revoked");
    return e;
}

cl_err token_revoke_all(db_t *db, arena_t *a, const char *workspace_id, cl_error *err)
{
    return db_run(db, a, NULL, err, SQL_WS_REVOKE_ALL, "si", workspace_id, time_now_ms());
}

/* The caller's own token, revoked first: the guarded UPDATE hits its live row once, so of the rotations presenting
 * one token (on any node) exactly one gets past here; the others find it revoked. */
static cl_err revoke_own(db_t *db, arena_t *a, const char *workspace_id, const char *token_id, cl_error *err)
{
    int64_t changed = 0;
    if (token_id == NULL)
        return CL_OK;
    cl_err e = db_run(db, a, &changed, err, SQL_WS_REVOKE, "ssi", token_id, workspace_id, time_now_ms());
    if (e == CL_OK && changed != 1)
        return cl_fail(err, CL_UNAUTHORIZED, "invalid workspace auth token");
    return e;
}

cl_err token_rotate_workspace(db_t *db, arena_t *a, const char *workspace_id, const char *caller_token_id,
                              char plain[ID_TOKEN_LEN + 1], token_row *row, cl_error *err)
{
    memset(row, 0, sizeof(*row));
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    /* the tree lock first, as the mint and a removal take it: a removal then never waits on the rows this revokes
     * while this waits on the removal */
    if ((e = db_tx_lock_shared(db, WS_TREE_LOCK, err)) == CL_OK &&
        (e = db_tx_lock(db, db_lock_key(0x746b, workspace_id), err)) == CL_OK && /* "tk" */
        (e = revoke_own(db, a, workspace_id, caller_token_id, err)) == CL_OK &&
        (e = token_revoke_all(db, a, workspace_id, err)) == CL_OK &&
        (e = token_mint_workspace(db, a, workspace_id, "instance", plain, row, err)) == CL_OK)
        e = event_record(db, a, EV_EXTERNAL_CREDENTIALS_ROTATED, workspace_id,
                         arena_sprintf(a, "{\"workspace_id\":\"%s\"}", workspace_id), NULL, err);
    return db_tx_end(db, e, err);
}

cl_err token_mint_org(db_t *db, arena_t *a, const char *name, const char *created_by, int64_t expires_at,
                      char plain[ID_TOKEN_LEN + 1], token_row *row, cl_error *err)
{
    memset(row, 0, sizeof(*row));
    if (expires_at != 0 && expires_at <= time_now_ms())
        return cl_fail(err, CL_INVALID, "expires_at must be in the future");
    char hex[2 * ID_SHA256_LEN + 1];
    fresh(a, plain, row, hex);
    row->name = name;
    row->created_by = created_by;
    row->expires_at = expires_at;
    if (expires_at == 0)
        return db_run(db, a, NULL, err, SQL_ORG_INSERT, "sssssin", row->id, hex, row->prefix, name, created_by,
                      row->created_at);
    return db_run(db, a, NULL, err, SQL_ORG_INSERT, "sssssii", row->id, hex, row->prefix, name, created_by,
                  row->created_at, expires_at);
}

cl_err token_list_org(db_t *db, arena_t *a, const token_key *before, int64_t limit, token_row **rows, size_t *count,
                      cl_error *err)
{
    db_stmt_t *st;
    token_row *out = arena_calloc(a, (size_t)limit + 1, sizeof(*out));
    size_t n = 0;
    bool row = true;
    cl_err e = db_query(db, a, &st, err, SQL_ORG_LIST, "isi", before ? before->created_at : INT64_MAX,
                        before ? before->id : "", limit);
    while (e == CL_OK && (e = db_step(st, &row, err)) == CL_OK && row && n < (size_t)limit) {
        token_row *r = &out[n++];
        r->id = db_col_dup(st, a, 0);
        r->prefix = db_col_dup(st, a, 1);
        r->name = db_col_dup(st, a, 2);
        r->org_id = db_col_dup(st, a, 3);
        r->created_by = db_col_dup(st, a, 4);
        r->created_at = db_col_int64(st, 5);
        r->last_used_at = db_col_is_null(st, 6) ? 0 : db_col_int64(st, 6);
        r->expires_at = db_col_is_null(st, 7) ? 0 : db_col_int64(st, 7);
    }
    db_finish(st);
    *rows = out, *count = n;
    return e;
}

cl_err token_revoke_org(db_t *db, arena_t *a, const char *id, cl_error *err)
{
    int64_t changed = 0;
    cl_err e = db_run(db, a, &changed, err, SQL_ORG_REVOKE, "si", id, time_now_ms());
    if (e == CL_OK && changed == 0)
        return cl_fail(err, CL_NOT_FOUND, "token not found");
    return e;
}

/* Look the hash up with `sql`; on a live match fill the caller and return true. */
static cl_err lookup(db_t *db, arena_t *a, const char *sql, const char *touch, const char *hex, bool org, caller *out,
                     cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, sql, "s", hex);
    if (e != CL_OK)
        return e;
    if ((e = db_one(st, err)) != CL_OK) {
        db_finish(st);
        return e == CL_NOT_FOUND ? CL_OK : e;
    }
    int64_t now = time_now_ms();
    const char *stored = db_col_text(st, org ? 2 : 3);
    /* the index found it by equality; compare again in constant time so the decision never rests on timing */
    bool match = stored != NULL && strlen(stored) == 2 * ID_SHA256_LEN && id_equal(stored, hex, 2 * ID_SHA256_LEN);
    bool expired = org && !db_col_is_null(st, 3) && db_col_int64(st, 3) <= now;
    int used_col = org ? 5 : 4;
    bool due = db_col_is_null(st, used_col) || db_col_int64(st, used_col) < now - LAST_USED_RESOLUTION_MS;
    if (match && !expired) {
        out->kind = org ? CALLER_ORG : CALLER_WORKSPACE;
        out->token_id = db_col_dup(st, a, 0);
        out->workspace_id = org ? NULL : db_col_dup(st, a, 1);
        out->org_id = org ? db_col_dup(st, a, 4) : NULL;
        out->prefix = db_col_dup(st, a, org ? 1 : 2);
    }
    db_finish(st);
    if (out->kind != CALLER_NONE && due) { /* a write only once a minute per token, not per request */
        cl_error ignored; /* a failed bump must not fail the request */
        db_run(db, a, NULL, &ignored, touch, "sii", out->token_id, now, now - LAST_USED_RESOLUTION_MS);
    }
    return CL_OK;
}

cl_err token_identify(db_t *db, arena_t *a, const uint8_t *admin_hash, const char *bearer, caller *out,
                      cl_error *err)
{
    memset(out, 0, sizeof(*out));
    if (bearer == NULL || strlen(bearer) > TOKEN_TEXT_MAX)
        return CL_OK;
    uint8_t h[ID_SHA256_LEN];
    id_sha256(bearer, strlen(bearer), h);
    if (admin_hash != NULL && id_equal(h, admin_hash, ID_SHA256_LEN)) {
        out->kind = CALLER_ADMIN;
        return CL_OK;
    }
    char hex[2 * ID_SHA256_LEN + 1];
    token_hash_hex(bearer, hex);
    /* workspace tokens first: they carry the hot paths (heartbeats, activity) */
    cl_err e = lookup(db, a, SQL_WS_FIND, SQL_WS_TOUCH, hex, false, out, err);
    if (e != CL_OK || out->kind != CALLER_NONE)
        return e;
    return lookup(db, a, SQL_ORG_FIND, SQL_ORG_TOUCH, hex, true, out, err);
}

cl_err token_has_live(db_t *db, arena_t *a, const char *workspace_id, const char *kind, bool *yes, cl_error *err)
{
    db_stmt_t *st;
    *yes = false;
    cl_err e = db_query(db, a, &st, err,
                        "SELECT 1 FROM workspace_auth_tokens WHERE workspace_id = $1 AND revoked_at IS NULL"
                        " AND (CAST($2 AS TEXT) IS NULL OR kind = $2) LIMIT 1",
                        "ss", workspace_id, kind);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK)
        *yes = true;
    db_finish(st);
    return e == CL_NOT_FOUND ? CL_OK : e;
}

cl_err token_live(db_t *db, arena_t *a, bool org, const char *const *ids, size_t n, bool *live, cl_error *err)
{
    if (n > TOKEN_LIVE_BATCH)
        return cl_fail(err, CL_INTERNAL, "too many token ids in one check");
    buf_t sql = BUF_INIT(1 << 16);
    buf_puts(&sql, org ? "SELECT id FROM org_api_tokens WHERE revoked_at IS NULL"
                         " AND (expires_at IS NULL OR expires_at > $1) AND id IN ("
                       : "SELECT t.id FROM workspace_auth_tokens t JOIN workspaces w ON w.id = t.workspace_id"
                         " WHERE t.revoked_at IS NULL AND w.status <> 'removed' AND CAST($1 AS BIGINT) > 0 AND t.id IN (");
    for (size_t i = 0; i < n; i++)
        buf_printf(&sql, "%s$%zu", i ? ", " : "", i + 2);
    buf_putc(&sql, ')');
    db_stmt_t *st;
    cl_err e = db_prepare(db, a, arena_strndup(a, sql.data, sql.len), &st, err);
    buf_free(&sql);
    for (size_t i = 0; i < n; i++)
        live[i] = false;
    if (e != CL_OK)
        return e;
    db_bind_int64(st, 1, time_now_ms());
    for (size_t i = 0; i < n; i++)
        db_bind_str(st, (int)i + 2, ids[i]);
    bool row = true;
    while ((e = db_step(st, &row, err)) == CL_OK && row) {
        const char *id = db_col_text(st, 0);
        for (size_t i = 0; i < n; i++)
            if (strcmp(ids[i], id) == 0)
                live[i] = true;
    }
    db_finish(st);
    return e;
}
