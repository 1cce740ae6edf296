/* yaml.c - see yaml.h. An event-driven reader over libyaml with an explicit stack. */
#include "base/yaml.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "base/json.h"

typedef struct {
    json_t *value;
    char *key; /* pending key of a mapping (heap), NULL when the next scalar is a key */
} frame;

static bool matches_int(const char *s)
{
    const char *p = s + (*s == '-' || *s == '+');
    if (*p == '\0')
        return false;
    return p[strspn(p, "0123456789")] == '\0';
}

static bool matches_float(const char *s)
{
    const char *p = s + (*s == '-' || *s == '+');
    size_t digits = strspn(p, "0123456789");
    p += digits;
    size_t frac = 0;
    if (*p == '.') {
        p++;
        frac = strspn(p, "0123456789");
        p += frac;
    }
    if (digits + frac == 0)
        return false;
    if (*p == 'e' || *p == 'E') {
        p++;
        p += *p == '-' || *p == '+';
        size_t ex = strspn(p, "0123456789");
        if (ex == 0)
            return false;
        p += ex;
    }
    return *p == '\0';
}

/* A plain scalar takes its core-schema type; anything quoted or block-styled stays a string. */
static json_t *scalar(const yaml_event_t *ev)
{
    const char *v = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return json_stringn(v, len);
    if (len == 0 || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL"))
        return json_null();
    if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE"))
        return json_true();
    if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE"))
        return json_false();
    if (matches_int(v)) {
        errno = 0;
        long long n = strtoll(v, NULL, 10);
        if (errno == 0)
            return json_integer(n);
    }
    if (matches_float(v)) {
        double d = strtod(v, NULL);
        if (isfinite(d))
            return json_real(d);
    }
    return json_stringn(v, len);
}

static cl_err at(cl_error *err, cl_err e, const yaml_mark_t *m, const char *what, const char *detail)
{
    return cl_fail(err, e, "line %zu column %zu: %s%s", m->line + 1, m->column + 1, what, detail ? detail : "");
}

/* Custom tags (!include, !external…) are not ours to interpret. */
static const char *custom_tag(const yaml_event_t *ev)
{
    const yaml_char_t *tag = NULL;
    if (ev->type == YAML_SCALAR_EVENT)
        tag = ev->data.scalar.tag;
    else if (ev->type == YAML_MAPPING_START_EVENT)
        tag = ev->data.mapping_start.tag;
    else if (ev->type == YAML_SEQUENCE_START_EVENT)
        tag = ev->data.sequence_start.tag;
    if (tag == NULL || strncmp((const char *)tag, "tag:yaml.org,2002:", 18) == 0)
        return NULL;
    return (const char *)tag;
}

static const yaml_char_t *anchor_of(const yaml_event_t *ev)
{
    if (ev->type == YAML_SCALAR_EVENT)
        return ev->data.scalar.anchor;
    if (ev->type == YAML_MAPPING_START_EVENT)
        return ev->data.mapping_start.anchor;
    if (ev->type == YAML_SEQUENCE_START_EVENT)
        return ev->data.sequence_start.anchor;
    return NULL;
}

/* Attach `v` (a new reference) to the container on top of the stack; false on a duplicate or non-scalar key. */
static bool attach(frame *top, json_t *v, bool is_scalar_string, const char **why)
{
    if (json_is_array(top->value)) {
        json_array_append_new(top->value, v);
        return true;
    }
    if (top->key == NULL) { /* v is a key */
        if (!is_scalar_string && !json_is_string(v) && !json_is_integer(v)) {
            json_decref(v);
            *why = "mapping keys must be scalars";
            return false;
        }
        char buf[32] = "";
        if (json_is_integer(v))
            snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
        const char *k = json_is_string(v) ? json_string_value(v) : buf;
        if (json_object_get(top->value, k) != NULL) {
            json_decref(v);
            *why = "duplicate key";
            return false;
        }
        top->key = xstrdup(k);
        json_decref(v);
        return true;
    }
    json_object_set_new(top->value, top->key, v);
    free(top->key);
    top->key = NULL;
    return true;
}

cl_err yaml_parse(arena_t *a, const char *text, size_t len, json_t **out, cl_error *err)
{
    if (len > YAML_MAX_BYTES)
        return cl_fail(err, CL_TOO_LARGE, "template larger than %d bytes", YAML_MAX_BYTES);
    yaml_parser_t p;
    yaml_event_t ev;
    if (!yaml_parser_initialize(&p))
        return cl_fail(err, CL_INTERNAL, "cannot initialise the YAML parser");
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    frame stack[YAML_MAX_DEPTH + 1];
    int depth = 0, docs = 0;
    size_t nodes = 0;
    json_t *root = NULL;
    cl_err e = CL_OK;
    bool done = false;
    while (!done && e == CL_OK) {
        if (!yaml_parser_parse(&p, &ev)) {
            e = cl_fail(err, CL_INVALID, "line %zu column %zu: %s%s%s", p.problem_mark.line + 1,
                        p.problem_mark.column + 1, p.problem ? p.problem : "malformed YAML",
                        p.context ? " " : "", p.context ? p.context : "");
            break;
        }
        const char *tag = custom_tag(&ev), *why = NULL;
        json_t *v = NULL;
        if (ev.type == YAML_ALIAS_EVENT || anchor_of(&ev) != NULL) {
            e = at(err, CL_INVALID, &ev.start_mark, "anchors and aliases are not allowed", NULL);
        } else if (tag != NULL) {
            e = at(err, CL_INVALID, &ev.start_mark, "unsupported tag ", tag);
        } else if (ev.type == YAML_SCALAR_EVENT && memchr(ev.data.scalar.value, '\0', ev.data.scalar.length)) {
            /* "\0" is a valid YAML escape; every C string made from this value would be cut at it */
            e = at(err, CL_INVALID, &ev.start_mark, "NUL character in a scalar", NULL);
        } else if (++nodes > YAML_MAX_NODES) {
            e = cl_fail(err, CL_TOO_LARGE, "template has more than %d YAML nodes", YAML_MAX_NODES);
        } else {
            switch (ev.type) {
            case YAML_DOCUMENT_START_EVENT:
                if (++docs > 1)
                    e = at(err, CL_INVALID, &ev.start_mark, "only one YAML document is allowed", NULL);
                break;
            case YAML_STREAM_END_EVENT:
                done = true;
                break;
            case YAML_SCALAR_EVENT:
                v = scalar(&ev);
                if (depth == 0)
                    root = v;
                else if (!attach(&stack[depth - 1], v, ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE, &why))
                    e = at(err, CL_INVALID, &ev.start_mark, why, NULL);
                break;
            case YAML_MAPPING_START_EVENT:
            case YAML_SEQUENCE_START_EVENT:
                if (depth == YAML_MAX_DEPTH) {
                    e = at(err, CL_INVALID, &ev.start_mark, "nested too deep", NULL);
                    break;
                }
                v = ev.type == YAML_MAPPING_START_EVENT ? json_object() : json_array();
                if (depth > 0 && !attach(&stack[depth - 1], json_incref(v), false, &why)) {
                    json_decref(v);
                    e = at(err, CL_INVALID, &ev.start_mark, why, NULL);
                    break;
                }
                if (depth == 0)
                    root = json_incref(v);
                stack[depth].value = v;
                stack[depth].key = NULL;
                depth++;
                break;
            case YAML_MAPPING_END_EVENT:
            case YAML_SEQUENCE_END_EVENT:
                depth--;
                json_decref(stack[depth].value);
                free(stack[depth].key);
                break;
            default:
                break;
            }
        }
        yaml_event_delete(&ev);
    }
    while (depth > 0) {
        depth--;
        json_decref(stack[depth].value);
        free(stack[depth].key);
    }
    yaml_parser_delete(&p);
    if (e != CL_OK) {
        json_decref(root);
        return e;
    }
    *out = json_own(a, root ? root : json_null());
    return CL_OK;
}
