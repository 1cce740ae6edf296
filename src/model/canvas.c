/* canvas.c - see canvas.h. */
#include "model/canvas.h"

#include "base/time.h"

/* The reference keeps one row under this id; so do we, so that its data migrates as is. */
static const char VIEWPORT_ID[] = "00000000-0000-0000-0000-000000000001";

static const char SQL_GET[] = "SELECT x, y, zoom FROM canvas_viewport ORDER BY saved_at DESC LIMIT 1";
static const char SQL_SAVE[] = "INSERT INTO canvas_viewport (id, x, y, zoom, saved_at) VALUES ($1, $2, $3, $4, $5)"
                               " ON CONFLICT (id) DO UPDATE SET x = excluded.x, y = excluded.y,"
                               " zoom = excluded.zoom, saved_at = excluded.saved_at";

cl_err canvas_viewport_get(db_t *db, arena_t *a, canvas_viewport *out, cl_error *err)
{
    db_stmt_t *st;
    *out = (canvas_viewport){0, 0, 1};
    cl_err e = db_query(db, a, &st, err, SQL_GET, "");
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK) {
        out->x = db_col_double(st, 0);
        out->y = db_col_double(st, 1);
        out->zoom = db_col_double(st, 2);
    }
    db_finish(st);
    return e == CL_NOT_FOUND ? CL_OK : e;
}

cl_err canvas_viewport_save(db_t *db, arena_t *a, const canvas_viewport *v, cl_error *err)
{
    return db_run(db, a, NULL, err, SQL_SAVE, "sdddi", VIEWPORT_ID, v->x, v->y, v->zoom, time_now_ms());
}
