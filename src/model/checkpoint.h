/* checkpoint.h - workflow checkpoints (data.md §4.5, surface.md §2): the steps a workspace's workflows completed, one
 * row per (workspace, workflow, step), replaced when the step is written again, so a restarted agent can resume
 * where it stopped. */
#ifndef COLONY_MODEL_CHECKPOINT_H
#define COLONY_MODEL_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "store/db.h"

enum {
    CHECKPOINT_ID_MAX = 256,              /* bytes of a workflow id or a step name */
    CHECKPOINT_PAYLOAD_MAX = 256 * 1024,  /* bytes of a payload, as JSON text */
    CHECKPOINT_STEPS_MAX = 1000,          /* steps of one workflow listed at a time */
};

typedef struct {
    const char *id, *workspace_id, *workflow_id, *step_name, *payload; /* payload: JSON text */
    int64_t step_index, completed_at;
} checkpoint_row;

/* Write a step of a live workspace (payload NULL: JSON null), replacing an earlier write of the same step, completed
 * now; *out receives it. CL_INVALID for an empty or too long id/name or payload; CL_NOT_FOUND for a missing or
 * removed workspace. */
cl_err checkpoint_upsert(db_t *db, arena_t *a, const char *workspace_id, const char *workflow_id,
                         const char *step_name, int64_t step_index, const char *payload, checkpoint_row *out,
                         cl_error *err);
/* The workspace's most recently completed step; CL_NOT_FOUND "no checkpoints found for workspace". */
cl_err checkpoint_latest(db_t *db, arena_t *a, const char *workspace_id, checkpoint_row *out, cl_error *err);

/* A position in a workflow's steps: step_index descending, then step name. */
typedef struct {
    int64_t step_index;
    const char *step_name;
} checkpoint_key;

/* Steps of a workflow, step_index descending (then by name), after `after` (NULL: from the first), at most
 * `limit`; CL_NOT_FOUND "no checkpoints found for workflow" when the workflow has none at all. */
cl_err checkpoint_list(db_t *db, arena_t *a, const char *workspace_id, const char *workflow_id,
                       const checkpoint_key *after, int64_t limit, checkpoint_row **rows, size_t *count,
                       cl_error *err);
/* Delete every step of a workflow: *deleted rows; CL_NOT_FOUND "no checkpoints found for workflow" when none. */
cl_err checkpoint_delete(db_t *db, arena_t *a, const char *workspace_id, const char *workflow_id, int64_t *deleted,
                         cl_error *err);

#endif
