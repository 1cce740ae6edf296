/* dirpage.c - see dirpage.h. */
#include "base/dirpage.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

static int by_name(const void *x, const void *y) { return strcmp(*(const char *const *)x, *(const char *const *)y); }

json_t *dirpage_list(arena_t *a, const char *dir, const char *after, size_t limit, size_t max_read, dirpage_item_fn fn,
                     void *ctx, const char **last, bool *more)
{
    json_t *out = json_array();
    *last = NULL, *more = false;
    DIR *d = dir != NULL && dir[0] != '\0' ? opendir(dir) : NULL;
    if (d == NULL)
        return out;
    const char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *ent;
    for (size_t seen = 0; seen < max_read && (ent = readdir(d)) != NULL; seen++) {
        if (ent->d_name[0] == '.' || (after != NULL && strcmp(ent->d_name, after) <= 0))
            continue;
        names = arena_grow(a, names, n, &cap, sizeof(char *));
        names[n++] = arena_strdup(a, ent->d_name);
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof(*names), by_name); /* a stable order: the one pages follow */
    for (size_t i = 0; i < n; i++) {
        json_t *v = fn(a, ctx, names[i]);
        if (v == NULL)
            continue;
        if (json_array_size(out) == limit) {
            json_decref(v);
            *more = true;
            break;
        }
        *last = names[i];
        json_array_append_new(out, v);
    }
    return out;
}
