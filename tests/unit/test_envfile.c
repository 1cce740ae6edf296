/* test_envfile.c - the `.env` parser of org templates: the spellings it reads, what it refuses (by line, never
 * echoing the line), overrides, and the overlay of a node's file on the org's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "model/envfile.h"

static secret_pair *parse_ok(arena_t *a, const char *text, size_t *n)
{
    secret_pair *p;
    cl_error e;
    cl_err rc = envfile_parse(a, text, strlen(text), &p, n, &e);
    if (rc != CL_OK)
        fail_msg("refused: %s", e.msg);
    return p;
}

static const char *value_of(const secret_pair *p, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(p[i].name, name) == 0)
            return p[i].value;
    return NULL;
}

static void test_spellings(void **state)
{
    (void)state;
    arena_t *a = arena_new();
    size_t n;
    secret_pair *p = parse_ok(a,
                              "# comment\r\n"
                              "\n"
                              "   \t\n"
                              "PLAIN=abc\n"
                              "SPACED  =  two words  \n"
                              "export EXPORTED=x\n"
                              "COMMENTED=value # a comment\n"
                              "HASH=a#b\n"
                              "DQ=\"line\\none \\\"q\\\" \\\\ \\$HOME \\t end\"  # after\n"
                              "SQ='lit \\n $X \"'\n"
                              "CRLF=crlf\r\n"
                              "UTF8=héllo ✓\n"
                              "EQ=a=b=c\n"
                              "LAST=no newline",
                              &n);
    assert_int_equal(n, 11);
    assert_string_equal(p[0].name, "PLAIN"); /* first appearance order */
    assert_string_equal(value_of(p, n, "PLAIN"), "abc");
    assert_string_equal(value_of(p, n, "SPACED"), "two words");
    assert_string_equal(value_of(p, n, "EXPORTED"), "x");
    assert_string_equal(value_of(p, n, "COMMENTED"), "value");
    assert_string_equal(value_of(p, n, "HASH"), "a#b");
    assert_string_equal(value_of(p, n, "DQ"), "line\none \"q\" \\ $HOME \t end");
    assert_string_equal(value_of(p, n, "SQ"), "lit \\n $X \"");
    assert_string_equal(value_of(p, n, "CRLF"), "crlf");
    assert_string_equal(value_of(p, n, "UTF8"), "héllo ✓");
    assert_string_equal(value_of(p, n, "EQ"), "a=b=c");
    assert_string_equal(value_of(p, n, "LAST"), "no newline");
    assert_int_equal(p[5].len, strlen("line\none \"q\" \\ $HOME \t end"));
    arena_free(a);
}

static void test_later_lines_win_and_empty_values_unset(void **state)
{
    (void)state;
    arena_t *a = arena_new();
    size_t n;
    secret_pair *p = parse_ok(a, "A=1\nB=2\nA=3\nB=\nC=\"\"\nD=''\nE=#only a comment\n", &n);
    assert_int_equal(n, 1);
    assert_string_equal(p[0].name, "A");
    assert_string_equal(p[0].value, "3");
    arena_free(a);
}

static void test_refusals_name_the_line_not_its_text(void **state)
{
    (void)state;
    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"A=1\nlower=SECRETVALUE\n", "line 2: expected NAME=value"},
        {"1A=SECRETVALUE", "line 1: expected NAME=value"},
        {"JUSTANAME\n", "line 1: expected NAME=value"},
        {"A B=SECRETVALUE", "line 1: expected NAME=value"},
        {"A-B=SECRETVALUE", "line 1: expected NAME=value"},
        {"=SECRETVALUE", "line 1: expected NAME=value"},
        {"A=\"SECRETVALUE\n\"", "line 1: an unterminated quote"},
        {"A='SECRETVALUE", "line 1: an unterminated quote"},
        {"A=\"SECRET\\qVALUE\"", "line 1: an unterminated quote or an unknown escape"},
        {"A=\"SECRETVALUE\" trailing", "line 1: only a comment may follow a quoted value"},
        {"\n\nA=SECRET\xff"
         "VALUE",
         "line 3: a NUL or invalid UTF-8"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        arena_t *a = arena_new();
        secret_pair *p;
        size_t n;
        cl_error e;
        assert_int_equal(envfile_parse(a, bad[i].text, strlen(bad[i].text), &p, &n, &e), CL_INVALID);
        assert_non_null(strstr(e.msg, bad[i].msg));
        assert_null(strstr(e.msg, "SECRET"));
        arena_free(a);
    }
    arena_t *a = arena_new();
    secret_pair *p;
    size_t n;
    cl_error e;
    assert_int_equal(envfile_parse(a, "A=1\0B=2", 7, &p, &n, &e), CL_INVALID); /* a NUL inside */
    arena_free(a);
}

