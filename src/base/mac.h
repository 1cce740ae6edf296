/* mac.h - keyed hashes for records that must prove they were not changed: HMAC-SHA256 (libsodium) and the
 * PBKDF2-HMAC-SHA256 derivation of a key from a passphrase (OpenSSL), with lower-case hex output; and the checks of
 * what others signed: constant-time comparison, Ed25519 signatures (libsodium). */
#ifndef COLONY_BASE_MAC_H
#define COLONY_BASE_MAC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    MAC_LEN = 32,      /* HMAC-SHA256 and derived key bytes */
    MAC_HEX_LEN = 64,  /* their hex form, without the NUL */
    MAC_ED25519_PK_LEN = 32,
    MAC_ED25519_SIG_LEN = 64,
};

/* HMAC-SHA256 of (msg, len) under a key of any length. */
void mac_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t len, uint8_t out[MAC_LEN]);
/* The same, as lower-case hex (MAC_HEX_LEN + 1 bytes, NUL-terminated). */
void mac_hmac_sha256_hex(const void *key, size_t key_len, const void *msg, size_t len, char out[MAC_HEX_LEN + 1]);
/* HMAC-SHA256 of the concatenation of n parts (a signed string built of a prefix and a large body needs no copy). */
void mac_hmac_sha256_parts(const void *key, size_t key_len, const void *const *parts, const size_t *lens, size_t n,
                           uint8_t out[MAC_LEN]);
/* PBKDF2-HMAC-SHA256 (RFC 8018) of a passphrase and salt into out_len bytes; false if it cannot be computed. */
bool mac_pbkdf2_sha256(const void *pass, size_t pass_len, const void *salt, size_t salt_len, unsigned iterations,
                       uint8_t *out, size_t out_len);
/* Lower-case hex of n bytes into out (2n + 1 bytes, NUL-terminated). */
void mac_hex(const uint8_t *p, size_t n, char *out);
/* Decode exactly out_len bytes from 2 * out_len hex digits (either case); false for anything else. */
bool mac_unhex(const char *hex, size_t hex_len, uint8_t *out, size_t out_len);
/* Are two strings equal? The time taken does not depend on where they differ (it may on their lengths). */
bool mac_equal_str(const char *a, size_t a_len, const char *b, size_t b_len);
/* Does `sig` sign (msg, len) under the Ed25519 public key `pk`? Two message parts, verified as their
 * concatenation (a timestamp and a body, say; the second may be empty). */
bool mac_ed25519_verify(const uint8_t sig[MAC_ED25519_SIG_LEN], const void *part1, size_t len1, const void *part2,
                        size_t len2, const uint8_t pk[MAC_ED25519_PK_LEN]);
/* Overwrite n bytes so that a secret does not linger in memory. */
void mac_wipe(void *p, size_t n);

#endif
