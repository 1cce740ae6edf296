/* fuzz_jsonw.c - libFuzzer target for the writer's stored-JSON path: whatever the bytes, jsonw_stored writes
 * exactly what jansson's parse and compact dump give (or nothing when jansson refuses them), and a string written
 * from the same bytes is valid UTF-8 JSON that jansson reads back. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/jsonw.h"
#include "base/utf8.h"

static const size_t FLAGS = JSON_COMPACT | JSON_ENCODE_ANY;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arena_t *a = arena_new();
    char *text = arena_strndup(a, (const char *)data, size); /* stored text is a C string: up to the first NUL */
    for (int any = 0; any < 2; any++) {
        jsonw w;
        jsonw_init(&w, 1 << 22);
        bool ok = jsonw_stored(&w, text, any);
        size_t n = 0;
        char *got = ok ? jsonw_finish(&w, a, &n) : NULL;
        jsonw_free(&w);
        json_t *v = json_loadb(text, strlen(text), any ? JSON_DECODE_ANY : 0, NULL);
        if ((v == NULL) != !ok)
            __builtin_trap();
        if (v != NULL) {
            size_t m = json_dumpb(v, NULL, 0, FLAGS);
            char *want = arena_alloc(a, m + 1);
            json_dumpb(v, want, m, FLAGS);
            if (got == NULL || m != n || memcmp(want, got, n) != 0)
                __builtin_trap();
            json_decref(v);
        }
    }
    jsonw w;
    jsonw_init(&w, 1 << 22);
    jsonw_strn(&w, (const char *)data, size);
    size_t n;
    char *s = jsonw_finish(&w, a, &n);
    json_t *back = s ? json_loadb(s, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL) : NULL;
    if (back == NULL || !utf8_valid(s, n))
        __builtin_trap();
    json_decref(back);
    arena_free(a);
    return 0;
}
