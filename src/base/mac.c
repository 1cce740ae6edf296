/* mac.c - see mac.h. */
#include "base/mac.h"

#include <openssl/evp.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"

void mac_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t len, uint8_t out[MAC_LEN])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, key_len);
    crypto_auth_hmacsha256_update(&st, msg, len);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof(st));
}

void mac_hmac_sha256_parts(const void *key, size_t key_len, const void *const *parts, const size_t *lens, size_t n,
                           uint8_t out[MAC_LEN])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, key_len);
    for (size_t i = 0; i < n; i++)
        crypto_auth_hmacsha256_update(&st, parts[i], lens[i]);
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

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

bool mac_unhex(const char *hex, size_t hex_len, uint8_t *out, size_t out_len)
{
    if (hex == NULL || hex_len != 2 * out_len)
        return false;
    for (size_t i = 0; i < out_len; i++) {
        int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

bool mac_equal_str(const char *a, size_t a_len, const char *b, size_t b_len)
{
    return a != NULL && b != NULL && a_len == b_len && (a_len == 0 || sodium_memcmp(a, b, a_len) == 0);
}

bool mac_ed25519_verify(const uint8_t sig[MAC_ED25519_SIG_LEN], const void *part1, size_t len1, const void *part2,
                        size_t len2, const uint8_t pk[MAC_ED25519_PK_LEN])
{
    if (len1 > SIZE_MAX - len2 - 1)
        return false;
    uint8_t *msg = xmalloc(len1 + len2 + 1);
    if (len1)
        memcpy(msg, part1, len1);
    if (len2)
        memcpy(msg + len1, part2, len2);
    bool ok = crypto_sign_ed25519_verify_detached(sig, msg, len1 + len2, pk) == 0;
    free(msg);
    return ok;
}

void mac_wipe(void *p, size_t n) { sodium_memzero(p, n); }
