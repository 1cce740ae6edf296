/* envfile.h - the `.env` files of org templates (workspaces.md §4.2-4.3): NAME=value lines whose values become a
 * created workspace's secrets and satisfy its required_env.
 *
 * A line is blank, a comment (`#` first), or `[export ]NAME=value` with spaces allowed around NAME and `=`. NAME
 * follows the secret-name rule. A value is unquoted (up to a ` #` comment or the end of the line, trimmed),
 * 'single-quoted' (literal), or "double-quoted" (escapes \n \r \t \" \\ \$), on one line; only a comment may follow
 * a quoted value. A later line of the same name wins; an empty value sets nothing. Errors name the line, never its
 * text (it may hold a secret). */
#ifndef COLONY_MODEL_ENVFILE_H
#define COLONY_MODEL_ENVFILE_H

#include <stddef.h>

#include "base/arena.h"
#include "base/error.h"
#include "model/secret.h"

enum { ENVFILE_MAX = 4 << 20 }; /* bytes of one file */

/* Parse `len` bytes of `text` into arena-owned pairs (first appearance order). CL_INVALID "line N: …" for a line
 * that is none of the above, invalid UTF-8, a NUL, or a value over SECRET_VALUE_MAX; CL_TOO_LARGE past
 * ENVFILE_MAX bytes or SECRET_MAX_PER_SCOPE names. */
cl_err envfile_parse(arena_t *a, const char *text, size_t len, secret_pair **pairs, size_t *count, cl_error *err);

/* Read and parse a file; a file that does not exist is empty (CL_OK, no pairs). */
cl_err envfile_load(arena_t *a, const char *path, secret_pair **pairs, size_t *count, cl_error *err);

/* Overlay: the pairs of `base` with those of `over` replacing the same names (arena-owned result). */
secret_pair *envfile_merge(arena_t *a, const secret_pair *base, size_t nbase, const secret_pair *over, size_t nover,
                           size_t *count);

/* How a ${NAME} expansion went. */
typedef enum { ENVFILE_EXPANDED, ENVFILE_UNRESOLVED, ENVFILE_TOO_LONG } envfile_expansion;

/* `text` with each ${NAME} replaced by the value of NAME in `pairs` (an org template's channel config, workspaces.md
 * §4.2). A `$` not followed by `{` is kept. ENVFILE_UNRESOLVED when a NAME is not there, or is not a valid name, or
 * its `}` is missing (*name: what was inside the braces, at most SECRET_NAME_MAX bytes); ENVFILE_TOO_LONG once the
 * result would pass `max` bytes. *out is arena-owned. */
envfile_expansion envfile_expand(arena_t *a, const char *text, const secret_pair *pairs, size_t n, size_t max,
                                 const char **out, const char **name);

#endif
