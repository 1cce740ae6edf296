/* test_log.c - a log record is one line whatever its fields hold. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"

/* Run one log_warn with stderr on a pipe and return what it wrote. */
static size_t capture(char *out, size_t cap, const char *value)
{
    int p[2], saved = dup(STDERR_FILENO);
    assert_int_equal(pipe(p), 0);
    dup2(p[1], STDERR_FILENO);
    log_warn("a tool call failed", "error=\"%s\" code=%d", value, 7);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(p[1]);
    ssize_t n = read(p[0], out, cap - 1);
    close(p[0]);
    assert_true(n > 0);
    out[n] = '\0';
    return (size_t)n;
}

static void test_a_value_cannot_start_a_record(void **state)
{
    (void)state;
    char got[8192];
    size_t n = capture(got, sizeof(got), "x\nts=2026-12-01T00:00:00.000Z level=error msg=\"FORGED\"\r\x01\x7f");
    assert_int_equal(got[n - 1], '\n');
    assert_null(memchr(got, '\n', n - 1)); /* one line */
    assert_null(memchr(got, '\r', n));
    assert_non_null(
        strstr(got, "error=\"x\\x0ats=2026-12-01T00:00:00.000Z level=error msg=\"FORGED\"\\x0d\\x01\\x7f\""));
    assert_non_null(strstr(got, " code=7\n"));
}

static void test_a_long_value_is_cut_into_one_line(void **state)
{
    (void)state;
    char value[10000], got[16384];
    memset(value, '\n', sizeof(value) - 1);
    value[sizeof(value) - 1] = '\0';
    size_t n = capture(got, sizeof(got), value);
    assert_true(n <= 4096);
    assert_int_equal(got[n - 1], '\n');
    assert_null(memchr(got, '\n', n - 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_value_cannot_start_a_record),
        cmocka_unit_test(test_a_long_value_is_cut_into_one_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
