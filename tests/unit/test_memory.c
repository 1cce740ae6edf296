/* test_memory.c - the memory model against a migrated SQLite database, through the functions the MCP tools call
 * (mem_commit with an explicit namespace, mem_forget of a namespace, the activity rows they log, the wrappers):
 * the (workspace, namespace, read?, write?) table of the REST suite again, where a namespace can be named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "base/id.h"
#include "model/memory.h"
#include "model/workspace.h"
#include "store/migrate.h"

static db_t *open_migrated(void)
{
    db_t *db = NULL;
    cl_error e;
    assert_true(id_init());
    assert_int_equal(db_open(":memory:", &db, &e), CL_OK);
    assert_int_equal(db_migrate(db, db_migrations, db_migrations_count, NULL, &e), CL_OK);
    return db;
}

static const char *make(db_t *db, arena_t *a, const char *name, const char *parent)
{
    ws_spec s = {.name = name, .parent_id = parent, .status = "online", .model = "m"};
    ws_row row;
    ws_outcome how;
    cl_error e;
    assert_int_equal(ws_resolve(db, a, &s, &row, &how, &e), CL_OK);
    return row.id;
}

static cl_err write_to(db_t *db, arena_t *a, const char *ws, const char *ns, const char *content, const char **id)
{
    mem_write w = {.workspace_id = ws, .namespace = ns, .content = content, .log = MEM_LOG_WRITE};
    mem_written out;
    cl_error e;
    cl_err r = mem_commit(db, a, &w, &out, &e);
    *id = out.id;
    return r;
}

/* Whether `ws` finds memory `id` when it searches namespace `ns` alone. */
static bool reads(db_t *db, arena_t *a, const char *ws, const char *ns, const char *id)
{
    mem_query q = {.workspace_id = ws, .namespaces = &ns, .nnamespaces = 1, .limit = 100};
    mem_record *rows;
    size_t n;
    cl_error e;
    assert_int_equal(mem_search(db, a, &q, &rows, &n, &e), CL_OK);
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i].id, id) == 0)
            return true;
    return false;
}

static void test_acl_through_the_tool_functions(void **state)
{
    (void)state;
    db_t *db = open_migrated();
    arena_t *a = arena_new();
    const char *R = make(db, a, "R", NULL), *A = make(db, a, "A", R), *B = make(db, a, "B", R);
    const char *A1 = make(db, a, "A1", A), *B1 = make(db, a, "B1", B);
    const char *ws_R = arena_sprintf(a, "workspace:%s", R), *ws_A1 = arena_sprintf(a, "workspace:%s", A1);
    const char *team_R = arena_sprintf(a, "team:%s", R), *team_A = arena_sprintf(a, "team:%s", A);
    const char *team_B = arena_sprintf(a, "team:%s", B), *org_R = arena_sprintf(a, "org:%s", R);
    struct {
        const char *who, *ns;
        bool read, write;
    } table[] = {
        {R, ws_R, true, true},     {R, team_R, true, true},   {R, org_R, true, true},    {R, team_A, false, false},
        {R, ws_A1, false, false},  {A, team_R, true, true},   {A, org_R, true, false},   {A, team_A, false, false},
        {A, ws_R, false, false},   {A1, ws_A1, true, true},   {A1, team_A, true, true},  {A1, org_R, true, false},
        {A1, team_R, false, false}, {A1, team_B, false, false}, {B1, team_B, true, true}, {B1, team_A, false, false},
        {B1, org_R, true, false},  {B1, ws_A1, false, false},
    };
    /* one memory in each namespace, by a workspace that may write it */
    const char *in_ns[6][2] = {{ws_R, R}, {ws_A1, A1}, {team_R, A}, {team_A, A1}, {team_B, B1}, {org_R, R}};
    const char *planted[6];
    for (int i = 0; i < 6; i++)
        assert_int_equal(write_to(db, a, in_ns[i][1], in_ns[i][0], "planted", &planted[i]), CL_OK);
    for (size_t t = 0; t < sizeof(table) / sizeof(table[0]); t++) {
        const char *id = NULL;
        for (int i = 0; i < 6; i++)
            if (strcmp(in_ns[i][0], table[t].ns) == 0)
                id = planted[i];
        if (reads(db, a, table[t].who, table[t].ns, id) != table[t].read)
            fail_msg("row %zu: read of %s", t, table[t].ns);
        const char *mine;
        cl_err e = write_to(db, a, table[t].who, table[t].ns, "probe", &mine);
        if ((e == CL_OK) != table[t].write || (e != CL_OK && e != CL_FORBIDDEN))
            fail_msg("row %zu: write to %s gave %s", t, table[t].ns, cl_err_name(e));
    }
    /* names outside the tree: malformed, custom, unknown kinds */
    const char *id;
    assert_int_equal(write_to(db, a, R, "custom:shared", "x", &id), CL_FORBIDDEN);
    assert_int_equal(write_to(db, a, R, "WORKSPACE:x", "x", &id), CL_INVALID);
    assert_int_equal(write_to(db, a, "00000000-0000-4000-8000-000000000000", ws_R, "x", &id), CL_NOT_FOUND);
    arena_free(a);
    db_close(db);
}

