/* test_base.c - arena, buf, error table, json, time and ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/error.h"
#include "base/id.h"
#include "base/json.h"
#include "base/metrics.h"
#include "base/time.h"

static int cleanups;
static void count_cleanup(void *p) { cleanups += *(int *)p; }

static void test_arena(void **state)
{
    (void)state;
    arena_t *a = arena_new();
    char *s = arena_strdup(a, "hello");
    assert_string_equal(s, "hello");
    assert_string_equal(arena_sprintf(a, "%d-%s", 42, "x"), "42-x");
    void *big = arena_alloc(a, 3 << 20); /* larger than any chunk */
    memset(big, 1, 3 << 20);
    for (int i = 0; i < 10000; i++)
        assert_true(((uintptr_t)arena_alloc(a, (size_t)i % 97 + 1) & 15) == 0);
    int *arr = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < 100; i++) {
        arr = arena_grow(a, arr, i, &cap, sizeof(int));
        arr[i] = (int)i;
    }
    assert_true(cap >= 100);
    for (int i = 0; i < 100; i++)
        assert_int_equal(arr[i], i);
    static int one = 1, ten = 10;
    cleanups = 0;
    arena_defer(a, count_cleanup, &one);
    arena_defer(a, count_cleanup, &ten);
    assert_true(arena_used(a) > (3 << 20));
    arena_free(a);
    assert_int_equal(cleanups, 11);
}

static void test_buf_respects_its_maximum(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 8);
    assert_true(buf_puts(&b, "1234"));
    assert_true(buf_printf(&b, "%d", 5678));
    assert_false(buf_putc(&b, 'x'));
    assert_false(buf_printf(&b, "%s", "more"));
    assert_string_equal(b.data, "12345678");
    size_t len;
    char *s = buf_steal(&b, &len);
    assert_int_equal(len, 8);
    free(s);
    buf_free(&b);
}

static void test_error_table(void **state)
{
    (void)state;
    assert_int_equal(cl_err_http_status(CL_NOT_FOUND), 404);
    assert_int_equal(cl_err_http_status(CL_UNAVAILABLE), 503);
    assert_int_equal(cl_err_http_status(CL_CONFLICT), 409);
    assert_int_equal(cl_err_http_status(CL_TOO_LARGE), 413);
    assert_string_equal(cl_err_code(CL_INVALID_JSON), "invalid_json");
    assert_string_equal(cl_err_name(CL_FORBIDDEN), "FORBIDDEN");
    cl_error e;
    assert_int_equal(cl_fail(&e, CL_GONE, "workspace %s removed", "x"), CL_GONE);
    assert_string_equal(e.msg, "workspace x removed");
    assert_null(e.code);
    /* a message cut by the buffer never ends in half a code point */
    char longmsg[400];
    memset(longmsg, 'a', sizeof(longmsg));
    strcpy(longmsg + 254, "你好");
    cl_fail(&e, CL_INVALID, "%s", longmsg);
    assert_true(strlen(e.msg) == 254);
}

