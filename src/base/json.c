/* json.c - see json.h. */
#include "base/json.h"

#include <math.h>
#include <string.h>

#include "base/utf8.h"

static void decref(void *v) { json_decref(v); }

json_t *json_own(arena_t *a, json_t *v)
{
    if (v != NULL)
        arena_defer(a, decref, v);
    return v;
}

int json_text_depth(const char *s, size_t len, int limit)
{
    int depth = 0, max = 0;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max && (max = depth) > limit)
                return max;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return max;
}

cl_err json_parse(arena_t *a, const char *body, size_t len, json_t **out, cl_error *err)
{
    if (len == 0)
        return cl_fail_code(err, CL_INVALID_JSON, "invalid_json", "request body is empty");
    if (!utf8_valid(body, len))
        return cl_fail_code(err, CL_INVALID_JSON, "invalid_json", "request body is not valid UTF-8");
    if (json_text_depth(body, len, JSON_MAX_DEPTH) > JSON_MAX_DEPTH)
        return cl_fail_code(err, CL_INVALID_JSON, "invalid_json", "JSON nested deeper than %d levels",
                            JSON_MAX_DEPTH);
    json_error_t je;
    json_t *v = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (v == NULL) {
        char *near = strstr(je.text, " near '"); /* jansson quotes the body there: it may hold a secret or a token */
        if (near != NULL)
            *near = '\0';
        return cl_fail_code(err, CL_INVALID_JSON, "invalid_json", "invalid JSON at line %d column %d: %s", je.line,
                            je.column, je.text);
    }
    *out = json_own(a, v);
    return CL_OK;
}

cl_err json_parse_object(arena_t *a, const char *body, size_t len, json_t **out, cl_error *err)
{
    cl_err e = json_parse(a, body, len, out, err);
    if (e == CL_OK && !json_is_object(*out))
        return cl_fail_code(err, CL_INVALID_JSON, "invalid_json", "request body must be a JSON object");
    return e;
}

char *json_dump_arena(arena_t *a, const json_t *v, size_t *len)
{
    size_t n = json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
    char *p = arena_alloc(a, n + 1);
    json_dumpb(v, p, n, JSON_COMPACT | JSON_ENCODE_ANY);
    p[n] = '\0';
    if (len != NULL)
        *len = n;
    return p;
}

static const json_t *field(const json_t *obj, const char *key, bool *present)
{
    const json_t *v = json_object_get(obj, key);
    bool has = v != NULL && !json_is_null(v);
    if (present != NULL)
        *present = has;
    return has ? v : NULL;
}

cl_err json_opt_string(const json_t *obj, const char *key, const char **out, size_t *len, bool *present,
                       cl_error *err)
{
    const json_t *v = field(obj, key, present);
    if (v == NULL)
        return CL_OK;
    if (!json_is_string(v))
        return cl_fail(err, CL_INVALID, "%s must be a string", key);
    /* json_parse refuses \u0000, but a value built elsewhere (YAML, a stored document) may hold a NUL: never let it
     * cut the C string silently */
    if (strlen(json_string_value(v)) != json_string_length(v))
        return cl_fail(err, CL_INVALID, "%s must not contain NUL", key);
    *out = json_string_value(v);
    if (len != NULL)
        *len = json_string_length(v);
    return CL_OK;
}

cl_err json_opt_int(const json_t *obj, const char *key, int64_t *out, bool *present, cl_error *err)
{
    const json_t *v = field(obj, key, present);
    if (v == NULL)
        return CL_OK;
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return CL_OK;
    }
    if (json_is_real(v)) { /* 3.0 is an integer to a JavaScript client */
        double d = json_real_value(v);
        if (d == floor(d) && fabs(d) < 9e15) {
            *out = (int64_t)d;
            return CL_OK;
        }
    }
    return cl_fail(err, CL_INVALID, "%s must be an integer", key);
}

cl_err json_opt_int_range(const json_t *obj, const char *key, int64_t min, int64_t max, int64_t *out, bool *present,
                          cl_error *err)
{
    int64_t v = 0;
    bool has = false;
    cl_err e = json_opt_int(obj, key, &v, &has, err);
    if (present != NULL)
        *present = has;
    if (e != CL_OK || !has)
        return e;
    if (v < min || v > max)
        return cl_fail(err, CL_INVALID, "%s must be an integer from %lld to %lld", key, (long long)min,
                       (long long)max);
    *out = v;
    return CL_OK;
}

cl_err json_opt_number(const json_t *obj, const char *key, double *out, bool *present, cl_error *err)
{
    const json_t *v = field(obj, key, present);
    if (v == NULL)
        return CL_OK;
    if (!json_is_number(v))
        return cl_fail(err, CL_INVALID, "%s must be a number", key);
    *out = json_number_value(v);
    return CL_OK;
}

cl_err json_opt_bool(const json_t *obj, const char *key, bool *out, bool *present, cl_error *err)
{
    const json_t *v = field(obj, key, present);
    if (v == NULL)
        return CL_OK;
    if (!json_is_boolean(v))
        return cl_fail(err, CL_INVALID, "%s must be a boolean", key);
    *out = json_is_true(v);
    return CL_OK;
}
