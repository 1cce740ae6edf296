/* json.h - jansson with colony's rules: bounded depth, strict UTF-8, duplicate keys refused; values are owned by
 * an arena (released when it is freed). */
#ifndef COLONY_BASE_JSON_H
#define COLONY_BASE_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"

enum { JSON_MAX_DEPTH = 64 };

/* Parse (body, len) as one JSON value nested at most JSON_MAX_DEPTH deep. On success *out is owned by `a`.
 * Failures are CL_INVALID_JSON with a message naming the problem and its position. */
cl_err json_parse(arena_t *a, const char *body, size_t len, json_t **out, cl_error *err);
/* Same, but the value must be an object. */
cl_err json_parse_object(arena_t *a, const char *body, size_t len, json_t **out, cl_error *err);

/* Nesting depth of the JSON text (ignoring brackets inside strings); stops counting past `limit`. */
int json_text_depth(const char *s, size_t len, int limit);

/* Hand a new reference to the arena: it is released when the arena is freed. Returns v. */
json_t *json_own(arena_t *a, json_t *v);

/* Compact serialisation into the arena (NUL-terminated); *len receives the length. */
char *json_dump_arena(arena_t *a, const json_t *v, size_t *len);

/* Typed field access on an object. Absent or JSON null → false with *out untouched. A present field of the
 * wrong type → CL_INVALID with a message naming the field. */
cl_err json_opt_string(const json_t *obj, const char *key, const char **out, size_t *len, bool *present,
                       cl_error *err);
cl_err json_opt_int(const json_t *obj, const char *key, int64_t *out, bool *present, cl_error *err);
/* An integer in [min, max] (the range of the column it goes to); outside it CL_INVALID "<key> must be an integer
 * from <min> to <max>". */
cl_err json_opt_int_range(const json_t *obj, const char *key, int64_t min, int64_t max, int64_t *out, bool *present,
                          cl_error *err);
cl_err json_opt_number(const json_t *obj, const char *key, double *out, bool *present, cl_error *err);
cl_err json_opt_bool(const json_t *obj, const char *key, bool *out, bool *present, cl_error *err);

#endif
