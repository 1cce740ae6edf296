/* test_db.c - the SQLite driver through the one store API: binding, no-row vs error, conflicts, transactions,
 * migrations (idempotence and rollback of a failing one). PostgreSQL is covered by the API suite. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "store/db.h"
#include "store/migrate.h"

static db_t *open_mem(void)
{
    db_t *db = NULL;
    cl_error e;
    assert_int_equal(db_open(":memory:", &db, &e), CL_OK);
    return db;
}

static void test_bind_step_columns(void **state)
{
    (void)state;
    db_t *db = open_mem();
    arena_t *a = arena_new();
    cl_error e;
    assert_int_equal(db_exec_script(db, "CREATE TABLE t (k TEXT PRIMARY KEY, n BIGINT, d DOUBLE PRECISION, b BLOB)", &e),
                     CL_OK);
    db_stmt_t *st;
    assert_int_equal(db_prepare(db, a, "INSERT INTO t (k, n, d, b) VALUES ($1, $2, $3, $4)", &st, &e), CL_OK);
    db_bind_str(st, 1, "x");
    db_bind_int64(st, 2, INT64_MAX);
    db_bind_double(st, 3, 2.5);
    db_bind_blob(st, 4, "\0\1\2", 3);
    assert_int_equal(db_exec(st, &e), CL_OK);
    assert_int_equal(db_changes(st), 1);

    /* parameters may appear out of order and repeat */
    assert_int_equal(db_prepare(db, a, "SELECT k, n, d, b, $2 || $1 || $2 FROM t WHERE k = $1", &st, &e), CL_OK);
    db_bind_str(st, 1, "x");
    db_bind_str(st, 2, "-");
    assert_int_equal(db_one(st, &e), CL_OK);
    assert_string_equal(db_col_text(st, 0), "x");
    assert_int_equal(db_col_int64(st, 1), INT64_MAX);
    assert_true(db_col_double(st, 2) == 2.5);
    size_t n;
    const unsigned char *blob = db_col_blob(st, a, 3, &n);
    assert_int_equal(n, 3);
    assert_int_equal(blob[2], 2);
    assert_string_equal(db_col_text(st, 4), "-x-");

    /* no row is CL_NOT_FOUND, not an error */
    assert_int_equal(db_prepare(db, a, "SELECT k FROM t WHERE k = $1", &st, &e), CL_OK);
    db_bind_str(st, 1, "missing");
    assert_int_equal(db_one(st, &e), CL_NOT_FOUND);

    /* a unique violation is CL_CONFLICT; an invalid statement is CL_UNAVAILABLE */
    assert_int_equal(db_prepare(db, a, "INSERT INTO t (k) VALUES ($1)", &st, &e), CL_OK);
    db_bind_str(st, 1, "x");
    assert_int_equal(db_exec(st, &e), CL_CONFLICT);
    assert_int_equal(db_prepare(db, a, "SELECT nope FROM t", &st, &e), CL_UNAVAILABLE);
    assert_string_equal(e.msg, "database unavailable");
    assert_non_null(strstr(db_last_error(db), "no such column"));
    /* quoted dollars are not placeholders */
    assert_int_equal(db_prepare(db, a, "SELECT '$1', $1", &st, &e), CL_OK);
    db_bind_int64(st, 1, 7);
    assert_int_equal(db_one(st, &e), CL_OK);
    assert_string_equal(db_col_text(st, 0), "$1");
    assert_int_equal(db_col_int64(st, 1), 7);
    arena_free(a);
    db_close(db);
}