static void test_json_rules(void **state)
{
    (void)state;
    arena_t *a = arena_new();
    json_t *v;
    cl_error e;
    assert_int_equal(json_parse_object(a, "{\"a\":1}", 7, &v, &e), CL_OK);
    assert_int_equal(json_integer_value(json_object_get(v, "a")), 1);
    assert_int_equal(json_parse(a, "{\"a\":1,\"a\":2}", 13, &v, &e), CL_INVALID_JSON);
    assert_int_equal(json_parse(a, "\"\xff\"", 3, &v, &e), CL_INVALID_JSON);
    assert_string_equal(e.msg, "request body is not valid UTF-8");
    assert_int_equal(json_parse_object(a, "[1]", 3, &v, &e), CL_INVALID_JSON);
    assert_int_equal(json_parse(a, "", 0, &v, &e), CL_INVALID_JSON);
    assert_int_equal(json_parse(a, "\"a\\u0000b\"", 10, &v, &e), CL_INVALID_JSON); /* jansson refuses NUL */
    json_t *o = json_own(a, json_pack("{s:o}", "name", json_stringn("adm\0in", 6)));
    const char *s = NULL;
    assert_int_equal(json_opt_string(o, "name", &s, NULL, NULL, &e), CL_INVALID); /* never cut at the NUL */
    assert_string_equal(e.msg, "name must not contain NUL");
    assert_null(s);
    char deep[200];
    memset(deep, '[', 65);
    memset(deep + 65, ']', 65);
    assert_int_equal(json_parse(a, deep, 130, &v, &e), CL_INVALID_JSON);
    assert_int_equal(json_parse(a, deep + 1, 128, &v, &e), CL_OK); /* 64 deep is fine */
    assert_int_equal(json_text_depth("[\"[[[[\"]", 8, 64), 1);    /* brackets in strings do not count */
    int64_t i;
    bool present;
    assert_int_equal(json_parse_object(a, "{\"n\":3.0,\"s\":\"x\",\"z\":null}", 26, &v, &e), CL_OK);
    assert_int_equal(json_opt_int(v, "n", &i, &present, &e), CL_OK);
    assert_true(present);
    assert_int_equal(i, 3);
    assert_int_equal(json_opt_int(v, "s", &i, &present, &e), CL_INVALID);
    assert_string_equal(e.msg, "s must be an integer");
    assert_int_equal(json_opt_int(v, "z", &i, &present, &e), CL_OK);
    assert_false(present);
    size_t len;
    assert_string_equal(json_dump_arena(a, json_object_get(v, "s"), &len), "\"x\"");
    arena_free(a);
}

static void test_time(void **state)
{
    (void)state;
    char buf[TIME_RFC3339_MAX];
    time_format_rfc3339(0, buf);
    assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
    time_format_rfc3339(1795574692123, buf);
    assert_string_equal(buf, "2026-11-25T02:44:52.123Z");
    time_format_rfc3339(-1, buf);
    assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
    time_format_rfc3339(253402300799999, buf); /* the last instant formatted by hand, and the first that is not */
    assert_string_equal(buf, "9999-12-31T23:59:59.999Z");
    time_format_rfc3339(253402300800000, buf);
    assert_string_equal(buf, "10000-01-01T00:00:00.000Z");
    int64_t ms;
    for (int64_t t = -62135596800000; t < 253402300800000; t += 7919LL * 86400 * 1000 + 3600007) {
        time_format_rfc3339(t, buf); /* what is written reads back as the same instant */
        assert_true(time_parse_rfc3339(buf, strlen(buf), &ms));
        assert_int_equal(ms, t);
    }
    assert_true(time_parse_rfc3339("2026-11-25T02:44:52.123Z", 24, &ms));
    assert_int_equal(ms, 1795574692123);
    assert_true(time_parse_rfc3339("2026-11-25T03:44:52.123456+01:00", 32, &ms));
    assert_int_equal(ms, 1795574692123);
    assert_true(time_parse_rfc3339("2024-02-29T00:00:00Z", 20, &ms));
    assert_false(time_parse_rfc3339("2023-02-29T00:00:00Z", 20, &ms));
    assert_false(time_parse_rfc3339("2026-13-01T00:00:00Z", 20, &ms));
    assert_false(time_parse_rfc3339("2026-11-25T02:44:52", 19, &ms));
    assert_false(time_parse_rfc3339("2026-11-25T02:44:52.Z", 21, &ms));
    assert_false(time_parse_rfc3339("yesterday", 9, &ms));
}

