/* input.c - see input.h. */
#include "api/input.h"

#include "api/errors.h"
#include "base/json.h"

bool api_json_object_or_reply(http_req *rq, json_t **out)
{
    cl_error e;
    if (json_parse_object(rq->arena, rq->body ? rq->body : "", rq->body_len, out, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return false;
    }
    return true;
}