static void test_bounds(void **state)
{
    (void)state;
    arena_t *a = arena_new();
    secret_pair *p;
    size_t n;
    cl_error e;
    /* a value of SECRET_VALUE_MAX bytes passes, one more does not */
    size_t len = 2 + SECRET_VALUE_MAX + 1;
    char *text = arena_alloc(a, len + 2);
    memcpy(text, "A=", 2);
    memset(text + 2, 'v', SECRET_VALUE_MAX + 1);
    assert_int_equal(envfile_parse(a, text, len - 1, &p, &n, &e), CL_OK);
    assert_int_equal(p[0].len, SECRET_VALUE_MAX);
    assert_int_equal(envfile_parse(a, text, len, &p, &n, &e), CL_INVALID);
    assert_non_null(strstr(e.msg, "line 1: a value longer than"));
    /* SECRET_MAX_PER_SCOPE names pass, one more does not */
    size_t cap = (SECRET_MAX_PER_SCOPE + 1) * 16, used = 0;
    char *many = arena_alloc(a, cap);
    for (int i = 0; i <= SECRET_MAX_PER_SCOPE; i++)
        used += (size_t)snprintf(many + used, cap - used, "N%d=v\n", i);
    size_t without_last = used - strlen("N256=v\n");
    assert_int_equal(envfile_parse(a, many, without_last, &p, &n, &e), CL_OK);
    assert_int_equal(n, SECRET_MAX_PER_SCOPE);
    assert_int_equal(envfile_parse(a, many, used, &p, &n, &e), CL_TOO_LARGE);
    assert_int_equal(envfile_parse(a, many, ENVFILE_MAX + 1, &p, &n, &e), CL_TOO_LARGE);
    arena_free(a);
}

static void test_merge_overlays_by_name(void **state)
{
    (void)state;
    arena_t *a = arena_new();
    size_t nb, no, n;
    secret_pair *base = parse_ok(a, "A=org\nB=org\n", &nb), *over = parse_ok(a, "B=node\nC=node\n", &no);
    secret_pair *m = envfile_merge(a, base, nb, over, no, &n);
    assert_int_equal(n, 3);
    assert_string_equal(value_of(m, n, "A"), "org");
    assert_string_equal(value_of(m, n, "B"), "node");
    assert_string_equal(value_of(m, n, "C"), "node");
    m = envfile_merge(a, NULL, 0, NULL, 0, &n);
    assert_int_equal(n, 0);
    arena_free(a);
}

static void test_expand_replaces_names_and_says_which_is_missing(void **state)
{
    (void)state;
    arena_t *a = arena_new();
    size_t n;
    secret_pair *env = parse_ok(a, "TOKEN=123:abc\nHOST=example.org\n", &n);
    const char *out, *name;
    assert_int_equal(envfile_expand(a, "https://${HOST}/bot${TOKEN}", env, n, 100, &out, &name), ENVFILE_EXPANDED);
    assert_string_equal(out, "https://example.org/bot123:abc");
    assert_null(name);
    assert_int_equal(envfile_expand(a, "plain $TOKEN and $", env, n, 100, &out, &name), ENVFILE_EXPANDED);
    assert_string_equal(out, "plain $TOKEN and $"); /* only ${NAME} is a reference */
    assert_int_equal(envfile_expand(a, "", env, n, 100, &out, &name), ENVFILE_EXPANDED);
    assert_string_equal(out, "");
    const char *missing[][2] = {{"${NOPE}", "NOPE"}, {"a${TOKEN}${lower}", "lower"}, {"${TOKEN", "TOKEN"},
                                {"${}", ""}, {"x${HOST", "HOST"}};
    for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
        assert_int_equal(envfile_expand(a, missing[i][0], env, n, 100, &out, &name), ENVFILE_UNRESOLVED);
        assert_null(out);
        assert_string_equal(name, missing[i][1]);
    }
    /* the result is bounded, whatever the references expand to */
    assert_int_equal(envfile_expand(a, "${HOST}", env, n, 11, &out, &name), ENVFILE_EXPANDED);
    assert_int_equal(envfile_expand(a, "${HOST}", env, n, 10, &out, &name), ENVFILE_TOO_LONG);
    assert_int_equal(envfile_expand(a, "${HOST}${HOST}${HOST}", env, n, 30, &out, &name), ENVFILE_TOO_LONG);
    assert_int_equal(envfile_expand(a, "0123456789ab", env, n, 10, &out, &name), ENVFILE_TOO_LONG);
    assert_null(out);
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spellings),
        cmocka_unit_test(test_later_lines_win_and_empty_values_unset),
        cmocka_unit_test(test_refusals_name_the_line_not_its_text),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_merge_overlays_by_name),
        cmocka_unit_test(test_expand_replaces_names_and_says_which_is_missing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
