/* seal.h - authenticated encryption of small secrets at rest: libsodium's XChaCha20-Poly1305 (IETF), a random
 * 192-bit nonce per value (random nonces of that size never repeat in practice, whatever the number of values or
 * nodes), associated data that binds a value to its place (a ciphertext copied to another row fails to open), and a
 * key id that names a key without revealing anything about it. Pure functions: keys are the caller's.
 *
 * A master key is 32 bytes, written as 64 hex digits or base64 (standard or URL-safe, padded or not). Three
 * independent subkeys are derived from it (libsodium's KDF): the AEAD key, a key for value fingerprints, and the
 * key id. A sealed value is nonce ‖ ciphertext ‖ tag. */
#ifndef COLONY_BASE_SEAL_H
#define COLONY_BASE_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

enum {
    SEAL_KEY_LEN = 32,
    SEAL_NONCE_LEN = 24,
    SEAL_TAG_LEN = 16,
    SEAL_OVERHEAD = SEAL_NONCE_LEN + SEAL_TAG_LEN, /* a sealed value is this much longer than its plaintext */
    SEAL_KEY_ID_LEN = 16,                          /* hex digits */
    SEAL_FINGERPRINT_LEN = 8,                      /* hex digits */
    SEAL_KEY_TEXT_MAX = 1024,                      /* a key file larger than this is not a key */
};

typedef struct {
    uint8_t enc[SEAL_KEY_LEN]; /* the AEAD key */
    uint8_t mac[SEAL_KEY_LEN]; /* keys value fingerprints */
    char id[SEAL_KEY_ID_LEN + 1];
} seal_key;

/* Derive a key from 32 master bytes. */
void seal_key_from_bytes(const uint8_t master[SEAL_KEY_LEN], seal_key *out);
/* Parse key text (surrounding whitespace ignored). CL_INVALID when it is not 32 bytes in hex or base64; the
 * message never repeats the text. */
cl_err seal_key_parse(const char *text, size_t len, seal_key *out, cl_error *err);
/* Read and parse a key file (a regular file of at most SEAL_KEY_TEXT_MAX bytes). CL_NOT_FOUND when it cannot be
 * opened; *shared (may be NULL) tells whether other users may read it. */
cl_err seal_key_read_file(const char *path, seal_key *out, bool *shared, cl_error *err);
/* 32 fresh random bytes as key text: base64, standard alphabet, padded (45 bytes with the NUL). */
enum { SEAL_KEY_TEXT_LEN = 44 };
void seal_key_generate(char out[SEAL_KEY_TEXT_LEN + 1]);
/* Zero a key's bytes. */
void seal_key_wipe(seal_key *k);

/* Seal `n` bytes of `plain` with associated data `ad` into `out` (n + SEAL_OVERHEAD bytes). */
void seal(const seal_key *k, const void *ad, size_t adlen, const void *plain, size_t n, uint8_t *out);
/* Open `n` sealed bytes into `out` (n - SEAL_OVERHEAD bytes). False — and `out` holds nothing — when the value was
 * altered, sealed under another key, or sealed with other associated data, or is too short to be a sealed value. */
bool seal_open(const seal_key *k, const void *ad, size_t adlen, const uint8_t *in, size_t n, uint8_t *out);

/* A keyed fingerprint of `p`: says whether two values are equal without letting anyone without the key test a
 * guess (lower-case hex). */
void seal_fingerprint(const seal_key *k, const void *p, size_t n, char out[SEAL_FINGERPRINT_LEN + 1]);

#endif
