/* test_router.c - route matching, parameters, 405 bookkeeping, percent-decoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "http/router.h"

static void h(http_req *rq) { (void)rq; }

static const http_route ROUTES[] = {
    {"GET", "/workspaces", h, 0, HTTP_LANE_FAST},
    {"POST", "/workspaces", h, 0, HTTP_LANE_FAST},
    {"GET", "/workspaces/:id", h, 0, HTTP_LANE_FAST},
    {"PATCH", "/workspaces/:id", h, 0, HTTP_LANE_FAST},
    {"DELETE", "/workspaces/:id/tokens/:tokenId", h, 0, HTTP_LANE_FAST},
    {"GET", "/", h, 0, HTTP_LANE_FAST},
};

static route_result match(router_t *r, arena_t *a, const char *method, const char *path, http_param *p, int *np,
                          size_t *idx, char *allow)
{
    const http_route *out = NULL;
    return router_match(r, method, path, strlen(path), a, p, np, &out, idx, allow);
}

static void test_matching(void **state)
{
    (void)state;
    router_t *r = router_new(ROUTES, sizeof(ROUTES) / sizeof(ROUTES[0]));
    assert_non_null(r);
    arena_t *a = arena_new();
    http_param p[HTTP_MAX_PARAMS];
    int np = 0;
    size_t idx = 99;
    char allow[ROUTER_ALLOW_MAX];

    assert_int_equal(match(r, a, "GET", "/workspaces", p, &np, &idx, allow), ROUTE_FOUND);
    assert_int_equal(idx, 0);
    assert_int_equal(np, 0);
    assert_int_equal(match(r, a, "POST", "/workspaces/", p, &np, &idx, allow), ROUTE_FOUND);
    assert_int_equal(idx, 1);
    assert_int_equal(match(r, a, "PATCH", "/workspaces/abc", p, &np, &idx, allow), ROUTE_FOUND);
    assert_int_equal(idx, 3);
    assert_int_equal(np, 1);
    assert_string_equal(p[0].name, "id");
    assert_string_equal(p[0].value, "abc");

    assert_int_equal(match(r, a, "DELETE", "/workspaces/w%201/tokens/t-2", p, &np, &idx, allow), ROUTE_FOUND);
    assert_int_equal(np, 2);
    assert_string_equal(p[0].value, "w 1");
    assert_string_equal(p[1].name, "tokenId");
    assert_string_equal(p[1].value, "t-2");

    assert_int_equal(match(r, a, "PUT", "/workspaces/abc", p, &np, &idx, allow), ROUTE_BAD_METHOD);
    assert_string_equal(allow, "GET, HEAD, PATCH");
    /* HEAD is served by the GET row (an explicit HEAD row listed first would win) */
    assert_int_equal(match(r, a, "HEAD", "/workspaces/abc", p, &np, &idx, allow), ROUTE_FOUND);
    assert_int_equal(idx, 2);
    assert_int_equal(match(r, a, "HEAD", "/workspaces/abc/tokens/t", p, &np, &idx, allow), ROUTE_BAD_METHOD);
    assert_string_equal(allow, "DELETE");
    assert_int_equal(match(r, a, "GET", "/", p, &np, &idx, allow), ROUTE_FOUND);
    assert_int_equal(match(r, a, "GET", "/nothing", p, &np, &idx, allow), ROUTE_NOT_FOUND);
    assert_int_equal(match(r, a, "GET", "/workspaces//x", p, &np, &idx, allow), ROUTE_NOT_FOUND);
    assert_int_equal(match(r, a, "GET", "/workspaces/a/b/c", p, &np, &idx, allow), ROUTE_NOT_FOUND);
    assert_int_equal(match(r, a, "GET", "/workspaces/%zz", p, &np, &idx, allow), ROUTE_NOT_FOUND);
    assert_int_equal(match(r, a, "GET", "/workspaces/%00", p, &np, &idx, allow), ROUTE_NOT_FOUND);
    assert_int_equal(match(r, a, "GET", "workspaces", p, &np, &idx, allow), ROUTE_NOT_FOUND);
    arena_free(a);
    router_free(r);
}

