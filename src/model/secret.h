/* secret.h - secrets (data.md §3): global ones, and a workspace's own, which override the global of the same name
 * for that workspace. Values are sealed by the vault (model/vault.h) before they reach the database and opened only
 * to be handed to their agent; lists carry names and times, never values. Every change is recorded in
 * structure_events (secret.set, secret.delete) in the transaction that makes it, with a keyed fingerprint of the
 * value, never the value, and logged as an audit line. */
#ifndef COLONY_MODEL_SECRET_H
#define COLONY_MODEL_SECRET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "store/db.h"

enum {
    SECRET_NAME_MAX = 128,        /* ^[A-Z][A-Z0-9_]{0,127}$, the env-name rule of workspaces.md §4.2 */
    SECRET_VALUE_MAX = 64 * 1024, /* bytes */
    SECRET_MAX_PER_SCOPE = 256,   /* a workspace's own secrets; the globals */
    SECRET_LIST_MAX = 2 * SECRET_MAX_PER_SCOPE,
};

/* Transaction lock key: every secret write holds it shared, a key rotation exclusively, so a rotation sees every
 * value and no write lands in the middle of it. */
#define SECRET_LOCK ((int64_t)0x636f6c736563) /* "colsec" */

/* Is (s, n) a valid secret name: an upper-case letter, then upper-case letters, digits and '_', at most 128? */
bool secret_name_valid(const char *s, size_t n);

/* Who makes a change, for the audit record: kind "admin" (ADMIN_TOKEN), "org" (id: the token's prefix),
 * "workspace" (id: its id), "import", "cli". */
typedef struct {
    const char *kind, *id;
} secret_actor;

/* A name and its value (borrowed; the value is `len` bytes of UTF-8 without NUL). */
typedef struct {
    const char *name, *value;
    size_t len;
} secret_pair;

/* Set secrets of a live workspace (workspace_id) or global ones (NULL), in one transaction (a savepoint inside the
 * caller's): each is sealed and upserted, then audited. Errors: the vault's without a key (nothing stored);
 * CL_NOT_FOUND "workspace not found" for a missing or removed workspace; CL_CONFLICT when the scope would hold more
 * than SECRET_MAX_PER_SCOPE secrets. Names and values must be valid already. */
cl_err secret_put(db_t *db, arena_t *a, const char *workspace_id, const secret_pair *pairs, size_t n,
                  const secret_actor *by, cl_error *err);
/* data.md §3.4 guard 1: is `name` (any case) one of the LLM provider credentials, or provider endpoints, that a
 * workspace whose LLM billing is platform-managed may not hold (the platform pays through its proxy; a key of the
 * workspace's own would go around it)? */
bool secret_is_llm_credential(const char *name);
/* CL_OK unless `name` is such a credential and workspace `workspace_id` resolves to platform-managed billing
 * (model/billing.h): then CL_INVALID with code SECRET_PLATFORM_MANAGED_CODE. */
#define SECRET_PLATFORM_MANAGED_CODE "platform_managed_llm_key"
cl_err secret_llm_guard(db_t *db, arena_t *a, const char *workspace_id, const char *name, cl_error *err);
/* secret_put of one workspace secret written through the API: the same, with secret_llm_guard checked inside the
 * write's transaction, after the workspace's row lock that a change of its billing override also takes, so a
 * concurrent switch to platform-managed billing cannot let a provider key through. */
cl_err secret_put_guarded(db_t *db, arena_t *a, const char *workspace_id, const secret_pair *pair,
                          const secret_actor *by, cl_error *err);
/* Delete one; CL_NOT_FOUND "secret not found" (or "workspace not found"). Needs no key. */
cl_err secret_delete(db_t *db, arena_t *a, const char *workspace_id, const char *name, const secret_actor *by,
                     cl_error *err);

/* Record a refused write (secret.set.refused, the guard's reason) without storing anything. */
cl_err secret_refused(db_t *db, arena_t *a, const char *workspace_id, const char *name, const secret_actor *by,
                      const char *reason, cl_error *err);

/* One row of a list: a name, whether it is the global one, its times (ms). */
typedef struct {
    const char *name;
    bool global;
    int64_t created_at, updated_at;
} secret_meta;

/* The secrets a workspace sees (workspace_id; its own by name, then the globals it does not override, by name), or
 * the globals (NULL): those after (after_global, after_name) in that order (after_name NULL: from the first), at
 * most `limit`. CL_NOT_FOUND for a missing or removed workspace. */
cl_err secret_list(db_t *db, arena_t *a, const char *workspace_id, bool after_global, const char *after_name,
                   int64_t limit, secret_meta **rows, size_t *count, cl_error *err);

/* The values a live workspace's agent gets: the globals overlaid by its own, sorted by name. When any value does
 * not open, nothing is returned: CL_INTERNAL with *failed naming each ("global:K", "workspace:K"), each logged once
 * by name; no key while values exist is the vault's error. */
cl_err secret_values(db_t *db, arena_t *a, const char *workspace_id, secret_pair **pairs, size_t *count,
                     const char ***failed, size_t *nfailed, cl_error *err);

/* Names of the global secrets, sorted (the org import's required_env check; a value is never empty). */
cl_err secret_global_names(db_t *db, arena_t *a, const char ***names, size_t *count, cl_error *err);

/* The inbound secret colony presents to a live workspace's own endpoints, minted and sealed when it has none
 * (*minted says so). A value stored in plaintext by an older colony (migration 0009) is served as it is until the
 * first start with a key seals it (secret_seal_plaintext). Without a key nothing is minted (the vault's error);
 * CL_INTERNAL when the stored value does not open (logged once). */
cl_err secret_inbound(db_t *db, arena_t *a, const char *workspace_id, const char **secret, bool *minted,
                      cl_error *err);

#endif
