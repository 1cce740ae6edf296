/* test_activity.c - the grouped activity write against a migrated SQLite database: items are written in workspace
 * order (so parallel groups on PostgreSQL never wait on each other in a cycle), yet one workspace's rows keep the
 * order they arrived in, and an item the database refuses fails only itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "model/activity.h"
#include "model/workspace.h"
#include "store/migrate.h"

static db_t *open_migrated(void)
{
    db_t *db = NULL;
    cl_error e;
    size_t applied;
    assert_int_equal(db_open(":memory:", &db, &e), CL_OK);
    assert_int_equal(db_migrate(db, db_migrations, db_migrations_count, &applied, &e), CL_OK);
    return db;
}

static const char *make_workspace(db_t *db, arena_t *a, const char *name)
{
    ws_spec s = {.name = name, .status = "online", .model = "m"};
    ws_row row;
    ws_outcome how;
    cl_error e;
    assert_int_equal(ws_resolve(db, a, &s, &row, &how, &e), CL_OK);
    return row.id;
}

static activity_write report(const char *workspace_id, const char *summary)
{
    return (activity_write){.row = {.workspace_id = workspace_id, .activity_type = "agent_log", .summary = summary,
                                    .status = "ok"}};
}

/* The summaries of a workspace's rows, oldest first, joined with spaces. */
static const char *summaries(db_t *db, arena_t *a, const char *workspace_id)
{
    activity_row *rows;
    size_t n;
    cl_error e;
    activity_filter f = {.limit = 100, .ascending = true, .has_cursor = true, .cursor_seq = 0};
    assert_int_equal(activity_list(db, a, workspace_id, &f, &rows, &n, &e), CL_OK);
    const char *s = "";
    for (size_t i = 0; i < n; i++)
        s = arena_sprintf(a, "%s%s%s", s, i ? " " : "", rows[i].summary);
    return s;
}

static void test_a_group_keeps_each_workspaces_arrival_order(void **state)
{
    (void)state;
    db_t *db = open_migrated();
    arena_t *a = arena_new();
    const char *w1 = make_workspace(db, a, "one"), *w2 = make_workspace(db, a, "two");
    activity_write items[] = {
        report(w2, "b1"), report(w1, "a1"), report(w2, "b2"), report(w1, "a2"),
        report(w2, "b3"), report(w1, "a3"), report(w1, "a4"), report(w2, "b4"),
    };
    size_t n = sizeof(items) / sizeof(items[0]);
    activity_write_group(db, a, items, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(items[i].result, CL_OK);
        assert_non_null(items[i].row.id);
    }
    assert_string_equal(summaries(db, a, w1), "a1 a2 a3 a4");
    assert_string_equal(summaries(db, a, w2), "b1 b2 b3 b4");
    arena_free(a);
    db_close(db);
}

static void test_a_refused_item_fails_only_itself(void **state)
{
    (void)state;
    db_t *db = open_migrated();
    arena_t *a = arena_new();
    cl_error e;
    assert_int_equal(db_exec_script(db, "CREATE TRIGGER poison BEFORE INSERT ON activity_logs"
                                        " WHEN NEW.summary = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned'); END",
                                    &e),
                     CL_OK);
    const char *w1 = make_workspace(db, a, "one"), *w2 = make_workspace(db, a, "two");
    activity_write items[] = {report(w1, "a1"), report(w2, "poison"), report(w1, "a2"), report(w2, "b1")};
    activity_write_group(db, a, items, 4);
    assert_int_equal(items[0].result, CL_OK);
    assert_int_not_equal(items[1].result, CL_OK);
    assert_int_equal(items[2].result, CL_OK);
    assert_int_equal(items[3].result, CL_OK);
    assert_string_equal(summaries(db, a, w1), "a1 a2");
    assert_string_equal(summaries(db, a, w2), "b1");
    arena_free(a);
    db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_group_keeps_each_workspaces_arrival_order),
        cmocka_unit_test(test_a_refused_item_fails_only_itself),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
