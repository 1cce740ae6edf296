/* test_upload.c - file-name sanitising (every case of vectors.md §3.1), type sanitising (data.md §1.6), and the
 * multipart parser's acceptance and refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "http/multipart.h"
#include "model/upload.h"

static const char *name(const char *in)
{
    static char out[UPLOAD_NAME_MAX + 1];
    upload_sanitize_name(in, out);
    return out;
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(name("../../etc/passwd"), "passwd");
    assert_string_equal(name("/etc/passwd"), "passwd");
    assert_string_equal(name("a/b/c.txt"), "c.txt");
    assert_string_equal(name("./relative"), "relative");
    assert_string_equal(name("hello world.pdf"), "hello_world.pdf");
    assert_string_equal(name("weird;chars!?.txt"), "weird_chars__.txt");
    assert_string_equal(name("中文.docx"), "__.docx");
    assert_string_equal(name("file (1).pdf"), "file__1_.pdf");
    assert_string_equal(name("中文中文"), "____");
    assert_string_equal(name("report-2026.05.04_v2.pdf"), "report-2026.05.04_v2.pdf");
    char in[300];
    memset(in, 'a', 95);
    strcpy(in + 95, ".pdf");
    assert_string_equal(name(in), in); /* 99 bytes: unchanged */
    memset(in, 'b', 200);
    strcpy(in + 200, ".pdf");
    const char *long_one = name(in);
    assert_int_equal(strlen(long_one), 100);
    assert_string_equal(long_one + 96, ".pdf");
    memset(in, 'c', 90);
    strcpy(in + 90, ".thisisaverylongextensionnotpreserved");
    const char *no_ext = name(in);
    assert_int_equal(strlen(no_ext), 100);
    assert_null(strstr(no_ext, "notpreserved"));
    assert_string_equal(name(""), "file");
    assert_string_equal(name("."), "file");
    assert_string_equal(name(".."), "file");
    assert_string_equal(name("a\xff" "b"), "a_b"); /* an invalid byte is one '_' */
    assert_string_equal(name("dir/"), "dir");
}

static void test_types(void **state)
{
    (void)state;
    arena_t *a = arena_new();
    assert_string_equal(upload_sanitize_type(a, "text/plain; charset=utf-8"), "text/plain");
    assert_string_equal(upload_sanitize_type(a, "image/png"), "image/png");
    assert_string_equal(upload_sanitize_type(a, ""), "");
    assert_string_equal(upload_sanitize_type(a, NULL), "");
    assert_string_equal(upload_sanitize_type(a, "notamime"), "application/octet-stream");
    assert_string_equal(upload_sanitize_type(a, "/x"), "application/octet-stream");
    assert_string_equal(upload_sanitize_type(a, "x/"), "application/octet-stream");
    assert_string_equal(upload_sanitize_type(a, "text/plain\r\nX-Leak: 1"), "application/octet-stream");
    assert_string_equal(upload_sanitize_type(a, "te xt/plain"), "application/octet-stream");
    assert_string_equal(upload_sanitize_type(a, "a/b/c"), "application/octet-stream");
    arena_free(a);
}

static void test_multipart(void **state)
{
    (void)state;
    arena_t *a = arena_new();
    cl_error e;
    assert_string_equal(multipart_boundary(a, "multipart/form-data; boundary=XyZ"), "XyZ");
    assert_string_equal(multipart_boundary(a, "multipart/form-data; boundary=\"q b\""), "q b");
    assert_null(multipart_boundary(a, "application/json"));
    assert_null(multipart_boundary(a, "multipart/form-data"));
    static const char body[] = "--XyZ\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a \\\"q\\\".txt\"\r\n"
                               "Content-Type: text/plain\r\n\r\nhello\r\n--XyZ\r\n"
                               "Content-Disposition: form-data; name=\"files\"; filename=\"empty\"\r\n\r\n\r\n"
                               "--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi --XyZ no\r\n--XyZ--\r\n";
    multipart_part *p;
    size_t n;
    assert_int_equal(multipart_parse(a, "XyZ", body, sizeof(body) - 1, &p, &n, &e), CL_OK);
    assert_int_equal(n, 3);
    assert_string_equal(p[0].filename, "a \"q\".txt");
    assert_string_equal(p[0].content_type, "text/plain");
    assert_int_equal(p[0].len, 5);
    assert_memory_equal(p[0].data, "hello", 5);
    assert_int_equal(p[1].len, 0); /* a zero-byte file is a file */
    assert_null(p[2].filename);
    assert_int_equal(p[2].len, 11);
    static const char *const bad[] = {
        "", "no boundary here", "--XyZ\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nunterminated",
        "--XyZ\r\nX-Other: 1\r\n\r\ndata\r\n--XyZ--", /* no Content-Disposition */
        "--XyZ--\r\n",                                 /* no parts */
        "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"open\r\n\r\nx\r\n--XyZ--",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(multipart_parse(a, "XyZ", bad[i], strlen(bad[i]), &p, &n, &e), CL_INVALID);
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_names), cmocka_unit_test(test_types),
                                       cmocka_unit_test(test_multipart)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
