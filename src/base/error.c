/* error.c - the tables behind cl_err. */
#include "base/error.h"

#include <stdio.h>
#include <string.h>

#include "base/utf8.h"

static const struct {
    const char *name, *code, *msg;
    int status;
} ERRS[] = {
#define XX(name, status, code, msg) {#name, code, msg, status},
    CL_ERR_MAP(XX)
#undef XX
};

static int valid(cl_err e) { return (unsigned)e < CL__ERR_COUNT; }

const char *cl_err_name(cl_err e) { return valid(e) ? ERRS[e].name : "UNKNOWN"; }
const char *cl_err_code(cl_err e) { return valid(e) ? ERRS[e].code : "internal"; }
const char *cl_strerror(cl_err e) { return valid(e) ? ERRS[e].msg : "unknown error"; }
int cl_err_http_status(cl_err e) { return valid(e) ? ERRS[e].status : 500; }

cl_err cl_vfail(cl_error *out, cl_err e, const char *fmt, va_list ap)
{
    if (out == NULL)
        return e;
    out->err = e;
    out->code = NULL;
    int n = vsnprintf(out->msg, sizeof(out->msg), fmt, ap);
    if (n >= (int)sizeof(out->msg)) /* vsnprintf cut at a byte; drop a half code point at the end */
        out->msg[utf8_trim_incomplete(out->msg, sizeof(out->msg) - 1)] = '\0';
    return e;
}

cl_err cl_fail(cl_error *out, cl_err e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cl_vfail(out, e, fmt, ap);
    va_end(ap);
    return e;
}

cl_err cl_fail_code(cl_error *out, cl_err e, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cl_vfail(out, e, fmt, ap);
    va_end(ap);
    if (out != NULL)
        out->code = code;
    return e;
}

void cl_error_clear(cl_error *out)
{
    out->err = CL_OK;
    out->code = NULL;
    out->msg[0] = '\0';
}
