/* fsread.h - read a whole file into an arena, bounded, refusing what is not a regular file (a symlink at the end of
 * the path included): templates and plugins are read from operator directories this way. Every open is
 * non-blocking, so a FIFO or a device where a file is expected is refused at once instead of parking the thread
 * until a writer comes. */
#ifndef COLONY_BASE_FSREAD_H
#define COLONY_BASE_FSREAD_H

#include <stddef.h>
#include <stdio.h>

#include "base/arena.h"
#include "base/error.h"

/* The bytes of `path` (NUL-terminated, *len of them) into `a`. CL_NOT_FOUND when it is missing, not a regular file
 * or a symlink; CL_TOO_LARGE past `max` bytes. */
cl_err fs_read_file(arena_t *a, const char *path, size_t max, char **out, size_t *len, cl_error *err);
/* Only its first `head` bytes (fewer when it is shorter), with the same refusals. */
cl_err fs_read_head(arena_t *a, const char *path, size_t max, size_t head, char **out, size_t *len, cl_error *err);
/* The same for `rel` ("a/b/c", no empty, "." or ".." part) beneath directory `root`: the root may be reached
 * through symlinks, but nothing beneath it is - every directory on the way is opened without following one, as a
 * listing that lstat()s sees the tree. CL_NOT_FOUND as above, and for a symlink or non-directory on the way. */
cl_err fs_read_under(arena_t *a, const char *root, const char *rel, size_t max, char **out, size_t *len,
                     cl_error *err);

/* fopen(path, "rb") for an operator's file, following symlinks, that never blocks: NULL (errno EINVAL) when the
 * path is not a regular file, else as fopen. */
FILE *fs_fopen_regular(const char *path);

#endif
