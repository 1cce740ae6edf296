/* errors.h - the one place that turns a cl_error into an HTTP status and a JSON body
 * {"error": "<message>", "code": "<code>"[, extra fields]}, and the JSON reply helpers every handler uses. Every
 * error body colony writes, the HTTP engine's own included, is built here. */
#ifndef COLONY_API_ERRORS_H
#define COLONY_API_ERRORS_H

#include <jansson.h>
#include <stdint.h>

#include "base/error.h"
#include "http/request.h"

/* Answer `e` with its status and JSON body. */
void api_reply_error(http_req *rq, const cl_error *e);
/* Shorthands: build the error and answer it. `code` (static; NULL: the table's) refines the wire code; `extra`
 * (may be NULL; the reference is taken) is an object whose fields follow "error" and "code" (it cannot replace
 * those two). */
void api_fail(http_req *rq, cl_err code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void api_fail_with(http_req *rq, cl_err err, const char *code, json_t *extra, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* An agent's failure passed on as it came: its own HTTP status and message (any length), code "agent_error". */
void api_relay_error(http_req *rq, int status, const char *message, json_t *extra);
/* Answer with `v` serialised (takes ownership of the reference). */
void api_reply_json(http_req *rq, int status, json_t *v);
/* RFC 3339 string for ms since the epoch, or JSON null for 0 (a new reference). */
json_t *api_json_time(int64_t ms);

/* JSON body of an error the HTTP engine raised itself (see server_config.error_body). */
size_t api_error_body(char *out, size_t cap, int status, const char *message);

#endif
