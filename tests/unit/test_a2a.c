/* test_a2a.c - A2A payload normalisation and queue helpers: the vectors of shared/api/vectors.md §3.5. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <string.h>

#include "base/id.h"
#include "model/a2a.h"

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

static cl_err norm(const char *body, a2a_msg *m, cl_error *e) { return a2a_normalize(a, body, strlen(body), m, e); }

/* The normalised body, parsed (owned by the test: decref). */
static json_t *parsed(const a2a_msg *m)
{
    json_t *v = json_loadb(m->body, m->body_len, 0, NULL);
    assert_non_null(v);
    return v;
}

static void test_not_json_is_invalid_json(void **state)
{
    (void)state;
    a2a_msg m;
    cl_error e;
    assert_int_equal(norm("not json", &m, &e), CL_INVALID_JSON);
    assert_string_equal(e.msg, "invalid JSON");
    assert_int_equal(norm("[1]", &m, &e), CL_INVALID_JSON);
}

static void test_bare_body_is_wrapped_and_ids_generated(void **state)
{
    (void)state;
    a2a_msg m;
    cl_error e;
    assert_int_equal(norm("{\"method\":\"message/send\",\"params\":{\"message\":{\"content\":\"hello world\"}}}", &m, &e),
                     CL_OK);
    json_t *v = parsed(&m);
    assert_string_equal(json_string_value(json_object_get(v, "jsonrpc")), "2.0");
    assert_true(id_is_uuid(json_string_value(json_object_get(v, "id")), 36));
    json_t *msg = json_object_get(json_object_get(v, "params"), "message");
    assert_null(json_object_get(msg, "content"));
    assert_string_equal(json_string_value(json_object_get(msg, "role")), "user");
    assert_string_equal(m.message_id, json_string_value(json_object_get(msg, "messageId")));
    assert_true(id_is_uuid(m.message_id, strlen(m.message_id)));
    json_t *want = json_loads("[{\"kind\":\"text\",\"text\":\"hello world\"}]", 0, NULL);
    assert_true(json_equal(json_object_get(msg, "parts"), want));
    assert_string_equal(m.method, "message/send");
    assert_string_equal(m.text, "hello world");
    assert_true(m.is_send);
    json_decref(want);
    json_decref(v);
}

static void test_existing_ids_role_and_kinds_are_kept(void **state)
{
    (void)state;
    a2a_msg m;
    cl_error e;
    assert_int_equal(norm("{\"jsonrpc\":\"2.0\",\"id\":\"r1\",\"method\":\"tasks/list\",\"params\":{\"message\":{"
                          "\"messageId\":\"m1\",\"role\":\"agent\",\"parts\":[{\"type\":\"text\",\"text\":\"a\"},"
                          "{\"type\":\"file\"},{\"kind\":\"data\",\"type\":\"x\"}]}}}",
                          &m, &e),
                     CL_OK);
    json_t *v = parsed(&m);
    assert_string_equal(json_string_value(json_object_get(v, "id")), "r1");
    assert_string_equal(m.message_id, "m1");
    assert_string_equal(m.method, "tasks/list");
    assert_false(m.is_send);
    json_t *want = json_loads("[{\"kind\":\"text\",\"text\":\"a\"},{\"kind\":\"file\"},{\"kind\":\"data\",\"type\":\"x\"}]",
                              0, NULL);
    json_t *msg = json_object_get(json_object_get(v, "params"), "message");
    assert_true(json_equal(json_object_get(msg, "parts"), want));
    assert_string_equal(json_string_value(json_object_get(msg, "role")), "agent");
    json_decref(want);
    json_decref(v);
}

static void test_content_list_and_bad_content(void **state)
{
    (void)state;
    a2a_msg m;
    cl_error e;
    assert_int_equal(norm("{\"params\":{\"message\":{\"content\":[{\"kind\":\"text\",\"text\":\"x\"}]}}}", &m, &e),
                     CL_OK);
    assert_string_equal(m.text, "x");
    assert_string_equal(m.method, ""); /* absent method: empty, not an error */
    assert_int_equal(norm("{\"params\":{\"message\":{\"content\":42}}}", &m, &e), CL_INVALID);
    assert_string_equal(e.msg, "invalid params.message.content type");
    assert_int_equal(norm("{\"params\":{\"message\":{\"role\":\"user\"}}}", &m, &e), CL_INVALID);
    assert_non_null(strstr(e.msg, "'parts'"));
    assert_non_null(strstr(e.msg, "'content'"));
    assert_int_equal(norm("{\"method\":\"tasks/get\",\"params\":{\"id\":\"t\"}}", &m, &e), CL_OK); /* no message */
    assert_null(m.message_id);
}

static void test_expiry_and_delegation(void **state)
{
    (void)state;
    const struct {
        const char *ttl;
        int64_t want;
    } cases[] = {{"30", 30}, {"0", 0}, {"3600", 3600}, {"-5", 0}, {"null", 0}, {"\"30\"", 0}, {"30.5", 30}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char body[256];
        snprintf(body, sizeof(body),
                 "{\"method\":\"message/send\",\"params\":{\"expires_in_seconds\":%s,\"message\":{\"parts\":[],"
                 "\"metadata\":{\"delegation_id\":\"d-1\"}}}}",
                 cases[i].ttl);
        a2a_msg m;
        cl_error e;
        assert_int_equal(norm(body, &m, &e), CL_OK);
        assert_int_equal(m.expires_in_s, cases[i].want);
        assert_string_equal(m.delegation_id, "d-1");
    }
}

static void test_reply_text(void **state)
{
    (void)state;
    const char *msg = "{\"result\":{\"parts\":[{\"kind\":\"data\"},{\"kind\":\"text\",\"text\":\"hi\"}]}}";
    const char *task = "{\"result\":{\"status\":{\"state\":\"completed\"},\"artifacts\":[{\"parts\":[{\"kind\":"
                       "\"text\",\"text\":\"art\"}]}]}}";
    assert_string_equal(a2a_reply_text(a, msg, strlen(msg)), "hi");
    assert_string_equal(a2a_reply_text(a, task, strlen(task)), "art");
    assert_null(a2a_reply_text(a, "nope", 4));
}

int main(void)
{
    id_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_not_json_is_invalid_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bare_body_is_wrapped_and_ids_generated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_existing_ids_role_and_kinds_are_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_content_list_and_bad_content, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry_and_delegation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_text, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
