/* errors.c - see errors.h. */
#include "api/errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "base/log.h"
#include "base/time.h"
#include "base/utf8.h"

static const char JSON_TYPE[] = "application/json; charset=utf-8";

void api_reply_json(http_req *rq, int status, json_t *v)
{
    json_own(rq->arena, v);
    size_t len;
    char *body = json_dump_arena(rq->arena, v, &len);
    http_respond(rq, status, JSON_TYPE, body, len);
}

/* A message as JSON can carry it: messages echo input (a path, a query value), which may be any bytes; invalid UTF-8
 * would make the whole body unencodable (it came back empty). Invalid sequences become U+FFFD. */
static const char *valid_text(arena_t *a, const char *msg)
{
    size_t n = strlen(msg);
    if (utf8_valid(msg, n))
        return msg;
    char *out = arena_alloc(a, 3 * n + 1);
    out[utf8_sanitize(msg, n, out)] = '\0';
    return out;
}

/* {"error": msg, "code": code, ...extra}: the one shape of an error body (takes the reference of extra). */
static json_t *error_json(const char *msg, const char *code, json_t *extra)
{
    json_t *v = json_pack("{s:s, s:s}", "error", msg, "code", code);
    if (extra != NULL) {
        const char *key;
        json_t *field;
        json_object_foreach(extra, key, field) {
            if (strcmp(key, "error") != 0 && strcmp(key, "code") != 0)
                json_object_set(v, key, field);
        }
        json_decref(extra);
    }
    return v;
}

/* Every error reply of a handler ends here. */
static void reply_error(http_req *rq, int status, const char *code, const char *msg, json_t *extra)
{
    if (status >= 500)
        log_warn("request failed", "rid=%s status=%d code=%s", rq->request_id, status, code);
    api_reply_json(rq, status, error_json(valid_text(rq->arena, msg), code, extra));
}

static void reply_cl_error(http_req *rq, const cl_error *e, json_t *extra)
{
    reply_error(rq, cl_err_http_status(e->err), e->code ? e->code : cl_err_code(e->err),
                e->msg[0] ? e->msg : cl_strerror(e->err), extra);
}

void api_reply_error(http_req *rq, const cl_error *e) { reply_cl_error(rq, e, NULL); }

void api_relay_error(http_req *rq, int status, const char *message, json_t *extra)
{
    reply_error(rq, status, "agent_error", message, extra);
}

void api_fail(http_req *rq, cl_err code, const char *fmt, ...)
{
    cl_error e;
    va_list ap;
    va_start(ap, fmt);
    cl_vfail(&e, code, fmt, ap);
    va_end(ap);
    api_reply_error(rq, &e);
}

void api_fail_with(http_req *rq, cl_err err, const char *code, json_t *extra, const char *fmt, ...)
{
    cl_error e;
    va_list ap;
    va_start(ap, fmt);
    cl_vfail(&e, err, fmt, ap);
    va_end(ap);
    e.code = code;
    reply_cl_error(rq, &e, extra);
}

size_t api_error_body(char *out, size_t cap, int status, const char *message)
{
    const char *code = "error";
    for (int e = 0; e < CL__ERR_COUNT; e++) {
        if (cl_err_http_status((cl_err)e) == status) {
            code = cl_err_code((cl_err)e);
            break;
        }
    }
    json_t *v = error_json(message, code, NULL);
    size_t n = json_dumpb(v, out, cap, JSON_COMPACT);
    json_decref(v);
    return n <= cap ? n : 0;
}

json_t *api_json_time(int64_t ms)
{
    if (ms == 0)
        return json_null();
    char buf[TIME_RFC3339_MAX];
    time_format_rfc3339(ms, buf);
    return json_string(buf);
}