static void test_malformed_pattern_is_refused(void **state)
{
    (void)state;
    static const http_route bad[] = {{"GET", "/a//b", h, 0, HTTP_LANE_FAST}};
    assert_null(router_new(bad, 1));
}

/* "*name" takes the rest of the path, decoded, slashes kept; it needs at least one segment and must come last */
static void test_rest_of_path(void **state)
{
    (void)state;
    static const http_route routes[] = {
        {"GET", "/workspaces/:id/files", h, 0, HTTP_LANE_FAST},
        {"GET", "/workspaces/:id/files/*path", h, 0, HTTP_LANE_FAST},
        {"PUT", "/workspaces/:id/files/*path", h, 0, HTTP_LANE_FAST},
    };
    router_t *r = router_new(routes, 3);
    assert_non_null(r);
    arena_t *a = arena_new();
    http_param p[HTTP_MAX_PARAMS];
    int np = 0;
    size_t idx = 99;
    char allow[ROUTER_ALLOW_MAX];
    assert_int_equal(match(r, a, "GET", "/workspaces/w/files", p, &np, &idx, allow), ROUTE_FOUND);
    assert_int_equal(idx, 0);
    assert_int_equal(match(r, a, "GET", "/workspaces/w/files/config.yaml", p, &np, &idx, allow), ROUTE_FOUND);
    assert_int_equal(idx, 1);
    assert_int_equal(np, 2);
    assert_string_equal(p[1].name, "path");
    assert_string_equal(p[1].value, "config.yaml");
    assert_int_equal(match(r, a, "PUT", "/workspaces/w/files/skills/a%20b/SKILL.md/", p, &np, &idx, allow),
                     ROUTE_FOUND);
    assert_int_equal(idx, 2);
    assert_string_equal(p[0].value, "w");
    assert_string_equal(p[1].value, "skills/a b/SKILL.md");
    assert_int_equal(match(r, a, "GET", "/workspaces/w/files/..%2F..%2Fetc", p, &np, &idx, allow), ROUTE_FOUND);
    assert_string_equal(p[1].value, "../../etc"); /* decoded: the handler judges it */
    assert_int_equal(match(r, a, "GET", "/workspaces/w/files/a//b", p, &np, &idx, allow), ROUTE_NOT_FOUND);
    assert_int_equal(match(r, a, "GET", "/workspaces/w/files/a%00", p, &np, &idx, allow), ROUTE_NOT_FOUND);
    assert_int_equal(match(r, a, "DELETE", "/workspaces/w/files/x", p, &np, &idx, allow), ROUTE_BAD_METHOD);
    assert_string_equal(allow, "GET, HEAD, PUT");
    arena_free(a);
    router_free(r);
    static const http_route bad[] = {{"GET", "/a/*rest/b", h, 0, HTTP_LANE_FAST}};
    assert_null(router_new(bad, 1));
}

static void test_pct_decode(void **state)
{
    (void)state;
    arena_t *a = arena_new();
    size_t n;
    assert_string_equal(http_pct_decode(a, "a%2Fb+c", 7, 1, &n), "a/b c");
    assert_string_equal(http_pct_decode(a, "a+b", 3, 0, &n), "a+b");
    assert_null(http_pct_decode(a, "%4", 2, 0, &n));
    assert_null(http_pct_decode(a, "%", 1, 0, &n));
    assert_null(http_pct_decode(a, "a\0b", 3, 0, &n));
    assert_string_equal(http_pct_decode(a, "%e4%bd%a0", 9, 0, &n), "你");
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matching),
        cmocka_unit_test(test_malformed_pattern_is_refused),
        cmocka_unit_test(test_rest_of_path),
        cmocka_unit_test(test_pct_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
