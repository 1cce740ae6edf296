/* test_jsonw.c - the streaming writer: structure and commas, escaping and UTF-8 edge cases, numbers, stored JSON
 * text, marks, the maximum; and, against jansson itself, that the writer's bytes are jansson's compact dump. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/jsonw.h"
#include "base/utf8.h"

static const size_t FLAGS = JSON_COMPACT | JSON_ENCODE_ANY;

static arena_t *A;

static int setup(void **state)
{
    (void)state;
    A = arena_new();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    arena_free(A);
    return 0;
}

/* The writer's text (NULL when it failed). */
static const char *done(jsonw *w)
{
    size_t n;
    const char *s = jsonw_finish(w, A, &n);
    if (s != NULL)
        assert_int_equal(strlen(s), n);
    return s;
}

/* jansson's compact dump of v (takes the reference). */
static const char *dump(json_t *v)
{
    assert_non_null(v);
    size_t n = json_dumpb(v, NULL, 0, FLAGS);
    char *s = arena_alloc(A, n + 1);
    json_dumpb(v, s, n, FLAGS);
    s[n] = '\0';
    json_decref(v);
    return s;
}

static void test_structure(void **state)
{
    (void)state;
    jsonw w;
    jsonw_init(&w, 1 << 20);
    jsonw_obj_open(&w);
    jsonw_kint(&w, "a", 1);
    jsonw_key(&w, "b");
    jsonw_arr_open(&w);
    jsonw_bool(&w, true);
    jsonw_bool(&w, false);
    jsonw_null(&w);
    jsonw_obj_open(&w);
    jsonw_obj_close(&w);
    jsonw_arr_open(&w);
    jsonw_arr_close(&w);
    jsonw_arr_close(&w);
    jsonw_kstr(&w, "c", "x");
    jsonw_kstr(&w, "d", NULL);
    jsonw_knull(&w, "e");
    jsonw_kbool(&w, "f", false);
    jsonw_obj_close(&w);
    assert_string_equal(done(&w),
                        "{\"a\":1,\"b\":[true,false,null,{},[]],\"c\":\"x\",\"d\":null,\"e\":null,\"f\":false}");

    jsonw_init(&w, 64); /* a bare value at the top */
    jsonw_str(&w, "top");
    assert_string_equal(done(&w), "\"top\"");
    jsonw_init(&w, 64); /* nothing written is no JSON */
    assert_null(done(&w));
}

/* Misuse never yields broken JSON: the writer fails and finish says so. */
static void test_misuse_fails(void **state)
{
    (void)state;
    jsonw w;
    jsonw_init(&w, 1024);
    jsonw_arr_open(&w);
    jsonw_key(&w, "k"); /* a key in an array */
    jsonw_arr_close(&w);
    assert_null(done(&w));

    jsonw_init(&w, 1024);
    jsonw_obj_open(&w);
    jsonw_int(&w, 1); /* a value without its key */
    jsonw_obj_close(&w);
    assert_null(done(&w));

    jsonw_init(&w, 1024);
    jsonw_obj_open(&w); /* never closed */
    assert_null(done(&w));

    jsonw_init(&w, 1024);
    jsonw_arr_open(&w);
    jsonw_obj_close(&w); /* the wrong bracket */
    assert_null(done(&w));

    jsonw_init(&w, 1024);
    jsonw_int(&w, 1);
    jsonw_int(&w, 2); /* two values at the top */
    assert_null(done(&w));

    jsonw_init(&w, 1024);
    jsonw_key(&w, "k"); /* a key at the top */
    assert_null(done(&w));

    jsonw_init(&w, 1 << 20);
    for (int i = 0; i <= JSONW_MAX_DEPTH; i++)
        jsonw_arr_open(&w);
    for (int i = 0; i <= JSONW_MAX_DEPTH; i++)
        jsonw_arr_close(&w);
    assert_null(done(&w));
}

