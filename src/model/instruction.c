/* instruction.c - see instruction.h. */
#include "model/instruction.h"

#include <string.h>

#include "base/buf.h"
#include "base/id.h"
#include "base/time.h"

#define RANK "CASE scope WHEN 'global' THEN 0 WHEN 'team' THEN 1 ELSE 2 END"

static const char SQL_LIST[] =
    "SELECT id, scope, scope_target, title, content, priority, enabled, created_at, updated_at, " RANK
    " FROM platform_instructions"
    " WHERE (CAST($1 AS TEXT) IS NULL OR scope = $1)"
    "   AND (CAST($2 AS TEXT) IS NULL OR (enabled = 1 AND (scope = 'global'"
    "        OR (scope = 'workspace' AND scope_target = $2))))"
    "   AND (" RANK ", -priority, created_at, id) > (CAST($3 AS BIGINT), CAST($4 AS BIGINT), CAST($5 AS BIGINT),"
    "        CAST($6 AS TEXT))"
    " ORDER BY " RANK ", priority DESC, created_at, id LIMIT $7";
static const char SQL_INSERT[] =
    "INSERT INTO platform_instructions (id, scope, scope_target, title, content, priority, enabled, created_at,"
    " updated_at) VALUES ($1, $2, $3, $4, $5, CAST($6 AS INTEGER), 1, $7, $7)";
static const char SQL_UPDATE[] =
    "UPDATE platform_instructions SET title = COALESCE($2, title), content = COALESCE($3, content),"
    " priority = COALESCE(CAST($4 AS INTEGER), priority), enabled = COALESCE(CAST($5 AS INTEGER), enabled),"
    " updated_at = $6 WHERE id = $1";
static const char SQL_DELETE[] = "DELETE FROM platform_instructions WHERE id = $1";

instruction_key instruction_key_of(const instruction_row *r)
{
    int64_t rank = strcmp(r->scope, "global") == 0 ? 0 : strcmp(r->scope, "team") == 0 ? 1 : 2;
    return (instruction_key){rank, -r->priority, r->created_at, r->id};
}

cl_err instruction_list(db_t *db, arena_t *a, const char *scope, const char *workspace_id, const instruction_key *after,
                        int64_t limit, instruction_row **rows, size_t *n, cl_error *err)
{
    instruction_key first = {-1, INT64_MIN, INT64_MIN, ""};
    const instruction_key *k = after ? after : &first;
    db_stmt_t *st;
    instruction_row *out = NULL;
    size_t cnt = 0, cap = 0;
    bool row = true;
    cl_err e = db_query(db, a, &st, err, SQL_LIST, "ssiiisi", scope, workspace_id, k->rank, k->priority,
                        k->created_at, k->id, limit);
    while (e == CL_OK && (e = db_step(st, &row, err)) == CL_OK && row) {
        out = arena_grow(a, out, cnt, &cap, sizeof(*out));
        out[cnt++] = (instruction_row){db_col_dup(st, a, 0),   db_col_dup(st, a, 1),   db_col_dup(st, a, 2),
                                       db_col_dup(st, a, 3),   db_col_dup(st, a, 4),   db_col_int64(st, 5),
                                       db_col_int64(st, 7),    db_col_int64(st, 8),    db_col_bool(st, 6)};
    }
    db_finish(st);
    *rows = out, *n = cnt;
    return e;
}

cl_err instruction_create(db_t *db, arena_t *a, const instruction_row *r, const char **id, cl_error *err)
{
    char fresh[ID_UUID_LEN + 1];
    id_uuid4(fresh);
    *id = arena_strdup(a, fresh);
    return db_run(db, a, NULL, err, SQL_INSERT, "sssssii", *id, r->scope, r->scope_target, r->title, r->content,
                  r->priority, time_now_ms());
}

cl_err instruction_update(db_t *db, arena_t *a, const char *id, const char *title, const char *content,
                          const int64_t *priority, const bool *enabled, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_prepare(db, a, SQL_UPDATE, &st, err);
    if (e != CL_OK)
        return e;
    db_bind_str(st, 1, id);
    db_bind_str(st, 2, title);
    db_bind_str(st, 3, content);
    if (priority)
        db_bind_int64(st, 4, *priority);
    else
        db_bind_null(st, 4);
    if (enabled)
        db_bind_int64(st, 5, *enabled);
    else
        db_bind_null(st, 5);
    db_bind_int64(st, 6, time_now_ms());
    e = db_exec(st, err);
    int64_t changed = e == CL_OK ? db_changes(st) : 0;
    db_finish(st);
    return e == CL_OK && changed == 0 ? cl_fail(err, CL_NOT_FOUND, "instruction not found") : e;
}

cl_err instruction_delete(db_t *db, arena_t *a, const char *id, cl_error *err)
{
    int64_t changed = 0;
    cl_err e = db_run(db, a, &changed, err, SQL_DELETE, "s", id);
    return e == CL_OK && changed == 0 ? cl_fail(err, CL_NOT_FOUND, "instruction not found") : e;
}

cl_err instruction_resolve(db_t *db, arena_t *a, const char *workspace_id, const char **markdown, cl_error *err)
{
    instruction_row *rows;
    size_t n;
    cl_err e = instruction_list(db, a, NULL, workspace_id, NULL, INSTRUCTION_RESOLVE_MAX, &rows, &n, err);
    if (e != CL_OK)
        return e;
    buf_t b = BUF_INIT((size_t)INSTRUCTION_RESOLVE_MAX * (INSTRUCTION_CONTENT_MAX + INSTRUCTION_TITLE_MAX + 64));
    const char *scope = NULL;
    for (size_t i = 0; i < n; i++) {
        if (scope == NULL || strcmp(scope, rows[i].scope) != 0) {
            scope = rows[i].scope;
            buf_puts(&b, strcmp(scope, "global") == 0 ? "\n## Platform-Wide Rules\n\n" : "\n## Role-Specific Rules\n\n");
        }
        buf_printf(&b, "### %s\n%s\n\n", rows[i].title, rows[i].content);
    }
    *markdown = arena_strndup(a, b.data ? b.data : "", b.len);
    buf_free(&b);
    return CL_OK;
}
