/* jsonrpc.c - see jsonrpc.h. */
#include "base/jsonrpc.h"

#include <string.h>

#include "base/json.h"

_Static_assert(JSONRPC_BATCH_MAX == 32, "the message below names the bound");

bool jsonrpc_answered(const jsonrpc_call *c) { return c->invalid != NULL || c->id != NULL; }

/* One item of the body, checked against the request rules in the order a reader meets them. */
static void read_call(json_t *v, jsonrpc_call *c)
{
    *c = (jsonrpc_call){0};
    if (!json_is_object(v)) {
        c->invalid = "a request must be an object";
        return;
    }
    json_t *id = json_object_get(v, "id");
    if (id != NULL && !json_is_string(id) && !json_is_integer(id)) {
        c->invalid = "id must be a string or an integer";
        return;
    }
    c->id = id;
    const char *version = json_string_value(json_object_get(v, "jsonrpc"));
    json_t *method = json_object_get(v, "method"), *params = json_object_get(v, "params");
    if (version == NULL || strcmp(version, "2.0") != 0)
        c->invalid = "jsonrpc must be \"2.0\"";
    else if (!json_is_string(method))
        c->invalid = "method must be a string";
    else if (params != NULL && !json_is_object(params) && !json_is_array(params))
        c->invalid = "params must be an object or an array";
    if (c->invalid != NULL)
        return;
    c->method = json_string_value(method);
    c->params = params;
}

cl_err jsonrpc_parse(arena_t *a, const char *body, size_t len, jsonrpc_msg *out, cl_error *err)
{
    json_t *v;
    cl_err e = json_parse(a, body, len, &v, err);
    if (e != CL_OK)
        return e;
    *out = (jsonrpc_msg){.batch = json_is_array(v)};
    size_t n = out->batch ? json_array_size(v) : 1;
    if (out->batch && (n == 0 || n > JSONRPC_BATCH_MAX)) {
        out->calls = arena_calloc(a, 1, sizeof(jsonrpc_call));
        out->calls[0].invalid = n == 0 ? "an empty batch" : "a batch of more than 32 requests";
        out->n = 1;
        out->batch = false; /* the answer is one error object, not an array */
        return CL_OK;
    }
    out->calls = arena_calloc(a, n, sizeof(jsonrpc_call));
    out->n = n;
    for (size_t i = 0; i < n; i++)
        read_call(out->batch ? json_array_get(v, i) : v, &out->calls[i]);
    return CL_OK;
}

static json_t *response(const json_t *id)
{
    return json_pack("{s:s, s:O}", "jsonrpc", "2.0", "id", id ? (json_t *)id : json_null());
}

json_t *jsonrpc_result(const json_t *id, json_t *result)
{
    json_t *r = response(id);
    json_object_set_new(r, "result", result ? result : json_object());
    return r;
}

json_t *jsonrpc_error(const json_t *id, int code, const char *message, json_t *data)
{
    json_t *r = response(id), *e = json_pack("{s:i, s:s}", "code", code, "message", message);
    if (data != NULL)
        json_object_set_new(e, "data", data);
    json_object_set_new(r, "error", e);
    return r;
}

json_t *jsonrpc_invalid(const jsonrpc_call *c)
{
    return jsonrpc_error(c->id, JSONRPC_INVALID_REQUEST, "invalid request", json_pack("{s:s}", "error", c->invalid));
}

json_t *jsonrpc_reply(const jsonrpc_msg *msg, json_t **responses)
{
    json_t *out = msg->batch ? json_array() : NULL;
    for (size_t i = 0; i < msg->n; i++) {
        json_t *r = responses[i];
        responses[i] = NULL;
        if (r == NULL)
            continue;
        if (!jsonrpc_answered(&msg->calls[i])) /* a notification is never answered */
            json_decref(r);
        else if (out != NULL)
            json_array_append_new(out, r);
        else
            out = r;
    }
    if (out != NULL && msg->batch && json_array_size(out) == 0) {
        json_decref(out);
        out = NULL;
    }
    return out;
}