static void test_transactions(void **state)
{
    (void)state;
    db_t *db = open_mem();
    cl_error e;
    assert_int_equal(db_exec_script(db, "CREATE TABLE t (k TEXT PRIMARY KEY)", &e), CL_OK);
    assert_int_equal(db_tx_begin(db, &e), CL_OK);
    assert_int_equal(db_exec_script(db, "INSERT INTO t VALUES ('a')", &e), CL_OK);
    db_tx_rollback(db);
    assert_int_equal(db_tx_begin(db, &e), CL_OK);
    assert_int_equal(db_exec_script(db, "INSERT INTO t VALUES ('b')", &e), CL_OK);
    assert_int_equal(db_tx_commit(db, &e), CL_OK);
    /* nested: an inner rollback undoes only the inner part */
    assert_int_equal(db_tx_begin(db, &e), CL_OK);
    assert_int_equal(db_exec_script(db, "INSERT INTO t VALUES ('c')", &e), CL_OK);
    assert_int_equal(db_tx_begin(db, &e), CL_OK);
    assert_true(db_in_tx(db));
    assert_int_equal(db_exec_script(db, "INSERT INTO t VALUES ('d')", &e), CL_OK);
    db_tx_rollback(db);
    assert_int_equal(db_tx_begin(db, &e), CL_OK);
    assert_int_equal(db_exec_script(db, "INSERT INTO t VALUES ('e')", &e), CL_OK);
    assert_int_equal(db_tx_commit(db, &e), CL_OK);
    assert_int_equal(db_tx_commit(db, &e), CL_OK);
    assert_false(db_in_tx(db));
    arena_t *a = arena_new();
    db_stmt_t *st;
    assert_int_equal(db_prepare(db, a, "SELECT group_concat(k, ',') FROM (SELECT k FROM t ORDER BY k)", &st, &e),
                     CL_OK);
    assert_int_equal(db_one(st, &e), CL_OK);
    assert_string_equal(db_col_text(st, 0), "b,c,e");
    arena_free(a);
    db_close(db);
}

static int64_t count(db_t *db, const char *sql)
{
    arena_t *a = arena_new();
    db_stmt_t *st;
    cl_error e;
    assert_int_equal(db_prepare(db, a, sql, &st, &e), CL_OK);
    assert_int_equal(db_one(st, &e), CL_OK);
    int64_t n = db_col_int64(st, 0);
    arena_free(a);
    return n;
}

static void test_migrations(void **state)
{
    (void)state;
    db_t *db = open_mem();
    cl_error e;
    size_t applied;
    static const migration_t good[] = {
        {"0001_a.sql", "", "CREATE TABLE a (x INT); INSERT INTO a VALUES (1);"},
        {"0002_b.sql", "pg", "CREATE TABLE only_pg (x INT);"},
        {"0002_b.sql", "sqlite", "CREATE TABLE only_sqlite (x INT);"},
    };
    assert_int_equal(db_migrate(db, good, 3, &applied, &e), CL_OK);
    assert_int_equal(applied, 2);
    assert_int_equal(db_migrate(db, good, 3, &applied, &e), CL_OK);
    assert_int_equal(applied, 0);
    assert_int_equal(count(db, "SELECT count(*) FROM a"), 1);
    assert_int_equal(count(db, "SELECT count(*) FROM sqlite_master WHERE name = 'only_pg'"), 0);
    assert_int_equal(count(db, "SELECT count(*) FROM schema_migrations"), 2);

    /* the auto-increment key spelling is the driver's */
    static const migration_t serial[] = {{"0005_s.sql", "", "CREATE TABLE s (k AUTOINCREMENT_PK, v TEXT);"
                                                            " INSERT INTO s (v) VALUES ('a'), ('b');"}};
    assert_int_equal(db_migrate(db, serial, 1, &applied, &e), CL_OK);
    assert_int_equal(count(db, "SELECT max(k) FROM s"), 2);

    static const migration_t bad[] = {
        {"0003_c.sql", "", "CREATE TABLE c (x INT); INSERT INTO a VALUES (2); CREATE TABLE a (y INT);"},
        {"0004_d.sql", "", "CREATE TABLE d (x INT);"},
    };
    assert_int_equal(db_migrate(db, bad, 2, &applied, &e), CL_UNAVAILABLE);
    assert_int_equal(applied, 0);
    assert_non_null(strstr(e.msg, "migration 0003_c.sql failed: table a already exists"));
    assert_int_equal(count(db, "SELECT count(*) FROM sqlite_master WHERE name IN ('c', 'd')"), 0);
    assert_int_equal(count(db, "SELECT count(*) FROM a"), 1);
    assert_int_equal(count(db, "SELECT count(*) FROM schema_migrations"), 3);

    /* the embedded set applies cleanly, twice */
    db_t *fresh = open_mem();
    size_t for_sqlite = 0;
    for (size_t i = 0; i < db_migrations_count; i++)
        for_sqlite += strcmp(db_migrations[i].dialect, "pg") != 0;
    assert_int_equal(db_migrate(fresh, db_migrations, db_migrations_count, &applied, &e), CL_OK);
    assert_int_equal(applied, for_sqlite);
    assert_int_equal(db_migrate(fresh, db_migrations, db_migrations_count, &applied, &e), CL_OK);
    assert_int_equal(applied, 0);
    db_close(fresh);
    db_close(db);
}

