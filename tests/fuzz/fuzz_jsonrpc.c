/* fuzz_jsonrpc.c - libFuzzer target for the MCP bridge's JSON-RPC layer: any bytes parse or are the parse error,
 * never crash; every call is either a request (method set, id a string, an integer or absent) or an invalid item
 * with a reason; the answer holds exactly one response per answered call, in order, none for a notification, and
 * serialises to JSON that parses again. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonrpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arena_t *a = arena_new();
    jsonrpc_msg m;
    cl_error e;
    if (jsonrpc_parse(a, (const char *)data, size, &m, &e) == CL_OK) {
        if (m.n == 0 || m.n > JSONRPC_BATCH_MAX)
            __builtin_trap();
        json_t **rs = calloc(m.n, sizeof(*rs));
        size_t answered = 0;
        for (size_t i = 0; i < m.n; i++) {
            const jsonrpc_call *c = &m.calls[i];
            if ((c->method == NULL) == (c->invalid == NULL))
                __builtin_trap();
            if (c->id != NULL && !json_is_string(c->id) && !json_is_integer(c->id))
                __builtin_trap();
            if (c->params != NULL && !json_is_object(c->params) && !json_is_array(c->params))
                __builtin_trap();
            answered += jsonrpc_answered(c);
            /* answer every call, notifications too: the layer must drop those */
            rs[i] = c->invalid ? jsonrpc_invalid(c) : jsonrpc_error(c->id, JSONRPC_METHOD_NOT_FOUND, "x", NULL);
        }
        json_t *r = jsonrpc_reply(&m, rs);
        for (size_t i = 0; i < m.n; i++)
            if (rs[i] != NULL)
                __builtin_trap();
        free(rs);
        if ((answered == 0) != (r == NULL))
            __builtin_trap();
        if (r != NULL) {
            if (m.batch ? json_array_size(r) != answered : (answered != 1 || !json_is_object(r)))
                __builtin_trap();
            char *s = json_dumps(r, JSON_COMPACT | JSON_ENCODE_ANY);
            json_t *back = s ? json_loads(s, JSON_DECODE_ANY, NULL) : NULL;
            if (back == NULL)
                __builtin_trap();
            json_decref(back);
            free(s);
            json_decref(r);
        }
    }
    arena_free(a);
    return 0;
}
