/* canvas.h - state the browser canvas saves on the server: the viewport (the node layouts live with workspaces). */
#ifndef COLONY_MODEL_CANVAS_H
#define COLONY_MODEL_CANVAS_H

#include "base/error.h"
#include "store/db.h"

typedef struct {
    double x, y, zoom;
} canvas_viewport;

/* Model functions take the caller's arena: statements and strings live until it is freed. */

/* The saved viewport, or {0, 0, 1} when none was ever saved. */
cl_err canvas_viewport_get(db_t *db, arena_t *a, canvas_viewport *out, cl_error *err);
/* Save the viewport (one fixed row, upserted). */
cl_err canvas_viewport_save(db_t *db, arena_t *a, const canvas_viewport *v, cl_error *err);

#endif
