/* wsconfig.h - a workspace's settings besides its row's tree fields (surface.md §7): its config document (a JSON
 * object, shallow-merged), its model and its abilities. The config and the model announce a change with
 * WORKSPACE_CONFIG_UPDATED ({"kind":"config","keys":[…]} / {"kind":"model","model"}) in the transaction that made
 * it; the abilities, as the reference, announce nothing (they show on GET /workspaces/:id). */
#ifndef COLONY_MODEL_WSCONFIG_H
#define COLONY_MODEL_WSCONFIG_H

#include <jansson.h>
#include <stdbool.h>

#include "base/arena.h"
#include "base/error.h"
#include "store/db.h"

enum {
    WSCONFIG_PATCH_MAX = 256 * 1024, /* bytes of one PATCH body (the reference's limit) */
    WSCONFIG_DOC_MAX = 1 << 20,      /* bytes of the merged document */
};

/* The config document of `ws_id` as JSON text ("{}" when it has none). */
cl_err wsconfig_get(db_t *db, arena_t *a, const char *ws_id, const char **json_text, cl_error *err);
/* Merge object `patch` into it (its keys replace the document's) in one transaction, for a live workspace
 * (CL_NOT_FOUND otherwise); CL_TOO_LARGE when the result passes WSCONFIG_DOC_MAX. */
cl_err wsconfig_merge(db_t *db, arena_t *a, const char *ws_id, const json_t *patch, cl_error *err);
/* Store the first config document of a workspace being created (an import), inside the caller's transaction, without
 * an event (its creation was announced). */
cl_err wsconfig_seed(db_t *db, arena_t *a, const char *ws_id, const json_t *doc, cl_error *err);
/* Set (or with "" clear) the model of a live workspace. */
cl_err wsconfig_set_model(db_t *db, arena_t *a, const char *ws_id, const char *model, cl_error *err);
/* Set either ability flag of a live workspace. */
cl_err wsconfig_set_abilities(db_t *db, arena_t *a, const char *ws_id, const bool *broadcast, const bool *talk_to_user,
                              cl_error *err);

#endif
