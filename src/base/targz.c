/* targz.c - see targz.h. */
#include "base/targz.h"

#include <stdio.h>
#include <string.h>
#include <zlib.h>

void targz_init(targz *t, size_t max, int64_t mtime)
{
    buf_init(&t->tar, max);
    t->mtime = mtime;
}

void targz_free(targz *t) { buf_free(&t->tar); }

/* Relative, no empty, "." or ".." part, no NUL, within the bound. */
static bool name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > TARGZ_NAME_MAX || name[0] == '/')
        return false;
    for (const char *p = name; *p != '\0';) {
        size_t k = strcspn(p, "/");
        if (k == 0 || (k == 1 && p[0] == '.') || (k == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        p += k + (p[k] == '/');
    }
    return name[n - 1] != '/';
}

/* `width - 1` octal digits and a NUL, as ustar's numeric fields are (values here always fit: sizes are bounded far
 * below 8 GiB). */
static void octal(char *field, size_t width, uint64_t v)
{
    field[width - 1] = '\0';
    for (size_t i = width - 1; i-- > 0; v >>= 3)
        field[i] = (char)('0' + (v & 7));
}

/* The ustar header of one entry ('0' file, '5' directory, whose stored name ends with '/'). */
static targz_status header(targz *t, const char *name, char type, uint64_t size)
{
    if (!name_ok(name))
        return TARGZ_BAD_NAME;
    char full[TARGZ_NAME_MAX + 2];
    snprintf(full, sizeof(full), "%s%s", name, type == '5' ? "/" : "");
    size_t n = strlen(full), split = 0;
    if (n > 100) { /* prefix (up to 155 bytes) '/' name (up to 100): the first slash that leaves a short enough name */
        for (size_t i = 1; i < n && split == 0; i++)
            if (full[i] == '/' && i <= 155 && n - i - 1 <= 100 && n - i - 1 > 0)
                split = i;
        if (split == 0)
            return TARGZ_BAD_NAME;
    }
    unsigned char h[TARGZ_BLOCK] = {0};
    if (split) {
        memcpy(h + 345, full, split);
        memcpy(h, full + split + 1, n - split - 1);
    } else {
        memcpy(h, full, n);
    }
    octal((char *)h + 100, 8, type == '5' ? 0755 : 0644);
    octal((char *)h + 108, 8, 0);
    octal((char *)h + 116, 8, 0);
    octal((char *)h + 124, 12, size);
    octal((char *)h + 136, 12, (uint64_t)(t->mtime > 0 ? t->mtime : 0));
    h[156] = (unsigned char)type;
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    memset(h + 148, ' ', 8); /* the checksum counts its own field as spaces */
    unsigned sum = 0;
    for (size_t i = 0; i < sizeof(h); i++)
        sum += h[i];
    octal((char *)h + 148, 7, sum); /* six digits, a NUL and a space */
    h[155] = ' ';
    return buf_append(&t->tar, h, sizeof(h)) ? TARGZ_OK : TARGZ_TOO_LARGE;
}

targz_status targz_add_dir(targz *t, const char *name) { return header(t, name, '5', 0); }

targz_status targz_add_file(targz *t, const char *name, const void *data, size_t len)
{
    targz_status s = header(t, name, '0', len);
    if (s != TARGZ_OK)
        return s;
    static const char zeros[TARGZ_BLOCK] = {0};
    size_t pad = (TARGZ_BLOCK - len % TARGZ_BLOCK) % TARGZ_BLOCK;
    if ((len > 0 && !buf_append(&t->tar, data, len)) || (pad > 0 && !buf_append(&t->tar, zeros, pad)))
        return TARGZ_TOO_LARGE;
    return TARGZ_OK;
}

targz_status targz_finish(targz *t, arena_t *a, const char **out, size_t *len)
{
    static const char end[2 * TARGZ_BLOCK] = {0};
    if (!buf_append(&t->tar, end, sizeof(end)))
        return TARGZ_TOO_LARGE;
    z_stream z = {0};
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16 /* gzip wrapper */, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return TARGZ_TOO_LARGE;
    uLong cap = deflateBound(&z, (uLong)t->tar.len);
    unsigned char *gz = arena_alloc(a, cap);
    z.next_in = (unsigned char *)t->tar.data;
    z.avail_in = (uInt)t->tar.len;
    z.next_out = gz;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    *out = (const char *)gz;
    *len = (size_t)z.total_out;
    deflateEnd(&z);
    return rc == Z_STREAM_END ? TARGZ_OK : TARGZ_TOO_LARGE;
}
