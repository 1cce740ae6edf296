/* test_yaml.c - the YAML reader: core types, refusals (anchors, aliases, tags, duplicates, depth), positions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "base/yaml.h"

static json_t *parse_ok(arena_t *a, const char *text)
{
    json_t *v = NULL;
    cl_error e;
    if (yaml_parse(a, text, strlen(text), &v, &e) != CL_OK)
        fail_msg("%s: %s", text, e.msg);
    return v;
}

static cl_err parse_err(arena_t *a, const char *text, cl_error *e)
{
    json_t *v;
    return yaml_parse(a, text, strlen(text), &v, e);
}

static void test_types(void **state)
{
    (void)state;
    arena_t *a = arena_new();
    json_t *v = parse_ok(a, "i: 42\nneg: -7\nf: 2.5\nb: true\nB: False\nn: ~\ne:\ns: hello\nq: '42'\n"
                            "list: [1, two]\nmap: {k: v}\nlong: 99999999999999999999999\n");
    assert_int_equal(json_integer_value(json_object_get(v, "i")), 42);
    assert_int_equal(json_integer_value(json_object_get(v, "neg")), -7);
    assert_true(json_real_value(json_object_get(v, "f")) == 2.5);
    assert_true(json_is_true(json_object_get(v, "b")));
    assert_true(json_is_false(json_object_get(v, "B")));
    assert_true(json_is_null(json_object_get(v, "n")));
    assert_true(json_is_null(json_object_get(v, "e")));
    assert_string_equal(json_string_value(json_object_get(v, "s")), "hello");
    assert_string_equal(json_string_value(json_object_get(v, "q")), "42"); /* quoted stays a string */
    assert_int_equal(json_array_size(json_object_get(v, "list")), 2);
    assert_string_equal(json_string_value(json_object_get(json_object_get(v, "map"), "k")), "v");
    assert_true(json_is_real(json_object_get(v, "long"))); /* out of int64 range: a float, not a wrap */
    arena_free(a);
}

static void test_refusals(void **state)
{
    (void)state;
    arena_t *a = arena_new();
    cl_error e;
    assert_int_equal(parse_err(a, "a: &x 1\nb: *x\n", &e), CL_INVALID);
    assert_non_null(strstr(e.msg, "anchors and aliases are not allowed"));
    assert_int_equal(parse_err(a, "a: !include x.yaml\n", &e), CL_INVALID);
    assert_non_null(strstr(e.msg, "unsupported tag !include"));
    assert_int_equal(parse_err(a, "a: 1\na: 2\n", &e), CL_INVALID);
    assert_string_equal(e.msg, "line 2 column 1: duplicate key");
    assert_int_equal(parse_err(a, "a: 1\n---\nb: 2\n", &e), CL_INVALID);
    assert_int_equal(parse_err(a, "? [1, 2]\n: v\n", &e), CL_INVALID);
    char deep[400];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    deep[200] = '\0';
    assert_int_equal(parse_err(a, deep, &e), CL_INVALID);
    assert_non_null(strstr(e.msg, "nested too deep"));
    assert_int_equal(parse_err(a, "a: [1\n", &e), CL_INVALID);
    assert_non_null(strstr(e.msg, "line "));
    assert_int_equal(parse_err(a, "a: \"\xff\"\n", &e), CL_INVALID); /* not UTF-8 */
    assert_int_equal(parse_err(a, "name: \"adm\\0in\"\n", &e), CL_INVALID); /* a NUL would cut the name */
    assert_string_equal(e.msg, "line 1 column 7: NUL character in a scalar");
    assert_int_equal(parse_err(a, "\"k\\x00\": v\n", &e), CL_INVALID);
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_types), cmocka_unit_test(test_refusals)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
