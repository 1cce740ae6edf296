/* test_bundle.c - the pure parts of org portability: the bundle reader (what it maps to files, what it refuses and
 * the path it names), workspace file path rules and listings, template name normalisation and the generated
 * config.yaml. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "model/bundle.h"
#include "model/wsfiles.h"
#include "model/wstemplate.h"

static cl_err parse(arena_t *a, const char *text, bundle *b, cl_error *e)
{
    size_t nodes;
    return bundle_parse(a, text, strlen(text), b, &nodes, e);
}

static void test_reader_maps_a_bundle_to_files(void **state)
{
    (void)state;
    arena_t *a = arena_new();
    bundle b;
    cl_error e;
    const char *text =
        "{\"schema\":\"1.0\",\"id\":\"r\",\"name\":\"Root\",\"description\":\"leads\",\"tier\":2,\"model\":\"\","
        "\"system_prompt\":\"Lead.\",\"skills\":[{\"id\":\"plan\",\"name\":\"Plan\",\"description\":\"plans\","
        "\"files\":{\"a.md\":\"a\"}}],\"tools\":[{\"id\":\"t\",\"config\":{}}],"
        "\"prompts\":{\"config.yaml\":\"runtime: langgraph\\nmodel: gpt\\n\"},"
        "\"sub_workspaces\":[{\"name\":\"Kid\",\"tier\":0}],\"agent_card\":null,\"author\":\"\",\"version\":\"1\"}";
    assert_int_equal(parse(a, text, &b, &e), CL_OK);
    assert_string_equal(b.name, "Root");
    assert_string_equal(b.runtime, "langgraph");
    assert_string_equal(b.model, "gpt"); /* the bundle's own model was empty: config.yaml's */
    assert_int_equal(b.tier, 2);
    assert_non_null(b.tools);
    assert_null(b.agent_card);
    assert_int_equal(b.nfiles, 4);
    const char *paths[] = {"system-prompt.md", "config.yaml", "skills/plan/a.md", "skills/plan/SKILL.md"};
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(b.files[i].path, paths[i]);
    assert_string_equal(b.files[3].content, "---\nname: \"Plan\"\ndescription: \"plans\"\n---\n");
    assert_int_equal(b.nsubs, 1);
    assert_string_equal(b.subs[0].name, "Kid");
    assert_int_equal(b.subs[0].tier, WS_TIER_DEFAULT);
    assert_string_equal(b.subs[0].runtime, "claude-code");
    arena_free(a);
}

static void test_reader_refusals_name_their_path(void **state)
{
    (void)state;
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"{\"name\":\"a\",\"sub_workspaces\":[{\"name\":\"b\",\"skills\":[{\"id\":\"s\",\"files\":{\"x\":1}}]}]}",
         "sub_workspaces[0].skills[0].files[\"x\"] must be a string"},
        {"{\"name\":\"a\",\"sub_workspaces\":{}}", "sub_workspaces must be a list of bundles"},
        {"{\"name\":\"a\",\"id\":\"x\",\"sub_workspaces\":[{\"name\":\"b\",\"id\":\"x\"}]}",
         "sub_workspaces[0].id: cycle: \"x\" is the id of an enclosing bundle"},
        {"{\"name\":\"a\",\"model\":\"m\\nn\"}", "model must not contain CR or LF"},
        {"{\"name\":\"a\",\"prompts\":{\"a/./b\":\"x\"}}", "prompts[\"a/./b\"]: invalid path"},
        {"{\"name\":\"a\",\"prompts\":{\"x/.git/config\":\"x\"}}",
         "prompts[\"x/.git/config\"]: hidden files are not carried by bundles"},
        {"{\"name\":\"a\",\"skills\":[{\"id\":\"a/b\"}]}", "skills[0].id must name a skill directory (one path part)"},
        {"{\"name\":\"a\",\"tools\":[1]}", "tools[0] must be an object"},
        {"\"just a string\"", "the bundle must be an object"},
        {"{\"name\":\"a\xff\"}", "invalid UTF-8 at byte 10"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        arena_t *a = arena_new();
        bundle b;
        cl_error e;
        assert_int_equal(parse(a, cases[i].text, &b, &e), CL_INVALID);
        if (strcmp(e.msg, cases[i].msg) != 0)
            fail_msg("case %zu: \"%s\" != \"%s\"", i, e.msg, cases[i].msg);
        arena_free(a);
    }
}

