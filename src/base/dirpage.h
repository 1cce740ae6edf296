/* dirpage.h - one page of a directory listed as JSON: the entries of a directory (hidden ones left out, at most a
 * bounded number read), by name, each turned into a JSON value by the caller (or left out), `limit` values a page.
 * The template and plugin registries list this way. */
#ifndef COLONY_BASE_DIRPAGE_H
#define COLONY_BASE_DIRPAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"

/* The value listed for entry `name`, a new reference, or NULL to leave it out. */
typedef json_t *(*dirpage_item_fn)(arena_t *a, void *ctx, const char *name);

/* The values of the entries of `dir` named after `after` (NULL: from the first), by name (bytes), at most `limit`;
 * at most `max_read` entries of the directory are read. *last is the name of the last value listed (the next page
 * starts after it), *more whether more may follow. A missing or unreadable directory lists nothing. The array is a
 * new reference. */
json_t *dirpage_list(arena_t *a, const char *dir, const char *after, size_t limit, size_t max_read, dirpage_item_fn fn,
                     void *ctx, const char **last, bool *more);

#endif
