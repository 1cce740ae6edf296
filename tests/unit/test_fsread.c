/* test_fsread.c - reading operator files: never through a link beneath the root, never blocking on a FIFO, bounded,
 * and only the head when asked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/fsread.h"

static char root[64];

static void put(const char *rel, const char *text)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", root, rel);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static const char *at(const char *rel)
{
    static char p[256];
    snprintf(p, sizeof(p), "%s/%s", root, rel);
    return p;
}

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof(root), "/tmp/colony-fsread-XXXXXX");
    assert_non_null(mkdtemp(root));
    assert_int_equal(mkdir(at("sub"), 0755), 0);
    put("sub/x.md", "x\n");
    put(".env", "K=v\n");
    put("big", "0123456789");
    assert_int_equal(symlink(".env", at("notes.md")), 0);
    assert_int_equal(symlink("sub", at("alias")), 0);
    assert_int_equal(mkfifo(at("pipe"), 0644), 0); /* opened blocking, this test would hang here */
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    static const char *const files[] = {"sub/x.md", ".env", "big", "notes.md", "alias", "pipe"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        unlink(at(files[i]));
    rmdir(at("sub"));
    rmdir(root);
    return 0;
}

static void test_read_under_follows_no_link(void **state)
{
    (void)state;
    arena_t *a = arena_new();
    char *out;
    size_t n;
    cl_error e;
    assert_int_equal(fs_read_under(a, root, "sub/x.md", 100, &out, &n, &e), CL_OK);
    assert_string_equal(out, "x\n");
    assert_int_equal(fs_read_under(a, root, "notes.md", 100, &out, &n, &e), CL_NOT_FOUND);
    assert_int_equal(fs_read_under(a, root, "alias/x.md", 100, &out, &n, &e), CL_NOT_FOUND);
    assert_int_equal(fs_read_under(a, root, "pipe", 100, &out, &n, &e), CL_NOT_FOUND);
    assert_int_equal(fs_read_under(a, root, "sub", 100, &out, &n, &e), CL_NOT_FOUND);
    assert_int_equal(fs_read_under(a, root, "big", 5, &out, &n, &e), CL_TOO_LARGE);
    assert_int_equal(fs_read_under(a, root, "sub//x.md", 100, &out, &n, &e), CL_NOT_FOUND);
    arena_free(a);
}

static void test_read_file_and_head(void **state)
{
    (void)state;
    arena_t *a = arena_new();
    char *out;
    size_t n;
    cl_error e;
    assert_int_equal(fs_read_file(a, at("pipe"), 100, &out, &n, &e), CL_NOT_FOUND);
    assert_int_equal(fs_read_file(a, at("notes.md"), 100, &out, &n, &e), CL_NOT_FOUND);
    assert_int_equal(fs_read_head(a, at("big"), 100, 4, &out, &n, &e), CL_OK);
    assert_int_equal(n, 4);
    assert_string_equal(out, "0123");
    assert_int_equal(fs_read_head(a, at("big"), 9, 4, &out, &n, &e), CL_TOO_LARGE);
    assert_null(fs_fopen_regular(at("pipe")));
    FILE *f = fs_fopen_regular(at("notes.md")); /* an operator's own path may be a link */
    assert_non_null(f);
    fclose(f);
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_under_follows_no_link),
        cmocka_unit_test(test_read_file_and_head),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
