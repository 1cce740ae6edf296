/* fuzz_multipart.c - libFuzzer target for the upload edge: the multipart parser (every part must lie inside the
 * body) and the file-name and type sanitisers over whatever it yields. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/utf8.h"
#include "http/multipart.h"
#include "model/upload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arena_t *a = arena_new();
    const char *body = (const char *)data;
    multipart_part *parts;
    size_t n;
    cl_error e;
    if (multipart_parse(a, "XyZ", body, size, &parts, &n, &e) == CL_OK) {
        for (size_t i = 0; i < n; i++) {
            if (parts[i].data < body || parts[i].data + parts[i].len > body + size)
                __builtin_trap();
            char name[UPLOAD_NAME_MAX + 1];
            upload_sanitize_name(parts[i].filename ? parts[i].filename : "", name);
            size_t len = strlen(name);
            if (len == 0 || len > UPLOAD_NAME_MAX || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                                "0123456789._-") != len)
                __builtin_trap();
            const char *type = upload_sanitize_type(a, parts[i].content_type);
            if (strpbrk(type, "\r\n\t ;") != NULL)
                __builtin_trap();
        }
    }
    arena_free(a);
    return 0;
}
