/* vault.h - this process's secrets keys, and how colony seals a value to its place. Every secret colony keeps (a
 * workspace's or a global secret, a workspace's inbound secret, a chat channel's credentials) is sealed with
 * base/seal under the current key with its place as associated data — what it is, whose, and its name — so a sealed
 * value copied to another row, another workspace or another kind of secret does not open. The keys come from the
 * environment or a key file (main.c), never from the database; without a key nothing can be sealed and colony
 * refuses to store secrets. */
#ifndef COLONY_MODEL_VAULT_H
#define COLONY_MODEL_VAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/seal.h"

enum { VAULT_VERSION = 2 }; /* encryption_version of a value sealed by base/seal (migration 0023) */

/* VAULT_CHANNEL: a chat channel's credentials (model/channel.h), scope its workspace, name the channel's id. */
typedef enum { VAULT_WORKSPACE, VAULT_GLOBAL, VAULT_INBOUND, VAULT_CHANNEL } vault_place;

/* A sealed value as stored: the bytes and the id of the key that sealed them. */
typedef struct {
    const uint8_t *bytes;
    size_t len;
    const char *key_id;
} vault_sealed;

/* Install the keys (copied; NULL: none). Values are sealed under `current`; values sealed under `old` still open,
 * so nodes can move to a new key one by one while `colony secrets rotate-key` re-seals what is stored. Call before
 * any thread uses the vault (start-up, tests). */
void vault_set_keys(const seal_key *current, const seal_key *old);
/* Is there a current key? Its id (NULL without one). */
bool vault_ready(void);
const char *vault_key_id(void);
/* Does this process hold the key with that id (current or old)? */
bool vault_knows(const char *key_id);
/* CL_OK with a current key; otherwise CL_UNAVAILABLE, code "secrets_key_missing", saying how to configure one. */
cl_err vault_require(cl_error *err);

/* Seal `n` bytes for (place, scope, name) under the current key: scope is the workspace id (NULL for a global
 * secret), name the secret's (NULL for an inbound secret). The result is arena-owned. vault_require's error without
 * a key. */
cl_err vault_seal(arena_t *a, vault_place p, const char *scope, const char *name, const char *plain, size_t n,
                  vault_sealed *out, cl_error *err);
/* Open a value stored for (place, scope, name): *plain (NUL-terminated, arena-owned) and *n. False when this
 * process has no key of that id, or the value does not authenticate (altered, moved, or not sealed here); never a
 * wrong value. */
bool vault_open(arena_t *a, vault_place p, const char *scope, const char *name, const vault_sealed *in,
                char **plain, size_t *n);
/* A keyed fingerprint of a value under the current key ("" without one): audit records say that a value changed
 * without letting anyone test a guess of it. */
void vault_fingerprint(const char *p, size_t n, char out[SEAL_FINGERPRINT_LEN + 1]);

#endif
