/* errors.h - the one place that turns a cl_error into an HTTP status and a JSON body
 * {"error": "<message>", "code": "<code>"}, and the JSON reply helpers every handler uses. */
#ifndef COLONY_API_ERRORS_H
#define COLONY_API_ERRORS_H

#include <jansson.h>
#include <stdint.h>

#include "base/error.h"
#include "http/request.h"

/* Answer `e` with its status and JSON body. */
void api_reply_error(http_req *rq, const cl_error *e);
/* Shorthand: build the error and answer it. */
void api_fail(http_req *rq, cl_err code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Answer with `v` serialised (takes ownership of the reference). */
void api_reply_json(http_req *rq, int status, json_t *v);
/* RFC 3339 string for ms since the epoch, or JSON null for 0 (a new reference). */
json_t *api_json_time(int64_t ms);

/* JSON body of an error the HTTP engine raised itself (see server_config.error_body). */
size_t api_error_body(char *out, size_t cap, int status, const char *message);

#endif
