/* test_orgenv.c - org import's required_env checks: which tier fails, the reference's union rules (distinct by
 * names, a required name drops the any_of groups holding it, singles first), and what a node's .env satisfies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "base/json.h"
#include "model/orgenv.h"

static org_template load(arena_t *a, const char *text)
{
    json_t *doc;
    cl_error e;
    assert_int_equal(json_parse(a, text, strlen(text), &doc, &e), CL_OK);
    org_template t;
    if (tpl_from_json(a, doc, &t, &e) != CL_OK)
        fail_msg("template refused: %s", e.msg);
    return t;
}

static void assert_json(arena_t *a, const json_t *v, const char *want)
{
    assert_non_null(v);
    assert_string_equal(json_dump_arena(a, v, NULL), want);
}

static void test_the_template_tier_and_the_union(void **state)
{
    (void)state;
    arena_t *a = arena_new();
    org_template t =
        load(a, "{\"name\":\"T\",\"defaults\":{\"model\":\"m\"},"
                "\"required_env\":[\"B\",{\"any_of\":[\"Z\",\"B\"]},{\"any_of\":[\"Y\",\"X\"]},"
                "{\"any_of\":[\"X\",\"Y\",\"X\"]},\"bad-name\",\"A\",\"B\",{\"any_of\":[\"bad\"]}],"
                "\"workspaces\":[{\"name\":\"n\",\"required_env\":[\"C\",{\"any_of\":[\"A\",\"Q\"]}]}]}");
    orgenv_report r;
    cl_error e;
    static const char *const none[] = {"UNRELATED"};
    assert_int_equal(orgenv_check(a, &t, none, 1, &r, &e), CL_PRECONDITION_FAILED);
    assert_string_equal(e.msg, "missing required environment variables");
    assert_json(a, r.missing_env, "[\"A\",\"B\",{\"any_of\":[\"X\",\"Y\"]}]");
    assert_json(a, r.required_env, "[\"A\",\"B\",\"C\",{\"any_of\":[\"X\",\"Y\"]}]");
    assert_null(r.missing_workspace_env);
    /* any one member of a group satisfies it */
    static const char *const some[] = {"A", "B", "Y"};
    assert_int_equal(orgenv_check(a, &t, some, 3, &r, &e), CL_PRECONDITION_FAILED);
    assert_string_equal(e.msg, "missing per-workspace required environment variables");
    assert_null(r.missing_env);
    assert_json(a, r.missing_workspace_env, "[{\"workspace\":\"n\",\"files_dir\":\"\",\"unsatisfied\":[\"C\"]}]");
    static const char *const all[] = {"A", "B", "C", "Y"};
    assert_int_equal(orgenv_check(a, &t, all, 4, &r, &e), CL_OK);
    arena_free(a);
}

static void test_spawning_false_and_empty_requirements(void **state)
{
    (void)state;
    arena_t *a = arena_new();
    org_template t = load(a, "{\"name\":\"T\",\"defaults\":{\"model\":\"m\"},\"required_env\":[\"bad-only\"],"
                             "\"workspaces\":[{\"name\":\"n\",\"children\":[{\"name\":\"off\",\"spawning\":false,"
                             "\"required_env\":[\"NEVER\"]}]}]}");
    assert_false(t.any_required); /* invalid names are dropped; a node not created requires nothing */
    orgenv_report r;
    cl_error e;
    assert_int_equal(orgenv_check(a, &t, NULL, 0, &r, &e), CL_OK);
    arena_free(a);
}

static void test_a_node_env_satisfies_its_own_requirements(void **state)
{
    (void)state;
    arena_t *a = arena_new();
    org_template t = load(a, "{\"name\":\"T\",\"defaults\":{\"model\":\"m\"},\"workspaces\":[{\"name\":\"p\","
                             "\"required_env\":[\"FROM_ENV\"],\"children\":[{\"name\":\"k\","
                             "\"required_env\":[{\"any_of\":[\"FROM_ENV\",\"OTHER\"]}]}]}]}");
    static secret_pair env[] = {{"FROM_ENV", "v", 1}};
    t.roots[0].env = env, t.roots[0].nenv = 1; /* as a file import loads it */
    orgenv_report r;
    cl_error e;
    assert_int_equal(orgenv_check(a, &t, NULL, 0, &r, &e), CL_PRECONDITION_FAILED);
    assert_json(
        a, r.missing_workspace_env,
        "[{\"workspace\":\"k\",\"files_dir\":\"\",\"unsatisfied\":[{\"any_of\":[\"FROM_ENV\",\"OTHER\"]}]}]");
    t.roots[0].children[0].env = env, t.roots[0].children[0].nenv = 1;
    assert_int_equal(orgenv_check(a, &t, NULL, 0, &r, &e), CL_OK);
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_template_tier_and_the_union),
        cmocka_unit_test(test_spawning_false_and_empty_requirements),
        cmocka_unit_test(test_a_node_env_satisfies_its_own_requirements),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
