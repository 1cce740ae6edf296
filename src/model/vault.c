/* vault.c - see vault.h. */
#include "model/vault.h"

#include <string.h>

static seal_key keys[2]; /* current, old */
static bool have[2];

void vault_set_keys(const seal_key *current, const seal_key *old)
{
    const seal_key *given[2] = {current, old};
    for (int i = 0; i < 2; i++) {
        seal_key_wipe(&keys[i]);
        have[i] = given[i] != NULL;
        if (have[i])
            keys[i] = *given[i];
    }
}

bool vault_ready(void)
{
    return have[0];
}

const char *vault_key_id(void)
{
    return have[0] ? keys[0].id : NULL;
}

static const seal_key *key_by_id(const char *id)
{
    for (int i = 0; i < 2; i++)
        if (have[i] && id != NULL && strcmp(keys[i].id, id) == 0)
            return &keys[i];
    return NULL;
}

bool vault_knows(const char *key_id)
{
    return key_by_id(key_id) != NULL;
}

cl_err vault_require(cl_error *err)
{
    if (have[0])
        return CL_OK;
    return cl_fail_code(
        err, CL_UNAVAILABLE, "secrets_key_missing",
        "colony has no secrets key, so it stores no secrets (it never stores them in plaintext): set "
        "COLONY_SECRETS_KEY or --secrets-key-file and restart");
}

/* "colony/2\0<place>\0<scope>\0<name>": no part holds a NUL, so two places never share associated data. */
static const char *associated(arena_t *a, vault_place p, const char *scope, const char *name, size_t *len)
{
    static const char *const places[] = {"workspace", "global", "inbound", "channel"};
    const char *parts[] = {"colony/2", places[p], scope ? scope : "", name ? name : ""};
    size_t n = 0;
    for (int i = 0; i < 4; i++)
        n += strlen(parts[i]) + 1;
    char *ad = arena_alloc(a, n), *o = ad;
    for (int i = 0; i < 4; i++) {
        size_t k = strlen(parts[i]) + 1;
        memcpy(o, parts[i], k);
        o += k;
    }
    *len = n;
    return ad;
}

cl_err vault_seal(arena_t *a, vault_place p, const char *scope, const char *name, const char *plain, size_t n,
                  vault_sealed *out, cl_error *err)
{
    cl_err e = vault_require(err);
    if (e != CL_OK)
        return e;
    size_t adlen;
    const char *ad = associated(a, p, scope, name, &adlen);
    uint8_t *bytes = arena_alloc(a, n + SEAL_OVERHEAD);
    seal(&keys[0], ad, adlen, plain, n, bytes);
    *out = (vault_sealed){bytes, n + SEAL_OVERHEAD, keys[0].id};
    return CL_OK;
}

bool vault_open(arena_t *a, vault_place p, const char *scope, const char *name, const vault_sealed *in,
                char **plain, size_t *n)
{
    const seal_key *k = key_by_id(in->key_id);
    if (k == NULL || in->bytes == NULL || in->len < SEAL_OVERHEAD)
        return false;
    size_t adlen;
    const char *ad = associated(a, p, scope, name, &adlen);
    char *out = arena_alloc(a, in->len - SEAL_OVERHEAD + 1);
    if (!seal_open(k, ad, adlen, in->bytes, in->len, (uint8_t *)out))
        return false;
    out[in->len - SEAL_OVERHEAD] = '\0';
    *plain = out;
    *n = in->len - SEAL_OVERHEAD;
    return true;
}

void vault_fingerprint(const char *p, size_t n, char out[SEAL_FINGERPRINT_LEN + 1])
{
    out[0] = '\0';
    if (have[0])
        seal_fingerprint(&keys[0], p, n, out);
}
