/* test_seal.c - the crypto wrapper of secrets at rest: round trips, tampering, the wrong associated data or key,
 * rotation from one key to another, key text and key ids, keyed fingerprints. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/id.h"
#include "base/seal.h"

static const char HEX_A[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
static const char AD[] = "workspace\0"
                         "6f1c1d1e-0000-4000-8000-000000000001\0OPENAI_API_KEY";

static seal_key key_of(const char *text)
{
    seal_key k;
    cl_error e;
    assert_int_equal(seal_key_parse(text, strlen(text), &k, &e), CL_OK);
    return k;
}

static seal_key fresh_key(void)
{
    char text[SEAL_KEY_TEXT_LEN + 1];
    seal_key_generate(text);
    assert_int_equal(strlen(text), SEAL_KEY_TEXT_LEN);
    return key_of(text);
}

static void test_round_trip_with_a_fresh_nonce_each_time(void **state)
{
    (void)state;
    seal_key k = key_of(HEX_A);
    const char plain[] = "sk-live-0123456789";
    size_t n = sizeof(plain) - 1;
    uint8_t a[sizeof(plain) + SEAL_OVERHEAD], b[sizeof(plain) + SEAL_OVERHEAD], out[sizeof(plain)];
    seal(&k, AD, sizeof(AD), plain, n, a);
    seal(&k, AD, sizeof(AD), plain, n, b);
    assert_memory_not_equal(a, b, SEAL_NONCE_LEN); /* a random nonce per value */
    assert_memory_not_equal(a + SEAL_NONCE_LEN, b + SEAL_NONCE_LEN, n);
    assert_null(memmem(a, n + SEAL_OVERHEAD, plain, n)); /* nothing of the plaintext shows */
    assert_true(seal_open(&k, AD, sizeof(AD), a, n + SEAL_OVERHEAD, out));
    assert_memory_equal(out, plain, n);
    assert_true(seal_open(&k, AD, sizeof(AD), b, n + SEAL_OVERHEAD, out));
    assert_memory_equal(out, plain, n);
    uint8_t empty[SEAL_OVERHEAD];
    seal(&k, AD, sizeof(AD), "", 0, empty);
    assert_true(seal_open(&k, AD, sizeof(AD), empty, sizeof(empty), out));
}

static void test_any_altered_byte_fails(void **state)
{
    (void)state;
    seal_key k = key_of(HEX_A);
    const char plain[] = "hunter2";
    enum { N = sizeof(plain) - 1 + SEAL_OVERHEAD };
    uint8_t s[N], out[N];
    seal(&k, AD, sizeof(AD), plain, sizeof(plain) - 1, s);
    for (size_t i = 0; i < N; i++) { /* nonce, ciphertext and tag alike */
        for (int bit = 0; bit < 8; bit++) {
            s[i] ^= (uint8_t)(1u << bit);
            assert_false(seal_open(&k, AD, sizeof(AD), s, N, out));
            s[i] ^= (uint8_t)(1u << bit);
        }
    }
    assert_false(seal_open(&k, AD, sizeof(AD), s, N - 1, out)); /* cut short */
    assert_false(seal_open(&k, AD, sizeof(AD), s, SEAL_OVERHEAD - 1, out));
    assert_false(seal_open(&k, AD, sizeof(AD), s, 0, out));
    assert_true(seal_open(&k, AD, sizeof(AD), s, N, out));
}

static void test_other_associated_data_fails(void **state)
{
    (void)state;
    seal_key k = key_of(HEX_A);
    uint8_t s[5 + SEAL_OVERHEAD], out[5];
    seal(&k, AD, sizeof(AD), "value", 5, s);
    /* the same value moved to another workspace, another name, or another kind of place */
    static const char other_ws[] = "workspace\0"
                                   "6f1c1d1e-0000-4000-8000-000000000002\0OPENAI_API_KEY";
    static const char other_name[] = "workspace\0"
                                     "6f1c1d1e-0000-4000-8000-000000000001\0OPENAI_API_KEX";
    static const char global[] = "global\0\0OPENAI_API_KEY";
    assert_false(seal_open(&k, other_ws, sizeof(other_ws), s, sizeof(s), out));
    assert_false(seal_open(&k, other_name, sizeof(other_name), s, sizeof(s), out));
    assert_false(seal_open(&k, global, sizeof(global), s, sizeof(s), out));
    assert_false(seal_open(&k, AD, sizeof(AD) - 1, s, sizeof(s), out));
    assert_false(seal_open(&k, NULL, 0, s, sizeof(s), out));
    assert_true(seal_open(&k, AD, sizeof(AD), s, sizeof(s), out));
}

static void test_another_key_fails(void **state)
{
    (void)state;
    seal_key a = key_of(HEX_A), b = fresh_key();
    uint8_t s[5 + SEAL_OVERHEAD], out[5];
    seal(&a, AD, sizeof(AD), "value", 5, s);
    assert_false(seal_open(&b, AD, sizeof(AD), s, sizeof(s), out));
    assert_string_not_equal(a.id, b.id);
}

