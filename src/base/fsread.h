/* fsread.h - read a whole file into an arena, bounded, refusing what is not a regular file (a symlink at the end of
 * the path included): templates and plugins are read from operator directories this way. */
#ifndef COLONY_BASE_FSREAD_H
#define COLONY_BASE_FSREAD_H

#include <stddef.h>

#include "base/arena.h"
#include "base/error.h"

/* The bytes of `path` (NUL-terminated, *len of them) into `a`. CL_NOT_FOUND when it is missing, not a regular file
 * or a symlink; CL_TOO_LARGE past `max` bytes. */
cl_err fs_read_file(arena_t *a, const char *path, size_t max, char **out, size_t *len, cl_error *err);

#endif
