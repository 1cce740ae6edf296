/* test_budget.c - the pure halves of budgets and token usage: which periods a spend has reached (a limit of 0 at
 * once, in period order), the usage a reply reports (result.usage before a top-level usage, clamped, both zero is
 * none), its cost, and the UTC day it counts in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "model/budget.h"
#include "model/usage.h"

static void test_exceeded(void **state)
{
    (void)state;
    const char *out[BUDGET_PERIODS];
    budget_limits none = {0};
    double spend[BUDGET_PERIODS] = {1e9, 1e9, 1e9, 1e9};
    assert_int_equal(budget_exceeded(&none, spend, out), 0);
    budget_limits l = {.set = {true, true, false, true}, .cents = {0, 400, 0, 300}};
    double some[BUDGET_PERIODS] = {0, 3999999, 0, 3000000}; /* micro-USD: 0 c, 399.9999 c, -, 300 c */
    assert_int_equal(budget_exceeded(&l, some, out), 2);
    assert_string_equal(out[0], "hourly"); /* 0 blocks at once */
    assert_string_equal(out[1], "monthly");
    some[1] = 4000000;
    assert_int_equal(budget_exceeded(&l, some, out), 3);
    assert_string_equal(out[1], "daily");
}

static void usage_of(const char *body, bool found, int64_t in, int64_t out)
{
    int64_t i = -1, o = -1;
    assert_int_equal(usage_from_reply(body, body ? strlen(body) : 0, &i, &o), found);
    assert_int_equal(i, in);
    assert_int_equal(o, out);
}

static void test_usage(void **state)
{
    (void)state;
    usage_of("{\"result\":{\"usage\":{\"input_tokens\":12,\"output_tokens\":34}},\"usage\":{\"input_tokens\":1}}",
             true, 12, 34);
    usage_of("{\"result\":{},\"usage\":{\"input_tokens\":5}}", true, 5, 0);
    usage_of("{\"result\":{\"usage\":{\"input_tokens\":0,\"output_tokens\":0}}}", false, 0, 0);
    usage_of("{\"result\":{\"usage\":{\"input_tokens\":-4,\"output_tokens\":1e12}}}", true, 0, USAGE_TOKENS_MAX);
    usage_of("{\"result\":{\"usage\":{\"input_tokens\":\"9\",\"output_tokens\":2.9}}}", true, 0, 2);
    usage_of("{\"result\":{\"usage\":\"lots\"}}", false, 0, 0);
    usage_of("not json", false, 0, 0);
    usage_of("[1]", false, 0, 0);
    usage_of(NULL, false, 0, 0);
    assert_int_equal(usage_cost_micro(1000, 2000), 33000);
    assert_int_equal(usage_day_start(1776412800000LL + 3600000), 1776384000000LL); /* 2026-04-17T00:00:00Z */
    assert_int_equal(usage_day_start(1776384000000LL), 1776384000000LL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_exceeded), cmocka_unit_test(test_usage)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