/* Every byte 0x01..0x7F and the common non-ASCII forms escape exactly as jansson escapes them. */
static void test_escaping_matches_jansson(void **state)
{
    (void)state;
    char all[128];
    for (int i = 1; i < 128; i++)
        all[i - 1] = (char)i;
    all[127] = '\0';
    const char *cases[] = {all,
                           "",
                           "quote\" back\\ slash/",
                           "tab\tnl\ncr\rbs\bff\f",
                           "\x1f\x01\x7f",
                           "caf\xc3\xa9 \xe4\xbd\xa0\xe5\xa5\xbd \xf0\x9f\x98\x80",
                           "line\xe2\x80\xa8sep",
                           "<script>&amp;</script>"};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        jsonw w;
        jsonw_init(&w, 4096);
        jsonw_str(&w, cases[i]);
        assert_string_equal(done(&w), dump(json_string(cases[i])));
    }
    /* each byte that matters at each place of a word (the writer scans 8 bytes at a time) */
    const char *special[] = {"\x01", "\x1f", "\"", "\\", "\x7f",     " ",
                             "!",    "#",    "[",  "]",  "\xc3\xa9", "\xe2\x80\xa8"};
    for (size_t k = 0; k < sizeof(special) / sizeof(special[0]); k++)
        for (size_t pos = 0; pos < 17; pos++) {
            char s[64];
            snprintf(s, sizeof(s), "%.*s%s%.*s", (int)pos, "abcdefghijklmnopq", special[k], 9, "rstuvwxyz");
            jsonw w;
            jsonw_init(&w, 4096);
            jsonw_str(&w, s);
            assert_string_equal(done(&w), dump(json_string(s)));
        }
    /* a NUL inside a counted string, as jansson writes it */
    jsonw w;
    jsonw_init(&w, 64);
    jsonw_strn(&w, "a\0b", 3);
    assert_string_equal(done(&w), "\"a\\u0000b\"");
    /* keys are escaped the same way */
    jsonw_init(&w, 64);
    jsonw_obj_open(&w);
    jsonw_kint(&w, "k\"\n", 1);
    jsonw_obj_close(&w);
    assert_string_equal(done(&w), "{\"k\\\"\\n\":1}");
}

#define FFFD "\xef\xbf\xbd"

/* Invalid UTF-8 is never emitted: each bad sequence becomes U+FFFD, valid neighbours stay. */
static void test_invalid_utf8_replaced(void **state)
{
    (void)state;
    struct {
        const char *in, *out;
    } cases[] = {
        {"a\xff"
         "b",
         "\"a" FFFD "b\""},
        {"\xc0\xaf", "\"" FFFD FFFD "\""},                      /* overlong '/' */
        {"\xed\xa0\x80", "\"" FFFD FFFD FFFD "\""},             /* a UTF-16 surrogate */
        {"\xf4\x90\x80\x80", "\"" FFFD FFFD FFFD FFFD "\""},    /* above U+10FFFF */
        {"end\xe2\x82", "\"end" FFFD FFFD "\""},                /* cut short */
        {"\xe2\x82\xac\x80\"", "\"\xe2\x82\xac" FFFD "\\\"\""}, /* stray continuation, then a quote */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        jsonw w;
        jsonw_init(&w, 256);
        jsonw_obj_open(&w);
        jsonw_kstr(&w, cases[i].in, cases[i].in); /* keys too */
        jsonw_obj_close(&w);
        const char *s = done(&w);
        assert_non_null(s);
        assert_true(utf8_valid(s, strlen(s)));
        char want[256];
        snprintf(want, sizeof(want), "{%s:%s}", cases[i].out, cases[i].out);
        assert_string_equal(s, want);
    }
}

static void test_numbers_match_jansson(void **state)
{
    (void)state;
    const int64_t ints[] = {0, 1, -1, 42, INT64_MAX, INT64_MIN, 1000000007, -99};
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        jsonw w;
        jsonw_init(&w, 64);
        jsonw_int(&w, ints[i]);
        assert_string_equal(done(&w), dump(json_integer(ints[i])));
    }
    const double reals[] = {0.0,  -0.0, 1.0,     -2.5,      0.1,    1.0 / 3, 1e20,
                            1e21, 1e-5, 1.5e300, -1.5e-300, 5e-324, DBL_MAX, 123456789012345678.0,
                            100,  0.5,  300.0,   176.0,     1e16,   12.75};
    for (size_t i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
        jsonw w;
        jsonw_init(&w, 64);
        jsonw_real(&w, reals[i]);
        assert_string_equal(done(&w), dump(json_real(reals[i])));
    }
    jsonw w; /* JSON has no NaN or infinity: null, as a missing value */
    jsonw_init(&w, 64);
    jsonw_arr_open(&w);
    jsonw_real(&w, NAN);
    jsonw_real(&w, INFINITY);
    jsonw_real(&w, -INFINITY);
    jsonw_arr_close(&w);
    assert_string_equal(done(&w), "[null,null,null]");
}

