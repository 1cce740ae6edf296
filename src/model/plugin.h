/* plugin.h - the plugins registry (surface.md §9): every sub-directory of the plugins directory (--plugins-dir) is a
 * plugin, described by its plugin.yaml; sources name where a plugin comes from (colony resolves `local://<name>`,
 * the plugins directory, and nothing remote); a plugin ships as a tar.gz of its directory; and the plugins each
 * workspace declares (an org template's `plugins`) are kept in the database, since there is no container to hold
 * them installed. */
#ifndef COLONY_MODEL_PLUGIN_H
#define COLONY_MODEL_PLUGIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"
#include "base/error.h"
#include "store/db.h"

enum {
    PLUGIN_YAML_MAX = 64 * 1024,    /* bytes of a plugin.yaml */
    PLUGIN_DIR_MAX = 10000,         /* directory entries a listing reads */
    PLUGIN_PACK_MAX = 32 << 20,     /* bytes of a plugin's archive before compression (413 past it) */
    PLUGIN_PACK_FILES = 10000,      /* entries in one archive */
    PLUGIN_PACK_DEPTH = 16,         /* directory levels archived */
    PLUGIN_SOURCE_MAX = 1024,       /* bytes of a source */
    PLUGIN_DECLARED_MAX = 200,      /* plugins one workspace declares */
};

/* The schemes colony resolves (GET /plugins/sources). */
extern const char *const PLUGIN_SCHEMES[];
extern const size_t PLUGIN_SCHEMES_COUNT;

/* The registry entry of plugin `name`: {name, version, description, author, tags, skills, runtimes} (absent fields
 * null, as the reference), or NULL when the plugins directory has no such plugin (or the name is not one). */
json_t *plugin_info(arena_t *a, const char *dir, const char *name);
/* Does a plugin with this entry run on `runtime`? It does when it lists no runtimes, or lists this one ('-' and '_'
 * alike). */
bool plugin_supports(const json_t *info, const char *runtime);
/* The registry, by name: entries after `after` (NULL: from the first) that support `runtime` (NULL: all), at most
 * `limit`; *last the last one listed, *more whether more remain. No directory: []. */
json_t *plugin_registry(arena_t *a, const char *dir, const char *runtime, const char *after, size_t limit,
                        const char **last, bool *more);

/* A parsed source: "<scheme>://<spec>", or a bare plugin name (local). */
typedef struct {
    const char *scheme, *spec, *name; /* name: the plugin the source resolves to */
} plugin_source;
/* CL_INVALID "invalid plugin source" when it cannot be parsed; CL_INVALID with code "unknown_scheme" when colony
 * does not resolve its scheme. */
cl_err plugin_source_parse(arena_t *a, const char *text, plugin_source *out, cl_error *err);

/* The plugin directory `dir`/`name` as a gzip'd tar (paths relative to it; regular files and directories only,
 * symlinks and hidden files left out). CL_NOT_FOUND when there is no such plugin, CL_TOO_LARGE past the bounds. */
cl_err plugin_pack(arena_t *a, const char *dir, const char *name, const char **data, size_t *len, cl_error *err);

/* May `ws_id` take plugin `name`? The allowlist of its org (ws_org_root: the org's own list, which a platform
 * install moves to the platform root) allows it, or is empty. */
cl_err plugin_allowed(db_t *db, arena_t *a, const char *ws_id, const char *name, bool *ok, cl_error *err);

/* A plugin a workspace declares. */
typedef struct {
    const char *name, *source;
} ws_plugin;
/* Record the declared plugins of a workspace being created (inside the caller's transaction; a repeat is kept
 * once). */
cl_err plugin_declare(db_t *db, arena_t *a, const char *ws_id, const char *const *names, size_t n, cl_error *err);
/* The plugins `ws_id` declares, by name. */
cl_err plugin_declared(db_t *db, arena_t *a, const char *ws_id, ws_plugin **rows, size_t *n, cl_error *err);

#endif
