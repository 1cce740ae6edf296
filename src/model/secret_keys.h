/* secret_keys.h - what changes with the secrets key rather than with a secret: re-sealing every stored value under
 * a new key (`colony secrets rotate-key`), sealing the inbound secrets an older colony stored in plaintext, and the
 * census a node takes at start of values it cannot open. */
#ifndef COLONY_MODEL_SECRET_KEYS_H
#define COLONY_MODEL_SECRET_KEYS_H

#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "store/db.h"

typedef struct {
    int64_t workspace, global, inbound, channel; /* values re-sealed (a channel's credentials are one value) */
    int64_t current;                             /* values already under the current key */
} secret_rotation;

/* Re-seal every stored value (workspace and global secrets, inbound secrets, channels' credentials) that is not
 * under the vault's current key, in one transaction that holds SECRET_LOCK exclusively (no secret is written
 * meanwhile): all of them or none. Each is opened with the key that sealed it (the vault's old key), so both must be
 * installed. A value that does not open stops the rotation with CL_INTERNAL naming where it is (never what it
 * holds); nothing changes.
 * Records secret.rotate in structure_events. */
cl_err secret_rotate(db_t *db, arena_t *a, secret_rotation *out, cl_error *err);

/* Seal, under the current key, every inbound secret stored in plaintext before migration 0023, and clear the
 * plaintext; one transaction. *sealed receives how many. */
cl_err secret_seal_plaintext(db_t *db, arena_t *a, int64_t *sealed, cl_error *err);

/* How many stored values this process cannot open for want of their key (*unreadable), and how many inbound
 * secrets are still plaintext (*plaintext). Each unknown key id is logged with its count. */
cl_err secret_key_census(db_t *db, arena_t *a, int64_t *unreadable, int64_t *plaintext, cl_error *err);

#endif
