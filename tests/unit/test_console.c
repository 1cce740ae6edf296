/* test_console.c - the embedded console: every file is there with its type and tag, and its routes shadow no route
 * of the API (each API path, whatever its method, still reaches its own row). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "api/console.h"
#include "api/routes.h"
#include "http/router.h"

static void test_assets(void **state)
{
    (void)state;
    const char *names[] = {"index.html", "app.js", "app.css"};
    const char *types[] = {"text/html; charset=utf-8", "text/javascript; charset=utf-8", "text/css; charset=utf-8"};
    for (size_t i = 0; i < 3; i++) {
        const console_asset *f = console_find(names[i]);
        assert_non_null(f);
        assert_string_equal(f->content_type, types[i]);
        assert_int_equal(strlen(f->data), f->len); /* text, NUL after it */
        assert_int_equal(strlen(f->etag), 22);
        assert_true(f->etag[0] == '"' && f->etag[21] == '"');
    }
    assert_null(console_find("nope.js"));
    assert_null(console_find(NULL));
    assert_null(console_find("../index.html"));
    /* no two files share a tag (their contents differ) */
    for (size_t i = 0; i < console_assets_count; i++)
        for (size_t j = i + 1; j < console_assets_count; j++)
            assert_string_not_equal(console_assets[i].etag, console_assets[j].etag);
}

/* A concrete path for a pattern: every ":param" becomes "x". */
static void concrete(const char *pattern, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *p = pattern; *p && o + 2 < cap;) {
        if (*p == ':') {
            out[o++] = 'x';
            while (*p && *p != '/')
                p++;
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
}

static void test_no_api_route_is_shadowed(void **state)
{
    (void)state;
    router_t *r = router_new(api_routes, api_routes_count);
    assert_non_null(r);
    arena_t *a = arena_new();
    size_t console_rows = 0;
    for (size_t i = 0; i < api_routes_count; i++) {
        const http_route *want = &api_routes[i];
        if (want->fn == api_console) {
            console_rows++;
            continue;
        }
        char path[256];
        concrete(want->pattern, path, sizeof(path));
        http_param p[HTTP_MAX_PARAMS];
        int np = 0;
        size_t idx = 0;
        const http_route *got = NULL;
        char allow[ROUTER_ALLOW_MAX];
        assert_int_equal(router_match(r, want->method, path, strlen(path), a, p, &np, &got, &idx, allow), ROUTE_FOUND);
        if (got->fn == api_console)
            fail_msg("%s %s reaches the console", want->method, want->pattern);
    }
    assert_int_equal(console_rows, 2);
    /* and the console's own paths reach it */
    const char *paths[] = {"/", "/console/app.js", "/console/index.html"};
    for (size_t i = 0; i < 3; i++) {
        http_param p[HTTP_MAX_PARAMS];
        int np = 0;
        size_t idx = 0;
        const http_route *got = NULL;
        char allow[ROUTER_ALLOW_MAX];
        assert_int_equal(router_match(r, "GET", paths[i], strlen(paths[i]), a, p, &np, &got, &idx, allow),
                         ROUTE_FOUND);
        assert_ptr_equal(got->fn, api_console);
        assert_int_equal(got->lane, HTTP_LANE_LOOP); /* no database behind it */
    }
    arena_free(a);
    router_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_assets),
        cmocka_unit_test(test_no_api_route_is_shadowed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
