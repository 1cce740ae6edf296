/* test_audit.c - the audit ledger's canonical text and HMAC (workspaces.md §7): keys sorted, nulls as null, the
 * timestamp in whole UTC seconds, strings escaped as Go's encoding/json does; the expected values were computed
 * independently (Python's json and hmac modules, with Go's extra escapes applied). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "base/id.h"
#include "model/audit.h"

static audit_event sample(void)
{
    return (audit_event){.timestamp = 1776412800000LL, /* 2026-04-17T08:00:00Z */
                         .id = "e-1",
                         .agent_id = "a<g>&\xE2\x80\xA8\n\"\\\b\f\x01",
                         .session_id = "s",
                         .operation = "llm_call",
                         .output_hash = "abababababababababababababababababababababababababababababababab",
                         .model_used = "m",
                         .human_oversight_flag = true};
}

static void test_canonical(void **state)
{
    (void)state;
    arena_t *a = arena_new();
    audit_event ev = sample();
    assert_string_equal(audit_canonical(a, &ev),
                        "{\"agent_id\":\"a\\u003cg\\u003e\\u0026\\u2028\\n\\\"\\\\\\b\\f\\u0001\","
                        "\"human_oversight_flag\":true,\"id\":\"e-1\",\"input_hash\":null,\"model_used\":\"m\","
                        "\"operation\":\"llm_call\",\"output_hash\":"
                        "\"abababababababababababababababababababababababababababababababab\",\"prev_hmac\":null,"
                        "\"risk_flag\":false,\"session_id\":\"s\",\"timestamp\":\"2026-04-17T08:00:00Z\"}");
    ev.timestamp += 750; /* a fraction is not part of what is signed */
    assert_non_null(strstr(audit_canonical(a, &ev), "\"timestamp\":\"2026-04-17T08:00:00Z\""));
    arena_free(a);
}

static void test_hmac(void **state)
{
    (void)state;
    uint8_t key[MAC_LEN];
    for (int i = 0; i < MAC_LEN; i++)
        key[i] = (uint8_t)i;
    arena_t *a = arena_new();
    audit_event ev = sample();
    char mac[MAC_HEX_LEN + 1];
    audit_hmac(key, a, &ev, mac);
    assert_string_equal(mac, "96f434529066969f56656fb2e1e14f6b9b1b9dddc923937084edffb76e16f68f");
    ev.risk_flag = true; /* any field changes it */
    char other[MAC_HEX_LEN + 1];
    audit_hmac(key, a, &ev, other);
    assert_string_not_equal(mac, other);
    arena_free(a);
}

static void test_key(void **state)
{
    (void)state;
    assert_false(audit_key_init("", 0));
    assert_false(audit_key_configured());
    assert_true(audit_key_init("pw", 2));
    assert_true(audit_key_configured());
}

int main(void)
{
    assert_true(id_init());
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_canonical), cmocka_unit_test(test_hmac),
                                       cmocka_unit_test(test_key)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
