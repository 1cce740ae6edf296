/* test_memns.c - memory namespaces from the tree (model/memns.c): the vectors of shared/api/vectors.md §3.4. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "model/memns.h"

static void test_derivation_from_the_chain(void **state)
{
    (void)state;
    arena_t *a = arena_new();
    memns_set s;
    memns_link root[] = {{"R", "Root Org"}};
    memns_from_chain(a, root, 1, &s);
    const char *want_root[] = {"workspace:R", "team:R", "org:R"};
    for (int i = 0; i < 3; i++) {
        assert_string_equal(s.ns[i].name, want_root[i]);
        assert_true(s.ns[i].writable);
        assert_string_equal(s.ns[i].owner_id, "R");
    }
    assert_string_equal(s.ns[2].label, "Org (Root Org)");

    memns_link child[] = {{"C", "mac laptop"}, {"R", "Root Org"}};
    memns_from_chain(a, child, 2, &s);
    assert_string_equal(s.ns[0].name, "workspace:C");
    assert_string_equal(s.ns[1].name, "team:R");
    assert_string_equal(s.ns[2].name, "org:R");
    assert_true(s.ns[0].writable && s.ns[1].writable);
    assert_false(s.ns[2].writable);
    assert_string_equal(s.ns[0].label, "Workspace (mac laptop)");
    assert_string_equal(s.ns[1].label, "Team (Root Org)");
    assert_int_equal(s.ns[1].kind, MEMNS_TEAM);

    memns_link grandchild[] = {{"G", "g"}, {"C", "Engineering"}, {"R", ""}};
    memns_from_chain(a, grandchild, 3, &s);
    assert_string_equal(s.ns[0].name, "workspace:G");
    assert_string_equal(s.ns[1].name, "team:C");
    assert_string_equal(s.ns[2].name, "org:R");
    assert_string_equal(s.ns[1].label, "Team (Engineering)");
    assert_string_equal(s.ns[2].label, "Org (R)"); /* no display name: the whole id */

    /* CanWrite and CanRead (the child) */
    memns_from_chain(a, child, 2, &s);
    assert_true(memns_can_write(&s, "workspace:C"));
    assert_true(memns_can_write(&s, "team:R"));
    assert_false(memns_can_write(&s, "org:R"));
    assert_false(memns_can_write(&s, "workspace:R"));
    assert_false(memns_can_write(&s, "team:C"));
    assert_non_null(memns_find(&s, "org:R"));
    assert_null(memns_find(&s, "team:C"));
    assert_null(memns_find(&s, "workspace:other"));
    memns_from_chain(a, root, 1, &s);
    assert_false(memns_can_write(&s, "workspace:other"));
    arena_free(a);
}

static void test_names_and_labels(void **state)
{
    (void)state;
    arena_t *a = arena_new();
    static const char *const valid[] = {"workspace:6f1e8f4e-1f43-4f59-9c1a-1b2c3d4e5f60", "team:abc", "org:acme-corp",
                                        "custom:engineering-shared", "workspace:abc.def.ghi", "workspace:abc_def",
                                        "team:abc:def"};
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
        if (!memns_name_valid(valid[i]))
            fail_msg("refused %s", valid[i]);
    char long_name[268];
    memcpy(long_name, "workspace:", 10);
    memset(long_name + 10, 'x', 257);
    long_name[267] = '\0';
    const char *invalid[] = {"", "workspace_self", ":foo", "workspace:", "WORKSPACE:abc", "ws1:abc", "workspace:abc def",
                             "workspace:abc/def", long_name};
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
        if (memns_name_valid(invalid[i]))
            fail_msg("accepted %s", invalid[i]);
    long_name[256] = '\0'; /* 256 bytes: the limit itself */
    assert_true(memns_name_valid(long_name));

    static const struct {
        const char *name;
        memns_kind kind;
        const char *display, *label;
    } labels[] = {
        {"workspace:abcdefghij", MEMNS_WORKSPACE, NULL, "Workspace (abcdefgh)"},
        {"workspace:abc", MEMNS_WORKSPACE, NULL, "Workspace (abc)"},
        {"team:t-99", MEMNS_TEAM, NULL, "Team (t-99)"},
        {"org:acme", MEMNS_ORG, NULL, "Org (acme)"},
        {"custom:my-ns", MEMNS_CUSTOM, NULL, "my-ns"},
        {"custom:", MEMNS_CUSTOM, NULL, "custom:"},
        {"weird-no-colon", MEMNS_WORKSPACE, NULL, "Workspace ()"},
        {"workspace:x", MEMNS_WORKSPACE, "mac laptop", "Workspace (mac laptop)"},
        {"team:x", MEMNS_TEAM, "Engineering", "Team (Engineering)"},
        {"org:x", MEMNS_ORG, "Hongming's Org", "Org (Hongming's Org)"},
        {"custom:my-ns", MEMNS_CUSTOM, "ignored", "my-ns"},
        {"odd:thing", (memns_kind)9, NULL, "odd:thing"},
    };
    for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
        assert_string_equal(memns_label(a, labels[i].name, labels[i].kind, labels[i].display), labels[i].label);
    assert_int_equal(memns_kind_of("workspace:x"), MEMNS_WORKSPACE);
    assert_int_equal(memns_kind_of("team:x"), MEMNS_TEAM);
    assert_int_equal(memns_kind_of("org:x"), MEMNS_ORG);
    assert_int_equal(memns_kind_of("custom:x"), MEMNS_CUSTOM);
    assert_int_equal(memns_kind_of("orgx:y"), MEMNS_CUSTOM);
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_derivation_from_the_chain),
        cmocka_unit_test(test_names_and_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
