/* test_model.c - pure model rules: the 36 event names (vectors.md §3.3), the 3 approval outcomes (inbox.md §7), the
 * broadcast and colony's config-change event,
 * agent URL checks (§3.6), workspace field rules (§3.7) and the bearer header parse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "model/event.h"
#include "model/secret.h"
#include "model/token.h"
#include "base/netaddr.h"
#include "model/urlcheck.h"
#include "model/workspace.h"

static void test_event_names_are_the_39_of_the_contract_and_2_more(void **state)
{
    (void)state;
    static const char *const expected[] = {
        "A2A_RESPONSE", "ACTIVITY_LOGGED", "AGENT_ASSIGNED", "AGENT_CARD_UPDATED", "AGENT_MESSAGE", "AGENT_MOVED",
        "AGENT_REMOVED", "AGENT_REPLACED", "APPROVAL_ESCALATED", "APPROVAL_REQUESTED", "CHANNEL_MESSAGE",
        "CRON_EXECUTED", "CRON_SKIPPED", "DELEGATION_COMPLETE", "DELEGATION_FAILED", "DELEGATION_SENT",
        "DELEGATION_STATUS", "EXTERNAL_CREDENTIALS_ROTATED", "REQUEST_CREATED", "REQUEST_MESSAGE",
        "REQUEST_RESPONDED", "SESSION_RESET", "TASK_UPDATED", "USER_MESSAGE", "USER_TASK_REQUESTED",
        "USER_TASK_RESOLVED", "WORKSPACE_AWAITING_AGENT", "WORKSPACE_DEGRADED", "WORKSPACE_HEARTBEAT",
        "WORKSPACE_HIBERNATED", "WORKSPACE_OFFLINE", "WORKSPACE_ONLINE", "WORKSPACE_PAUSED",
        "WORKSPACE_PROVISIONING", "WORKSPACE_PROVISION_FAILED", "WORKSPACE_REMOVED",
        /* not in the reference's list, but emitted by its decide and withdraw */
        "APPROVAL_APPROVED", "APPROVAL_DENIED", "APPROVAL_WITHDRAWN",
        /* a broadcast (sent live only by the reference), and colony's config/files/model change */
        "BROADCAST_MESSAGE", "WORKSPACE_CONFIG_UPDATED"};
    assert_int_equal(EV__COUNT, 41);
    assert_int_equal(sizeof(expected) / sizeof(expected[0]), 41);
    for (int i = 0; i < EV__COUNT; i++) {
        const char *n = event_name((event_type)i);
        assert_string_equal(n, expected[i]);
        /* upper snake case: A-Z 0-9 _, no leading, trailing or double underscore */
        size_t len = strlen(n);
        assert_true(n[0] != '_' && n[len - 1] != '_' && strstr(n, "__") == NULL);
        assert_int_equal(strspn(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"), len);
        event_type back;
        assert_true(event_from_name(n, &back));
        assert_int_equal(back, i);
    }
    event_type t;
    assert_false(event_from_name("workspace_online", &t));
    assert_string_equal(event_name(EV__COUNT), "UNKNOWN");
}

static void test_agent_urls(void **state)
{
    (void)state;
    cl_error e;
    /* names are checked for form only (no lookup, so this test does not depend on the machine's DNS); the address
     * table itself is tests/unit/test_netaddr.c */
    static const char *const ok[] = {"https://example.com:443", "http://example.com:8000",
                                     "https://example.com/a2a?x=1", "http://8.8.8.8", "HTTP://8.8.8.8:1/", "http://[2606:4700::1111]:80/x",
                                     "http://no-such-host.invalid", "http://example.com.:65535"};
    netaddr_set_allow_private(false);
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (url_check_agent(ok[i], &e) != CL_OK)
            fail_msg("refused %s: %s", ok[i], e.msg);
    static const char *const bad[] = {
        "file:///etc/passwd", "ftp://example.com", "://not-a-url", "", "http://169.254.169.254/latest",
        "http://[::ffff:169.254.169.254]/", "http://127.0.0.1:8000", "http://127.9.9.9", "http://10.1.2.3",
        "http://172.16.0.1", "http://172.18.0.5:80", "http://172.31.255.255", "http://192.168.1.1", "http://[::1]:80",
        "http://[fe80::1]", "http://[fd00::1]", "http://192.0.2.1", "http://198.51.100.7", "http://203.0.113.9",
        "http://[2001:db8::1]", "http://0.0.0.0:80", "http://224.0.0.1", "http://localhost:8000",
        "http://2130706433/", "http://0x7f.1:80", "http://user:pw@example.com", "http://example.com:0",
        "http://example.com:99999", "http://:80", "http://[::1", "http://[::1]x/", "http://ex ample.com",
        "http://example.com\\@127.0.0.1/", "http://example.com:80:80/", "http://a..b/", "http://1.2.3.4.5/"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (url_check_agent(bad[i], &e) != CL_INVALID)
            fail_msg("accepted %s", bad[i]);
    }
    assert_int_equal(url_check_agent("http://0x7f000001:1/", &e), CL_INVALID);
    assert_string_equal(e.msg, "address 127.0.0.1 is in a blocked range (loopback)");
    netaddr_set_allow_private(true); /* development: loopback and private, never metadata */
    assert_int_equal(url_check_agent("http://localhost:8000", &e), CL_OK);
    assert_int_equal(url_check_agent("http://127.0.0.1:8000", &e), CL_OK);
    assert_int_equal(url_check_agent("http://169.254.169.254/", &e), CL_INVALID);
    netaddr_set_allow_private(false);
    assert_int_equal(url_check_placeholder("remote://no-inbound", &e), CL_OK);
    assert_int_equal(url_check_placeholder("remote://x y", &e), CL_INVALID);
}

static void test_workspace_field_rules(void **state)
{
    (void)state;
    cl_error e;
    assert_int_equal(ws_validate_name("Dev Lead", &e), CL_OK);
    assert_int_equal(ws_validate_name("", &e), CL_INVALID);
    assert_int_equal(ws_validate_name("bad\nname", &e), CL_INVALID);
    static const char specials[] = "{}[]|>*&!";
    for (size_t i = 0; i < sizeof(specials) - 1; i++) {
        char name[8] = "ab";
        name[1] = specials[i];
        assert_int_equal(ws_validate_name(name, &e), CL_INVALID);
        assert_int_equal(ws_validate_role(name, &e), CL_INVALID);
    }
    assert_int_equal(ws_validate_role("a\rb", &e), CL_INVALID);
    assert_int_equal(ws_validate_dir("/home/agent/work", &e), CL_OK);
    static const char *const dirs[] = {"relative", "/etc", "/var/lib/x", "/proc/1", "/usr/local", "/home/../etc",
                                       "/bin", "/sys", "/dev/x", "/boot", "/sbin", "/lib64"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
        assert_int_equal(ws_validate_dir(dirs[i], &e), CL_INVALID);
    assert_true(ws_runtime_known("claude-code") && ws_runtime_known("langgraph") && ws_runtime_known("mock"));
    assert_false(ws_runtime_known("Claude-Code"));
    assert_true(ws_runtime_external_like("kimi-cli") && !ws_runtime_external_like("codex"));
    assert_true(ws_status_valid("awaiting_agent") && !ws_status_valid("gone"));
}

static void test_bearer_parse(void **state)
{
    (void)state;
    arena_t *a = arena_new();
    assert_null(token_from_header(a, NULL));
    assert_null(token_from_header(a, ""));
    assert_null(token_from_header(a, "xyz"));
    assert_null(token_from_header(a, "bearer x"));
    assert_null(token_from_header(a, "Bearer "));
    assert_string_equal(token_from_header(a, "Bearer abc123"), "abc123");
    assert_string_equal(token_from_header(a, "Bearer   spaced  "), "spaced");
    arena_free(a);
}

/* data.md §3.4 guard 1's names, in any case (the list is searched by bisection: an entry out of order is missed) */
static void test_llm_credentials(void **state)
{
    (void)state;
    static const char *const listed[] = {
        "AI_GATEWAY_API_KEY", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ARCEEAI_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN",
        "CODEX_AUTH_JSON", "DASHSCOPE_API_KEY", "DEEPSEEK_API_KEY", "GEMINI_API_KEY", "GLM_API_KEY",
        "HERMES_CUSTOM_API_KEY", "HERMES_CUSTOM_BASE_URL", "HF_TOKEN", "KIMI_API_KEY", "KIMI_CN_API_KEY",
        "MINIMAX_API_KEY", "MINIMAX_CN_API_KEY", "NOUS_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL",
        "OPENROUTER_API_KEY", "XAI_API_KEY", "ZAI_API_KEY", "anthropic_api_key", "Hf_Token"};
    for (size_t i = 0; i < sizeof(listed) / sizeof(listed[0]); i++)
        assert_true(secret_is_llm_credential(listed[i]));
    static const char *const other[] = {"", "MODEL", "OPENAI_API_KEY_2", "ANTHROPIC", "GITHUB_TOKEN", "A", "ZZZ"};
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
        assert_false(secret_is_llm_credential(other[i]));
    assert_false(secret_is_llm_credential(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_names_are_the_39_of_the_contract_and_2_more),
        cmocka_unit_test(test_agent_urls),
        cmocka_unit_test(test_workspace_field_rules),
        cmocka_unit_test(test_bearer_parse),
        cmocka_unit_test(test_llm_credentials),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
