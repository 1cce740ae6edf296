/* broadcast.c - see broadcast.h. Where colony differs: a message over BROADCAST_MESSAGE_MAX bytes is a 400, and
 * each recipient's event is written to the event log (the reference sends it live only). */
#include "api/broadcast.h"

#include <string.h>

#include "api/errors.h"
#include "api/input.h"
#include "model/broadcast.h"

void api_broadcast(http_req *rq)
{
    const char *id, *message;
    json_t *body;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &id) || !api_json_object_or_reply(rq, &body) ||
        !api_body_str_or_reply(rq, body, "message", true, "message is required", &message))
        return;
    if (strlen(message) > BROADCAST_MESSAGE_MAX) {
        api_fail(rq, CL_INVALID, "message exceeds %d bytes", BROADCAST_MESSAGE_MAX);
        return;
    }
    int64_t delivered = 0;
    cl_error e;
    if (broadcast_send(rq->db, rq->arena, id, message, &delivered, &e) != CL_OK) {
        if (e.code != NULL && strcmp(e.code, "broadcast_disabled") == 0)
            api_fail_with(rq, CL_FORBIDDEN, "broadcast_disabled",
                          json_pack("{s:s}", "hint",
                                    "an operator enables it with PATCH /workspaces/:id/abilities "
                                    "{\"broadcast_enabled\": true}"),
                          "broadcast_disabled");
        else
            api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:s, s:I}", "status", "sent", "delivered", (json_int_t)delivered));
}