static void test_path_rules(void **state)
{
    (void)state;
    cl_error e;
    static const char *const ok[] = {"config.yaml", "skills/a b/SKILL.md", ".env", "a/.hidden/b", "ünï.md", "a..b"};
    static const char *const bad[] = {"", "/abs", "a/", "..", "../a", "a/../b", "a/..", ".", "./a", "a//b", "a\\b",
                                      "a\x01" "b", "a\x7f"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        assert_int_equal(wsfiles_path_check(ok[i], &e), CL_OK);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(wsfiles_path_check(bad[i], &e), CL_INVALID);
    char longp[WSFILES_PATH_MAX + 2];
    memset(longp, 'x', sizeof(longp) - 1);
    longp[sizeof(longp) - 1] = '\0';
    assert_int_equal(wsfiles_path_check(longp, &e), CL_INVALID);
    longp[WSFILES_PATH_MAX] = '\0';
    assert_int_equal(wsfiles_path_check(longp, &e), CL_OK);
    assert_int_equal(wsfiles_path_check("\xc3(", &e), CL_INVALID); /* not UTF-8 */
    assert_true(wsfiles_hidden(".env") && wsfiles_hidden("a/.git/x") && !wsfiles_hidden("a.b/c"));
    assert_true(wsfiles_ignored("x/node_modules/y") && wsfiles_ignored("__pycache__") && !wsfiles_ignored("gitx"));
    assert_int_equal(wsfiles_content_check("x", WSFILES_FILE_MAX + 1, &e), CL_TOO_LARGE);
    assert_int_equal(wsfiles_content_check("a\0b", 3, &e), CL_INVALID);
    assert_true(wsfiles_root_valid("/configs") && wsfiles_root_valid("/plugins") && !wsfiles_root_valid("/agent-home"));
}

static void test_shape_conflicts(void **state)
{
    (void)state;
    arena_t *a = arena_new();
    /* "a-b" and "a.md" sort between "a" and "a/b": a neighbour-only check would miss the pair */
    ws_file clash[] = {{"a/b/c", NULL, 0}, {"a-b", NULL, 0}, {"a.md", NULL, 0}, {"a", NULL, 0}};
    assert_string_equal(wsfiles_shape_conflict(a, clash, 4), "a");
    ws_file deep[] = {{"x/y", NULL, 0}, {"x/y/z/w", NULL, 0}};
    assert_string_equal(wsfiles_shape_conflict(a, deep, 2), "x/y");
    ws_file fine[] = {{"a-b/c", NULL, 0}, {"a", NULL, 0}, {"ab/c", NULL, 0}, {"a.d/e", NULL, 0}};
    assert_null(wsfiles_shape_conflict(a, fine, 4));
    assert_null(wsfiles_shape_conflict(a, NULL, 0));
    arena_free(a);
}

static void test_entries(void **state)
{
    (void)state;
    arena_t *a = arena_new();
    ws_file files[] = {{"a.md", NULL, 1}, {"b/c.md", NULL, 2}, {"b/d/e.md", NULL, 3}, {"b/node_modules/x", NULL, 4},
                       {"bb.md", NULL, 5}};
    ws_entry *out;
    size_t n;
    wsfiles_entries(a, files, 5, "", 1, &out, &n);
    assert_int_equal(n, 3);
    assert_string_equal(out[0].path, "a.md");
    assert_true(out[1].dir && strcmp(out[1].path, "b") == 0);
    assert_string_equal(out[2].path, "bb.md");
    wsfiles_entries(a, files, 5, "b", 2, &out, &n);
    assert_int_equal(n, 3); /* b/c.md, b/d, b/d/e.md: node_modules left out, "bb.md" is not under b */
    assert_string_equal(out[0].path, "b/c.md");
    assert_true(out[1].dir && strcmp(out[1].path, "b/d") == 0);
    assert_int_equal(out[2].size, 3);
    arena_free(a);
}

static void test_names_and_generated_config(void **state)
{
    (void)state;
    arena_t *a = arena_new();
    cl_error e;
    assert_string_equal(wstpl_normalize(a, "My Team-Lead 2"), "my-team-lead-2");
    assert_string_equal(wstpl_normalize(a, "../../etc"), "etc");
    assert_string_equal(wstpl_normalize(a, "!!!"), "unnamed");
    assert_int_equal(wstpl_name_check("a/b", &e), CL_INVALID);
    assert_int_equal(wstpl_name_check("a..b", &e), CL_INVALID);
    assert_int_equal(wstpl_name_check("fine name", &e), CL_OK);
    ws_file files[] = {{"z.md", NULL, 0}, {"skills/b/SKILL.md", NULL, 0}, {"a.md", NULL, 0},
                       {"skills/a/SKILL.md", NULL, 0}, {"skills/a/x.md", NULL, 0}, {"docs/c.md", NULL, 0}};
    wstpl_config c = {"Na\"me\n", "", "langgraph", "m", 2, files, 6, NULL, 0};
    assert_string_equal(wstpl_config_yaml(a, &c),
                        "name: \"Na\\\"me\\n\"\ndescription: \"\"\nversion: \"1.0.0\"\ntier: 2\nruntime: \"langgraph\"\n"
                        "model: \"m\"\nprompt_files:\n  - \"a.md\"\n  - \"z.md\"\nskills:\n  - \"a\"\n  - \"b\"\n"
                        "a2a:\n  port: 8000\n");
    const char *yaml = wstpl_config_yaml(a, &c);
    assert_string_equal(wstpl_yaml_string(a, yaml, strlen(yaml), "name"), "Na\"me\n"); /* one scalar, whatever it holds */
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_maps_a_bundle_to_files),
        cmocka_unit_test(test_reader_refusals_name_their_path),
        cmocka_unit_test(test_path_rules),
        cmocka_unit_test(test_shape_conflicts),
        cmocka_unit_test(test_entries),
        cmocka_unit_test(test_names_and_generated_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
