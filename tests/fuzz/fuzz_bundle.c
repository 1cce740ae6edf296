/* fuzz_bundle.c - libFuzzer target for the bundle reader (model/bundle.h): any bytes are refused or read, never a
 * crash, and what is read keeps the reader's promises (bounded, every file path one colony stores, names given). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "model/bundle.h"

static void check(const bundle *b, size_t *seen)
{
    cl_error e;
    if (++*seen > BUNDLE_MAX_NODES || b->name == NULL || b->name[0] == '\0' || b->nfiles > WSFILES_MAX_FILES)
        __builtin_trap();
    for (size_t i = 0; i < b->nfiles; i++)
        if (wsfiles_path_check(b->files[i].path, &e) != CL_OK || wsfiles_hidden(b->files[i].path) ||
            b->files[i].size > WSFILES_FILE_MAX || strlen(b->files[i].content) != b->files[i].size)
            __builtin_trap();
    for (size_t i = 0; i < b->nsubs; i++)
        check(&b->subs[i], seen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arena_t *a = arena_new();
    bundle b;
    size_t nodes, seen = 0;
    cl_error e;
    if (bundle_parse(a, (const char *)data, size, &b, &nodes, &e) == CL_OK) {
        check(&b, &seen);
        if (seen != nodes)
            __builtin_trap();
    }
    arena_free(a);
    return 0;
}
