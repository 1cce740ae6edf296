/* channels.c - see channels.h. Where colony differs from the reference (README, "Channels"): a second channel of a
 * type is a 409 naming the first, not a 500; credentials are shown as "***" (never a part of them); a send is
 * queued and posted by the courier - {"status":"sent"} says it is accepted for delivery, a failure becomes an
 * activity row and a metric -; send and test reach only the workspace's own channels; Telegram needs a
 * webhook_secret and Slack a signing_secret to take webhooks (the reference takes unsigned ones). */
#include "api/channels.h"

#include <string.h>

#include "api/errors.h"
#include "api/input.h"
#include "api/paging.h"
#include "base/json.h"
#include "base/metrics.h"
#include "base/time.h"
#include "base/utf8.h"
#include "http/client.h"
#include "model/channel.h"

/* ---- GET /channels/adapters --------------------------------------------------------------------------------- */

void api_channel_adapters(http_req *rq)
{
    size_t n;
    const chan_adapter *ads = chan_adapters(&n);
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *schema = json_array();
        for (size_t k = 0; k < ads[i].nfields; k++) {
            const chan_field *f = &ads[i].fields[k];
            json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:b}", "key", f->key, "label", f->label, "type", f->type,
                                  "required", f->required, "sensitive", f->sensitive);
            if (f->placeholder)
                json_object_set_new(o, "placeholder", json_string(f->placeholder));
            if (f->help)
                json_object_set_new(o, "help", json_string(f->help));
            json_array_append_new(schema, o);
        }
        json_array_append_new(out, json_pack("{s:s, s:s, s:o}", "type", ads[i].name, "display_name",
                                             ads[i].display_name, "config_schema", schema));
    }
    api_reply_json(rq, 200, out);
}

/* ---- a workspace's channels --------------------------------------------------------------------------------- */

static bool ids_or_reply(http_req *rq, const char **ws, const char **id)
{
    if (!api_uuid_param_or_reply(rq, "id", "workspace", ws))
        return false;
    if (id != NULL)
        *id = api_item_id(rq, "channelId"); /* "" for a malformed one: 404 like any unknown id */
    return true;
}

static void row_write(jsonw *w, const void *row)
{
    const chan_row *c = row;
    jsonw_obj_open(w);
    jsonw_kstr(w, "id", c->id);
    jsonw_kstr(w, "workspace_id", c->workspace_id);
    jsonw_kstr(w, "channel_type", chan_type_name(c->type));
    json_t *cfg = chan_config_masked(c->clear, c->secret ? c->secret : NULL);
    jsonw_key(w, "config");
    jsonw_json(w, cfg);
    json_decref(cfg);
    jsonw_kbool(w, "enabled", c->enabled);
    jsonw_key(w, "allowed_users");
    jsonw_json(w, c->allowed_users);
    jsonw_kint(w, "message_count", c->message_count);
    if (c->has_budget)
        jsonw_kint(w, "channel_budget", c->budget);
    else
        jsonw_knull(w, "channel_budget");
    api_jsonw_time(w, "created_at", c->created_at);
    api_jsonw_time(w, "updated_at", c->updated_at);
    if (c->last_message_at > 0)
        api_jsonw_time(w, "last_message_at", c->last_message_at);
    jsonw_obj_close(w);
}

static const char *row_cursor(arena_t *a, const void *row)
{
    const chan_row *c = row;
    return api_cursor_text(a, "iu", &(api_cursor){.n = {c->created_at}, .id = c->id});
}

