/* platform.h - the platform root (org concierge) and the org plugin allowlist (workspaces.md §6). */
#ifndef COLONY_MODEL_PLATFORM_H
#define COLONY_MODEL_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "store/db.h"

enum { PLUGIN_NAME_MAX = 128, ALLOWLIST_MAX = 500 };

/* Install (or re-assert) the platform root `id` in one transaction: demote any other platform row, create it
 * through the resolver (status offline until it heartbeats) or promote the existing row, re-parent every other
 * root under it, and move org tokens and allowlist entries (deduplicated) from the old roots to it. Idempotent;
 * concurrent installs serialise on the tree lock. A different root holding the same name is CL_CONFLICT. */
cl_err platform_install(db_t *db, arena_t *a, const char *id, const char *name, cl_error *err);

typedef struct {
    const char *plugin_name, *enabled_by;
    int64_t enabled_at;
} allowlist_entry;

/* Entries of org `org_id` sorted by name; CL_NOT_FOUND when no such workspace. */
cl_err allowlist_get(db_t *db, arena_t *a, const char *org_id, allowlist_entry **out, size_t *count, cl_error *err);
/* Replace the whole set in one transaction. */
cl_err allowlist_put(db_t *db, arena_t *a, const char *org_id, const char *const *names, size_t n,
                     const char *enabled_by, cl_error *err);
/* A plugin name colony accepts: 1..128 of [A-Za-z0-9._@/-], not starting with '.', no "..". */
bool plugin_name_valid(const char *name);

#endif
