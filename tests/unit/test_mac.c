/* test_mac.c - the keyed hashes of base/mac: HMAC-SHA256 and PBKDF2-HMAC-SHA256 against published vectors
 * (RFC 4231 style, RFC 7914 §11), and the hex form; the checks of others' signatures: constant-time equality, hex
 * decoding, Ed25519 against RFC 8032 §7.1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "base/id.h"
#include "base/mac.h"

static void test_hmac(void **state)
{
    (void)state;
    char hex[MAC_HEX_LEN + 1];
    const char *msg = "The quick brown fox jumps over the lazy dog";
    mac_hmac_sha256_hex("key", 3, msg, strlen(msg), hex);
    assert_string_equal(hex, "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
}

static void test_pbkdf2(void **state)
{
    (void)state;
    uint8_t out[MAC_LEN];
    char hex[MAC_HEX_LEN + 1];
    assert_true(mac_pbkdf2_sha256("passwd", 6, "salt", 4, 1, out, sizeof(out)));
    mac_hex(out, sizeof(out), hex);
    assert_string_equal(hex, "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc");
    assert_true(mac_pbkdf2_sha256("Password", 8, "NaCl", 4, 80000, out, sizeof(out)));
    mac_hex(out, sizeof(out), hex);
    assert_string_equal(hex, "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56");
    assert_false(mac_pbkdf2_sha256("p", 1, "s", 1, 0, out, sizeof(out))); /* no iterations is no key */
}

static void test_wipe(void **state)
{
    (void)state;
    char secret[8] = "hunter2";
    mac_wipe(secret, sizeof(secret));
    for (size_t i = 0; i < sizeof(secret); i++)
        assert_int_equal(secret[i], 0);
}

static void test_hmac_parts(void **state)
{
    (void)state;
    const char *msg = "The quick brown fox jumps over the lazy dog";
    const void *parts[] = {msg, msg + 10, msg + 10};
    size_t lens[] = {10, 0, strlen(msg) - 10};
    uint8_t raw[MAC_LEN];
    char hex[MAC_HEX_LEN + 1];
    mac_hmac_sha256_parts("key", 3, parts, lens, 3, raw);
    mac_hex(raw, sizeof(raw), hex);
    assert_string_equal(hex, "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
}

static void test_unhex_and_equal(void **state)
{
    (void)state;
    uint8_t out[3];
    assert_true(mac_unhex("00aFff", 6, out, 3));
    assert_int_equal(out[0], 0x00);
    assert_int_equal(out[1], 0xaf);
    assert_int_equal(out[2], 0xff);
    assert_false(mac_unhex("00aF", 4, out, 3));    /* too short */
    assert_false(mac_unhex("00aFfg", 6, out, 3));  /* not a digit */
    assert_false(mac_unhex("00 Fff", 6, out, 3));
    assert_false(mac_unhex(NULL, 0, out, 0));
    assert_true(mac_equal_str("secret", 6, "secret", 6));
    assert_false(mac_equal_str("secret", 6, "secreT", 6));
    assert_false(mac_equal_str("secret", 6, "secret!", 7));
    assert_false(mac_equal_str("", 0, NULL, 0));
    assert_true(mac_equal_str("", 0, "", 0));
}

/* RFC 8032 §7.1, tests 1 and 2. */
static void test_ed25519(void **state)
{
    (void)state;
    uint8_t pk[MAC_ED25519_PK_LEN], sig[MAC_ED25519_SIG_LEN];
    assert_true(mac_unhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", 64, pk, sizeof(pk)));
    assert_true(mac_unhex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701"
                          "cf9b46bd25bf5f0595bbe24655141438e7a100b",
                          128, sig, sizeof(sig)));
    assert_true(mac_ed25519_verify(sig, "", 0, "", 0, pk));
    assert_false(mac_ed25519_verify(sig, "x", 1, "", 0, pk));
    assert_true(mac_unhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", 64, pk, sizeof(pk)));
    assert_true(mac_unhex("92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d"
                          "0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
                          128, sig, sizeof(sig)));
    assert_true(mac_ed25519_verify(sig, "\x72", 1, "", 0, pk));
    assert_true(mac_ed25519_verify(sig, "", 0, "\x72", 1, pk));
    assert_false(mac_ed25519_verify(sig, "\x73", 1, "", 0, pk));
    sig[0] ^= 1;
    assert_false(mac_ed25519_verify(sig, "\x72", 1, "", 0, pk));
}

int main(void)
{
    assert_true(id_init());
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_hmac), cmocka_unit_test(test_pbkdf2),
                                       cmocka_unit_test(test_wipe), cmocka_unit_test(test_hmac_parts),
                                       cmocka_unit_test(test_unhex_and_equal), cmocka_unit_test(test_ed25519)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
