/* targz.h - a gzip-compressed tar archive (POSIX ustar) written into memory, with a hard maximum on the bytes
 * archived: the plugin download route ships a plugin directory this way. Only directories and regular files; names
 * are relative, at most TARGZ_NAME_MAX bytes, split into ustar's prefix and name fields. */
#ifndef COLONY_BASE_TARGZ_H
#define COLONY_BASE_TARGZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"

enum { TARGZ_NAME_MAX = 255, TARGZ_BLOCK = 512 };

typedef enum { TARGZ_OK, TARGZ_TOO_LARGE, TARGZ_BAD_NAME } targz_status;

typedef struct {
    buf_t tar;   /* the uncompressed archive, bounded by the maximum given to targz_init */
    int64_t mtime; /* seconds, stamped on every entry */
} targz;

/* An empty archive of at most `max` uncompressed bytes (headers and padding included). */
void targz_init(targz *t, size_t max, int64_t mtime);
void targz_free(targz *t);
/* Add a directory ("skills/x") or a regular file. A name that is empty, absolute, holds "..", a NUL or cannot be
 * split into ustar's fields is TARGZ_BAD_NAME; past the maximum TARGZ_TOO_LARGE (the archive is then unusable). */
targz_status targz_add_dir(targz *t, const char *name);
targz_status targz_add_file(targz *t, const char *name, const void *data, size_t len);
/* End the archive and compress it (gzip) into `a`. TARGZ_TOO_LARGE when the end blocks do not fit. */
targz_status targz_finish(targz *t, arena_t *a, const char **out, size_t *len);

#endif
