/* paging.c - see paging.h. */
#include "api/paging.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/errors.h"
#include "api/input.h"
#include "base/buf.h"
#include "base/id.h"
#include "base/time.h"
#include "base/utf8.h"

enum { CURSOR_TEXT_MAX = 640, CURSOR_NAME_MAX = 255 };

static const char JSON_TYPE[] = "application/json; charset=utf-8";

bool api_limit_or_reply(http_req *rq, int64_t def, int64_t max, int64_t *out)
{
    return api_query_int_or_reply(rq, "limit", def, 1, max, out);
}

/* One integer part: optional '-', digits, in range. */
static bool parse_int(const char *s, size_t n, int64_t *out)
{
    char buf[24];
    if (n == 0 || n >= sizeof(buf) || (s[0] == '-' && n == 1))
        return false;
    for (size_t i = s[0] == '-'; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    errno = 0;
    long long v = strtoll(buf, NULL, 10);
    if (errno == ERANGE)
        return false;
    *out = v;
    return true;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A name part: lower-case hex of 1..CURSOR_NAME_MAX bytes of UTF-8, none of them NUL; NULL otherwise (a forged
 * cursor must not reach the database: PostgreSQL refuses invalid UTF-8 with an error, not with an empty page). */
static const char *unhex(arena_t *a, const char *p, size_t n)
{
    if (n == 0 || n % 2 != 0 || n / 2 > CURSOR_NAME_MAX)
        return NULL;
    char *out = arena_alloc(a, n / 2 + 1);
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(p[2 * i]), lo = hexval(p[2 * i + 1]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
            return NULL;
        out[i] = (char)(hi * 16 + lo);
    }
    out[n / 2] = '\0';
    return utf8_valid(out, n / 2) ? out : NULL;
}

bool api_cursor_or_reply(http_req *rq, const char *shape, api_cursor *c)
{
    *c = (api_cursor){0};
    const char *v = http_query(rq, "cursor");
    if (v == NULL)
        return true;
    size_t parts = strlen(shape), len = strlen(v);
    const char *p = v;
    bool ok = len < CURSOR_TEXT_MAX;
    for (size_t i = 0, k = 0; ok && i < parts; i++) {
        const char *dot = i + 1 < parts ? memchr(p, '.', (size_t)(v + len - p)) : v + len;
        if (dot == NULL) {
            ok = false;
            break;
        }
        size_t n = (size_t)(dot - p);
        if (shape[i] == 'i')
            ok = k < API_CURSOR_PARTS && parse_int(p, n, &c->n[k++]);
        else if (shape[i] == 'u')
            ok = id_is_uuid(p, n) && (c->id = arena_strndup(rq->arena, p, n)) != NULL;
        else
            ok = (c->id = unhex(rq->arena, p, n)) != NULL;
        p = dot + 1;
    }
    if (!ok) {
        api_fail(rq, CL_INVALID, "cursor is not one this list gave (pass back X-Next-Cursor as it came)");
        return false;
    }
    c->set = true;
    return true;
}

const char *api_cursor_text(arena_t *a, const char *shape, const api_cursor *c)
{
    buf_t b = BUF_INIT(CURSOR_TEXT_MAX);
    for (size_t i = 0, k = 0; shape[i] != '\0'; i++) {
        if (i > 0)
            buf_putc(&b, '.');
        if (shape[i] == 'i')
            buf_printf(&b, "%lld", (long long)c->n[k++]);
        else if (shape[i] == 'u')
            buf_puts(&b, c->id);
        else
            for (const unsigned char *p = (const unsigned char *)c->id; *p; p++)
                buf_printf(&b, "%02x", *p);
    }
    char *out = arena_strndup(a, b.data ? b.data : "", b.len);
    buf_free(&b);
    return out;
}

/* The name of a raw query pair "name=value" (or "name"): length up to '=' or the end. */
static bool pair_named(const char *p, size_t n, const char *name)
{
    size_t k = strlen(name);
    return n >= k && strncmp(p, name, k) == 0 && (n == k || p[k] == '=');
}

void api_next_page(http_req *rq, const char *cursor)
{
    static const char *const replaced[] = {"cursor", "since_id", "offset"};
    http_add_header(rq, "x-next-cursor", cursor);
    buf_t b = BUF_INIT(2 * (rq->path_len + strlen(rq->query)) + CURSOR_TEXT_MAX + 64);
    buf_putc(&b, '<');
    buf_append(&b, rq->path, rq->path_len);
    buf_putc(&b, '?');
    for (const char *p = rq->query; *p != '\0';) {
        size_t n = strcspn(p, "&");
        bool drop = n == 0;
        for (size_t i = 0; !drop && i < sizeof(replaced) / sizeof(replaced[0]); i++)
            drop = pair_named(p, n, replaced[i]);
        if (!drop) {
            buf_append(&b, p, n);
            buf_putc(&b, '&');
        }
        p += n + (p[n] == '&');
    }
    buf_printf(&b, "cursor=%s>; rel=\"next\"", cursor);
    http_add_header(rq, "link", b.data);
    buf_free(&b);
}

void api_list_writer(jsonw *w)
{
    jsonw_init(w, API_LIST_BODY_MAX);
}

bool api_row_fits(jsonw *w, const jsonw_mark *m)
{
    if (!w->failed)
        return true;
    jsonw_rewind(w, m);
    return false;
}

size_t api_write_page(http_req *rq, jsonw *w, const void *rows, size_t n, size_t size, int64_t limit,
                      api_row_writer write, api_row_cursor cursor)
{
    size_t shown = 0, page = n < (size_t)limit ? n : (size_t)limit;
    jsonw_arr_open(w);
    for (; shown < page; shown++) {
        jsonw_mark m = jsonw_save(w);
        write(w, (const char *)rows + shown * size);
        if (!api_row_fits(w, &m))
            break;
    }
    jsonw_arr_close(w);
    if (shown == 0 && n > 0)
        w->failed = true;
    else if (shown < n)
        api_next_page(rq, cursor(rq->arena, (const char *)rows + (shown - 1) * size));
    return shown;
}

void api_reply_rows(http_req *rq, const void *rows, size_t n, size_t size, int64_t limit, api_row_writer write,
                    api_row_cursor cursor)
{
    jsonw w;
    api_list_writer(&w);
    api_write_page(rq, &w, rows, n, size, limit, write, cursor);
    api_reply_jsonw(rq, 200, &w);
}

void api_reply_array_page(http_req *rq, jsonw *w, bool more, bool any_row, const char *cursor)
{
    jsonw_arr_close(w);
    if (more && !any_row)
        w->failed = true;
    else if (more)
        api_next_page(rq, cursor);
    api_reply_jsonw(rq, 200, w);
}

void api_reply_jsonw(http_req *rq, int status, jsonw *w)
{
    size_t len;
    const char *body = jsonw_finish(w, rq->arena, &len);
    if (body == NULL) {
        api_fail(rq, CL_INTERNAL, "response could not be written");
        return;
    }
    http_respond(rq, status, JSON_TYPE, body, len);
}

void api_jsonw_time(jsonw *w, const char *key, int64_t ms)
{
    jsonw_key(w, key);
    if (ms == 0) {
        jsonw_null(w);
        return;
    }
    char buf[TIME_RFC3339_MAX];
    time_format_rfc3339(ms, buf);
    jsonw_str(w, buf);
}
