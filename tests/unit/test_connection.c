/* test_connection.c - the external-connection snippets: the MCP server name vectors of shared/api/vectors.md §3.10
 * and the substitutions of every snippet. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "model/connection.h"

static const char *ID = "12345678-aaaa-4bbb-8ccc-1234567890ab";

static void test_server_name_vectors(void **state)
{
    (void)state;
    arena_t *a = arena_new();
    assert_string_equal(conn_mcp_server_name(a, "my-bot", ID), "molecule-my-bot");
    assert_string_equal(conn_mcp_server_name(a, "My Bot 1", ID), "molecule-my-bot-1");
    assert_string_equal(conn_mcp_server_name(a, "--Foo!!Bar--", ID), "molecule-foo-bar");
    assert_string_equal(conn_mcp_server_name(a, "", ID), "molecule-12345678");
    assert_string_equal(conn_mcp_server_name(a, "!!!", ID), "molecule-12345678"); /* never bare "molecule" */
    assert_string_equal(conn_mcp_server_name(a, NULL, ID), "molecule-12345678");
    assert_string_equal(conn_mcp_server_name(a, "Équipe Données", ID), "molecule-quipe-donn-es");
    /* at most 24 characters, cut first and trimmed after */
    assert_string_equal(conn_mcp_server_name(a, "abcdefghijklmnopqrstuvwxyz", ID), "molecule-abcdefghijklmnopqrstuvwx");
    assert_string_equal(conn_mcp_server_name(a, "abcdefghijklmnopqrstuvw xyz", ID), "molecule-abcdefghijklmnopqrstuvw");
    assert_string_equal(conn_mcp_server_name(a, "  a  ", "1-2-3-4-5-6-7-8-9"), "molecule-a");
    arena_free(a);
}

static void test_connection_object(void **state)
{
    (void)state;
    arena_t *a = arena_new();
    json_t *c = conn_connection(a, "https://colony.example.com", ID, "My Bot", "");
    const char *keys[] = {"workspace_id", "platform_url", "auth_token", "registry_endpoint", "heartbeat_endpoint",
                          "curl_register_template", "python_snippet", "claude_code_channel_snippet",
                          "universal_mcp_snippet", "hermes_channel_snippet", "codex_snippet", "openclaw_snippet",
                          "kimi_snippet"};
    assert_int_equal(json_object_size(c), sizeof(keys) / sizeof(keys[0]));
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const char *v = json_string_value(json_object_get(c, keys[i]));
        assert_non_null(v);
        assert_null(strstr(v, "{{")); /* every placeholder is substituted */
        if (i >= 5) {
            assert_non_null(strstr(v, "https://colony.example.com"));
            assert_non_null(strstr(v, ID));
            assert_non_null(strstr(v, "<workspace token>"));
        }
        if (i >= 7)
            assert_non_null(strstr(v, "molecule-my-bot"));
    }
    assert_string_equal(json_string_value(json_object_get(c, "auth_token")), "");
    assert_string_equal(json_string_value(json_object_get(c, "registry_endpoint")),
                        "https://colony.example.com/registry/register");
    assert_string_equal(json_string_value(json_object_get(c, "heartbeat_endpoint")),
                        "https://colony.example.com/registry/heartbeat");
    assert_non_null(strstr(json_string_value(json_object_get(c, "claude_code_channel_snippet")),
                           "claude mcp add molecule-my-bot "));
    json_t *universal = json_loads(json_string_value(json_object_get(c, "universal_mcp_snippet")), 0, NULL);
    assert_non_null(universal); /* a JSON snippet is JSON */
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(json_object_get(universal, "mcpServers"),
                                                            "molecule-my-bot"),
                                            "env"),
                            "MOLECULE_WORKSPACE_ID")),
                        ID);
    json_decref(universal);
    json_decref(c);
    c = conn_connection(a, "http://127.0.0.1:8080", ID, "x", "tok-123"); /* a token given is shown */
    assert_non_null(strstr(json_string_value(json_object_get(c, "codex_snippet")), "\"tok-123\""));
    assert_string_equal(json_string_value(json_object_get(c, "auth_token")), "tok-123");
    json_decref(c);
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_name_vectors),
        cmocka_unit_test(test_connection_object),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
