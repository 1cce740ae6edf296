/* input.h - "or reply" helpers for request input: each parses or validates one thing and, when it is bad,
 * answers the 4xx itself and returns false, so a handler reads
 *     if (!api_json_object_or_reply(rq, &body)) return;
 */
#ifndef COLONY_API_INPUT_H
#define COLONY_API_INPUT_H

#include <jansson.h>
#include <stdbool.h>

#include "http/request.h"

/* The body as a JSON object (strict UTF-8, no duplicate keys, bounded depth), owned by the request arena. */
bool api_json_object_or_reply(http_req *rq, json_t **out);

#endif