/* jsonw_stored(text) writes what json_loadb + compact dump would, or nothing when jansson cannot read it. */
static void check_stored(const char *text, bool any)
{
    jsonw w;
    jsonw_init(&w, 1 << 20);
    jsonw_arr_open(&w);
    bool ok = jsonw_stored(&w, text, any);
    jsonw_arr_close(&w);
    const char *got = done(&w);
    json_t *v = text ? json_loadb(text, strlen(text), any ? JSON_DECODE_ANY : 0, NULL) : NULL;
    if (v == NULL) {
        assert_false(ok);
        assert_string_equal(got, "[]");
        return;
    }
    assert_true(ok);
    json_t *arr = json_array();
    json_array_append_new(arr, v);
    assert_string_equal(got, dump(arr));
}

static void test_stored_json(void **state)
{
    (void)state;
    const char *texts[] = {/* canonical: copied */
                           "{\"name\":\"a\",\"skills\":[{\"id\":\"s1\",\"tags\":[\"x\"]}],\"n\":3,\"r\":0.5,\"t\":"
                           "true,\"f\":false,\"z\":null}",
                           "[]", "{}", "[1,-2,3.25,1e+300]", "{\"e\":\"\\u001F\\n\\\"\\\\\"}", "\"caf\xc3\xa9\"",
                           /* not as jansson prints them: re-dumped */
                           "{ \"a\" : 1 }", "[1, 2]\n", "{\"s\":\"\\/\"}", "{\"s\":\"\\u0041\"}",
                           "{\"s\":\"\\u001f\"}", "{\"s\":\"\\ud83d\\ude00\"}", "[\"\\u0008\"]", "[\"\\u0009\"]",
                           "[\"\\u000A\"]", "[\"\\u000C\"]", "[\"\\u000D\"]", "[\"\\u0022\"]", "[\"\\u005C\"]",
                           "[\"\\u007F\"]", "{\"a\":1,\"a\":2}", "[-0]", "[1E5]", "[1.0e2]", "[0.10]", "[1e-05]",
                           "[123456789012345678901234567890]", "[1.5e999]", "[1e-400]",
                           "{\"k\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
                           /* not JSON jansson reads: nothing written */
                           "", "[1,2", "{\"a\":}", "nul", "[01]", "[.5]", "[1.]", "{\"s\":\"\\u0000\"}",
                           "[\"a\tb\"]", "[\"\xff\"]", "[1] x", "{'a':1}", NULL};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        check_stored(texts[i], true);
        check_stored(texts[i], false);
    }
    /* scalars only with `any` (an agent card may be any JSON; compute must be an object or array) */
    check_stored("3", true);
    check_stored("3", false);
    check_stored("\"x\"", false);
}

/* A random value tree, written by the writer and dumped by jansson, gives the same bytes; its dump is stored JSON
 * that is copied as it is, and its indented dump is stored JSON that comes out compact. */
