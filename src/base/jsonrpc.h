/* jsonrpc.h - JSON-RPC 2.0 (jsonrpc.org/specification) with MCP's id rule, strictly: a body is one request or a
 * batch (an array of them); a request without an `id` is a notification and is never answered; a request that is
 * not well formed is answered -32600 (with its id when that is valid, else null); an id is a string or an integer
 * (MCP forbids null, and a fraction could not be echoed exactly). The transport decides what to do with a body
 * that is not JSON (-32700) and with a body that needs no answer. */
#ifndef COLONY_BASE_JSONRPC_H
#define COLONY_BASE_JSONRPC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"
#include "base/error.h"

enum {
    JSONRPC_PARSE_ERROR = -32700,
    JSONRPC_INVALID_REQUEST = -32600,
    JSONRPC_METHOD_NOT_FOUND = -32601,
    JSONRPC_INVALID_PARAMS = -32602,
    JSONRPC_INTERNAL_ERROR = -32603,
    JSONRPC_SERVER_ERROR = -32000, /* the first of the range left to the application */
    JSONRPC_BATCH_MAX = 32,        /* requests in one batch; a larger batch is refused whole */
};

/* One item of a body. Values are borrowed from the parsed body (owned by the arena it was parsed into). */
typedef struct {
    json_t *id;          /* string or integer as sent; NULL for a notification and for an invalid item */
    const char *method;  /* NULL for an invalid item */
    json_t *params;      /* object or array; NULL when absent */
    const char *invalid; /* why the item is not a request (it is then answered -32600), else NULL */
} jsonrpc_call;

typedef struct {
    jsonrpc_call *calls; /* at least one */
    size_t n;
    bool batch; /* the body was an array: the answer is an array too */
} jsonrpc_msg;

/* A call that expects an answer: a valid request with an id, or an invalid item (always answered). */
bool jsonrpc_answered(const jsonrpc_call *c);

/* Parse a body into its calls (arena-owned). CL_INVALID_JSON when it is not JSON (empty, malformed, invalid UTF-8,
 * too deep, duplicate keys: the parse error); everything that is JSON parses, each item valid or not. An empty
 * batch, or one of more than JSONRPC_BATCH_MAX items, is a single invalid item. */
cl_err jsonrpc_parse(arena_t *a, const char *body, size_t len, jsonrpc_msg *out, cl_error *err);

/* Responses (new references). `id` NULL is written as null. `result` and `data` are stolen; data may be NULL. */
json_t *jsonrpc_result(const json_t *id, json_t *result);
json_t *jsonrpc_error(const json_t *id, int code, const char *message, json_t *data);
/* The response to an invalid item: -32600 "invalid request", the reason in data.error. */
json_t *jsonrpc_invalid(const jsonrpc_call *c);

/* The answer to `msg`, given responses[i] for calls[i] (stolen; NULL where there is none): the one response, or
 * the array of those of a batch in order. Responses to notifications are dropped, whoever made them. NULL when
 * nothing is to be answered (only notifications). A new reference. */
json_t *jsonrpc_reply(const jsonrpc_msg *msg, json_t **responses);

#endif
