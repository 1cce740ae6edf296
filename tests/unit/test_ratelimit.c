/* test_ratelimit.c - the per-key token bucket: burst, refill, independence of keys, a bounded table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "base/ratelimit.h"

static void key(uint8_t k[RATELIMIT_KEY_LEN], uint32_t n)
{
    memset(k, 0, RATELIMIT_KEY_LEN);
    memcpy(k + 1, &n, sizeof(n));
}

static void test_burst_then_refill(void **state)
{
    (void)state;
    ratelimit *r = ratelimit_new(64, 2); /* 2 a minute: one token every 30 s */
    uint8_t a[RATELIMIT_KEY_LEN], b[RATELIMIT_KEY_LEN];
    key(a, 1), key(b, 2);
    int64_t retry = 0;
    assert_true(ratelimit_take(r, a, 1000, NULL));
    assert_true(ratelimit_take(r, a, 1000, NULL));
    assert_false(ratelimit_take(r, a, 1000, &retry));
    assert_true(retry >= 30000 && retry <= 30001);
    assert_true(ratelimit_take(r, b, 1000, NULL)); /* another key has its own bucket */
    assert_false(ratelimit_take(r, a, 30999, &retry));
    assert_true(retry >= 1 && retry <= 2);
    assert_true(ratelimit_take(r, a, 31000, NULL));
    assert_false(ratelimit_take(r, a, 31000, NULL));
    assert_true(ratelimit_take(r, a, 10 * 60000, NULL)); /* refilled, but never past the burst */
    assert_true(ratelimit_take(r, a, 10 * 60000, NULL));
    assert_false(ratelimit_take(r, a, 10 * 60000, NULL));
    assert_false(ratelimit_take(r, a, 5000, NULL)); /* a clock that goes back refills nothing */
    ratelimit_free(r);
}

static void test_a_flood_of_keys_stays_bounded(void **state)
{
    (void)state;
    ratelimit *r = ratelimit_new(16, 1);
    uint8_t k[RATELIMIT_KEY_LEN];
    for (uint32_t i = 0; i < 100000; i++) { /* every new key fits in the fixed table by evicting the stalest */
        key(k, i);
        assert_true(ratelimit_take(r, k, i, NULL));
    }
    key(k, 99999);
    assert_false(ratelimit_take(r, k, 99999, NULL)); /* the most recent key is still remembered */
    ratelimit_free(r);
}

static void test_fixed_window(void **state)
{
    (void)state;
    ratelimit *r = ratelimit_new_window(64, 3, 60000);
    uint8_t a[RATELIMIT_KEY_LEN], b[RATELIMIT_KEY_LEN];
    key(a, 1), key(b, 2);
    ratelimit_window w;
    assert_true(ratelimit_take_window(r, a, 1000, 1, &w)); /* the window starts at the first request */
    assert_int_equal(w.remaining, 2);
    assert_int_equal(w.reset_ms, 60000);
    assert_false(ratelimit_take_window(r, a, 2000, 3, &w)); /* all or none */
    assert_int_equal(w.remaining, 2);
    assert_true(ratelimit_take_window(r, a, 2000, 2, &w));
    assert_int_equal(w.remaining, 0);
    assert_int_equal(w.reset_ms, 59000);
    assert_false(ratelimit_take_window(r, a, 60999, 1, &w));
    assert_int_equal(w.remaining, 0);
    assert_int_equal(w.reset_ms, 1);
    assert_true(ratelimit_take_window(r, b, 60999, 1, NULL)); /* another key has its own window */
    assert_true(ratelimit_take_window(r, a, 61000, 1, &w));  /* a new window */
    assert_int_equal(w.remaining, 2);
    assert_int_equal(w.reset_ms, 60000);
    assert_false(ratelimit_take_window(r, a, 61000, 0, NULL)); /* a cost must be at least one */
    ratelimit_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_refill),
        cmocka_unit_test(test_a_flood_of_keys_stays_bounded),
        cmocka_unit_test(test_fixed_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
