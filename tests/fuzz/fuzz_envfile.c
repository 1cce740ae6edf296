/* fuzz_envfile.c - libFuzzer target for the `.env` parser of org templates: any bytes are parsed or refused, never
 * crash; what it accepts holds only valid names and bounded values without NUL. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "model/envfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arena_t *a = arena_new();
    secret_pair *pairs;
    size_t n;
    cl_error e;
    if (envfile_parse(a, (const char *)data, size, &pairs, &n, &e) == CL_OK) {
        if (n > SECRET_MAX_PER_SCOPE)
            __builtin_trap();
        for (size_t i = 0; i < n; i++)
            if (!secret_name_valid(pairs[i].name, strlen(pairs[i].name)) || pairs[i].len == 0 ||
                pairs[i].len > SECRET_VALUE_MAX || memchr(pairs[i].value, '\0', pairs[i].len) != NULL)
                __builtin_trap();
    }
    arena_free(a);
    return 0;
}
