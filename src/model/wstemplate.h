/* wstemplate.h - workspace templates: directories of the configs directory (--configs-dir) holding a config.yaml
 * and the files a workspace starts from (system-prompt.md, skills/<id>/SKILL.md …), as the reference lays them out
 * (surface.md §8). Listed by GET /templates, written by POST /templates/import, read by a workspace that names
 * one (its `template`) or carries the name of one, and generated: the config.yaml colony writes when none is
 * given. */
#ifndef COLONY_MODEL_WSTEMPLATE_H
#define COLONY_MODEL_WSTEMPLATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "model/wsfiles.h"

enum {
    WSTPL_DIR_MAX = 10000,           /* directory entries a listing or a lookup reads */
    WSTPL_CONFIG_MAX = 256 * 1024,   /* bytes of a template's config.yaml */
    WSTPL_NAME_MAX = 128,            /* bytes of a template name */
    WSTPL_DEPTH_MAX = 8,             /* directory levels of a template read */
};

/* The reference's directory name for template `name`: spaces and '-' become '-', A-Z lowered, a-z 0-9 _ kept,
 * anything else dropped, ".." removed; "unnamed" when nothing is left. */
const char *wstpl_normalize(arena_t *a, const char *name);
/* A name a client may give a template: 1..WSTPL_NAME_MAX bytes, no '/', '\' or "..". CL_INVALID. */
cl_err wstpl_name_check(const char *name, cl_error *err);

/* The template directory of a workspace: the one its `template` names, else the one named after its normalised
 * name, else the first whose config.yaml says `name: <its name>`; NULL when none (or no configs directory). */
const char *wstpl_dir_of(arena_t *a, const char *configs_dir, const char *template_name, const char *ws_name);
/* Every file of template directory `dir` (text files only; hidden ones and what listings ignore left out), sorted by
 * path, with content when `with_content`. Bounded like a workspace's files (wsfiles.h): past the bounds CL_TOO_LARGE. */
cl_err wstpl_files(arena_t *a, const char *dir, bool with_content, ws_file **files, size_t *n, cl_error *err);
/* One file of it. CL_NOT_FOUND when absent (or hidden, or not text). */
cl_err wstpl_read(arena_t *a, const char *dir, const char *path, ws_file *out, cl_error *err);

/* The templates of `configs_dir` as GET /templates lists them (surface.md §8), by id: those after `after` (NULL:
 * from the first), at most `limit`; *last the last one listed, *more whether more remain. A directory without a
 * readable config.yaml, or whose runtime (less a "-default" suffix) colony does not know, is left out. */
json_t *wstpl_list(arena_t *a, const char *configs_dir, const char *after, size_t limit, const char **last, bool *more);

/* Create template `name` (checked) from `files` in one step: every path and size checked first (CL_INVALID
 * "invalid request body" / CL_TOO_LARGE), written to a fresh directory renamed into place, so a failure leaves no
 * partial template; an existing one is CL_CONFLICT "template already exists". A default config.yaml is written
 * when `files` has none. *id receives the directory name. */
cl_err wstpl_import(arena_t *a, const char *configs_dir, const char *name, const ws_file *files, size_t n,
                    const char **id, cl_error *err);

/* What a generated config.yaml says. */
typedef struct {
    const char *name, *description, *runtime, *model;
    int64_t tier;
    const ws_file *files; /* prompt files (top-level *.md) and skills (skills/<id>/SKILL.md) are named from these */
    size_t nfiles;
    const char *const *required_env;
    size_t nrequired;
} wstpl_config;
/* config.yaml text (strings written as JSON-quoted YAML scalars, so any value stays one scalar). */
const char *wstpl_config_yaml(arena_t *a, const wstpl_config *c);

/* Top-level `key` of a YAML document, when it is a string; NULL otherwise (or when the text is not YAML). */
const char *wstpl_yaml_string(arena_t *a, const char *text, size_t len, const char *key);

#endif
