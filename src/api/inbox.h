/* inbox.h - what the approval, user-task and request handlers share (shared/api/inbox.md): their lists page alike
 * (the reference's 50 newest by default, `limit` up to INBOX_LIST_MAX and a cursor past them), and a bad body is
 * the reference's "invalid request body". */
#ifndef COLONY_API_INBOX_H
#define COLONY_API_INBOX_H

#include <stdbool.h>
#include <jansson.h>
#include <stdint.h>

#include "http/request.h"
#include "model/inbox.h"

#define API_BAD_BODY "invalid request body"

enum { API_INBOX_DEFAULT = 50 };

/* `limit` and `cursor` of an inbox list; false after answering 400. *before is set only when a cursor was given
 * (*has_before). */
bool api_inbox_page_or_reply(http_req *rq, int64_t *limit, inbox_key *before, bool *has_before);
/* Field `key` of a body as a JSON value of `type` (*out NULL when absent or null); another type answers 400
 * API_BAD_BODY. */
bool api_body_typed_or_reply(http_req *rq, const json_t *body, const char *key, json_type type, const json_t **out);
/* The cursor of the position just past a row created at `created_at` with `id`. */
const char *api_inbox_cursor(arena_t *a, int64_t created_at, const char *id);

#endif
