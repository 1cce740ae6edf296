/* multipart.h - a bounded multipart/form-data parser over a request body already in memory (h2o hands handlers
 * whole bodies). Parts point into the body: nothing is copied. Every limit is a named constant; anything malformed
 * or over a limit is refused as a whole, so a caller never acts on half a batch. */
#ifndef COLONY_HTTP_MULTIPART_H
#define COLONY_HTTP_MULTIPART_H

#include <stddef.h>

#include "base/arena.h"
#include "base/error.h"

enum {
    MULTIPART_MAX_PARTS = 128,
    MULTIPART_MAX_HEADER_BYTES = 8192, /* one part's header block */
    MULTIPART_MAX_BOUNDARY = 70,       /* RFC 2046 */
};

typedef struct {
    const char *name, *filename, *content_type; /* arena-owned, NUL-terminated; NULL when absent */
    const char *data;                           /* into the body */
    size_t len;
} multipart_part;

/* The boundary of a "multipart/form-data; boundary=…" Content-Type (arena-owned), or NULL. */
const char *multipart_boundary(arena_t *a, const char *content_type);

/* Parse `body` into *parts (arena-owned array). CL_INVALID "malformed multipart body" on any error. */
cl_err multipart_parse(arena_t *a, const char *boundary, const char *body, size_t len, multipart_part **parts,
                       size_t *count, cl_error *err);

#endif
