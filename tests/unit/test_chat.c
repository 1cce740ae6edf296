/* test_chat.c - the chat-history rules of surface.md §15 over stored rows: which text makes each bubble, roles,
 * attachments (file objects, inline fields, A2A v1 url parts, default names), tool traces, and the wire order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "base/json.h"
#include "model/chat.h"

static activity_row row(int64_t at, const char *request, const char *response, const char *status)
{
    return (activity_row){.created_at = at, .request_body = request, .response_body = response, .status = status};
}

static char *dump(arena_t *a, const json_t *v) { return v ? json_dump_arena(a, v, NULL) : NULL; }

static void test_texts_and_roles(void **state)
{
    (void)state;
    arena_t *a = arena_new();
    activity_row rows[] = {
        /* newest first, as the query returns them */
        row(50, NULL, "{\"result\":{\"parts\":[{\"kind\":\"data\"}]},\"task\":\"the task\"}", "ok"),
        row(40, NULL, "{\"result\":\"AGENT ERROR: quota\"}", "ok"),
        row(30, "{\"params\":{\"message\":{\"parts\":[{\"text\":\"Delegation results are ready\"}]}}}",
            "{\"result\":{\"artifacts\":[{\"parts\":[{\"type\":\"text\",\"text\":\"a\"},{\"kind\":\"text\",\"text\":\"\"}]},"
            "{\"parts\":[{\"kind\":\"text\",\"text\":\"b\"}]}]}}",
            "ok"),
        row(20, "{\"params\":{\"message\":{\"parts\":[{\"kind\":\"text\",\"text\":\"hi\"}]}}}", NULL, "error"),
        row(10, "not json", "null", "ok"),
    };
    chat_msg *m;
    size_t n;
    chat_messages(a, rows, 5, NULL, 0, &m, &n);
    assert_int_equal(n, 4);
    assert_int_equal(m[0].role, CHAT_USER); /* a failed send: the user's bubble alone */
    assert_string_equal(m[0].content, "hi");
    assert_int_equal(m[0].at, 20);
    assert_int_equal(m[1].role, CHAT_AGENT); /* no user bubble for delegation results; artifacts joined */
    assert_string_equal(m[1].content, "a\nb");
    assert_int_equal(m[2].role, CHAT_SYSTEM); /* "agent error" in any case */
    assert_string_equal(m[2].content, "AGENT ERROR: quota");
    assert_string_equal(m[3].content, "the task");
    assert_null(m[3].attachments);
    assert_null(m[3].tool_trace);
    assert_string_equal(chat_role_name(CHAT_SYSTEM), "system");
    arena_free(a);
}

static void test_attachments(void **state)
{
    (void)state;
    arena_t *a = arena_new();
    activity_row rows[] = {
        row(10,
            "{\"params\":{\"message\":{\"parts\":[{\"kind\":\"file\",\"uri\":\"https://h/dir/\",\"size\":3},"
            "{\"kind\":\"file\",\"file\":{\"name\":\"no-uri\"}},{\"kind\":\"text\",\"text\":\"see\",\"url\":\"http://u\"}]}}}",
            "{\"result\":{\"status\":{\"message\":{\"parts\":[{\"url\":\"http://h/a/b.png\",\"mediaType\":\"image/png\"},"
            "{\"kind\":\"file\",\"url\":\"http://h/c.txt\",\"filename\":\"C.txt\"}]}},"
            "\"message\":{\"parts\":[{\"type\":\"file\",\"file\":{\"uri\":\"workspace:x.md\",\"name\":\"\","
            "\"mimeType\":\"text/markdown\",\"size\":\"7\"}}]}}}",
            "ok"),
    };
    chat_msg *m;
    size_t n;
    chat_messages(a, rows, 1, NULL, 0, &m, &n);
    assert_int_equal(n, 2);
    assert_string_equal(m[0].content, "see");
    assert_string_equal(dump(a, m[0].attachments), "[{\"uri\":\"https://h/dir/\",\"name\":\"file\",\"size\":3}]");
    assert_string_equal(m[1].content, "");
    assert_string_equal(dump(a, m[1].attachments),
                        "[{\"uri\":\"http://h/a/b.png\",\"name\":\"b.png\",\"mimeType\":\"image/png\"},"
                        "{\"uri\":\"http://h/c.txt\",\"name\":\"C.txt\"},"
                        "{\"uri\":\"workspace:x.md\",\"name\":\"x.md\",\"mimeType\":\"text/markdown\"}]");
    arena_free(a);
}

static void test_tool_traces(void **state)
{
    (void)state;
    arena_t *a = arena_new();
    activity_row rows[] = {
        {.created_at = 300, .response_body = "{\"result\":\"own\"}", .status = "ok", .tool_trace = "[{\"tool\":\"T\"}]",
         .has_duration = true, .duration_ms = 100},
        {.created_at = 200, .response_body = "{\"result\":\"rebuilt\"}", .status = "ok", .has_duration = true,
         .duration_ms = 100},
        {.created_at = 100, .response_body = "{\"result\":\"none\"}", .status = "ok"},
    };
    int64_t from = 0, to = 0;
    assert_true(chat_steps_window(rows, 3, &from, &to)); /* only the row without a trace of its own needs steps */
    assert_int_equal(from, 100);
    assert_int_equal(to, 200);
    activity_row steps[] = {
        {.created_at = 99, .summary = CHAT_TOOL_MARKER "early"}, {.created_at = 100, .summary = CHAT_TOOL_MARKER "Read"},
        {.created_at = 150, .summary = "no marker"},             {.created_at = 200, .summary = CHAT_TOOL_MARKER "Bash"},
    };
    chat_msg *m;
    size_t n;
    chat_messages(a, rows, 3, steps, 4, &m, &n);
    assert_int_equal(n, 3);
    assert_null(m[0].tool_trace);
    assert_string_equal(dump(a, m[1].tool_trace), "[{\"tool\":\"Read\"},{\"tool\":\"Bash\"}]");
    assert_string_equal(dump(a, m[2].tool_trace), "[{\"tool\":\"T\"}]");
    assert_false(chat_steps_window(rows + 2, 1, &from, &to));
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_texts_and_roles),
        cmocka_unit_test(test_attachments),
        cmocka_unit_test(test_tool_traces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
