/* test_targz.c - the tar.gz writer: what it writes reads back (gunzip, ustar headers, checksums, contents, the end
 * blocks), long names go into the prefix field, bad names and the maximum are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "base/targz.h"

/* gunzip (data, len) into a heap buffer; *out_len its size. */
static unsigned char *gunzip(const char *data, size_t len, size_t *out_len)
{
    size_t cap = 1 << 20;
    unsigned char *out = malloc(cap);
    z_stream z = {0};
    assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = (unsigned char *)data;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
    *out_len = z.total_out;
    inflateEnd(&z);
    return out;
}

static unsigned long field_octal(const unsigned char *h, size_t off, size_t width)
{
    char tmp[16] = {0};
    memcpy(tmp, h + off, width);
    return strtoul(tmp, NULL, 8);
}

/* The header at `h`: its checksum holds, and its full name (prefix '/' name) is `name`. */
static void check_header(const unsigned char *h, const char *name, char type, size_t size)
{
    unsigned sum = 0;
    for (size_t i = 0; i < TARGZ_BLOCK; i++)
        sum += i >= 148 && i < 156 ? ' ' : h[i];
    assert_int_equal(field_octal(h, 148, 8), sum);
    char full[400] = {0};
    if (h[345] != '\0')
        snprintf(full, sizeof(full), "%.155s/%.100s", (const char *)h + 345, (const char *)h);
    else
        snprintf(full, sizeof(full), "%.100s", (const char *)h);
    assert_string_equal(full, name);
    assert_int_equal(h[156], type);
    assert_int_equal(field_octal(h, 124, 12), size);
    assert_memory_equal(h + 257, "ustar", 6);
    assert_int_equal(field_octal(h, 136, 12), 1700000000);
}

static void test_round_trip(void **state)
{
    (void)state;
    arena_t *a = arena_new();
    targz t;
    targz_init(&t, 1 << 20, 1700000000);
    char longname[260];
    memset(longname, 'd', 150);
    longname[150] = '/';
    memset(longname + 151, 'f', 90);
    longname[241] = '\0';
    assert_int_equal(targz_add_file(&t, "plugin.yaml", "name: x\n", 8), TARGZ_OK);
    assert_int_equal(targz_add_dir(&t, "skills"), TARGZ_OK);
    assert_int_equal(targz_add_file(&t, "skills/empty.md", "", 0), TARGZ_OK);
    assert_int_equal(targz_add_file(&t, longname, "z", 1), TARGZ_OK);
    const char *gz;
    size_t gzlen, n;
    assert_int_equal(targz_finish(&t, a, &gz, &gzlen), TARGZ_OK);
    targz_free(&t);
    assert_true(gzlen > 18 && (unsigned char)gz[0] == 0x1f && (unsigned char)gz[1] == 0x8b);
    unsigned char *tar = gunzip(gz, gzlen, &n);
    /* plugin.yaml (header + 1 block), skills/ (header), empty.md (header), long name (header + 1), 2 end blocks */
    assert_int_equal(n, 8 * TARGZ_BLOCK);
    check_header(tar, "plugin.yaml", '0', 8);
    assert_memory_equal(tar + TARGZ_BLOCK, "name: x\n", 8);
    check_header(tar + 2 * TARGZ_BLOCK, "skills/", '5', 0);
    check_header(tar + 3 * TARGZ_BLOCK, "skills/empty.md", '0', 0);
    check_header(tar + 4 * TARGZ_BLOCK, longname, '0', 1);
    assert_int_equal(tar[5 * TARGZ_BLOCK], 'z');
    for (size_t i = 6 * TARGZ_BLOCK; i < n; i++)
        assert_int_equal(tar[i], 0);
    free(tar);
    arena_free(a);
}

static void test_refusals(void **state)
{
    (void)state;
    targz t;
    targz_init(&t, 3 * TARGZ_BLOCK, 0);
    static const char *const bad[] = {"", "/etc/passwd", "../x", "a/../b", "a//b", "./a", "a/", "a/."};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(targz_add_file(&t, bad[i], "x", 1), TARGZ_BAD_NAME);
    char nameless[300];
    memset(nameless, 'n', 200); /* 200 bytes without a slash: no ustar split */
    nameless[200] = '\0';
    assert_int_equal(targz_add_file(&t, nameless, "x", 1), TARGZ_BAD_NAME);
    assert_int_equal(targz_add_file(&t, "a", "x", 1), TARGZ_OK);  /* 2 blocks of 3 */
    assert_int_equal(targz_add_file(&t, "b", "x", 1), TARGZ_TOO_LARGE);
    targz_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
