/* fuzz_json.c - libFuzzer target for the request-body edge: UTF-8 validation and truncation, JSON parsing with
 * colony's rules, and the percent-decoder the router applies to path parameters. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/json.h"
#include "base/utf8.h"
#include "http/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arena_t *a = arena_new();
    const char *s = (const char *)data;
    json_t *v;
    cl_error e;
    if (json_parse(a, s, size, &v, &e) == CL_OK) {
        size_t n;
        json_dump_arena(a, v, &n);
    }
    bool valid = utf8_valid(s, size);
    char *clean = arena_alloc(a, size * 3 + 1);
    size_t n = utf8_sanitize(s, size, clean);
    if (!utf8_valid(clean, n))
        __builtin_trap();
    if (valid) {
        for (long cap = -1; cap < 16 && (size_t)cap <= size; cap++) {
            utf8_cut c = utf8_cut_bytes(s, size, cap, true);
            if (c.keep > size || !utf8_valid(s, c.keep))
                __builtin_trap();
            c = utf8_cut_runes(s, size, cap, true);
            if (c.keep > size || !utf8_valid(s, c.keep))
                __builtin_trap();
        }
    }
    size_t dlen;
    char *d = http_pct_decode(a, s, size, 1, &dlen);
    if (d != NULL && (dlen > size || memchr(d, '\0', dlen) != NULL))
        __builtin_trap();
    arena_free(a);
    return 0;
}
