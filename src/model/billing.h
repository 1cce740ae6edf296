/* billing.h - who pays for a workspace's LLM calls (surface.md §5): a per-workspace override (platform_managed,
 * byok, disabled), else the deployment's default — platform_managed when a platform LLM proxy is configured (a
 * base URL and a token), byok otherwise. colony has no provider registry, so the reference's middle step (derive the
 * provider from the runtime, the MODEL secret and the auth keys present) never applies: the model, when set, is
 * reported as the provider selection of the default. */
#ifndef COLONY_MODEL_BILLING_H
#define COLONY_MODEL_BILLING_H

#include <stdbool.h>

#include "base/arena.h"
#include "base/error.h"
#include "store/db.h"

/* Whether the deployment has a platform LLM proxy (set once at start-up). */
void billing_set_platform_proxy(bool configured);
bool billing_platform_proxy(void);

/* One of platform_managed, byok, disabled. */
bool billing_mode_valid(const char *mode);

typedef struct {
    const char *resolved_mode, *source;        /* source: workspace_override | derived_default */
    const char *workspace_override;            /* NULL: none */
    const char *provider_selection;            /* NULL: none */
} billing_resolution;

/* The mode of workspace `id`. An unknown id is not an error: it resolves to the default, as in the reference. */
cl_err billing_resolve(db_t *db, arena_t *a, const char *id, billing_resolution *out, cl_error *err);
/* Set (mode) or clear (NULL) the override of a live workspace. CL_INVALID for an unknown mode; CL_NOT_FOUND
 * "workspace not found" for a missing or removed workspace. */
cl_err billing_set_override(db_t *db, arena_t *a, const char *id, const char *mode, cl_error *err);

#endif