/* What a provider may put in Retry-After (RFC 9110 §10.2.3): seconds or an IMF-fixdate, nothing else. */
static void test_retry_after(void **state)
{
    (void)state;
    int64_t ms, wait;
    assert_true(time_parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", 29, &ms));
    assert_int_equal(ms, 784111777000);
    assert_false(time_parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", 30, &ms)); /* obsolete forms */
    assert_false(time_parse_http_date("Sun Nov  6 08:49:37 1994", 24, &ms));
    assert_false(time_parse_http_date("Sun, 31 Nov 1994 08:49:37 GMT", 29, &ms));
    assert_false(time_parse_http_date("Sun, 06 Nov 1994 08:49:37 UTC", 29, &ms));
    assert_true(time_retry_after_ms("3", 1, 0, &wait));
    assert_int_equal(wait, 3000);
    assert_true(time_retry_after_ms(" 120 ", 5, 0, &wait));
    assert_int_equal(wait, 120000);
    assert_true(time_retry_after_ms("99999999999999999999", 20, 0, &wait)); /* capped, never overflows */
    assert_int_equal(wait, (int64_t)TIME_RETRY_AFTER_MAX_S * 1000);
    assert_true(time_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", 29, 784111770000, &wait));
    assert_int_equal(wait, 7000);
    assert_true(time_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", 29, 784111790000, &wait)); /* past: now */
    assert_int_equal(wait, 0);
    assert_false(time_retry_after_ms("1.5", 3, 0, &wait));
    assert_false(time_retry_after_ms("-1", 2, 0, &wait));
    assert_false(time_retry_after_ms("", 0, 0, &wait));
    assert_false(time_retry_after_ms("soon", 4, 0, &wait));
}

static void test_ids(void **state)
{
    (void)state;
    assert_true(id_init());
    char u[ID_UUID_LEN + 1], v[ID_UUID_LEN + 1];
    id_uuid4(u);
    id_uuid4(v);
    assert_true(id_is_uuid(u, strlen(u)));
    assert_string_not_equal(u, v);
    assert_int_equal(u[14], '4');
    assert_true(strchr("89ab", u[19]) != NULL);
    assert_true(id_is_uuid("6BA7B810-9DAD-11D1-80B4-00C04FD430C8", 36)); /* v1, upper case */
    assert_false(id_is_uuid("6ba7b810-9dad-11d1-80b4-00c04fd430c", 35));
    assert_false(id_is_uuid("6ba7b810x9dad-11d1-80b4-00c04fd430c8", 36));
    assert_false(id_is_uuid("not-a-uuid", 10));
    char upper[] = "6BA7B810-9DAD-11D1-80B4-00C04FD430C8";
    assert_string_equal(id_lower(upper), "6ba7b810-9dad-11d1-80b4-00c04fd430c8");
    char t[ID_TOKEN_LEN + 1];
    id_token(t);
    assert_int_equal(strlen(t), 43);
    assert_null(strpbrk(t, "+/="));
    uint8_t h1[ID_SHA256_LEN], h2[ID_SHA256_LEN];
    id_sha256("abc", 3, h1);
    static const uint8_t abc[4] = {0xba, 0x78, 0x16, 0xbf};
    assert_memory_equal(h1, abc, 4);
    id_sha256("abd", 3, h2);
    assert_true(id_equal(h1, h1, ID_SHA256_LEN));
    assert_false(id_equal(h1, h2, ID_SHA256_LEN));
}

/* Prometheus text wants each family once, its samples together under its HELP/TYPE, even when rows of one family
 * stand apart in the table (a label set appended at its end, as the request-nudge sweeper's runs). */
static void test_metric_families_render_whole(void **state)
{
    (void)state;
    buf_t out;
    buf_init(&out, 1 << 20);
    metrics_render(&out);
    assert_non_null(strstr(out.data, "colony_sweeper_runs_total{job=\"delegations\"} 0\n"
                                     "colony_sweeper_runs_total{job=\"request_nudges\"} 0\n"));
    char family[128] = "", seen[8192] = " ";
    int samples = 0;
    for (char *line = out.data, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        *next++ = '\0';
        char name[128];
        if (strncmp(line, "# HELP ", 7) == 0) {
            sscanf(line + 7, "%127s", family);
            char key[132];
            snprintf(key, sizeof(key), " %s ", family);
            assert_null(strstr(seen, key)); /* HELP once per family */
            strncat(seen, key + 1, sizeof(seen) - strlen(seen) - 1);
        } else if (line[0] != '#') {
            sscanf(line, "%127[^{ ]", name);
            assert_string_equal(name, family); /* every sample under its own family */
            samples++;
        }
    }
    assert_int_equal(samples, METRIC__COUNT);
    buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena), cmocka_unit_test(test_buf_respects_its_maximum),
        cmocka_unit_test(test_error_table), cmocka_unit_test(test_json_rules),
        cmocka_unit_test(test_time), cmocka_unit_test(test_retry_after), cmocka_unit_test(test_ids),
        cmocka_unit_test(test_metric_families_render_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
