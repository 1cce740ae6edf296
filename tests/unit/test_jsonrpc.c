/* test_jsonrpc.c - the JSON-RPC 2.0 layer of the MCP bridge: what is a request, a notification, an invalid item, a
 * batch, and what is answered (the examples of jsonrpc.org/specification §7 among them). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonrpc.h"

static arena_t *a;

static int setup(void **state)
{
    (void)state;
    a = arena_new();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    arena_free(a);
    return 0;
}

static jsonrpc_msg parse_ok(const char *body)
{
    jsonrpc_msg m;
    cl_error e;
    assert_int_equal(jsonrpc_parse(a, body, strlen(body), &m, &e), CL_OK);
    return m;
}

/* The answer to `body` when every valid call is answered {"ok":<method>} and every invalid one -32600, as compact
 * sorted JSON ("" when nothing is answered). */
static char *answer(const char *body)
{
    jsonrpc_msg m = parse_ok(body);
    json_t **rs = calloc(m.n, sizeof(*rs));
    for (size_t i = 0; i < m.n; i++)
        rs[i] = m.calls[i].invalid ? jsonrpc_invalid(&m.calls[i])
                                   : jsonrpc_result(m.calls[i].id, json_pack("{s:s}", "ok", m.calls[i].method));
    json_t *r = jsonrpc_reply(&m, rs);
    free(rs);
    char *s = r ? json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS) : strdup("");
    json_decref(r);
    return s;
}

#define assert_answer(body, want)                                                                                  \
    do {                                                                                                           \
        char *got_ = answer(body);                                                                                 \
        assert_string_equal(got_, want);                                                                           \
        free(got_);                                                                                                \
    } while (0)

static void test_not_json_is_the_parse_error(void **state)
{
    (void)state;
    const char *bodies[] = {"", "{", "{\"jsonrpc\":\"2.0\",\"method\":\"foobar\",\"params\":\"bar\",\"baz]",
                            "[{\"jsonrpc\":\"2.0\",\"method\":\"sum\"},{\"jsonrpc\":\"2.0\",\"method\"]",
                            "{\"a\":1,\"a\":2}", "\"\\u0000\"", "\xff"};
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        jsonrpc_msg m;
        cl_error e;
        assert_int_equal(jsonrpc_parse(a, bodies[i], strlen(bodies[i]), &m, &e), CL_INVALID_JSON);
    }
}

static void test_requests_and_notifications(void **state)
{
    (void)state;
    assert_answer("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"subtract\",\"params\":[42,23]}",
                  "{\"id\":1,\"jsonrpc\":\"2.0\",\"result\":{\"ok\":\"subtract\"}}");
    assert_answer("{\"jsonrpc\":\"2.0\",\"id\":\"abc\",\"method\":\"m\"}",
                  "{\"id\":\"abc\",\"jsonrpc\":\"2.0\",\"result\":{\"ok\":\"m\"}}");
    assert_answer("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", ""); /* never answered */
    assert_answer("{\"jsonrpc\":\"2.0\",\"method\":\"update\",\"params\":[1,2,3]}", "");
    /* ids are echoed exactly, whatever their size */
    assert_answer("{\"jsonrpc\":\"2.0\",\"id\":-9223372036854775808,\"method\":\"m\"}",
                  "{\"id\":-9223372036854775808,\"jsonrpc\":\"2.0\",\"result\":{\"ok\":\"m\"}}");
}

static void test_invalid_items(void **state)
{
    (void)state;
    /* the reason travels in data; the id is echoed only when it is itself valid */
    assert_answer("{\"jsonrpc\":\"2.0\",\"method\":1,\"params\":\"bar\"}",
                  "{\"error\":{\"code\":-32600,\"data\":{\"error\":\"method must be a string\"},"
                  "\"message\":\"invalid request\"},\"id\":null,\"jsonrpc\":\"2.0\"}");
    assert_answer("{\"id\":7,\"method\":\"m\"}",
                  "{\"error\":{\"code\":-32600,\"data\":{\"error\":\"jsonrpc must be \\\"2.0\\\"\"},"
                  "\"message\":\"invalid request\"},\"id\":7,\"jsonrpc\":\"2.0\"}");
    assert_answer("{\"jsonrpc\":\"1.0\",\"id\":7,\"method\":\"m\"}",
                  "{\"error\":{\"code\":-32600,\"data\":{\"error\":\"jsonrpc must be \\\"2.0\\\"\"},"
                  "\"message\":\"invalid request\"},\"id\":7,\"jsonrpc\":\"2.0\"}");
    assert_answer("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"m\",\"params\":\"x\"}",
                  "{\"error\":{\"code\":-32600,\"data\":{\"error\":\"params must be an object or an array\"},"
                  "\"message\":\"invalid request\"},\"id\":7,\"jsonrpc\":\"2.0\"}");
    assert_answer("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"m\",\"params\":null}",
                  "{\"error\":{\"code\":-32600,\"data\":{\"error\":\"params must be an object or an array\"},"
                  "\"message\":\"invalid request\"},\"id\":7,\"jsonrpc\":\"2.0\"}");
    const char *bad_ids[] = {"null", "1.5", "1.0", "true", "[1]", "{}"};
    for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
        char body[128];
        snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"m\"}", bad_ids[i]);
        assert_answer(body, "{\"error\":{\"code\":-32600,\"data\":{\"error\":\"id must be a string or an integer\"},"
                            "\"message\":\"invalid request\"},\"id\":null,\"jsonrpc\":\"2.0\"}");
    }
    /* an invalid item is answered even without an id: it is not a notification */
    assert_answer("1", "{\"error\":{\"code\":-32600,\"data\":{\"error\":\"a request must be an object\"},"
                       "\"message\":\"invalid request\"},\"id\":null,\"jsonrpc\":\"2.0\"}");
}