/* ---- after-commit hooks ------------------------------------------------------------------------------------ */

static int64_t hook_calls, hook_value;

static void on_commit(void *arg, int64_t value)
{
    (void)arg;
    hook_calls++;
    hook_value = value;
}

static void hooks_reset(void) { hook_calls = 0, hook_value = 0; }

static void test_hooks_run_once_after_the_outermost_commit(void **state)
{
    (void)state;
    db_t *db = open_mem();
    cl_error e;
    hooks_reset();
    db_after_commit(db, on_commit, NULL, 1); /* outside a transaction: at once */
    assert_int_equal(hook_calls, 1);
    hooks_reset();
    assert_int_equal(db_tx_begin(db, &e), CL_OK);
    db_after_commit(db, on_commit, NULL, 4);
    db_after_commit(db, on_commit, NULL, 2); /* coalesces to the largest value */
    assert_int_equal(hook_calls, 0);
    assert_int_equal(db_tx_commit(db, &e), CL_OK);
    assert_int_equal(hook_calls, 1);
    assert_int_equal(hook_value, 4);
    hooks_reset();
    assert_int_equal(db_tx_begin(db, &e), CL_OK);
    db_after_commit(db, on_commit, NULL, 5);
    db_tx_rollback(db);
    assert_int_equal(db_tx_begin(db, &e), CL_OK);
    assert_int_equal(db_tx_commit(db, &e), CL_OK);
    assert_int_equal(hook_calls, 0); /* a rolled-back transaction's hooks never run, not even later */
    db_close(db);
}

static void test_released_savepoint_hands_its_hooks_to_the_parent(void **state)
{
    (void)state;
    db_t *db = open_mem();
    cl_error e;
    hooks_reset();
    /* the org import's shape: one savepoint commits a row and its event, a sibling savepoint rolls back */
    assert_int_equal(db_tx_begin(db, &e), CL_OK);
    assert_int_equal(db_tx_begin(db, &e), CL_OK);
    db_after_commit(db, on_commit, NULL, 7);
    assert_int_equal(db_tx_commit(db, &e), CL_OK); /* RELEASE */
    assert_int_equal(db_tx_begin(db, &e), CL_OK);
    db_tx_rollback(db); /* the sibling */
    assert_int_equal(hook_calls, 0);
    assert_int_equal(db_tx_commit(db, &e), CL_OK);
    assert_int_equal(hook_calls, 1);
    assert_int_equal(hook_value, 7);

    /* deeper: released twice up to the top, then a sibling at the middle level rolls back */
    hooks_reset();
    assert_int_equal(db_tx_begin(db, &e), CL_OK);
    assert_int_equal(db_tx_begin(db, &e), CL_OK);
    assert_int_equal(db_tx_begin(db, &e), CL_OK);
    db_after_commit(db, on_commit, NULL, 9);
    assert_int_equal(db_tx_commit(db, &e), CL_OK);
    assert_int_equal(db_tx_begin(db, &e), CL_OK);
    db_tx_rollback(db);
    assert_int_equal(db_tx_commit(db, &e), CL_OK);
    assert_int_equal(db_tx_begin(db, &e), CL_OK);
    db_tx_rollback(db);
    assert_int_equal(db_tx_commit(db, &e), CL_OK);
    assert_int_equal(hook_calls, 1);
    assert_int_equal(hook_value, 9);
    db_close(db);
}