static int64_t count(db_t *db, arena_t *a, const char *sql)
{
    db_stmt_t *st;
    cl_error e;
    assert_int_equal(db_query(db, a, &st, &e, sql, ""), CL_OK);
    assert_int_equal(db_one(st, &e), CL_OK);
    int64_t n = db_col_int64(st, 0);
    db_finish(st);
    return n;
}

static void test_tool_writes_forgets_and_wrappers(void **state)
{
    (void)state;
    db_t *db = open_migrated();
    arena_t *a = arena_new();
    const char *R = make(db, a, "R", NULL), *A = make(db, a, "A", R);
    const char *team = arena_sprintf(a, "team:%s", R);
    cl_error e;
    /* commit_summary: its own activity row and ACTIVITY_LOGGED; idempotent by id */
    const char *fixed = "0b2c8a9e-5d6f-4a1b-9c3d-2e4f6a8b0c1d";
    mem_written out;
    mem_write w = {.workspace_id = A, .namespace = team, .content = "weekly summary", .kind = "summary",
                   .id = fixed, .expires_at = INT64_C(4102444800000), .log = MEM_LOG_SUMMARY};
    assert_int_equal(mem_commit(db, a, &w, &out, &e), CL_OK);
    assert_string_equal(out.id, fixed);
    assert_true(out.created);
    assert_int_equal(mem_commit(db, a, &w, &out, &e), CL_OK);
    assert_false(out.created);
    w.namespace = arena_sprintf(a, "workspace:%s", A);
    assert_int_equal(mem_commit(db, a, &w, &out, &e), CL_CONFLICT);
    assert_string_equal(e.msg, "memory id already in use");
    assert_int_equal(count(db, a, "SELECT count(*) FROM activity_logs WHERE activity_type = 'memory_summary_write'"
                                  " AND method LIKE 'team:%' AND summary LIKE 'commit_summary to team:%'"),
                     1);
    assert_int_equal(count(db, a, "SELECT count(*) FROM events WHERE type = 'ACTIVITY_LOGGED'"), 1);
    /* forget_memory: the namespace must be writable; the row and its log */
    assert_int_equal(mem_forget(db, a, R, fixed, arena_sprintf(a, "org:%s", R), true, &e), CL_NOT_FOUND);
    assert_int_equal(mem_forget(db, a, A, fixed, arena_sprintf(a, "org:%s", R), true, &e), CL_FORBIDDEN);
    assert_int_equal(mem_forget(db, a, A, fixed, team, true, &e), CL_OK);
    assert_int_equal(count(db, a, "SELECT count(*) FROM activity_logs WHERE activity_type = 'memory_delete'"), 1);
    assert_int_equal(count(db, a, "SELECT record_count FROM memory_namespaces WHERE name LIKE 'team:%'"), 0);
    /* the wrappers agents are shown org memories in */
    mem_record r = {.id = "m1", .namespace = "org:R", .content = "be kind", .source_workspace_id = "R"};
    assert_string_equal(mem_wrap_org(a, &r, false), "[MEMORY id=m1 scope=ORG ns=org:R]: be kind");
    assert_string_equal(mem_wrap_org(a, &r, true), "[MEMORY id=m1 scope=GLOBAL from=R]: be kind");
    arena_free(a);
    db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acl_through_the_tool_functions),
        cmocka_unit_test(test_tool_writes_forgets_and_wrappers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
