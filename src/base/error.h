/* error.h - colony's one result type: an enum generated, with its wire code, message and HTTP status, from
 * one table. Fallible functions return cl_err and fill a cl_error with the human message. */
#ifndef COLONY_BASE_ERROR_H
#define COLONY_BASE_ERROR_H

#include <stdarg.h>

/* XX(NAME, http status, wire code, default message). Only api/errors.c reads the status column. */
#define CL_ERR_MAP(XX)                                                                                             \
    XX(OK, 200, "ok", "ok")                                                                                        \
    XX(INVALID, 400, "invalid_request", "invalid request")                                                        \
    XX(INVALID_JSON, 400, "invalid_json", "invalid JSON body")                                                    \
    XX(UNAUTHORIZED, 401, "unauthorized", "unauthorized")                                                         \
    XX(PAYMENT_REQUIRED, 402, "budget_exceeded", "workspace budget limit exceeded")                               \
    XX(FORBIDDEN, 403, "forbidden", "forbidden")                                                                  \
    XX(NOT_FOUND, 404, "not_found", "not found")                                                                  \
    XX(METHOD_NOT_ALLOWED, 405, "method_not_allowed", "method not allowed")                                       \
    XX(CONFLICT, 409, "conflict", "conflict")                                                                     \
    XX(GONE, 410, "gone", "gone")                                                                                 \
    XX(TOO_LARGE, 413, "too_large", "request entity too large")                                                   \
    XX(UNSUPPORTED_MEDIA, 415, "unsupported_media_type", "unsupported media type")                                \
    XX(UNPROCESSABLE, 422, "unprocessable", "unprocessable request")                                              \
    XX(RATE_LIMITED, 429, "rate_limited", "rate limit exceeded")                                                  \
    XX(INTERNAL, 500, "internal", "internal error")                                                               \
    XX(NOT_IMPLEMENTED, 501, "not_implemented", "not implemented on this deployment")                            \
    XX(BAD_GATEWAY, 502, "bad_gateway", "upstream error")                                                         \
    XX(UNAVAILABLE, 503, "unavailable", "service unavailable")                                                    \
    XX(TIMEOUT, 504, "timeout", "upstream timeout")                                                               \
    XX(PRECONDITION_FAILED, 412, "precondition_failed", "precondition failed")

typedef enum {
#define XX(name, status, code, msg) CL_##name,
    CL_ERR_MAP(XX)
#undef XX
        CL__ERR_COUNT
} cl_err;

enum { CL_ERROR_MSG_MAX = 256 };

/* A failure with its message. `code` overrides the table's wire code when a caller needs a finer one
 * (e.g. "destructive_action_requires_confirmation"); it must point to static storage. */
typedef struct {
    cl_err err;
    const char *code;
    char msg[CL_ERROR_MSG_MAX];
} cl_error;

/* Static name ("INVALID"), wire code ("invalid_request"), default message and HTTP status of `e`. */
const char *cl_err_name(cl_err e);
const char *cl_err_code(cl_err e);
const char *cl_strerror(cl_err e);
int cl_err_http_status(cl_err e);

/* Fill `out` (may be NULL) and return `e`, so that `return cl_fail(err, CL_INVALID, "bad %s", x);` reads as one
 * step. The message is truncated on a UTF-8 boundary. */
cl_err cl_fail(cl_error *out, cl_err e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
cl_err cl_vfail(cl_error *out, cl_err e, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));
/* The same with a finer wire code (static string). */
cl_err cl_fail_code(cl_error *out, cl_err e, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Reset to CL_OK with an empty message. */
void cl_error_clear(cl_error *out);

#endif
