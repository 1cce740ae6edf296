/* test_utf8.c - validation, and every truncation vector of shared/api/vectors.md §3.2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "base/utf8.h"

#define E UTF8_ELLIPSIS

static char out[1024];

static const char *cut_bytes(const char *s, long cap, bool marker)
{
    utf8_cut c = utf8_cut_bytes(s, strlen(s), cap, marker);
    memcpy(out, s, c.keep);
    strcpy(out + c.keep, c.marker ? E : "");
    assert_true(utf8_valid(out, strlen(out)));
    if (cap > 0)
        assert_true(strlen(out) <= (size_t)cap);
    return out;
}

static const char *cut_runes(const char *s, long cap)
{
    utf8_cut c = utf8_cut_runes(s, strlen(s), cap, true);
    memcpy(out, s, c.keep);
    strcpy(out + c.keep, c.marker ? E : "");
    return out;
}

static void test_bytes_with_marker(void **state)
{
    (void)state;
    assert_string_equal(cut_bytes("", 10, true), "");
    assert_string_equal(cut_bytes("hi", 10, true), "hi");
    assert_string_equal(cut_bytes("hello", 5, true), "hello");
    assert_string_equal(cut_bytes("你好", 10, true), "你好");
    assert_string_equal(cut_bytes("你好", 6, true), "你好");
    assert_string_equal(cut_bytes("abcdefghij", 6, true), "abc" E);
    assert_string_equal(cut_bytes("你好世界", 7, true), "你" E);
    assert_string_equal(cut_bytes("你好世界", 9, true), "你好" E);
    assert_string_equal(cut_bytes("😀😀😀", 7, true), "😀" E);
    assert_string_equal(cut_bytes("ab你好世界", 8, true), "ab你" E);
    assert_string_equal(cut_bytes("hello", 2, true), "");
    assert_string_equal(cut_bytes("hello", 0, true), "");
    assert_string_equal(cut_bytes("hello", -1, true), "");
    assert_string_equal(cut_bytes("hello", 3, true), E);
}

static void test_bytes_without_marker(void **state)
{
    (void)state;
    assert_string_equal(cut_bytes("abcdefghij", 5, false), "abcde");
    assert_string_equal(cut_bytes("你好世界", 6, false), "你好");
    assert_string_equal(cut_bytes("你好世界", 4, false), "你");
    assert_string_equal(cut_bytes("😀😀", 5, false), "😀");
    assert_string_equal(cut_bytes("你hello", 1, false), "");
    assert_string_equal(cut_bytes("hello", 0, false), "");
    assert_string_equal(cut_bytes("hello", -1, false), "");
    assert_string_equal(cut_bytes("hello", 9, false), "hello");
}

static void test_runes_with_marker(void **state)
{
    (void)state;
    assert_string_equal(cut_runes("abcdefghij", 5), "abcde" E);
    assert_string_equal(cut_runes("你好", 2), "你好");
    assert_string_equal(cut_runes("你好世界你好", 3), "你好世" E);
    assert_string_equal(cut_runes("😀😀😀😀😀", 2), "😀😀" E);
    assert_string_equal(cut_runes("ab你好世界", 3), "ab你" E);
    assert_string_equal(cut_runes("abc", 0), "");
    assert_string_equal(cut_runes("abc", -1), "");
}

static void test_scheduler_regression(void **state)
{
    (void)state;
    char s[300];
    memset(s, 'a', 195);
    strcpy(s + 195, E "xxx");
    const char *r = cut_bytes(s, 200, true);
    assert_true(strlen(r) <= 200);
    assert_true(utf8_valid(r, strlen(r)));
    /* no orphan lead byte before the marker */
    size_t n = strlen(r);
    assert_memory_equal(r + n - 3, E, 3);
    assert_true((unsigned char)r[n - 4] < 0x80);
}

static void test_sanitize(void **state)
{
    (void)state;
    const char bad[] = "hello \x80 world";
    char buf[64];
    size_t n = utf8_sanitize(bad, strlen(bad), buf);
    buf[n] = '\0';
    assert_string_equal(buf, "hello \xEF\xBF\xBD world");
    assert_true(utf8_valid(buf, n));
}

static void test_validation(void **state)
{
    (void)state;
    assert_true(utf8_valid("plain", 5));
    assert_true(utf8_valid("你好😀", strlen("你好😀")));
    assert_false(utf8_valid("\xC0\xAF", 2));         /* overlong '/' */
    assert_false(utf8_valid("\xE0\x80\xAF", 3));     /* overlong */
    assert_false(utf8_valid("\xED\xA0\x80", 3));     /* surrogate */
    assert_false(utf8_valid("\xF4\x90\x80\x80", 4)); /* above U+10FFFF */
    assert_false(utf8_valid("\xE4\xBD", 2));         /* truncated */
    assert_false(utf8_valid("a\xFF", 2));
    assert_int_equal(utf8_trim_incomplete("ab\xE4\xBD", 4), 2);
    assert_int_equal(utf8_trim_incomplete("ab\xE4\xBD\xA0", 5), 5);
    assert_int_equal(utf8_trim_incomplete("ab\xF0", 3), 2);
    assert_int_equal(utf8_trim_incomplete("abc", 3), 3);
    assert_int_equal(utf8_count("a你😀", strlen("a你😀")), 3);
}

static void test_cut_copy(void **state)
{
    (void)state;
    arena_t *a = arena_new();
    assert_null(utf8_cut_copy(a, NULL, 10, true));
    assert_string_equal(utf8_cut_copy(a, "short", 10, true), "short");
    /* "héllo wörld" cut to 8 bytes with the 3-byte marker: 5 bytes kept, never half of "é" */
    assert_string_equal(utf8_cut_copy(a, "h\xC3\xA9llo w\xC3\xB6rld", 8, true), "h\xC3\xA9ll" E);
    assert_string_equal(utf8_cut_copy(a, "h\xC3\xA9llo", 2, false), "h");
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes_with_marker), cmocka_unit_test(test_bytes_without_marker),
        cmocka_unit_test(test_runes_with_marker), cmocka_unit_test(test_scheduler_regression),
        cmocka_unit_test(test_sanitize),          cmocka_unit_test(test_validation),
        cmocka_unit_test(test_cut_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
