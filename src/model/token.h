/* token.h - bearer tokens. A token is 32 random bytes in base64url, shown once; the database keeps its SHA-256
 * (hex) and the first 8 characters. Workspace tokens open only their own workspace; org tokens are full admins.
 * Revocation is a database write and checks read the database, so it takes effect at once on every node. */
#ifndef COLONY_MODEL_TOKEN_H
#define COLONY_MODEL_TOKEN_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/id.h"
#include "store/db.h"

enum {
    TOKEN_MAX_LIVE_PER_WORKSPACE = 50,
    TOKEN_LIST_MAX = 200,
    ORG_TOKEN_NAME_MAX = 100,
    ORG_TOKEN_LIST_MAX = 500,
    TOKEN_TEXT_MAX = 256, /* a presented bearer longer than this is not a token of ours */
};

typedef struct {
    const char *id, *workspace_id, *prefix, *kind, *name, *created_by, *org_id;
    int64_t created_at, last_used_at, expires_at; /* 0 = null */
} token_row;

/* What a bearer proved. */
typedef enum { CALLER_NONE, CALLER_ADMIN, CALLER_ORG, CALLER_WORKSPACE } caller_kind;
typedef struct {
    caller_kind kind;
    const char *workspace_id; /* CALLER_WORKSPACE */
    const char *token_id;     /* org or workspace token */
    const char *org_id;       /* CALLER_ORG: the org the token is anchored to, or NULL */
    const char *prefix;
} caller;

/* SHA-256 of a presented token as stored (lower-case hex, 64 characters + NUL). */
void token_hash_hex(const char *plain, char out[2 * ID_SHA256_LEN + 1]);

/* "Bearer <token>" → token (trimmed), per vectors.md §3.7; NULL when the header is absent or not a bearer. */
const char *token_from_header(arena_t *a, const char *header);

/* Mint a workspace token of `kind` ("api"/"instance") for a live workspace. CL_NOT_FOUND for a missing or removed
 * workspace; CL_RATE_LIMITED past TOKEN_MAX_LIVE_PER_WORKSPACE live tokens. The plaintext goes to `plain` only.
 * Holds the tree lock shared (WS_TREE_LOCK), so no token outlives a removal that commits concurrently. */
cl_err token_mint_workspace(db_t *db, arena_t *a, const char *workspace_id, const char *kind,
                            char plain[ID_TOKEN_LEN + 1], token_row *row, cl_error *err);
/* A position in the token lists: they run newest first, by (created_at, id) descending. */
typedef struct {
    int64_t created_at;
    const char *id;
} token_key;

/* Live tokens of a workspace, newest first: those before `before` (NULL: from the newest), skipping `offset` (the
 * reference's paging; tokens per workspace are few), at most `limit`. */
cl_err token_list_workspace(db_t *db, arena_t *a, const char *workspace_id, const token_key *before, int64_t limit,
                            int64_t offset, token_row **rows, size_t *count, cl_error *err);
/* Revoke one (CL_NOT_FOUND when it is not a live token of that workspace) or all of a workspace's tokens. */
cl_err token_revoke_workspace(db_t *db, arena_t *a, const char *workspace_id, const char *token_id, cl_error *err);
cl_err token_revoke_all(db_t *db, arena_t *a, const char *workspace_id, cl_error *err);
/* New credentials for an external agent (POST /workspaces/:id/external/rotate): in one transaction every live token
 * of the workspace revoked, one "instance" token minted, EXTERNAL_CREDENTIALS_ROTATED recorded. Rotations of one
 * workspace take turns, so however many run at once, one token is left: the last one's. With `caller_token_id`
 * (the workspace token that asked; NULL for an operator) that token must still be live when its turn comes, and is
 * revoked first: of the rotations presenting one token only the first succeeds, the others are CL_UNAUTHORIZED
 * "invalid workspace auth token" and change nothing. CL_NOT_FOUND (nothing revoked) for a missing or removed
 * workspace. */
cl_err token_rotate_workspace(db_t *db, arena_t *a, const char *workspace_id, const char *caller_token_id,
                              char plain[ID_TOKEN_LEN + 1], token_row *row, cl_error *err);

/* Which of these token ids are still live: org tokens (org true: not revoked, not expired) or workspace tokens
 * (not revoked, workspace not removed). live[i] answers ids[i]; at most TOKEN_LIVE_BATCH ids. */
enum { TOKEN_LIVE_BATCH = 256 };
cl_err token_live(db_t *db, arena_t *a, bool org, const char *const *ids, size_t n, bool *live, cl_error *err);

/* Does the workspace hold a live token of `kind` ("instance"/"api"), or of any kind when kind is NULL? */
cl_err token_has_live(db_t *db, arena_t *a, const char *workspace_id, const char *kind, bool *yes, cl_error *err);

/* Org tokens. expires_at 0 = never; a past expiry is CL_INVALID. */
cl_err token_mint_org(db_t *db, arena_t *a, const char *name, const char *created_by, int64_t expires_at,
                      char plain[ID_TOKEN_LEN + 1], token_row *row, cl_error *err);
/* Live org tokens, in the same order and the same way. */
cl_err token_list_org(db_t *db, arena_t *a, const token_key *before, int64_t limit, token_row **rows, size_t *count,
                      cl_error *err);
cl_err token_revoke_org(db_t *db, arena_t *a, const char *id, cl_error *err);

/* Who is this bearer? Checks, in order, the admin token (constant time against its hash), a live unexpired org
 * token, a live workspace token of a live workspace. CALLER_NONE when none matches; CL_UNAVAILABLE only when the
 * database cannot say. Bumps last_used_at at most once a minute. */
cl_err token_identify(db_t *db, arena_t *a, const uint8_t *admin_hash, const char *bearer, caller *out,
                      cl_error *err);

#endif
