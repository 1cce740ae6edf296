/* framing.c - see framing.h. h2o keeps neither Content-Length nor Transfer-Encoding among the request headers it
 * hands over (it consumes them to frame the body), so the guard reads the request's own header block: while a
 * request is being handled, its raw bytes are still at the head of the connection's input buffer (h2o consumes them
 * when the request completes). The block is read the way h2o's parser reads it: lines end in LF or CRLF, names are
 * case-insensitive, values are trimmed. */
#include "http/framing.h"

#include <string.h>
#include <strings.h>

#include "base/metrics.h"
#include "http/engine.h"

static h2o_iovec_t trimmed(const char *s, size_t n)
{
    while (n > 0 && (s[0] == ' ' || s[0] == '\t'))
        s++, n--;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        n--;
    return h2o_iovec_init(s, n);
}

static bool named(const char *line, size_t colon, const char *name)
{
    return colon == strlen(name) && strncasecmp(line, name, colon) == 0;
}

/* Scan the header block at the head of `in` (which must start with this request's method). */
static bool ambiguous(const char *in, size_t len, const h2o_req_t *req)
{
    if (len < req->method.len || memcmp(in, req->method.base, req->method.len) != 0)
        return false; /* not this request's bytes: nothing to judge */
    h2o_iovec_t length = {NULL, 0};
    bool have_length = false;
    int encodings = 0;
    const char *p = memchr(in, '\n', len), *end = in + len; /* skip the request line */
    while (p != NULL && ++p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t n = eol ? (size_t)(eol - p) : (size_t)(end - p);
        if (n == 0 || (n == 1 && p[0] == '\r'))
            break; /* the empty line: end of the header block */
        const char *colon = memchr(p, ':', n);
        if (colon != NULL) {
            size_t at = (size_t)(colon - p);
            h2o_iovec_t v = trimmed(colon + 1, n - at - 1);
            if (named(p, at, "transfer-encoding")) {
                encodings++; /* h2o obeys the last one; a proxy may obey the first */
            } else if (named(p, at, "content-length")) {
                if (have_length && !h2o_memis(v.base, v.len, length.base, length.len))
                    return true;
                length = v, have_length = true;
            }
        }
        p = eol;
    }
    return encodings > 1 || (encodings > 0 && have_length);
}

bool http_framing_refused(http_req *rq)
{
    engine_req *e = (engine_req *)rq;
    h2o_socket_t *sock =
        e->req->conn->callbacks->get_socket ? e->req->conn->callbacks->get_socket(e->req->conn) : NULL;
    if (sock == NULL || sock->input == NULL || !ambiguous(sock->input->bytes, sock->input->size, e->req))
        return false;
    metric_inc(METRIC_HTTP_FRAMING_REFUSED);
    e->req->http1_is_persistent = 0; /* the bytes after this request are not a request: close */
    cl_error err;
    cl_fail(&err, CL_INVALID, "ambiguous request framing (conflicting Content-Length / Transfer-Encoding)");
    e->w->srv->cfg->reply_error(rq, &err);
    return true;
}
