/* seal.c - see seal.h. */
#include "base/seal.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

_Static_assert(SEAL_KEY_LEN == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "AEAD key size");
_Static_assert(SEAL_NONCE_LEN == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "AEAD nonce size");
_Static_assert(SEAL_TAG_LEN == crypto_aead_xchacha20poly1305_ietf_ABYTES, "AEAD tag size");
_Static_assert(SEAL_KEY_LEN == crypto_kdf_KEYBYTES, "KDF key size");
_Static_assert(SEAL_KEY_LEN >= crypto_kdf_BYTES_MIN && SEAL_KEY_LEN <= crypto_kdf_BYTES_MAX, "KDF subkey size");
_Static_assert(SEAL_KEY_ID_LEN / 2 <= crypto_kdf_BYTES_MIN, "key id size");

/* Subkey ids under one KDF context: each use of the master key gets its own key. */
static const char KDF_CONTEXT[crypto_kdf_CONTEXTBYTES] = {'c', 'o', 'l', 'o', 'n', 'y', 's', 'k'};
enum { SUBKEY_ENC = 1, SUBKEY_MAC = 2, SUBKEY_ID = 3 };

void seal_key_from_bytes(const uint8_t master[SEAL_KEY_LEN], seal_key *out)
{
    uint8_t id[crypto_kdf_BYTES_MIN]; /* the KDF's shortest output; the id shows half of it */
    crypto_kdf_derive_from_key(out->enc, sizeof(out->enc), SUBKEY_ENC, KDF_CONTEXT, master);
    crypto_kdf_derive_from_key(out->mac, sizeof(out->mac), SUBKEY_MAC, KDF_CONTEXT, master);
    crypto_kdf_derive_from_key(id, sizeof(id), SUBKEY_ID, KDF_CONTEXT, master);
    sodium_bin2hex(out->id, sizeof(out->id), id, SEAL_KEY_ID_LEN / 2);
}

static bool decode(const char *t, size_t n, uint8_t key[SEAL_KEY_LEN])
{
    size_t got = 0;
    if (n == 2 * SEAL_KEY_LEN) /* 64 characters of base64 would be 48 bytes: hex is the only reading */
        return sodium_hex2bin(key, SEAL_KEY_LEN, t, n, NULL, &got, NULL) == 0 && got == SEAL_KEY_LEN;
    static const int variants[] = {sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
                                   sodium_base64_VARIANT_URLSAFE, sodium_base64_VARIANT_URLSAFE_NO_PADDING};
    uint8_t buf[SEAL_KEY_LEN + 3];
    for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
        const char *end = NULL;
        if (sodium_base642bin(buf, sizeof(buf), t, n, NULL, &got, &end, variants[i]) == 0 && end == t + n &&
            got == SEAL_KEY_LEN) {
            memcpy(key, buf, SEAL_KEY_LEN);
            sodium_memzero(buf, sizeof(buf));
            return true;
        }
    }
    sodium_memzero(buf, sizeof(buf));
    return false;
}

static bool space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

cl_err seal_key_parse(const char *text, size_t len, seal_key *out, cl_error *err)
{
    while (len > 0 && space(text[0]))
        text++, len--;
    while (len > 0 && space(text[len - 1]))
        len--;
    uint8_t master[SEAL_KEY_LEN];
    if (!decode(text, len, master))
        return cl_fail(err, CL_INVALID,
                       "a secrets key is 32 random bytes, written as 64 hex digits or in base64 "
                       "(e.g. `head -c 32 /dev/urandom | base64`)");
    seal_key_from_bytes(master, out);
    sodium_memzero(master, sizeof(master));
    return CL_OK;
}

cl_err seal_key_read_file(const char *path, seal_key *out, bool *shared, cl_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cl_fail(err, CL_NOT_FOUND, "cannot open the secrets key file %s: %s", path, strerror(errno));
    struct stat sb;
    char buf[SEAL_KEY_TEXT_MAX + 1];
    ssize_t n = -1;
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode))
        n = read(fd, buf, sizeof(buf));
    close(fd);
    if (n < 0 || n > SEAL_KEY_TEXT_MAX)
        return cl_fail(err, CL_INVALID, "the secrets key file %s is not a regular file of at most %d bytes", path,
                       SEAL_KEY_TEXT_MAX);
    if (shared != NULL)
        *shared = (sb.st_mode & (S_IRWXG | S_IRWXO)) != 0;
    cl_err e = seal_key_parse(buf, (size_t)n, out, err);
    sodium_memzero(buf, sizeof(buf));
    if (e != CL_OK)
        cl_fail(err, e,
                "the secrets key file %s does not hold a key: it must be 32 random bytes, as 64 hex digits or "
                "in base64",
                path);
    return e;
}

void seal_key_generate(char out[SEAL_KEY_TEXT_LEN + 1])
{
    uint8_t master[SEAL_KEY_LEN];
    randombytes_buf(master, sizeof(master));
    sodium_bin2base64(out, SEAL_KEY_TEXT_LEN + 1, master, sizeof(master), sodium_base64_VARIANT_ORIGINAL);
    sodium_memzero(master, sizeof(master));
}

void seal_key_wipe(seal_key *k)
{
    sodium_memzero(k, sizeof(*k));
}

void seal(const seal_key *k, const void *ad, size_t adlen, const void *plain, size_t n, uint8_t *out)
{
    randombytes_buf(out, SEAL_NONCE_LEN);
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + SEAL_NONCE_LEN, NULL, plain, n, ad, adlen, NULL, out, k->enc);
}

bool seal_open(const seal_key *k, const void *ad, size_t adlen, const uint8_t *in, size_t n, uint8_t *out)
{
    if (n < SEAL_OVERHEAD)
        return false;
    return crypto_aead_xchacha20poly1305_ietf_decrypt(out, NULL, NULL, in + SEAL_NONCE_LEN, n - SEAL_NONCE_LEN, ad,
                                                      adlen, in, k->enc) == 0;
}

void seal_fingerprint(const seal_key *k, const void *p, size_t n, char out[SEAL_FINGERPRINT_LEN + 1])
{
    uint8_t h[crypto_generichash_BYTES_MIN];
    crypto_generichash(h, sizeof(h), p, n, k->mac, sizeof(k->mac));
    sodium_bin2hex(out, SEAL_FINGERPRINT_LEN + 1, h, SEAL_FINGERPRINT_LEN / 2);
}
