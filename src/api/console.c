/* console.c - see console.h. Every answer carries a strict Content-Security-Policy (scripts and styles only from
 * this origin, no inline code, no frames, connections back to this origin only), and an ETag with `no-cache`: the
 * browser revalidates each load with one request answered 304, so a new binary is picked up at once. The files are
 * a few tens of KB and served from loopback or a LAN, so they are sent uncompressed (no gzip step in the build, no
 * second copy in the binary). */
#include "api/console.h"

#include <string.h>

#include "api/errors.h"

static const char CSP[] = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                          "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const console_asset *console_find(const char *name)
{
    for (size_t i = 0; name != NULL && i < console_assets_count; i++)
        if (strcmp(console_assets[i].name, name) == 0)
            return &console_assets[i];
    return NULL;
}

/* If-None-Match names this version: a list of tags, or `*`. */
static bool not_modified(http_req *rq, const console_asset *f)
{
    const char *inm = http_header(rq, "if-none-match");
    return inm != NULL && (strcmp(inm, "*") == 0 || strstr(inm, f->etag) != NULL);
}

void api_console(http_req *rq)
{
    const char *file = http_param_get(rq, "file");
    const console_asset *f = console_find(file != NULL ? file : "index.html");
    /* the policy on every answer of this route, its 404 included: nothing under /console/ is framed or sniffed */
    http_add_header(rq, "content-security-policy", CSP);
    http_add_header(rq, "x-content-type-options", "nosniff");
    http_add_header(rq, "referrer-policy", "no-referrer");
    http_add_header(rq, "x-frame-options", "DENY");
    if (f == NULL) {
        api_fail(rq, CL_NOT_FOUND, "no route for %s", rq->path); /* as the router says it */
        return;
    }
    http_add_header(rq, "etag", f->etag);
    http_add_header(rq, "cache-control", "no-cache");
    if (not_modified(rq, f)) {
        http_respond(rq, 304, NULL, "", 0);
        return;
    }
    http_respond(rq, 200, f->content_type, f->data, f->len);
}
