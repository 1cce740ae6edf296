/* mac.h - keyed hashes for records that must prove they were not changed: HMAC-SHA256 (libsodium) and the
 * PBKDF2-HMAC-SHA256 derivation of a key from a passphrase (OpenSSL), with lower-case hex output. */
#ifndef COLONY_BASE_MAC_H
#define COLONY_BASE_MAC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    MAC_LEN = 32,      /* HMAC-SHA256 and derived key bytes */
    MAC_HEX_LEN = 64,  /* their hex form, without the NUL */
};

/* HMAC-SHA256 of (msg, len) under a key of any length. */
void mac_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t len, uint8_t out[MAC_LEN]);
/* The same, as lower-case hex (MAC_HEX_LEN + 1 bytes, NUL-terminated). */
void mac_hmac_sha256_hex(const void *key, size_t key_len, const void *msg, size_t len, char out[MAC_HEX_LEN + 1]);
/* PBKDF2-HMAC-SHA256 (RFC 8018) of a passphrase and salt into out_len bytes; false if it cannot be computed. */
bool mac_pbkdf2_sha256(const void *pass, size_t pass_len, const void *salt, size_t salt_len, unsigned iterations,
                       uint8_t *out, size_t out_len);
/* Lower-case hex of n bytes into out (2n + 1 bytes, NUL-terminated). */
void mac_hex(const uint8_t *p, size_t n, char *out);
/* Overwrite n bytes so that a secret does not linger in memory. */
void mac_wipe(void *p, size_t n);

#endif
