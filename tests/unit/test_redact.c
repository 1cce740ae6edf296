/* test_redact.c - memory secret redaction (model/redact.c, data.md §2.10): every rule, its edges, the order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "base/utf8.h"
#include "model/redact.h"

static void test_rules(void **state)
{
    (void)state;
    arena_t *a = arena_new();
    static const struct {
        const char *in, *out;
    } cases[] = {
        /* assignments: any case, a letter first, spaces around '=', the value to the next space */
        {"OPENAI_API_KEY=sk_live_abc rest", "[REDACTED:API_KEY] rest"},
        {"my_api_key = \"quoted value\"", "[REDACTED:API_KEY] value\""},
        {"export GH_TOKEN=abc; next", "export [REDACTED:TOKEN] next"},
        {"AWS_SECRET=\n  xyz", "[REDACTED:SECRET]"},
        {"_API_KEY=x 1A_API_KEY=y", "_API_KEY=x 1A_API_KEY=y"},  /* no letter first: not a variable */
        {"MY_API_KEY_2=x MY_API_KEY=", "MY_API_KEY_2=x MY_API_KEY="}, /* suffix not last; no value */
        {"xMY_API_KEY=v", "[REDACTED:API_KEY]"},
        /* bearer: case-sensitive, any spaces, no \b */
        {"Authorization: Bearer abc.def-ghi", "Authorization: [REDACTED:BEARER_TOKEN]"},
        {"XBearer  t", "X[REDACTED:BEARER_TOKEN]"},
        {"bearer abc", "bearer abc"},
        {"Bearer ", "Bearer "},
        /* PEM blocks: lazy, to the first end line */
        {"k: -----BEGIN OPENSSH PRIVATE KEY-----\nAAA\n-----END OPENSSH PRIVATE KEY----- tail",
         "k: [REDACTED:OPENSSH_PRIVATE_KEY] tail"},
        {"-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----\n-----END RSA PRIVATE KEY-----",
         "[REDACTED:PRIVATE_KEY]\n-----END RSA PRIVATE KEY-----"},
        {"-----BEGIN PRIVATE KEY-----x-----END PRIVATE KEY-----", "[REDACTED:PRIVATE_KEY]"},
        {"-----BEGIN PRIVATE KEY-----\nno end", "-----BEGIN PRIVATE KEY-----\nno end"},
        {"-----BEGINPRIVATE KEY-----x-----END PRIVATE KEY-----", "-----BEGINPRIVATE KEY-----x-----END PRIVATE KEY-----"},
        /* database URLs with a password; the path stays */
        {"postgres://app:s3cret@db.internal:5432/prod", "[REDACTED:DB_URL_WITH_CREDENTIALS]/prod"},
        {"REDIS://:pw@cache", "[REDACTED:DB_URL_WITH_CREDENTIALS]"},
        {"mongodb+srv://u:p@cluster0.x.net/db?retry", "[REDACTED:DB_URL_WITH_CREDENTIALS]/db?retry"},
        {"postgresql://user@host/db", "postgresql://user@host/db"}, /* no password */
        {"xpostgres://a:b@c", "xpostgres://a:b@c"},                 /* not at a word start */
        /* vendor tokens */
        {"ghp_0123456789abcdefABCD", "[REDACTED:GITHUB_PAT]"},
        {"gho_0123456789abcdefX ghs_0123456789abcdefX", "[REDACTED:GITHUB_OAUTH] [REDACTED:GITHUB_APP_SERVER_TOKEN]"},
        {"ghu_0123456789abcdef ghr_0123456789abcdef", "[REDACTED:GITHUB_USER_TOKEN] [REDACTED:GITHUB_REFRESH_TOKEN]"},
        {"ghp_short xghp_0123456789abcdef", "ghp_short xghp_0123456789abcdef"},
        {"github_pat_11AAAA_bbbbbbbbbbbbbbbb", "[REDACTED:GITHUB_FINEGRAINED_PAT]"},
        {"vc_0123456789abcdef", "[REDACTED:VERCEL_TOKEN]"},
        {"AKIAIOSFODNN7EXAMPLE1", "[REDACTED:AWS_ACCESS_KEY_ID]1"}, /* exactly 16 after AKIA */
        {"pplx-0123456789abcdefghij", "[REDACTED:PERPLEXITY_API_KEY]"},
        {"pplx-0123456789abcdefghi", "pplx-0123456789abcdefghi"},
        {"key sk-ant-api03-abcdefghijkl end", "key [REDACTED:SK_TOKEN] end"},
        {"ask-0123456789abcdef", "a[REDACTED:SK_TOKEN]"},        /* no word boundary needed */
        {"ctx7_a b", "[REDACTED:CTX7_TOKEN] b"},
        /* the catch-all: 33 characters of the base64 alphabet, up to two '=' */
        {"blob QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY== end", "blob [REDACTED:BASE64_BLOB] end"},
        {"sha 0123456789abcdef0123456789abcdef0", "sha [REDACTED:BASE64_BLOB]"},
        {"32 chars 0123456789abcdef0123456789abcdef", "32 chars 0123456789abcdef0123456789abcdef"},
        {"0123456789abcdef0123456789abcde", "0123456789abcdef0123456789abcde"},
        {"/home/builder/projects/colony/src/model/memory.c", "[REDACTED:BASE64_BLOB].c"},
        {"plain words, nothing secret: café ☕", "plain words, nothing secret: café ☕"},
        /* in order, each on the output of the one before: a bearer over an assignment's replacement */
        {"Bearer X_API_KEY=abc", "[REDACTED:BEARER_TOKEN]"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool changed;
        size_t n;
        const char *got = redact_secrets(a, cases[i].in, strlen(cases[i].in), &n, &changed);
        if (strcmp(got, cases[i].out) != 0)
            fail_msg("redact \"%s\": \"%s\", want \"%s\"", cases[i].in, got, cases[i].out);
        assert_int_equal(n, strlen(got));
        assert_int_equal(changed, strcmp(cases[i].in, cases[i].out) != 0);
    }
    arena_free(a);
}