static json_t *random_value(unsigned *seed, int depth)
{
    int kind = rand_r(seed) % (depth > 4 ? 6 : 8);
    switch (kind) {
    case 0: return json_null();
    case 1: return json_boolean(rand_r(seed) & 1);
    case 2: return json_integer((json_int_t)rand_r(seed) * (rand_r(seed) & 1 ? -7919 : 104729));
    case 3: return json_real((double)rand_r(seed) / (rand_r(seed) + 1) * (rand_r(seed) & 1 ? 1e-9 : 1e9));
    case 4:
    case 5: {
        char s[16];
        size_t n = (size_t)(rand_r(seed) % 15);
        for (size_t i = 0; i < n; i++)
            s[i] = (char)(1 + rand_r(seed) % 126);
        return json_stringn(s, n);
    }
    case 6: {
        json_t *a = json_array();
        for (int i = rand_r(seed) % 5; i > 0; i--)
            json_array_append_new(a, random_value(seed, depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        for (int i = rand_r(seed) % 5; i > 0; i--) {
            char k[8];
            snprintf(k, sizeof(k), "k%d", rand_r(seed) % 10);
            json_object_set_new(o, k, random_value(seed, depth + 1));
        }
        return o;
    }
    }
}

static void write_value(jsonw *w, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *x;
        jsonw_obj_open(w);
        json_object_foreach((json_t *)v, k, x)
        {
            jsonw_key(w, k);
            write_value(w, x);
        }
        jsonw_obj_close(w);
        break;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *x;
        jsonw_arr_open(w);
        json_array_foreach(v, i, x) write_value(w, x);
        jsonw_arr_close(w);
        break;
    }
    case JSON_STRING: jsonw_strn(w, json_string_value(v), json_string_length(v)); break;
    case JSON_INTEGER: jsonw_int(w, json_integer_value(v)); break;
    case JSON_REAL: jsonw_real(w, json_real_value(v)); break;
    case JSON_TRUE: jsonw_bool(w, true); break;
    case JSON_FALSE: jsonw_bool(w, false); break;
    case JSON_NULL: jsonw_null(w); break;
    }
}

static void test_random_trees_match_jansson(void **state)
{
    (void)state;
    unsigned seed = 20240611;
    for (int i = 0; i < 2000; i++) {
        json_t *v = random_value(&seed, 0);
        jsonw w;
        jsonw_init(&w, 1 << 20);
        write_value(&w, v);
        const char *mine = done(&w);
        char *pretty = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY);
        const char *want = dump(json_incref(v));
        assert_string_equal(mine, want);
        check_stored(want, true);
        check_stored(pretty, true);
        free(pretty);
        json_decref(v);
    }
}

static void test_marks_and_maximum(void **state)
{
    (void)state;
    jsonw w;
    jsonw_init(&w, 24);
    jsonw_arr_open(&w);
    jsonw_str(&w, "0123456789");
    jsonw_mark m = jsonw_save(&w);
    jsonw_str(&w, "0123456789"); /* does not fit in 24 bytes with the brackets */
    assert_true(w.failed);
    jsonw_rewind(&w, &m);
    assert_false(w.failed);
    jsonw_int(&w, 7);
    jsonw_arr_close(&w);
    assert_string_equal(done(&w), "[\"0123456789\",7]");

    jsonw_init(&w, 64); /* rewound to nothing: no JSON at all, so finish fails rather than answer an empty body */
    m = jsonw_save(&w);
    jsonw_str(&w, "gone");
    jsonw_rewind(&w, &m);
    assert_null(done(&w));

    jsonw_init(&w, 8); /* past the maximum, finish fails */
    jsonw_str(&w, "much too long");
    assert_null(done(&w));

    jsonw_init(&w, 1 << 20); /* a rewind to before the first value of a container restores its commas */
    jsonw_obj_open(&w);
    m = jsonw_save(&w);
    jsonw_kint(&w, "dropped", 1);
    jsonw_rewind(&w, &m);
    jsonw_kint(&w, "kept", 2);
    jsonw_obj_close(&w);
    assert_string_equal(done(&w), "{\"kept\":2}");
}

/* Values written from a jansson tree, and finishing into an arena. */
static void test_json_values(void **state)
{
    (void)state;
    jsonw w;
    jsonw_init(&w, 1024);
    jsonw_obj_open(&w);
    jsonw_key(&w, "t");
    json_t *t = json_pack("{s:[i,s,n]}", "x", 1, "y");
    jsonw_json(&w, t);
    json_decref(t);
    jsonw_key(&w, "none");
    jsonw_json(&w, NULL);
    jsonw_obj_close(&w);
    assert_string_equal(done(&w), "{\"t\":{\"x\":[1,\"y\",null]},\"none\":null}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_structure),
        cmocka_unit_test(test_misuse_fails),
        cmocka_unit_test(test_escaping_matches_jansson),
        cmocka_unit_test(test_invalid_utf8_replaced),
        cmocka_unit_test(test_numbers_match_jansson),
        cmocka_unit_test(test_stored_json),
        cmocka_unit_test(test_random_trees_match_jansson),
        cmocka_unit_test(test_marks_and_maximum),
        cmocka_unit_test(test_json_values),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
