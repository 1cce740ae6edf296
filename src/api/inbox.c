/* inbox.c - see inbox.h. */
#include "api/inbox.h"

#include "api/errors.h"
#include "api/paging.h"

bool api_inbox_page_or_reply(http_req *rq, int64_t *limit, inbox_key *before, bool *has_before)
{
    api_cursor c;
    if (!api_limit_or_reply(rq, API_INBOX_DEFAULT, INBOX_LIST_MAX, limit) || !api_cursor_or_reply(rq, "iu", &c))
        return false;
    *before = (inbox_key){c.n[0], c.id};
    *has_before = c.set;
    return true;
}

const char *api_inbox_cursor(arena_t *a, int64_t created_at, const char *id)
{
    return api_cursor_text(a, "iu", &(api_cursor){.n = {created_at}, .id = id});
}

bool api_body_typed_or_reply(http_req *rq, const json_t *body, const char *key, json_type type, const json_t **out)
{
    *out = json_object_get(body, key);
    if (*out && json_is_null(*out))
        *out = NULL;
    if (*out && json_typeof(*out) != type) {
        api_fail(rq, CL_INVALID, API_BAD_BODY);
        return false;
    }
    return true;
}
