/* external.c - see external.h. */
#include "api/external.h"

#include <string.h>
#include <strings.h>

#include "api/auth.h"
#include "api/errors.h"
#include "api/input.h"
#include "model/connection.h"
#include "model/token.h"
#include "model/workspace.h"

static char public_url[EXTERNAL_URL_MAX + 1];

/* Characters of a host[:port] (a name, IPv4, or a bracketed IPv6 literal): nothing that could leave the quotes of
 * a snippet. */
static bool host_ok(const char *h, size_t n)
{
    if (n == 0 || n > 255)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
              c == ':' || c == '[' || c == ']'))
            return false;
    }
    return true;
}

cl_err api_external_init(const char *url, cl_error *err)
{
    public_url[0] = '\0';
    if (url == NULL || url[0] == '\0')
        return CL_OK;
    size_t n = strlen(url), scheme = strncasecmp(url, "https://", 8) == 0  ? 8
                                     : strncasecmp(url, "http://", 7) == 0 ? 7
                                                                           : 0;
    if (scheme == 0)
        return cl_fail(err, CL_INVALID, "--public-url must start with http:// or https://");
    if (n > EXTERNAL_URL_MAX)
        return cl_fail(err, CL_INVALID, "--public-url is longer than %d bytes", EXTERNAL_URL_MAX);
    while (n > scheme && url[n - 1] == '/')
        n--;
    const char *host = url + scheme, *path = memchr(host, '/', n - scheme);
    if (!host_ok(host, path ? (size_t)(path - host) : n - scheme))
        return cl_fail(err, CL_INVALID, "--public-url must name a host (letters, digits, '.', '-', a port)");
    for (const char *p = path; p && p < url + n; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("/-._~%", *p)))
            return cl_fail(err, CL_INVALID, "--public-url may hold a path, but no query, fragment or spaces");
    memcpy(public_url, url, n);
    public_url[n] = '\0';
    return CL_OK;
}

/* The configured URL, else the one this request reached colony by (behind a proxy: what it forwarded). NULL after
 * answering 400 when the request names no usable host. */
static const char *platform_url(http_req *rq)
{
    if (public_url[0] != '\0')
        return public_url;
    const char *proto = http_header(rq, "x-forwarded-proto"), *host = http_header(rq, "x-forwarded-host");
    if (host == NULL || !host_ok(host, strlen(host)))
        host = http_header(rq, "host");
    if (host == NULL || !host_ok(host, strlen(host))) {
        api_fail(rq, CL_INVALID, "cannot tell colony's address from this request; set --public-url");
        return NULL;
    }
    return arena_sprintf(rq->arena, "%s://%s", proto && strcasecmp(proto, "https") == 0 ? "https" : "http", host);
}

/* The live external-like workspace of the URL and colony's URL for it; false after answering 404 or 400. */
static bool external_workspace(http_req *rq, ws_row *w, const char **url)
{
    const char *id;
    if (!api_live_workspace_or_reply(rq, &id, w))
        return false;
    if (!ws_runtime_external_like(w->runtime)) {
        api_fail(rq, CL_INVALID, "not an external workspace: its runtime is %s (external, kimi and kimi-cli are)",
                 w->runtime ? w->runtime : "none");
        return false;
    }
    return (*url = platform_url(rq)) != NULL;
}

void api_external_connection(http_req *rq)
{
    const char *url;
    ws_row w;
    if (external_workspace(rq, &w, &url))
        api_reply_json(rq, 200, json_pack("{s:o}", "connection", conn_connection(rq->arena, url, w.id, w.name, "")));
}

void api_external_rotate(http_req *rq)
{
    const char *url;
    ws_row w;
    char plain[ID_TOKEN_LEN + 1];
    token_row t;
    cl_error e;
    if (!external_workspace(rq, &w, &url)) /* every refusal before anything is revoked */
        return;
    const caller *who = api_caller(rq); /* a workspace token rotates once; an operator's has no turn to lose */
    const char *own = who->kind == CALLER_WORKSPACE ? who->token_id : NULL;
    if (token_rotate_workspace(rq->db, rq->arena, w.id, own, plain, &t, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    http_add_header(rq, "cache-control", "no-store"); /* the token is shown this once */
    api_reply_json(rq, 200, json_pack("{s:o}", "connection", conn_connection(rq->arena, url, w.id, w.name, plain)));
}
