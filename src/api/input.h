/* input.h - "or reply" helpers for request input: each parses or validates one thing and, when it is bad,
 * answers the 4xx itself and returns false, so a handler reads
 *     if (!api_json_object_or_reply(rq, &body)) return;
 */
#ifndef COLONY_API_INPUT_H
#define COLONY_API_INPUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "http/request.h"
#include "model/workspace.h"

/* The body as a JSON object (strict UTF-8, no duplicate keys, bounded depth), owned by the request arena. */
bool api_json_object_or_reply(http_req *rq, json_t **out);

/* Path parameter `name` as a UUID (lower-cased, arena-owned); otherwise 400 `<what> ID` invalid. */
bool api_uuid_param_or_reply(http_req *rq, const char *name, const char *what, const char **out);

/* The workspace named by path parameter `id` (removed ones too): 400 for a malformed id, 404/503 otherwise. */
bool api_workspace_or_reply(http_req *rq, const char **id, ws_row *row);
/* The same for a live workspace: a removed one is 404 "workspace not found" too. `row` may be NULL. */
bool api_live_workspace_or_reply(http_req *rq, const char **id, ws_row *row);

/* `caller` may talk to `target` (reg_can_communicate); otherwise 403 "access denied: workspaces cannot communicate
 * per hierarchy rules" (503 when the database cannot say). */
bool api_may_talk_or_reply(http_req *rq, const char *caller, const char *target);
/* Query parameter `name` as an integer in [min, max] (absent: `def`); otherwise 400 naming it. */
bool api_query_int_or_reply(http_req *rq, const char *name, int64_t def, int64_t min, int64_t max, int64_t *out);

/* Path parameter `name` as the id of an item: the UUID lower-cased (arena-owned), or "" — which names no item, so
 * the model answers it as an unknown id (404), at the point of its checks where the reference would. */
const char *api_item_id(http_req *rq, const char *name);
/* Field `key` of a JSON body as a string (NULL when absent or null); a value of another type, or (when `required`)
 * an absent or empty one, answers 400 `bad` (the reference's "invalid request body"). */
bool api_body_str_or_reply(http_req *rq, const json_t *body, const char *key, bool required, const char *bad,
                           const char **out);

#endif
