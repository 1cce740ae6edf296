/* multipart.c - see multipart.h. */
#define _GNU_SOURCE /* memmem */
#include "http/multipart.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

static cl_err malformed(cl_error *err) { return cl_fail(err, CL_INVALID, "malformed multipart body"); }

const char *multipart_boundary(arena_t *a, const char *ct)
{
    if (ct == NULL || strncasecmp(ct, "multipart/form-data", 19) != 0)
        return NULL;
    const char *p = strcasestr(ct, "boundary=");
    if (p == NULL)
        return NULL;
    p += 9;
    size_t n;
    if (*p == '"') {
        const char *end = strchr(++p, '"');
        if (end == NULL)
            return NULL;
        n = (size_t)(end - p);
    } else {
        n = strcspn(p, "; \t");
    }
    if (n == 0 || n > MULTIPART_MAX_BOUNDARY)
        return NULL;
    return arena_strndup(a, p, n);
}

/* The value of parameter `key` in a Content-Disposition (quoted with \-escapes, or a token); NULL when absent. */
static const char *param(arena_t *a, const char *hdr, size_t len, const char *key)
{
    size_t klen = strlen(key);
    for (size_t i = 0; i + klen + 1 < len; i++) {
        bool start = i == 0 || hdr[i - 1] == ';' || hdr[i - 1] == ' ' || hdr[i - 1] == '\t';
        if (!start || strncasecmp(hdr + i, key, klen) != 0 || hdr[i + klen] != '=')
            continue;
        const char *v = hdr + i + klen + 1, *end = hdr + len;
        char *out = arena_alloc(a, (size_t)(end - v) + 1);
        size_t o = 0;
        if (v < end && *v == '"') {
            for (v++; v < end && *v != '"'; v++) {
                if (*v == '\\' && v + 1 < end)
                    v++;
                out[o++] = *v;
            }
            if (v >= end)
                return NULL; /* unterminated quote */
        } else {
            while (v < end && *v != ';' && *v != ' ' && *v != '\t')
                out[o++] = *v++;
        }
        out[o] = '\0';
        return out;
    }
    return NULL;
}

/* Parse one part's header block [h, h+len) into p. */
static cl_err headers(arena_t *a, const char *h, size_t len, multipart_part *p, cl_error *err)
{
    const char *end = h + len;
    while (h < end) {
        const char *eol = memmem(h, (size_t)(end - h), "\r\n", 2);
        size_t n = eol ? (size_t)(eol - h) : (size_t)(end - h);
        const char *colon = memchr(h, ':', n);
        if (colon == NULL)
            return malformed(err);
        size_t nlen = (size_t)(colon - h);
        const char *v = colon + 1;
        while (v < h + n && (*v == ' ' || *v == '\t'))
            v++;
        size_t vlen = (size_t)(h + n - v);
        if (memchr(v, '\0', vlen) != NULL)
            return malformed(err);
        if (nlen == 19 && strncasecmp(h, "Content-Disposition", 19) == 0) {
            bool open = false; /* every quoted string must close on its line */
            for (size_t i = 0; i < vlen; i++) {
                if (open && v[i] == '\\')
                    i++;
                else if (v[i] == '"')
                    open = !open;
            }
            if (open || vlen < 9 || strncasecmp(v, "form-data", 9) != 0)
                return malformed(err);
            p->name = param(a, v, vlen, "name");
            p->filename = param(a, v, vlen, "filename");
        } else if (nlen == 12 && strncasecmp(h, "Content-Type", 12) == 0) {
            p->content_type = arena_strndup(a, v, vlen);
        }
        h += n + (eol ? 2 : 0);
    }
    return p->name != NULL ? CL_OK : malformed(err);
}

cl_err multipart_parse(arena_t *a, const char *boundary, const char *body, size_t len, multipart_part **parts,
                       size_t *count, cl_error *err)
{
    size_t blen = strlen(boundary);
    char *delim = arena_sprintf(a, "\r\n--%s", boundary); /* every delimiter after the first starts on a new line */
    size_t dlen = blen + 4;
    *parts = NULL, *count = 0;
    size_t cap = 0;
    /* the first delimiter may open the body directly, without the CRLF */
    const char *p;
    if (len >= blen + 2 && body[0] == '-' && body[1] == '-' && memcmp(body + 2, boundary, blen) == 0)
        p = body + blen + 2;
    else if ((p = memmem(body, len, delim, dlen)) != NULL)
        p += dlen;
    else
        return malformed(err);
    const char *end = body + len;
    for (;;) {
        if (end - p >= 2 && p[0] == '-' && p[1] == '-')
            return *count > 0 ? CL_OK : malformed(err); /* closing delimiter */
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
            return malformed(err);
        p += 2;
        size_t room = (size_t)(end - p) < MULTIPART_MAX_HEADER_BYTES + 4 ? (size_t)(end - p)
                                                                          : MULTIPART_MAX_HEADER_BYTES + 4;
        const char *hend = memmem(p, room, "\r\n\r\n", 4);
        if (hend == NULL || *count == MULTIPART_MAX_PARTS)
            return malformed(err);
        multipart_part part = {0};
        cl_err e = headers(a, p, (size_t)(hend - p), &part, err);
        if (e != CL_OK)
            return e;
        const char *data = hend + 4;
        const char *next = memmem(data, (size_t)(end - data), delim, dlen);
        if (next == NULL)
            return malformed(err);
        part.data = data;
        part.len = (size_t)(next - data);
        *parts = arena_grow(a, *parts, *count, &cap, sizeof(multipart_part));
        (*parts)[(*count)++] = part;
        p = next + dlen;
    }
}
