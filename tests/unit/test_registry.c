/* test_registry.c - the grouped heartbeat write against a migrated SQLite database: one item the database refuses
 * never fails the others (its write is retried alone, and it is left unproved for the general path to answer). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "model/registry.h"
#include "model/token.h"
#include "model/workspace.h"
#include "store/migrate.h"

enum { N = 6, POISONED = 3 };

static db_t *open_migrated(void)
{
    db_t *db = NULL;
    cl_error e;
    size_t applied;
    assert_int_equal(db_open(":memory:", &db, &e), CL_OK);
    assert_int_equal(db_migrate(db, db_migrations, db_migrations_count, &applied, &e), CL_OK);
    return db;
}

static int64_t one_int(db_t *db, arena_t *a, const char *sql, const char *id)
{
    db_stmt_t *st;
    cl_error e;
    assert_int_equal(db_query(db, a, &st, &e, sql, "s", id), CL_OK);
    assert_int_equal(db_one(st, &e), CL_OK);
    int64_t v = db_col_int64(st, 0);
    db_finish(st);
    return v;
}

static void test_a_poisoned_item_never_fails_its_group(void **state)
{
    (void)state;
    db_t *db = open_migrated();
    arena_t *a = arena_new();
    cl_error e;
    /* a row the database refuses to take, whatever the edge let through */
    assert_int_equal(db_exec_script(db, "CREATE TRIGGER poison BEFORE UPDATE OF active_tasks ON workspaces"
                                        " WHEN NEW.active_tasks = 666 BEGIN SELECT RAISE(ABORT, 'poisoned'); END",
                                    &e),
                     CL_OK);
    reg_hb_item items[N];
    memset(items, 0, sizeof(items));
    for (int i = 0; i < N; i++) {
        ws_spec s = {.name = arena_sprintf(a, "agent-%d", i), .status = "online", .model = "m"};
        ws_row row;
        ws_outcome how;
        assert_int_equal(ws_resolve(db, a, &s, &row, &how, &e), CL_OK);
        char *plain = arena_alloc(a, ID_TOKEN_LEN + 1);
        token_row tr;
        assert_int_equal(token_mint_workspace(db, a, row.id, "instance", plain, &tr, &e), CL_OK);
        items[i].h.workspace_id = row.id;
        items[i].h.active_tasks = i == POISONED ? 666 : 2;
        items[i].h.current_task = "work";
        items[i].h.has_current_task = true;
        items[i].bearer = plain;
    }
    items[N - 1].bearer = "not-its-token";

    assert_int_equal(reg_heartbeat_group(db, a, items, N, &e), CL_OK);
    for (int i = 0; i < N; i++) {
        bool written = i != POISONED && i != N - 1;
        assert_int_equal(items[i].proved, written);
        if (written)
            assert_string_equal(items[i].status, "online");
        assert_int_equal(one_int(db, a, "SELECT active_tasks FROM workspaces WHERE id = $1", items[i].h.workspace_id),
                         written ? 2 : 0);
        /* the task change of each written heartbeat is recorded, once; the refused one records nothing */
        assert_int_equal(one_int(db, a, "SELECT count(*) FROM events WHERE workspace_id = $1 AND type = 'TASK_UPDATED'",
                                 items[i].h.workspace_id),
                         written ? 1 : 0);
    }
    arena_free(a);
    db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_poisoned_item_never_fails_its_group),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
