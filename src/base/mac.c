/* mac.c - see mac.h. */
#include "base/mac.h"

#include <openssl/evp.h>
#include <sodium.h>

void mac_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t len, uint8_t out[MAC_LEN])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, key_len);
    crypto_auth_hmacsha256_update(&st, msg, len);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof(st));
}

void mac_hmac_sha256_hex(const void *key, size_t key_len, const void *msg, size_t len, char out[MAC_HEX_LEN + 1])
{
    uint8_t raw[MAC_LEN];
    mac_hmac_sha256(key, key_len, msg, len, raw);
    mac_hex(raw, sizeof(raw), out);
}

bool mac_pbkdf2_sha256(const void *pass, size_t pass_len, const void *salt, size_t salt_len, unsigned iterations,
                       uint8_t *out, size_t out_len)
{
    if (pass_len > INT32_MAX || salt_len > INT32_MAX || out_len > INT32_MAX || iterations == 0 ||
        iterations > INT32_MAX)
        return false;
    return PKCS5_PBKDF2_HMAC(pass, (int)pass_len, salt, (int)salt_len, (int)iterations, EVP_sha256(), (int)out_len,
                             out) == 1;
}

void mac_hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 0x0F];
    }
    out[2 * n] = '\0';
}

void mac_wipe(void *p, size_t n) { sodium_memzero(p, n); }