/* Many begin lines without an end are read once, not once each; the output stays valid UTF-8 and bounded. */
static void test_worst_cases(void **state)
{
    (void)state;
    arena_t *a = arena_new();
    size_t n = 64 * 1024, k = strlen("-----BEGIN RSA PRIVATE KEY-----");
    char *s = arena_alloc(a, n + 1);
    for (size_t i = 0; i + k <= n; i += k)
        memcpy(s + i, "-----BEGIN RSA PRIVATE KEY-----", k);
    memset(s + (n / k) * k, ' ', n - (n / k) * k);
    s[n] = '\0';
    size_t out;
    redact_secrets(a, s, n, &out, NULL);
    assert_int_equal(out, n);
    for (size_t i = 0; i < n; i += 6)
        memcpy(s + i, "ctx7_x", 6 <= n - i ? 6 : n - i);
    const char *r = redact_secrets(a, s, n, &out, NULL);
    assert_true(out > n && out < 4 * n);
    assert_true(utf8_valid(r, out));
    arena_free(a);
}

/* A text of `n` bytes: `unit` repeated (the last copy cut), then `tail`. */
static char *repeat(arena_t *a, const char *unit, const char *tail, size_t n, size_t *len)
{
    size_t k = strlen(unit), t = strlen(tail);
    char *s = arena_alloc(a, n + t + 1);
    for (size_t i = 0; i < n; i += k)
        memcpy(s + i, unit, k <= n - i ? k : n - i);
    memcpy(s + n, tail, t + 1);
    *len = n + t;
    return s;
}

/* Inputs of 1 MiB that make a backtracking matcher (or one that rescans what a failed attempt read) quadratic, for
 * every rule: each must come out right (and, being linear by construction, completes at once; ctest's timeout is
 * the backstop). NULL `out`: the text is unchanged. */
static void test_pathological_inputs(void **state)
{
    (void)state;
    arena_t *a = arena_new();
    static const struct {
        const char *unit, *tail, *out;
    } cases[] = {
        {"redis://:", "", NULL},                                        /* passwords to the end, never an '@' */
        {"redis://:", "@h", "[REDACTED:DB_URL_WITH_CREDENTIALS]"},      /* the first one takes everything */
        {"postgres://u:p:", " x", NULL},
        {"mongodb+srv://:a/", "", NULL},
        {"A_API_KEY ", "", NULL},                                       /* words without '=' */
        {"x_token  \t ", "=", NULL},
        {"AB_SECRET=", "", "[REDACTED:SECRET]"},                        /* one value: all the rest */
        {"Bearer", "", "[REDACTED:BASE64_BLOB]"},                     /* never a space: one long word */
        {"-----BEGIN RSA PRIVATE KEY-----", "", NULL},
        {"-----BEGIN OPENSSH PRIVATE KEY-----", "", NULL},
        {"-----BEGIN RSA PRIVATE KEY-----END X", "", NULL},              /* end lines that are not */
        {"ghp_", "", NULL},
        {"github_pat_", "", "[REDACTED:GITHUB_FINEGRAINED_PAT]"},      /* "_" is of its class: one token */
        {"vc_ ", "", NULL},
        {"AKIA", "", "[REDACTED:AWS_ACCESS_KEY_ID][REDACTED:BASE64_BLOB]"},
        {"pplx-", "", NULL},
        {"sk-", " ", "[REDACTED:SK_TOKEN] "},
        {"sk-a ", "", NULL},
        {"ctx7_-", "", NULL},
        {"0123456789abcdef0123456789abcde ", "", NULL},               /* 31 base64 characters and a space */
        {"a", "", "[REDACTED:BASE64_BLOB]"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n, got;
        const char *in = repeat(a, cases[i].unit, cases[i].tail, 1024 * 1024, &n);
        const char *r = redact_secrets(a, in, n, &got, NULL);
        const char *want = cases[i].out ? cases[i].out : in;
        if (got != strlen(want) || memcmp(r, want, got) != 0)
            fail_msg("case %zu (\"%s\"): %zu bytes starting \"%.60s\"", i, cases[i].unit, got, r);
    }
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_worst_cases),
        cmocka_unit_test(test_pathological_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
