/* kvmem.h - a workspace's key/value memory (shared/api/data.md §2.4): one JSON value per key, an optional expiry,
 * and a version for compare-and-set. Values are the agent's own state, read back as written: they are not
 * redacted (a digest or an id of 33 characters is data here, not a leak). */
#ifndef COLONY_MODEL_KVMEM_H
#define COLONY_MODEL_KVMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "store/db.h"

enum {
    KV_KEY_MAX = 256,            /* bytes of a key */
    KV_VALUE_MAX = 64 * 1024,    /* bytes of a value as JSON text */
    KV_KEYS_MAX = 10000,         /* keys of one workspace */
    KV_TTL_MAX = 10 * 365 * 86400, /* seconds */
};

typedef struct {
    const char *key, *value; /* value: JSON text */
    int64_t version, expires_at, updated_at; /* ms; expires_at 0 = never */
} kv_row;

/* Unexpired entries of a workspace by key, those after `after` (NULL: from the first), at most `limit`. */
cl_err kv_list(db_t *db, arena_t *a, const char *workspace_id, const char *after, int64_t limit, kv_row **rows,
               size_t *count, cl_error *err);
/* One unexpired entry; CL_NOT_FOUND "key not found". */
cl_err kv_get(db_t *db, arena_t *a, const char *workspace_id, const char *key, kv_row *out, cl_error *err);

typedef struct {
    const char *key, *value; /* value: JSON text */
    int64_t ttl_s;           /* 0: never expires */
    bool has_version;
    int64_t if_match_version;
} kv_put;

/* What a refused compare-and-set found. */
typedef struct {
    int64_t expected, current;
    bool has_current; /* false: the key does not exist */
} kv_mismatch;

/* Set a value. Without a version: insert at version 1 or replace and add one. With if_match_version v: replace
 * only at version v (v = 0: create only); otherwise CL_CONFLICT "if_match_version mismatch" (*mm says what was
 * found; "…: key does not exist" when nothing was). CL_INVALID/CL_TOO_LARGE for a bad key, TTL or value;
 * CL_NOT_FOUND "workspace not found" (unknown or removed); CL_CONFLICT code "too_many_keys" for a new key past
 * KV_KEYS_MAX (exact on every node: the workspace's writes take a transaction lock). *version receives the new
 * version. */
cl_err kv_set(db_t *db, arena_t *a, const char *workspace_id, const kv_put *p, int64_t *version, kv_mismatch *mm,
              cl_error *err);
/* Delete a key; deleting one that is not there is fine. */
cl_err kv_delete(db_t *db, arena_t *a, const char *workspace_id, const char *key, cl_error *err);

#endif
