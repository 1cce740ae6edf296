/* channel_relay.c - see channel_relay.h. */
#include "api/channel_relay.h"

#include <jansson.h>
#include <string.h>

#include "api/a2a.h"
#include "base/json.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/time.h"

/* Is this body JSON colony reads (the parser a2a_reply_text uses)? A NUL, invalid UTF-8 or a lone surrogate make it
 * refuse the whole reply. */
static bool json_readable(arena_t *a, const char *body, size_t len)
{
    json_t *v;
    cl_error ignore;
    return json_parse(a, body, len, &v, &ignore) == CL_OK;
}

/* One relay on its way: lives in the job's arena until the job tells how it went. */
typedef struct {
    chan_inbound_row r;
    void (*finished)(void *);
    void *finished_arg;
} relay;

static void on_done(void *arg, db_t *db, const a2a_done *d)
{
    relay *x = arg;
    arena_t *a = arena_new();
    chan_relay_outcome o = CHAN_RELAY_FAILED;
    const char *reply = NULL, *error = NULL;
    switch (d->kind) {
    case A2A_DONE_REPLIED:
        o = CHAN_RELAY_REPLIED;
        reply = d->body ? a2a_reply_text(a, d->body, d->body_len) : NULL;
        if (reply == NULL && d->body != NULL && d->body_len > 0 && !json_readable(a, d->body, d->body_len)) {
            o = CHAN_RELAY_FAILED; /* never dropped silently: an activity row and a metric say so */
            error = "the agent's reply could not be read (not valid JSON text: a NUL, invalid UTF-8 or a lone"
                    " surrogate); nothing was posted to the chat";
        }
        break;
    case A2A_DONE_STORED:
        o = CHAN_RELAY_DELIVERED;
        break;
    case A2A_DONE_QUEUED:
        o = CHAN_RELAY_AWAITING;
        break;
    case A2A_DONE_FAILED:
        error = d->error && d->error[0] ? d->error : "the agent could not be reached";
        break;
    }
    cl_error e;
    if (o == CHAN_RELAY_FAILED)
        metric_inc(METRIC_CHAN_RELAY_FAILED);
    if (chan_inbound_settle(db, a, &x->r, o, reply, error, time_now_ms(), &e) != CL_OK) {
        metric_inc(METRIC_CHAN_ERRORS);
        log_warn("channel relay not recorded", "message=%s error=\"%s\"", x->r.id, e.msg);
    }
    arena_free(a);
    x->finished(x->finished_arg);
}

void api_channel_relay(db_t *db, http_client *cl, const chan_inbound_row *r, void (*finished)(void *), void *arg)
{
    a2a_job *j = a2a_job_new();
    arena_t *a = a2a_job_arena(j);
    relay *x = arena_calloc(a, 1, sizeof(*x));
    x->r = *r;
    const char **strings[] = {&x->r.id,       &x->r.channel_id, &x->r.workspace_id, &x->r.chat_id,
                              &x->r.thread,   &x->r.username,   &x->r.text,         &x->r.message_id};
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
        *strings[i] = *strings[i] ? arena_strdup(a, *strings[i]) : NULL;
    x->finished = finished;
    x->finished_arg = arg;
    json_t *meta = json_pack("{s:s, s:s, s:s, s:s, s:s}", "source", "channel", "channel_type",
                             chan_type_name(r->type), "channel_id", x->r.channel_id, "chat_id", x->r.chat_id,
                             "username", x->r.username ? x->r.username : "");
    a2a_msg *m = arena_calloc(a, 1, sizeof(*m));
    cl_error e;
    if (a2a_send_body(a, a2a_user_send(a, x->r.message_id, x->r.text, meta), m, &e) != CL_OK) { /* a body of our own making: cannot happen */
        a2a_done failed = {.kind = A2A_DONE_FAILED, .error = "cannot build the message", .duration_ms = -1};
        on_done(x, db, &failed);
        a2a_job_drop(j);
        return;
    }
    a2a_send_background(j, cl, db, x->r.workspace_id, m, on_done, x);
}
