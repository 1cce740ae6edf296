/* broadcast.c - see broadcast.h. Where colony differs: a message over BROADCAST_MESSAGE_MAX bytes is a 400, and
 * each recipient's event is written to the event log (the reference sends it live only). */
#include "api/broadcast.h"

#include <stdio.h>
#include <string.h>

#include "api/errors.h"
#include "api/input.h"
#include "base/metrics.h"
#include "base/ratelimit.h"
#include "base/time.h"
#include "model/broadcast.h"

enum { BROADCAST_LIMIT_SLOTS = 4096 };

static ratelimit *limit;

void api_broadcast_init(long per_minute)
{
    ratelimit_free(limit);
    limit = ratelimit_new(BROADCAST_LIMIT_SLOTS, per_minute);
}

void api_broadcast_fini(void)
{
    ratelimit_free(limit);
    limit = NULL;
}

/* One more broadcast from `id` (a checked UUID: its 32 hex digits are the key)? False after answering 429. */
static bool sender_allowed(http_req *rq, const char *id)
{
    static const char HEX[] = "0123456789abcdef";
    uint8_t key[RATELIMIT_KEY_LEN] = {'b'};
    size_t k = 0;
    for (const char *p = id; *p != '\0' && k < 32; p++) {
        const char *d = strchr(HEX, *p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
        if (d == NULL) /* the dashes */
            continue;
        key[1 + k / 2] |= (uint8_t)((d - HEX) << (k % 2 ? 0 : 4));
        k++;
    }
    int64_t retry_ms = 0;
    if (limit == NULL || ratelimit_take(limit, key, time_mono_ms(), &retry_ms))
        return true;
    metric_inc(METRIC_BROADCAST_RATE_LIMITED);
    int secs = (int)((retry_ms + 999) / 1000);
    char s[24];
    snprintf(s, sizeof(s), "%d", secs);
    http_add_header(rq, "retry-after", s);
    api_fail_with(rq, CL_RATE_LIMITED, NULL, json_pack("{s:i}", "retry_after", secs),
                  "too many broadcasts from this workspace; retry later");
    return false;
}

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
    if (!sender_allowed(rq, id))
        return;
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
