/* router.c - see router.h. A linear scan over pre-split patterns: the table is ~100 rows and a match costs a few
 * string compares; a trie would pay off only past that. */
#include "http/router.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

typedef struct {
    const char *s;
    size_t len;
    int is_param; /* ":name" */
    int is_rest;  /* "*name", last: the rest of the path */
} seg;

typedef struct {
    const http_route *route;
    seg segs[ROUTER_MAX_SEGMENTS];
    int nsegs;
} compiled;

struct router {
    compiled *rows;
    size_t n;
};

/* Split "/a/b/c" into segments; -1 when there are too many or one is empty (e.g. "//"). */
static int split(const char *path, size_t len, seg *out)
{
    int n = 0;
    if (len == 0 || path[0] != '/')
        return -1;
    if (len > 1 && path[len - 1] == '/')
        len--;
    size_t i = 1;
    if (len == 1)
        return 0;
    while (i <= len) {
        size_t start = i;
        while (i < len && path[i] != '/')
            i++;
        if (i == start || n == ROUTER_MAX_SEGMENTS)
            return -1;
        out[n].s = path + start;
        out[n].len = i - start;
        out[n].is_param = path[start] == ':' || path[start] == '*';
        out[n].is_rest = path[start] == '*';
        n++;
        i++;
    }
    return n;
}

router_t *router_new(const http_route *routes, size_t n)
{
    router_t *r = xcalloc(1, sizeof(*r));
    r->rows = xcalloc(n ? n : 1, sizeof(*r->rows));
    r->n = n;
    for (size_t i = 0; i < n; i++) {
        r->rows[i].route = &routes[i];
        r->rows[i].nsegs = split(routes[i].pattern, strlen(routes[i].pattern), r->rows[i].segs);
        int ns = r->rows[i].nsegs;
        for (int k = 0; k + 1 < ns; k++)
            if (r->rows[i].segs[k].is_rest) /* only the last segment may take the rest */
                ns = -1;
        if (ns < 0) {
            log_error("malformed route pattern", "pattern=\"%s\"", routes[i].pattern);
            router_free(r);
            return NULL;
        }
    }
    return r;
}

void router_free(router_t *r)
{
    if (r == NULL)
        return;
    free(r->rows);
    free(r);
}

size_t router_count(const router_t *r) { return r->n; }
const http_route *router_route(const router_t *r, size_t i) { return r->rows[i].route; }

static int hex(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

char *http_pct_decode(arena_t *a, const char *s, size_t len, int plus, size_t *out_len)
{
    char *out = arena_alloc(a, len + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            int hi, lo;
            if (i + 2 >= len || (hi = hex(s[i + 1])) < 0 || (lo = hex(s[i + 2])) < 0)
                return NULL;
            c = (char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+' && plus) {
            c = ' ';
        }
        if (c == '\0') /* raw or escaped: a NUL would cut every C string made from this value */
            return NULL;
        out[o++] = c;
    }
    out[o] = '\0';
    if (out_len != NULL)
        *out_len = o;
    return out;
}

static bool takes_rest(const compiled *c) { return c->nsegs > 0 && c->segs[c->nsegs - 1].is_rest; }

static int segs_match(const compiled *c, const seg *segs, int n)
{
    if (takes_rest(c) ? n < c->nsegs : c->nsegs != n)
        return 0;
    for (int i = 0; i < c->nsegs; i++) {
        if (c->segs[i].is_param)
            continue;
        if (c->segs[i].len != segs[i].len || memcmp(c->segs[i].s, segs[i].s, segs[i].len) != 0)
            return 0;
    }
    return 1;
}

route_result router_match(const router_t *r, const char *method, const char *path, size_t len, arena_t *a,
                          http_param *params, int *nparams, const http_route **out, size_t *index,
                          char allow[ROUTER_ALLOW_MAX])
{
    seg segs[ROUTER_MAX_SEGMENTS];
    int n = split(path, len, segs);
    allow[0] = '\0';
    if (n < 0)
        return ROUTE_NOT_FOUND;
    int path_known = 0;
    for (size_t i = 0; i < r->n; i++) {
        const compiled *c = &r->rows[i];
        if (!segs_match(c, segs, n))
            continue;
        bool get = strcmp(c->route->method, "GET") == 0;
        if (strcmp(c->route->method, method) != 0 && !(get && strcmp(method, "HEAD") == 0)) {
            size_t used = strlen(allow);
            if (strstr(allow, c->route->method) == NULL)
                snprintf(allow + used, ROUTER_ALLOW_MAX - used, "%s%s%s", used ? ", " : "", c->route->method,
                         get ? ", HEAD" : "");
            path_known = 1;
            continue;
        }
        int np = 0;
        for (int k = 0; k < c->nsegs; k++) {
            if (!c->segs[k].is_param)
                continue;
            size_t vlen, raw = c->segs[k].is_rest ? (size_t)(segs[n - 1].s + segs[n - 1].len - segs[k].s)
                                                  : segs[k].len;
            char *v = http_pct_decode(a, segs[k].s, raw, 0, &vlen);
            if (v == NULL || np == HTTP_MAX_PARAMS)
                return ROUTE_NOT_FOUND;
            params[np].name = c->segs[k].s + 1;
            params[np].value = v;
            params[np].value_len = vlen;
            np++;
        }
        /* names in the table are not NUL-terminated at the segment end: copy them once per match */
        for (int k = 0, p = 0; k < c->nsegs; k++) {
            if (c->segs[k].is_param) {
                params[p].name = arena_strndup(a, c->segs[k].s + 1, c->segs[k].len - 1);
                p++;
            }
        }
        *nparams = np;
        *out = c->route;
        *index = i;
        return ROUTE_FOUND;
    }
    return path_known ? ROUTE_BAD_METHOD : ROUTE_NOT_FOUND;
}
