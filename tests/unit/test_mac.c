/* test_mac.c - the keyed hashes of base/mac: HMAC-SHA256 and PBKDF2-HMAC-SHA256 against published vectors
 * (RFC 4231 style, RFC 7914 §11), and the hex form. */
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

int main(void)
{
    assert_true(id_init());
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_hmac), cmocka_unit_test(test_pbkdf2),
                                       cmocka_unit_test(test_wipe)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
