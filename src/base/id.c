/* id.c - see id.h. */
#include "base/id.h"

#include <sodium.h>
#include <stdio.h>

bool id_init(void) { return sodium_init() >= 0; }

void id_random(void *p, size_t n) { randombytes_buf(p, n); }

void id_uuid4(char out[ID_UUID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t b[16];
    randombytes_buf(b, sizeof(b));
    b[6] = (uint8_t)((b[6] & 0x0F) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3F) | 0x80); /* RFC 4122 variant */
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 0x0F];
    }
    out[o] = '\0';
}

static bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

bool id_is_uuid(const char *s, size_t len)
{
    if (len != ID_UUID_LEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return false;
        } else if (!is_hex(s[i])) {
            return false;
        }
    }
    return true;
}

char *id_lower(char *s)
{
    for (char *c = s; *c; c++)
        if (*c >= 'A' && *c <= 'F')
            *c = (char)(*c + ('a' - 'A'));
    return s;
}

void id_token(char out[ID_TOKEN_LEN + 1])
{
    uint8_t b[32];
    randombytes_buf(b, sizeof(b));
    sodium_bin2base64(out, ID_TOKEN_LEN + 1, b, sizeof(b), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(b, sizeof(b));
}

void id_sha256(const void *p, size_t n, uint8_t out[ID_SHA256_LEN]) { crypto_hash_sha256(out, p, n); }

bool id_equal(const void *a, const void *b, size_t n) { return sodium_memcmp(a, b, n) == 0; }
