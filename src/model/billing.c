/* billing.c - see billing.h. */
#include "model/billing.h"

#include <string.h>

#include "base/time.h"

static bool platform_proxy;

void billing_set_platform_proxy(bool configured) { platform_proxy = configured; }
bool billing_platform_proxy(void) { return platform_proxy; }

static const char SQL_GET[] = "SELECT llm_billing_mode, model FROM workspaces WHERE id = $1";
static const char SQL_SET[] =
    "UPDATE workspaces SET llm_billing_mode = $2, updated_at = $3 WHERE id = $1 AND status <> 'removed'";

bool billing_mode_valid(const char *mode)
{
    return mode != NULL &&
           (strcmp(mode, "platform_managed") == 0 || strcmp(mode, "byok") == 0 || strcmp(mode, "disabled") == 0);
}

cl_err billing_resolve(db_t *db, arena_t *a, const char *id, billing_resolution *out, cl_error *err)
{
    const char *override = NULL, *model = NULL;
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_GET, "s", id);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK) {
        override = db_col_dup(st, a, 0);
        model = db_col_dup(st, a, 1);
    }
    db_finish(st);
    if (e != CL_OK && e != CL_NOT_FOUND)
        return e;
    if (billing_mode_valid(override)) {
        *out = (billing_resolution){override, "workspace_override", override, NULL};
        return CL_OK;
    }
    *out = (billing_resolution){platform_proxy ? "platform_managed" : "byok", "derived_default", NULL,
                                model && model[0] ? model : NULL};
    return CL_OK;
}

cl_err billing_set_override(db_t *db, arena_t *a, const char *id, const char *mode, cl_error *err)
{
    if (mode != NULL && !billing_mode_valid(mode))
        return cl_fail(err, CL_INVALID, "unknown billing mode \"%s\" (allowed: platform_managed, byok, disabled)",
                       mode);
    int64_t changed = 0;
    cl_err e = db_run(db, a, &changed, err, SQL_SET, "ssi", id, mode, time_now_ms());
    if (e == CL_OK && changed == 0)
        e = cl_fail(err, CL_NOT_FOUND, "workspace not found");
    return e;
}
