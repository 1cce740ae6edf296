/* migrate.c - see migrate.h. */
#include "store/migrate.h"

#include <string.h>

#include "base/time.h"

static const char SQL_CREATE_TRACKING[] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                          " filename TEXT PRIMARY KEY,"
                                          " applied_at BIGINT NOT NULL)";
static const char SQL_IS_APPLIED[] = "SELECT 1 FROM schema_migrations WHERE filename = $1";
static const char SQL_RECORD[] = "INSERT INTO schema_migrations (filename, applied_at) VALUES ($1, $2)";

static bool applies(const migration_t *m, db_driver kind)
{
    if (m->dialect[0] == '\0')
        return true;
    return strcmp(m->dialect, kind == DB_POSTGRES ? "pg" : "sqlite") == 0;
}

/* The one dialect difference migrations need: a monotonically increasing integer key. A migration writes
 * AUTOINCREMENT_PK where the column type goes; each driver gets its own spelling. */
static const char AUTOINC_TOKEN[] = "AUTOINCREMENT_PK";

static const char *dialect_sql(arena_t *a, const char *sql, db_driver kind)
{
    const char *with = kind == DB_POSTGRES ? "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
                                           : "INTEGER PRIMARY KEY AUTOINCREMENT";
    const char *hit = strstr(sql, AUTOINC_TOKEN);
    if (hit == NULL)
        return sql;
    const char *rest = dialect_sql(a, hit + strlen(AUTOINC_TOKEN), kind);
    return arena_sprintf(a, "%.*s%s%s", (int)(hit - sql), sql, with, rest);
}

/* Run one migration in its own transaction; *ran tells whether it was new. */
static cl_err apply_one(db_t *db, const migration_t *m, bool *ran, cl_error *err)
{
    arena_t *a = arena_new();
    db_stmt_t *st;
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        goto out;
    if ((e = db_prepare(db, a, SQL_IS_APPLIED, &st, err)) != CL_OK)
        goto fail;
    db_bind_str(st, 1, m->name);
    e = db_one(st, err);
    db_finish(st);
    if (e == CL_OK) { /* applied already (perhaps by another node a moment ago) */
        db_tx_rollback(db);
        *ran = false;
        goto out;
    }
    if (e != CL_NOT_FOUND)
        goto fail;
    if ((e = db_exec_script(db, dialect_sql(a, m->sql, db_kind(db)), err)) != CL_OK)
        goto fail;
    if ((e = db_prepare(db, a, SQL_RECORD, &st, err)) != CL_OK)
        goto fail;
    db_bind_str(st, 1, m->name);
    db_bind_int64(st, 2, time_now_ms());
    if ((e = db_exec(st, err)) != CL_OK)
        goto fail;
    db_finish(st);
    e = db_tx_commit(db, err);
    *ran = e == CL_OK;
    goto out;
fail:
    db_tx_rollback(db);
out:
    arena_free(a);
    return e;
}

cl_err db_migrate(db_t *db, const migration_t *list, size_t count, size_t *applied, cl_error *err)
{
    size_t n = 0;
    cl_err e = db_migration_lock(db, true, err);
    if (e != CL_OK)
        return cl_fail(err, e, "cannot take the migration lock: %s", db_last_error(db));
    if ((e = db_exec_script(db, SQL_CREATE_TRACKING, err)) != CL_OK) {
        cl_fail(err, e, "cannot create schema_migrations: %s", db_last_error(db));
        goto out;
    }
    for (size_t i = 0; i < count; i++) {
        if (!applies(&list[i], db_kind(db)))
            continue;
        bool ran = false;
        if ((e = apply_one(db, &list[i], &ran, err)) != CL_OK) {
            cl_fail(err, e, "migration %s failed: %s", list[i].name, db_last_error(db));
            break;
        }
        n += ran;
    }
out:;
    cl_error ignored;
    db_migration_lock(db, false, &ignored);
    if (applied != NULL)
        *applied = n;
    return e;
}