static void test_batches(void **state)
{
    (void)state;
    /* the specification's mixed batch: answers in order, none for the notifications, -32600 for the bad items */
    assert_answer("[{\"jsonrpc\":\"2.0\",\"method\":\"sum\",\"params\":[1,2,4],\"id\":\"1\"},"
                  "{\"jsonrpc\":\"2.0\",\"method\":\"notify_hello\",\"params\":[7]},"
                  "{\"jsonrpc\":\"2.0\",\"method\":\"subtract\",\"params\":[42,23],\"id\":\"2\"},"
                  "{\"foo\":\"boo\"},"
                  "{\"jsonrpc\":\"2.0\",\"method\":\"get_data\",\"id\":\"9\"}]",
                  "[{\"id\":\"1\",\"jsonrpc\":\"2.0\",\"result\":{\"ok\":\"sum\"}},"
                  "{\"id\":\"2\",\"jsonrpc\":\"2.0\",\"result\":{\"ok\":\"subtract\"}},"
                  "{\"error\":{\"code\":-32600,\"data\":{\"error\":\"jsonrpc must be \\\"2.0\\\"\"},"
                  "\"message\":\"invalid request\"},\"id\":null,\"jsonrpc\":\"2.0\"},"
                  "{\"id\":\"9\",\"jsonrpc\":\"2.0\",\"result\":{\"ok\":\"get_data\"}}]");
    assert_answer("[1,2]", "[{\"error\":{\"code\":-32600,\"data\":{\"error\":\"a request must be an object\"},"
                           "\"message\":\"invalid request\"},\"id\":null,\"jsonrpc\":\"2.0\"},"
                           "{\"error\":{\"code\":-32600,\"data\":{\"error\":\"a request must be an object\"},"
                           "\"message\":\"invalid request\"},\"id\":null,\"jsonrpc\":\"2.0\"}]");
    /* only notifications: nothing at all */
    assert_answer("[{\"jsonrpc\":\"2.0\",\"method\":\"a\"},{\"jsonrpc\":\"2.0\",\"method\":\"b\"}]", "");
    /* empty, or too large: one error object, not an array */
    assert_answer("[]", "{\"error\":{\"code\":-32600,\"data\":{\"error\":\"an empty batch\"},"
                        "\"message\":\"invalid request\"},\"id\":null,\"jsonrpc\":\"2.0\"}");
    char big[64 * 40] = "[";
    for (int i = 0; i < JSONRPC_BATCH_MAX + 1; i++)
        strcat(big, i ? ",{\"jsonrpc\":\"2.0\",\"method\":\"a\"}" : "{\"jsonrpc\":\"2.0\",\"method\":\"a\"}");
    strcat(big, "]");
    assert_answer(big, "{\"error\":{\"code\":-32600,\"data\":{\"error\":\"a batch of more than 32 requests\"},"
                       "\"message\":\"invalid request\"},\"id\":null,\"jsonrpc\":\"2.0\"}");
    big[strlen(big) - strlen(",{\"jsonrpc\":\"2.0\",\"method\":\"a\"}]")] = '\0';
    strcat(big, "]"); /* exactly the bound: accepted, all notifications */
    assert_int_equal(parse_ok(big).n, JSONRPC_BATCH_MAX);
}

static void test_replies_to_notifications_are_dropped(void **state)
{
    (void)state;
    jsonrpc_msg m = parse_ok("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
    json_t *rs[1] = {jsonrpc_result(NULL, NULL)}; /* whoever answers a notification, nothing goes out */
    assert_null(jsonrpc_reply(&m, rs));
    assert_null(rs[0]);
    json_t *e = jsonrpc_error(NULL, JSONRPC_METHOD_NOT_FOUND, "method not found", NULL);
    char *s = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(s, "{\"error\":{\"code\":-32601,\"message\":\"method not found\"},\"id\":null,\"jsonrpc\":\"2.0\"}");
    free(s);
    json_decref(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_not_json_is_the_parse_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_requests_and_notifications, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_items, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replies_to_notifications_are_dropped, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