void api_channels_list(http_req *rq)
{
    const char *ws;
    ws_row w;
    int64_t limit;
    api_cursor c;
    if (!api_workspace_or_reply(rq, &ws, &w) || !api_limit_or_reply(rq, CHAN_LIST_MAX, CHAN_LIST_MAX, &limit) ||
        !api_cursor_or_reply(rq, "iu", &c))
        return;
    chan_row *rows;
    size_t n;
    cl_error e;
    if (chan_list(rq->db, rq->arena, ws, c.n[0], c.set ? c.id : NULL, limit + 1, &rows, &n, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_rows(rq, rows, n, sizeof(*rows), limit, row_write, row_cursor);
}

/* allowed_users and enabled of a body (absent: untouched). */
static bool common_or_reply(http_req *rq, const json_t *body, const json_t **allowed, bool *enabled, bool *has_enabled)
{
    cl_error e;
    const json_t *au = json_object_get(body, "allowed_users");
    *allowed = json_is_null(au) ? NULL : au;
    if (*allowed != NULL && chan_allowed_check(*allowed, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return false;
    }
    if (json_opt_bool(body, "enabled", enabled, has_enabled, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return false;
    }
    return true;
}

static bool config_or_reply(http_req *rq, const json_t *body, bool required, const json_t **out)
{
    const json_t *cfg = json_object_get(body, "config");
    if (json_is_null(cfg))
        cfg = NULL;
    if ((cfg == NULL && required) || (cfg != NULL && !json_is_object(cfg))) {
        api_fail(rq, CL_INVALID, "invalid config: config must be an object");
        return false;
    }
    *out = cfg;
    return true;
}

void api_channels_create(http_req *rq)
{
    const char *ws, *type_name = NULL;
    json_t *body;
    cl_error e;
    if (!ids_or_reply(rq, &ws, NULL) || !api_json_object_or_reply(rq, &body))
        return;
    chan_type t;
    if (json_opt_string(body, "channel_type", &type_name, NULL, NULL, &e) != CL_OK || type_name == NULL ||
        !chan_type_parse(type_name, &t)) {
        api_fail(rq, CL_INVALID, CHAN_UNKNOWN_TYPE);
        return;
    }
    const json_t *cfg, *allowed;
    bool enabled = true, has_enabled;
    if (!config_or_reply(rq, body, true, &cfg) || !common_or_reply(rq, body, &allowed, &enabled, &has_enabled))
        return;
    chan_row row;
    const char *conflict;
    cl_err r = chan_create(rq->db, rq->arena, ws, t, cfg, allowed, enabled, NULL, &row, &conflict, &e);
    if (r == CL_CONFLICT && conflict != NULL)
        api_fail_with(rq, CL_CONFLICT, NULL, json_pack("{s:s}", "id", conflict), "%s", e.msg);
    else if (r != CL_OK)
        api_reply_error(rq, &e);
    else
        api_reply_json(rq, 201, json_pack("{s:s, s:s, s:b}", "id", row.id, "channel_type", chan_type_name(t),
                                          "enabled", row.enabled));
}

void api_channels_patch(http_req *rq)
{
    const char *ws, *id;
    json_t *body;
    if (!ids_or_reply(rq, &ws, &id) || !api_json_object_or_reply(rq, &body))
        return;
    chan_patch p = {0};
    if (!config_or_reply(rq, body, false, &p.config) ||
        !common_or_reply(rq, body, &p.allowed, &p.enabled, &p.has_enabled))
        return;
    cl_error e;
    if (chan_update(rq->db, rq->arena, ws, id, &p, &e) != CL_OK)
        api_reply_error(rq, &e);
    else
        api_reply_json(rq, 200, json_pack("{s:s}", "status", "updated"));
}

void api_channels_delete(http_req *rq)
{
    const char *ws, *id;
    cl_error e;
    if (!ids_or_reply(rq, &ws, &id))
        return;
    if (chan_delete(rq->db, rq->arena, ws, id, &e) != CL_OK)
        api_reply_error(rq, &e);
    else
        api_reply_json(rq, 200, json_pack("{s:s}", "status", "deleted"));
}

static void queue(http_req *rq, bool test)
{
    const char *ws, *id, *text = NULL;
    size_t len = 0;
    cl_error e;
    if (!ids_or_reply(rq, &ws, &id))
        return;
    if (test) {
        text = "Test message from colony: this channel is connected.";
        len = strlen(text);
    } else {
        json_t *body;
        if (!api_json_object_or_reply(rq, &body))
            return;
        if (json_opt_string(body, "text", &text, &len, NULL, &e) != CL_OK || text == NULL || len == 0) {
            api_fail(rq, CL_INVALID, "text is required");
            return;
        }
        if (len > CHAN_TEXT_MAX || strlen(text) != len) {
            api_fail(rq, CL_INVALID, "text must be at most %d bytes without NUL", CHAN_TEXT_MAX);
            return;
        }
    }
    const char **ids;
    size_t n;
    if (chan_outbox_add(rq->db, rq->arena, ws, id, text, test, &ids, &n, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    chan_wake();
    if (test)
        api_reply_json(rq, 200, json_pack("{s:s, s:s}", "status", "ok", "message", "test message sent"));
    else
        api_reply_json(rq, 200, json_pack("{s:s}", "status", "sent"));
}

void api_channels_send(http_req *rq) { queue(rq, false); }
void api_channels_test(http_req *rq) { queue(rq, true); }

/* ---- POST /channels/discover (Telegram) ----------------------------------------------------------------------- */

/* A discovery on its way: getMe, then getUpdates; the request is held until both answered. */
typedef struct {
    http_req *rq;
    const char *token, *me;
    size_t me_len;
    const json_t *secret; /* the token, scrubbed from what Telegram says */
} discovery;

static void discovery_post(discovery *d, const char *method, http_call_cb cb)
{
    http_call c = {.url = chan_telegram_url(d->rq->arena, d->token, method),
                   .content_type = "application/json",
                   .body = "{}",
                   .body_len = 2,
                   .max_response = 1 << 20,
                   .brief = true};
    http_client_post(http_req_client(d->rq), &c, cb, d);
}

static void discovery_end(discovery *d, const char *updates, size_t len)
{
    const char *error;
    json_t *out = chan_discover_result(d->rq->arena, d->me, d->me_len, updates, len, &error);
    if (out == NULL)
        api_fail(d->rq, CL_INVALID, "%s", chan_scrub(d->rq->arena, error, d->secret));
    else
        api_reply_json(d->rq, 200, out);
    http_req_drop(d->rq);
}

static void on_updates(void *arg, void *ctx, const http_call_result *r)
{
    (void)ctx;
    discovery *d = arg;
    bool ok = r->outcome == HTTP_CALL_OK;
    discovery_end(d, ok ? r->body : NULL, ok ? r->body_len : 0);
}

static void on_me(void *arg, void *ctx, const http_call_result *r)
{
    (void)ctx;
    discovery *d = arg;
    if (r->outcome == HTTP_CALL_CANCELLED) {
        api_fail(d->rq, CL_UNAVAILABLE, "colony is shutting down; retry");
    } else if (r->outcome != HTTP_CALL_OK) {
        /* the error names the host, never the URL (which holds the token) */
        api_fail(d->rq, CL_BAD_GATEWAY, "telegram could not be reached");
    } else {
        d->me = arena_strndup(d->rq->arena, r->body, r->body_len);
        d->me_len = r->body_len;
        discovery_post(d, "getUpdates", on_updates);
        return;
    }
    http_req_drop(d->rq);
}

void api_channels_discover(http_req *rq)
{
    json_t *body;
    if (!api_json_object_or_reply(rq, &body))
        return;
    const char *type = json_string_value(json_object_get(body, "channel_type"));
    if (type != NULL && strcmp(type, "telegram") != 0) {
        api_fail(rq, CL_INVALID, "discover is only supported for telegram");
        return;
    }
    const json_t *token = json_object_get(body, "bot_token");
    if (token == NULL)
        token = json_object_get(json_object_get(body, "config"), "bot_token");
    if (!json_is_string(token) || json_string_length(token) == 0) {
        api_fail(rq, CL_INVALID, "bot_token is required");
        return;
    }
    /* the token goes into a URL path: checked as a channel's would be */
    chan_config cfg;
    cl_error e;
    json_t *probe = json_own(rq->arena, json_pack("{s:O, s:s}", "bot_token", token, "chat_id", "0"));
    if (chan_config_check(rq->arena, CHAN_TELEGRAM, probe, NULL, &cfg, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    discovery *d = arena_calloc(rq->arena, 1, sizeof(*d));
    d->token = json_string_value(json_object_get(cfg.secret, "bot_token"));
    d->secret = cfg.secret;
    http_defer(rq);
    d->rq = http_req_hold(rq);
    discovery_post(d, "getMe", on_me);
}

/* ---- POST /webhooks/:type ------------------------------------------------------------------------------------ */

void api_channel_webhook(http_req *rq)
{
    chan_type t;
    if (!chan_type_parse(http_param_get(rq, "type"), &t)) {
        api_fail(rq, CL_NOT_FOUND, "unknown channel type");
        return;
    }
    if (rq->body_len > CHAN_WEBHOOK_BODY_MAX) {
        api_fail(rq, CL_TOO_LARGE, "webhook body must be at most %d bytes", CHAN_WEBHOOK_BODY_MAX);
        return;
    }
    chan_sig_headers h = {
        .telegram_secret = http_header(rq, "x-telegram-bot-api-secret-token"),
        .signature = t == CHAN_SLACK ? http_header(rq, "x-slack-signature") : http_header(rq, "x-signature-ed25519"),
        .timestamp = t == CHAN_SLACK ? http_header(rq, "x-slack-request-timestamp")
                                     : http_header(rq, "x-signature-timestamp"),
    };
    chan_receipt r;
    cl_error e;
    if (chan_receive(rq->db, rq->arena, t, &h, rq->body ? rq->body : "", rq->body_len, time_now_ms(), &r, &e) !=
        CL_OK) {
        if (e.err == CL_UNAUTHORIZED)
            metric_inc(METRIC_CHAN_WEBHOOK_REFUSED);
        api_reply_error(rq, &e);
        return;
    }
    switch (r.status) {
    case CHAN_RECV_ACCEPTED:
    case CHAN_RECV_DUPLICATE:
        metric_inc(r.status == CHAN_RECV_ACCEPTED ? METRIC_CHAN_WEBHOOKS : METRIC_CHAN_WEBHOOK_DUPLICATES);
        api_reply_json(rq, 200, json_pack("{s:s, s:s, s:b}", "status", "accepted", "message_id", r.message_id,
                                          "duplicate", r.status == CHAN_RECV_DUPLICATE));
        return;
    case CHAN_RECV_HANDSHAKE:
        if (t == CHAN_DISCORD)
            api_reply_json(rq, 200, json_pack("{s:i}", "type", 1)); /* PONG */
        else
            api_reply_json(rq, 200, json_pack("{s:s}", "challenge", r.challenge));
        return;
    case CHAN_RECV_IGNORED:
        api_reply_json(rq, 200, json_pack("{s:s}", "status", "ignored"));
        return;
    case CHAN_RECV_NO_CHANNEL:
        api_reply_json(rq, 200, json_pack("{s:s}", "status", "no_channel"));
        return;
    case CHAN_RECV_UNKNOWN_AGENT: {
        json_t *slugs = json_array();
        for (size_t i = 0; i < r.navailable; i++)
            json_array_append_new(slugs, json_string(r.available[i]));
        api_reply_json(rq, 200, json_pack("{s:s, s:s, s:o}", "status", "unknown_agent", "requested_slug",
                                          r.requested_slug, "available_slugs", slugs));
        return;
    }
    }
}
