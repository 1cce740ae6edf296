/* test_memtext.c - the search form of memory text (model/memtext.c): what the terms of a memory and of a query
 * are, identically for both databases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "model/memtext.h"

static const char *terms(arena_t *a, const char *text, int64_t *count)
{
    return memtext_terms(a, text, strlen(text), count);
}

static void test_terms_of_a_memory(void **state)
{
    (void)state;
    arena_t *a = arena_new();
    int64_t n;
    static const struct {
        const char *in, *out;
        int64_t count;
    } cases[] = {
        {"", "", 0},
        {"  ,.;  ", "", 0},
        {"Deploy the staging cluster!", " deploy  staging  cluster ", 3},
        {"How do we deploy?", " deploy ", 1},                                 /* stop words */
        {"policies deploys classes status bus analysis", " policy  deploy  classe  status  bus  analysis ", 6},
        {"gas yes its", " gas  yes ", 2},                                     /* short words keep their s */
        {"v2 k8s 1e5 0x1F", " v2  k8s  1e5  0x1f ", 4},                        /* digits: no stemming */
        {"pizza Zulu", " pizzzza  zzulu ", 2},                                /* a literal z is zz */
        {"Café naïve Straße Œuvre Łódź", " cafe  naive  strasse  oeuvre  lodzz ", 5}, /* folded to ASCII */
        {"Δέλτα", " z003b4z003adz003bbz003c4z003b1 ", 1},                     /* Greek lower-cased, coded */
        {"中文abc", " z04e2d  z06587  abc ", 3},                              /* ideographs are terms alone */
        {"a—b “quoted” end…", " b  quoted  end ", 3},                          /* punctuation separates */
        {"x\xff" "y", " x  y ", 2},                                            /* not UTF-8: a separator */
        {"[REDACTED:API_KEY]", " redacted  api  key ", 3},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *got = terms(a, cases[i].in, &n);
        if (strcmp(got, cases[i].out) != 0 || n != cases[i].count)
            fail_msg("terms of \"%s\": \"%s\" (%lld), want \"%s\" (%lld)", cases[i].in, got, (long long)n,
                     cases[i].out, (long long)cases[i].count);
    }
    /* a term is at most MEMTEXT_TERM_MAX characters, cut on a whole character */
    char long_word[201];
    memset(long_word, 'q', 200);
    long_word[200] = '\0';
    const char *got = terms(a, long_word, &n);
    assert_int_equal(strlen(got), MEMTEXT_TERM_MAX + 2);
    char zs[101];
    memset(zs, 'z', 99);
    zs[99] = 'y';
    zs[100] = '\0';
    got = terms(a, zs, &n);
    assert_int_equal(strlen(got), MEMTEXT_TERM_MAX + 2); /* 32 "zz", never half of one */
    memset(zs, 'z', 100);
    got = terms(a, "\xce\xb1\xce\xb1\xce\xb1\xce\xb1\xce\xb1\xce\xb1\xce\xb1\xce\xb1\xce\xb1\xce\xb1\xce\xb1", &n);
    assert_int_equal(strlen(got), 10 * 6 + 2); /* 11 Greek letters: 10 fit in 64 */
    arena_free(a);
}

static void test_terms_of_a_query(void **state)
{
    (void)state;
    arena_t *a = arena_new();
    memtext_term t[MEMTEXT_QUERY_MAX];
    size_t n = memtext_query(a, "How do we deploy the Staging clusters? deploy", 45, t);
    assert_int_equal(n, 3);
    assert_string_equal(t[0].term, "deploy");
    assert_string_equal(t[1].term, "staging");
    assert_string_equal(t[2].term, "cluster");
    assert_true(t[0].prefix && t[1].prefix && t[2].prefix);
    n = memtext_query(a, "ok k8s x", 8, t); /* shorter than MEMTEXT_PREFIX_MIN: whole terms only */
    assert_int_equal(n, 3);
    assert_false(t[0].prefix);
    assert_true(t[1].prefix);
    assert_false(t[2].prefix);
    assert_int_equal(memtext_query(a, "the of and", 10, t), 0);
    assert_int_equal(memtext_query(a, "?!", 2, t), 0);
    const char *many = "a1 a2 a3 a4 a5 a6 a7 a8 a9 b1 b2 b3 b4 b5 b6 b7 b8 b9";
    assert_int_equal(memtext_query(a, many, strlen(many), t), MEMTEXT_QUERY_MAX);
    assert_string_equal(t[MEMTEXT_QUERY_MAX - 1].term, "b7");
    arena_free(a);
}

/* A search form that would pass MEMTEXT_DOC_MAX keeps its terms up to the first that does not fit. */
static void test_terms_are_capped(void **state)
{
    (void)state;
    arena_t *a = arena_new();
    size_t words = 200000, len = 0; /* "w000000 " ...: each term " w000000 " takes 9 bytes */
    char *text = arena_alloc(a, 8 * words + 8);
    for (size_t i = 0; i < words; i++)
        len += (size_t)snprintf(text + len, 9, "w%06zu ", i);
    text[len++] = 'x'; /* a short term after the cut is not taken either */
    int64_t n;
    const char *t = memtext_terms(a, text, len, &n);
    assert_int_equal(n, MEMTEXT_DOC_MAX / 9);
    assert_int_equal(strlen(t), (size_t)n * 9);
    assert_string_equal(t + strlen(t) - 9, " w111110 ");
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_terms_of_a_memory),
        cmocka_unit_test(test_terms_of_a_query),
        cmocka_unit_test(test_terms_are_capped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