static void test_rolled_back_savepoint_drops_only_its_own_hooks(void **state)
{
    (void)state;
    db_t *db = open_mem();
    cl_error e;
    hooks_reset();
    assert_int_equal(db_tx_begin(db, &e), CL_OK);
    assert_int_equal(db_tx_begin(db, &e), CL_OK);
    db_after_commit(db, on_commit, NULL, 3);
    db_tx_rollback(db);
    assert_int_equal(db_tx_commit(db, &e), CL_OK);
    assert_int_equal(hook_calls, 0);

    /* a value registered inside the rolled-back savepoint does not leak into the outer level's hook */
    hooks_reset();
    assert_int_equal(db_tx_begin(db, &e), CL_OK);
    db_after_commit(db, on_commit, NULL, 3);
    assert_int_equal(db_tx_begin(db, &e), CL_OK);
    db_after_commit(db, on_commit, NULL, 11);
    db_tx_rollback(db);
    assert_int_equal(db_tx_commit(db, &e), CL_OK);
    assert_int_equal(hook_calls, 1);
    assert_int_equal(hook_value, 3);

    /* a released savepoint inside a rolled-back one goes with it */
    hooks_reset();
    assert_int_equal(db_tx_begin(db, &e), CL_OK);
    assert_int_equal(db_tx_begin(db, &e), CL_OK);
    assert_int_equal(db_tx_begin(db, &e), CL_OK);
    db_after_commit(db, on_commit, NULL, 5);
    assert_int_equal(db_tx_commit(db, &e), CL_OK);
    db_tx_rollback(db);
    assert_int_equal(db_tx_commit(db, &e), CL_OK);
    assert_int_equal(hook_calls, 0);
    db_close(db);
}

/* ---- failed prepares ---------------------------------------------------------------------------------------- */

static void test_failed_prepare_leaves_a_null_statement(void **state)
{
    (void)state;
    db_t *db = open_mem();
    arena_t *a = arena_new();
    cl_error e;
    int junk;
    db_stmt_t *st = (db_stmt_t *)&junk; /* what an uninitialised local may hold */
    assert_int_equal(db_prepare(db, a, "SELECT nope FROM nowhere", &st, &e), CL_UNAVAILABLE);
    assert_null(st);
    db_finish(st); /* the callers' cleanup path must be safe */
    st = (db_stmt_t *)&junk;
    assert_int_equal(db_prepare(db, a, "SELECT $0", &st, &e), CL_INTERNAL); /* malformed placeholder */
    assert_null(st);
    st = (db_stmt_t *)&junk;
    assert_int_equal(db_query(db, a, &st, &e, "SELECT nope FROM nowhere WHERE x = $1", "s", "v"), CL_UNAVAILABLE);
    assert_null(st);
    db_finish(st);
    arena_free(a);
    db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bind_step_columns),
        cmocka_unit_test(test_transactions),
        cmocka_unit_test(test_migrations),
        cmocka_unit_test(test_hooks_run_once_after_the_outermost_commit),
        cmocka_unit_test(test_released_savepoint_hands_its_hooks_to_the_parent),
        cmocka_unit_test(test_rolled_back_savepoint_drops_only_its_own_hooks),
        cmocka_unit_test(test_failed_prepare_leaves_a_null_statement),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