/* Rotation as the vault does it: open under the old key, seal under the new; afterwards only the new key opens. */
static void test_rotation_moves_a_value_to_the_new_key(void **state)
{
    (void)state;
    seal_key old = fresh_key(), new = fresh_key();
    const char plain[] = "rotate me";
    enum { P = sizeof(plain) - 1, S = P + SEAL_OVERHEAD };
    uint8_t s[S], moved[S], out[P];
    seal(&old, AD, sizeof(AD), plain, P, s);
    assert_true(seal_open(&old, AD, sizeof(AD), s, S, out));
    seal(&new, AD, sizeof(AD), out, P, moved);
    assert_false(seal_open(&old, AD, sizeof(AD), moved, S, out));
    assert_true(seal_open(&new, AD, sizeof(AD), moved, S, out));
    assert_memory_equal(out, plain, P);
    assert_false(seal_open(&new, AD, sizeof(AD), s, S, out)); /* the old value is not readable with the new key */
}

static void test_key_text_spellings(void **state)
{
    (void)state;
    /* the same 32 bytes in hex, base64 (padded or not), URL-safe base64, with whitespace around */
    seal_key hex = key_of(HEX_A);
    static const char *const same[] = {
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
        "  AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
        "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F\r\n"};
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        seal_key k = key_of(same[i]);
        assert_string_equal(k.id, hex.id);
        assert_memory_equal(k.enc, hex.enc, SEAL_KEY_LEN);
    }
    seal_key url = key_of("__________________________________________8"); /* 0xff… in URL-safe base64 */
    seal_key std = key_of("//////////////////////////////////////////8=");
    assert_string_equal(url.id, std.id);
    /* known answers, computed apart from libsodium's KDF (BLAKE2b keyed by the master key, salt = the subkey id,
     * personal = "colonysk"): the id is half of subkey 3 */
    assert_string_equal(hex.id, "5d9fb50d365178c7");
    assert_int_equal(strspn(hex.id, "0123456789abcdef"), SEAL_KEY_ID_LEN);
    /* the key id is derived, so it is stable, and it is not the key */
    assert_null(strstr(HEX_A, hex.id));
    assert_memory_not_equal(hex.enc, hex.mac, SEAL_KEY_LEN);
    static const char *const bad[] = {"",
                                      "   ",
                                      "short",
                                      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==",     /* 31 bytes */
                                      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gIQ==", /* 34 bytes */
                                      "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g",
                                      "0123456789abcdef0123456789abcdef", /* 32 raw characters: not a key here */
                                      "AAECAwQFBgcICQoLDA0O DxAREhMUFRYXGBkaGxwdHh8="};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        seal_key k;
        cl_error e;
        assert_int_equal(seal_key_parse(bad[i], strlen(bad[i]), &k, &e), CL_INVALID);
        if (bad[i][0] != '\0' && bad[i][0] != ' ')
            assert_null(strstr(e.msg, bad[i])); /* the text of a would-be key is never repeated */
    }
}

static void test_key_files(void **state)
{
    (void)state;
    char path[] = "/tmp/colony-seal-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", 45), 45);
    close(fd);
    seal_key k, hex = key_of(HEX_A);
    bool shared = true;
    cl_error e;
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(seal_key_read_file(path, &k, &shared, &e), CL_OK);
    assert_false(shared);
    assert_string_equal(k.id, hex.id);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(seal_key_read_file(path, &k, &shared, &e), CL_OK);
    assert_true(shared);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("not a key", f);
    fclose(f);
    assert_int_equal(seal_key_read_file(path, &k, NULL, &e), CL_INVALID);
    assert_null(strstr(e.msg, "not a key"));
    unlink(path);
    assert_int_equal(seal_key_read_file(path, &k, NULL, &e), CL_NOT_FOUND);
    assert_int_equal(seal_key_read_file("/tmp", &k, NULL, &e), CL_INVALID);
}

static void test_fingerprints_are_keyed(void **state)
{
    (void)state;
    seal_key a = key_of(HEX_A), b = fresh_key();
    char fa[SEAL_FINGERPRINT_LEN + 1], fa2[SEAL_FINGERPRINT_LEN + 1], fb[SEAL_FINGERPRINT_LEN + 1],
        other[SEAL_FINGERPRINT_LEN + 1];
    seal_fingerprint(&a, "hunter2", 7, fa);
    seal_fingerprint(&a, "hunter2", 7, fa2);
    seal_fingerprint(&b, "hunter2", 7, fb);
    seal_fingerprint(&a, "hunter3", 7, other);
    assert_string_equal(fa, "ac261b64"); /* BLAKE2b-128 keyed by subkey 2, its first four bytes */
    assert_string_equal(fa, fa2);
    assert_string_not_equal(fa, fb);
    assert_string_not_equal(fa, other);
}

int main(void)
{
    if (!id_init())
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_with_a_fresh_nonce_each_time),
        cmocka_unit_test(test_any_altered_byte_fails),
        cmocka_unit_test(test_other_associated_data_fails),
        cmocka_unit_test(test_another_key_fails),
        cmocka_unit_test(test_rotation_moves_a_value_to_the_new_key),
        cmocka_unit_test(test_key_text_spellings),
        cmocka_unit_test(test_key_files),
        cmocka_unit_test(test_fingerprints_are_keyed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
