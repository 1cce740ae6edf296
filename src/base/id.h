/* id.h - identifiers and secrets from libsodium's CSPRNG: UUIDv4 resource ids, 32-byte base64url tokens, SHA-256
 * token hashes, constant-time comparison. Call id_init() once before any other function. */
#ifndef COLONY_BASE_ID_H
#define COLONY_BASE_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    ID_UUID_LEN = 36,   /* 8-4-4-4-12 hex, lower case */
    ID_TOKEN_LEN = 43,  /* 32 random bytes, base64url without padding */
    ID_SHA256_LEN = 32, /* raw digest bytes */
    ID_TOKEN_PREFIX_LEN = 8,
};

/* Initialise libsodium; false if it cannot be. */
bool id_init(void);
/* A random UUIDv4 into out (ID_UUID_LEN + 1 bytes, NUL-terminated). */
void id_uuid4(char out[ID_UUID_LEN + 1]);
/* True for the textual form of an RFC 4122 UUID of any version (1-5), either case. */
bool id_is_uuid(const char *s, size_t len);
/* Lower-case the hex digits of a UUID in place (ids are stored canonical, lower-case). Returns s. */
char *id_lower(char *s);
/* A fresh bearer token (ID_TOKEN_LEN + 1 bytes, NUL-terminated). */
void id_token(char out[ID_TOKEN_LEN + 1]);
/* SHA-256 of (p, n). */
void id_sha256(const void *p, size_t n, uint8_t out[ID_SHA256_LEN]);
/* Constant-time equality of two equal-length byte strings. */
bool id_equal(const void *a, const void *b, size_t n);
/* Fill `p` with `n` random bytes. */
void id_random(void *p, size_t n);

#endif
