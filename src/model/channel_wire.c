/* channel_wire.c - see channel_wire.h. */
#include "model/channel_wire.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/json.h"
#include "base/mac.h"
#include "base/utf8.h"

/* ---- reading ------------------------------------------------------------------------------------------------ */

static const char *str_at(const json_t *o, const char *key)
{
    const json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    return json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v) ? json_string_value(v) : NULL;
}

/* An id given as a string or an integer (Telegram's chat and user ids are integers), as text. */
static const char *id_at(arena_t *a, const json_t *o, const char *key)
{
    const json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    if (json_is_integer(v))
        return arena_sprintf(a, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    return str_at(o, key);
}

static const char *text_of(arena_t *a, const char *s) { return s ? utf8_cut_copy(a, s, CHAN_TEXT_MAX, false) : NULL; }

static bool key_ok(const char *k) { return k != NULL && k[0] != '\0' && strlen(k) <= CHAN_KEY_MAX; }

static cl_err parse_failed(cl_error *err) { return cl_fail(err, CL_INVALID, "webhook parse failed"); }

static cl_err parse_telegram(arena_t *a, const json_t *u, chan_inbound *in, cl_error *err)
{
    const json_t *id = json_object_get(u, "update_id");
    if (!json_is_integer(id) || json_integer_value(id) < 0)
        return parse_failed(err);
    in->key = arena_sprintf(a, "%" JSON_INTEGER_FORMAT, json_integer_value(id));
    const json_t *m = json_object_get(u, "message");
    if (m == NULL)
        m = json_object_get(u, "channel_post");
    if (m == NULL) /* edits, callbacks, member updates…: nothing to relay */
        return CL_OK;
    if (!json_is_object(m) || (in->chat = id_at(a, json_object_get(m, "chat"), "id")) == NULL)
        return parse_failed(err);
    const json_t *from = json_object_get(m, "from");
    in->user_id = id_at(a, from, "id");
    in->username = str_at(from, "username"); /* never first_name: anyone may call themselves anything */
    in->text = text_of(a, str_at(m, "text"));
    if (in->text != NULL && in->text[0] != '\0' && !json_is_true(json_object_get(from, "is_bot")))
        in->kind = CHAN_IN_MESSAGE;
    return CL_OK;
}

static cl_err parse_slack(arena_t *a, const json_t *u, chan_inbound *in, cl_error *err)
{
    const char *type = str_at(u, "type");
    if (type == NULL)
        return parse_failed(err);
    if (strcmp(type, "url_verification") == 0) {
        if ((in->challenge = str_at(u, "challenge")) == NULL || strlen(in->challenge) > 1024)
            return parse_failed(err);
        in->kind = CHAN_IN_HANDSHAKE;
        return CL_OK;
    }
    if (strcmp(type, "event_callback") != 0)
        return CL_OK;
    const json_t *ev = json_object_get(u, "event");
    in->key = str_at(u, "event_id");
    if (!key_ok(in->key) || !json_is_object(ev))
        return parse_failed(err);
    const char *etype = str_at(ev, "type");
    /* a bot's message (colony's own replies among them), an edit, a join…: never relayed, or a reply would loop */
    if (etype == NULL || (strcmp(etype, "message") != 0 && strcmp(etype, "app_mention") != 0) ||
        json_object_get(ev, "bot_id") != NULL || json_object_get(ev, "subtype") != NULL)
        return CL_OK;
    in->chat = str_at(ev, "channel");
    in->user_id = str_at(ev, "user");
    in->username = in->user_id;
    in->thread = str_at(ev, "thread_ts");
    /* a message mentioning the bot comes as a message and as an app_mention event, two event ids: keyed by the
     * message itself (its channel and ts) it is relayed once */
    const char *ts = str_at(ev, "ts"), *by_ts = in->chat && ts ? arena_sprintf(a, "ts:%s:%s", in->chat, ts) : NULL;
    if (key_ok(by_ts))
        in->key = by_ts;
    in->text = text_of(a, str_at(ev, "text"));
    if (in->chat != NULL && in->text != NULL && in->text[0] != '\0')
        in->kind = CHAN_IN_MESSAGE;
    return CL_OK;
}

/* A slash command's text: its first string option (type 3), else the command's name. */
static const char *discord_text(const json_t *data)
{
    const json_t *opts = json_object_get(data, "options"), *o;
    size_t i;
    json_array_foreach(opts, i, o)
    {
        const json_t *v = json_object_get(o, "value");
        if (json_is_string(v))
            return json_string_value(v);
    }
    return str_at(data, "name");
}

static cl_err parse_discord(arena_t *a, const json_t *u, chan_inbound *in, cl_error *err)
{
    const json_t *type = json_object_get(u, "type");
    if (!json_is_integer(type))
        return parse_failed(err);
    if (json_integer_value(type) == 1) { /* PING */
        in->kind = CHAN_IN_HANDSHAKE;
        return CL_OK;
    }
    if (json_integer_value(type) != 2) /* components, autocomplete, modals */
        return CL_OK;
    in->key = str_at(u, "id");
    if (!key_ok(in->key))
        return parse_failed(err);
    const json_t *user = json_object_get(json_object_get(u, "member"), "user");
    if (user == NULL)
        user = json_object_get(u, "user");
    in->user_id = str_at(user, "id");
    in->username = str_at(user, "username");
    in->chat = str_at(u, "channel_id");
    if (in->chat == NULL)
        in->chat = str_at(json_object_get(u, "channel"), "id");
    in->text = text_of(a, discord_text(json_object_get(u, "data")));
    if (in->chat != NULL && in->text != NULL && in->text[0] != '\0')
        in->kind = CHAN_IN_MESSAGE;
    return CL_OK;
}

/* Lark puts "@_user_1 " placeholders for mentions (of the bot, in a group) before the text. */
static const char *lark_unmention(const char *s)
{
    while (s != NULL && strncmp(s, "@_user_", 7) == 0) {
        s += 7;
        while (*s >= '0' && *s <= '9')
            s++;
        while (*s == ' ')
            s++;
    }
    return s;
}

static cl_err parse_lark(arena_t *a, const json_t *u, chan_inbound *in, cl_error *err)
{
    const char *type = str_at(u, "type");
    if (type != NULL && strcmp(type, "url_verification") == 0) {
        in->token = str_at(u, "token");
        if ((in->challenge = str_at(u, "challenge")) == NULL || strlen(in->challenge) > 1024)
            return parse_failed(err);
        in->kind = CHAN_IN_HANDSHAKE;
        return CL_OK;
    }
    const json_t *header = json_object_get(u, "header"), *ev = json_object_get(u, "event");
    if (json_is_object(header)) { /* schema 2.0 */
        in->key = str_at(header, "event_id");
        in->token = str_at(header, "token");
        if (!key_ok(in->key))
            return parse_failed(err);
        const char *etype = str_at(header, "event_type");
        const json_t *m = json_object_get(ev, "message");
        if (etype == NULL || strcmp(etype, "im.message.receive_v1") != 0 || !json_is_object(m))
            return CL_OK;
        const json_t *sender = json_object_get(json_object_get(ev, "sender"), "sender_id");
        in->user_id = str_at(sender, "open_id");
        in->username = str_at(sender, "user_id") ? str_at(sender, "user_id") : in->user_id;
        in->chat = str_at(m, "chat_id");
        const char *content = str_at(m, "content"), *mtype = str_at(m, "message_type");
        json_t *c;
        cl_error ignore;
        if (mtype == NULL || strcmp(mtype, "text") != 0 || content == NULL ||
            json_parse_object(a, content, strlen(content), &c, &ignore) != CL_OK)
            return CL_OK;
        in->text = text_of(a, lark_unmention(str_at(c, "text")));
    } else if (type != NULL && strcmp(type, "event_callback") == 0 && json_is_object(ev)) { /* schema 1.0 */
        in->key = str_at(u, "uuid");
        in->token = str_at(u, "token");
        if (!key_ok(in->key))
            return parse_failed(err);
        const char *etype = str_at(ev, "type");
        if (etype == NULL || strcmp(etype, "message") != 0)
            return CL_OK;
        in->chat = str_at(ev, "open_chat_id");
        in->user_id = str_at(ev, "open_id");
        in->username = str_at(ev, "user_id") ? str_at(ev, "user_id") : in->user_id;
        const char *t = str_at(ev, "text_without_at_bot");
        in->text = text_of(a, lark_unmention(t ? t : str_at(ev, "text")));
    } else {
        return parse_failed(err);
    }
    if (in->chat != NULL && in->text != NULL && in->text[0] != '\0')
        in->kind = CHAN_IN_MESSAGE;
    return CL_OK;
}

cl_err chan_parse(arena_t *a, chan_type t, const char *body, size_t len, chan_inbound *out, cl_error *err)
{
    memset(out, 0, sizeof(*out));
    json_t *u;
    cl_error ignore;
    if (body == NULL || len == 0 || json_parse_object(a, body, len, &u, &ignore) != CL_OK)
        return parse_failed(err);
    cl_err e = t == CHAN_TELEGRAM  ? parse_telegram(a, u, out, err)
               : t == CHAN_SLACK   ? parse_slack(a, u, out, err)
               : t == CHAN_DISCORD ? parse_discord(a, u, out, err)
                                   : parse_lark(a, u, out, err);
    if (e == CL_OK && out->kind == CHAN_IN_MESSAGE &&
        ((out->chat && strlen(out->chat) > CHAN_TARGET_MAX) || !key_ok(out->key)))
        return parse_failed(err);
    if (out->username != NULL)
        out->username = utf8_cut_copy(a, out->username, CHAN_USER_MAX, false);
    return e;
}

/* ---- signatures --------------------------------------------------------------------------------------------- */

static bool timestamp_of(const char *s, int64_t *out)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 12 || strspn(s, "0123456789") != n)
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    *out = v;
    return true;
}

chan_sig_check chan_sig_precheck(chan_type t, const chan_sig_headers *h, int64_t now_s)
{
    if (t != CHAN_SLACK && t != CHAN_DISCORD)
        return CHAN_SIG_OK;
    int64_t ts;
    size_t n = h->signature ? strlen(h->signature) : 0;
    bool form = t == CHAN_SLACK ? n == 3 + MAC_HEX_LEN && strncmp(h->signature, "v0=", 3) == 0
                                : n == 2 * MAC_ED25519_SIG_LEN;
    if (!form || !timestamp_of(h->timestamp, &ts))
        return CHAN_SIG_MISSING;
    return ts < now_s - CHAN_SKEW_S || ts > now_s + CHAN_SKEW_S ? CHAN_SIG_STALE : CHAN_SIG_OK;
}

static bool slack_verify(const chan_sig_headers *h, const char *body, size_t len, const char *secret)
{
    uint8_t want[MAC_LEN], got[MAC_LEN];
    if (secret == NULL || h->signature == NULL || h->timestamp == NULL ||
        !mac_unhex(h->signature + 3, strlen(h->signature) - 3, got, sizeof(got)))
        return false;
    const void *parts[] = {"v0:", h->timestamp, ":", body};
    size_t lens[] = {3, strlen(h->timestamp), 1, len};
    mac_hmac_sha256_parts(secret, strlen(secret), parts, lens, 4, want);
    return mac_equal_str((const char *)want, sizeof(want), (const char *)got, sizeof(got));
}

static bool discord_verify(const chan_sig_headers *h, const char *body, size_t len, const char *key)
{
    uint8_t pk[MAC_ED25519_PK_LEN], sig[MAC_ED25519_SIG_LEN];
    return key != NULL && h->signature != NULL && h->timestamp != NULL &&
           mac_unhex(key, strlen(key), pk, sizeof(pk)) &&
           mac_unhex(h->signature, strlen(h->signature), sig, sizeof(sig)) &&
           mac_ed25519_verify(sig, h->timestamp, strlen(h->timestamp), body, len, pk);
}

static bool same_secret(const char *given, const char *want)
{
    return given != NULL && want != NULL && mac_equal_str(given, strlen(given), want, strlen(want));
}

bool chan_sig_verify(chan_type t, const chan_sig_headers *h, const char *body, size_t len, const chan_inbound *in,
                     const json_t *clear, const json_t *secret, const char *discord_env_key)
{
    switch (t) {
    case CHAN_TELEGRAM:
        return same_secret(h->telegram_secret, str_at(secret, "webhook_secret"));
    case CHAN_SLACK:
        return slack_verify(h, body, len, str_at(secret, "signing_secret"));
    case CHAN_DISCORD: {
        const char *key = str_at(clear, "public_key");
        return discord_verify(h, body, len, key ? key : discord_env_key);
    }
    case CHAN_LARK:
        return same_secret(in->token, str_at(secret, "verify_token"));
    case CHAN__COUNT:
        break;
    }
    return false;
}

bool chan_slug(arena_t *a, const char *text, const char **slug, const char **rest)
{
    if (text == NULL || text[0] != '[')
        return false;
    const char *close = strchr(text, ']');
    if (close == NULL || close - text < 2 || close - text > 39)
        return false;
    for (const char *p = text + 1; p < close; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == ' ' ||
              *p == '_' || *p == '-' || (unsigned char)*p >= 0x80))
            return false;
    *slug = arena_strndup(a, text + 1, (size_t)(close - text - 1));
    for (*rest = close + 1; **rest == ' '; (*rest)++)
        ;
    return true;
}

/* ---- sending ------------------------------------------------------------------------------------------------ */

/* Set once at start (before any courier runs): fixed buffers, nothing to free. */
static char telegram_buf[CHAN_BASE_MAX + 1], webhook_buf[CHAN_BASE_MAX + 1];
static const char *telegram_base = "https://api.telegram.org";
static const char *webhook_base;

static const char *trimmed(const char *base, char *buf)
{
    size_t n = base ? strlen(base) : 0;
    while (n > 0 && base[n - 1] == '/')
        n--;
    if (n == 0 || n > CHAN_BASE_MAX)
        return NULL;
    memcpy(buf, base, n);
    buf[n] = '\0';
    return buf;
}

void chan_set_bases(const char *telegram_api, const char *webhook)
{
    const char *t = trimmed(telegram_api, telegram_buf);
    telegram_base = t ? t : "https://api.telegram.org";
    webhook_base = trimmed(webhook, webhook_buf);
}

/* A configured webhook URL, or the same path under the test base. */
static const char *webhook_url(arena_t *a, const char *url)
{
    if (webhook_base == NULL || url == NULL)
        return url;
    const char *host = strstr(url, "://");
    const char *path = host ? strchr(host + 3, '/') : NULL;
    return arena_sprintf(a, "%s%s", webhook_base, path ? path : "/");
}

size_t chan_chunk_end(chan_type t, const char *text, size_t len, size_t from)
{
    size_t limit = t == CHAN_DISCORD ? 2000 : t == CHAN_TELEGRAM ? 4096 : 4000;
    if (from >= len || len - from <= limit)
        return len;
    size_t end = from + utf8_floor(text + from, limit);
    for (const char *sep = "\n "; *sep; sep++)
        for (size_t i = end; i > from + limit / 2; i--)
            if (text[i - 1] == *sep)
                return i;
    return end > from ? end : from + utf8_seq_len(text + from, len - from);
}

/* text[0..n) with each `tag` (ASCII, matched case-insensitively) turned into `with` followed by what followed
 * the tag's first byte: how an agent's text is kept from pinging a whole chat. */
static const char *defuse(arena_t *a, const char *text, size_t *n, const char *tag, const char *with)
{
    size_t tl = strlen(tag), wl = strlen(with), hits = 0;
    for (size_t i = 0; i + tl <= *n; i++)
        hits += strncasecmp(text + i, tag, tl) == 0;
    if (hits == 0)
        return text;
    char *out = arena_alloc(a, *n + hits * wl + 1), *o = out;
    for (size_t i = 0; i < *n; i++) {
        if (i + tl <= *n && strncasecmp(text + i, tag, tl) == 0) {
            memcpy(o, with, wl);
            o += wl;
            continue; /* the tag's first byte is replaced, the rest of it copied */
        }
        *o++ = text[i];
    }
    *n = (size_t)(o - out);
    *o = '\0';
    return out;
}

void chan_request_build(arena_t *a, chan_type t, const json_t *clear, const json_t *secret, const char *target,
                        const char *thread, const char *chunk, size_t chunk_len, chan_request *out)
{
    json_t *body = json_own(a, json_object());
    /* an agent's text pings nobody's whole chat (Discord: allowed_mentions below): Slack's <!channel>, <!here>,
     * <!everyone>, <!subteam^…> are sent as text (&lt; is Slack's escape), Lark's <at …> tags are broken up */
    if (t == CHAN_SLACK)
        chunk = defuse(a, chunk, &chunk_len, "<!", "&lt;");
    else if (t == CHAN_LARK)
        chunk = defuse(a, chunk, &chunk_len, "<at", "<\u200b");
    json_t *text = json_stringn(chunk, chunk_len);
    const char *name = str_at(clear, "username"), *icon = str_at(clear, "icon_emoji");
    memset(out, 0, sizeof(*out));
    out->content_type = "application/json";
    switch (t) {
    case CHAN_TELEGRAM:
        out->url = arena_sprintf(a, "%s/bot%s/sendMessage", telegram_base, str_at(secret, "bot_token"));
        json_object_set_new(body, "chat_id", json_string(target));
        json_object_set_new(body, "text", text);
        break;
    case CHAN_SLACK:
        if (target != NULL && target[0] != '\0' && str_at(secret, "bot_token") != NULL) {
            out->url = arena_sprintf(a, "%s/api/chat.postMessage", webhook_base ? webhook_base : "https://slack.com");
            out->authorization = arena_sprintf(a, "Bearer %s", str_at(secret, "bot_token"));
            out->content_type = "application/json; charset=utf-8";
            json_object_set_new(body, "channel", json_string(target));
            if (thread != NULL)
                json_object_set_new(body, "thread_ts", json_string(thread));
        } else {
            out->url = webhook_url(a, str_at(secret, "webhook_url"));
        }
        json_object_set_new(body, "text", text);
        if (name)
            json_object_set_new(body, "username", json_string(name));
        if (icon)
            json_object_set_new(body, "icon_emoji", json_string(icon));
        break;
    case CHAN_DISCORD:
        out->url = webhook_url(a, str_at(secret, "webhook_url"));
        json_object_set_new(body, "content", text);
        /* an agent's text never pings @everyone or a role */
        json_object_set_new(body, "allowed_mentions", json_pack("{s:[]}", "parse"));
        if (name)
            json_object_set_new(body, "username", json_string(name));
        break;
    case CHAN_LARK:
    case CHAN__COUNT:
        out->url = webhook_url(a, str_at(secret, "webhook_url"));
        json_object_set_new(body, "msg_type", json_string("text"));
        json_object_set_new(body, "content", json_pack("{s:o}", "text", text));
        break;
    }
    out->body = json_dump_arena(a, body, &out->body_len);
}

/* The provider's own words for a failure, bounded. */
static const char *description(arena_t *a, chan_type t, const json_t *b)
{
    static const char *const keys[CHAN__COUNT] = {"description", "error", "message", "msg"};
    const char *d = str_at(b, keys[t]);
    return d ? utf8_cut_copy(a, d, 200, true) : NULL;
}

/* A wait the body names, in seconds (Telegram parameters.retry_after, Discord retry_after), as ms; -1 if none. */
static int64_t body_wait(const json_t *b)
{
    const json_t *v = json_object_get(json_object_get(b, "parameters"), "retry_after");
    if (v == NULL)
        v = json_object_get(b, "retry_after");
    double s = json_is_number(v) ? json_number_value(v) : -1;
    return s < 0 ? -1 : s > 7 * 86400 ? 7 * 86400 * 1000LL : (int64_t)(s * 1000);
}

chan_verdict chan_response(arena_t *a, chan_type t, int status, const char *body, size_t len,
                           int64_t retry_after_ms, int64_t *wait_ms, const char **error)
{
    json_t *b = NULL;
    cl_error ignore;
    if (len > 0 && json_parse_object(a, body, len, &b, &ignore) != CL_OK)
        b = NULL;
    const char *desc = description(a, t, b);
    *wait_ms = -1;
    *error = NULL;
    if (status == 429 || status >= 500) {
        *wait_ms = retry_after_ms >= 0 ? retry_after_ms : body_wait(b);
        *error = arena_sprintf(a, "HTTP %d%s%s", status, desc ? ": " : "", desc ? desc : "");
        return CHAN_RETRY;
    }
    if (status < 200 || status >= 300) {
        *error = arena_sprintf(a, "HTTP %d%s%s", status, desc ? ": " : "", desc ? desc : "");
        return CHAN_FAILED;
    }
    if (t == CHAN_TELEGRAM || (t == CHAN_SLACK && json_object_get(b, "ok") != NULL)) {
        if (json_is_true(json_object_get(b, "ok")))
            return CHAN_SENT;
        const char *why = desc ? desc : "the provider did not accept the message";
        *error = why;
        return t == CHAN_SLACK && strcmp(why, "ratelimited") == 0 ? CHAN_RETRY : CHAN_FAILED;
    }
    if (t == CHAN_LARK && b != NULL) {
        const json_t *code = json_object_get(b, "code");
        if (code == NULL)
            code = json_object_get(b, "StatusCode");
        json_int_t c = json_is_integer(code) ? json_integer_value(code) : 0;
        if (c == 0)
            return CHAN_SENT;
        *error = arena_sprintf(a, "code %" JSON_INTEGER_FORMAT "%s%s", c, desc ? ": " : "", desc ? desc : "");
        return c == 9499 || c == 11232 || c == 11233 ? CHAN_RETRY : CHAN_FAILED; /* frequency limits */
    }
    return CHAN_SENT;
}

/* ---- discovering a bot's chats ------------------------------------------------------------------------------- */

const char *chan_telegram_url(arena_t *a, const char *token, const char *method)
{
    return arena_sprintf(a, "%s/bot%s/%s", telegram_base, token, method);
}

/* A chat of an update (a message, a channel post, the bot added to or removed from a chat). */
static const json_t *update_chat(const json_t *u)
{
    static const char *const kinds[] = {"message", "edited_message", "channel_post", "edited_channel_post",
                                        "my_chat_member", "chat_member", "chat_join_request"};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        const json_t *c = json_object_get(json_object_get(u, kinds[i]), "chat");
        if (json_is_object(c))
            return c;
    }
    return NULL;
}

static json_t *discovered_chats(arena_t *a, const json_t *updates)
{
    json_t *chats = json_array();
    size_t i;
    const json_t *u;
    json_array_foreach(json_object_get(updates, "result"), i, u)
    {
        const json_t *c = update_chat(u);
        const char *id = c ? id_at(a, c, "id") : NULL;
        if (id == NULL || strlen(id) > CHAN_TARGET_MAX || json_array_size(chats) >= CHAN_TARGETS_MAX)
            continue;
        bool seen = false;
        size_t k;
        const json_t *have;
        json_array_foreach(chats, k, have)
        {
            seen = seen || strcmp(json_string_value(json_object_get(have, "chat_id")), id) == 0;
        }
        if (seen)
            continue;
        const char *title = str_at(c, "title") ? str_at(c, "title")
                            : str_at(c, "username") ? str_at(c, "username")
                                                     : str_at(c, "first_name");
        const char *type = str_at(c, "type");
        json_array_append_new(chats, json_pack("{s:s, s:s, s:s}", "chat_id", id, "type", type ? type : "",
                                               "title", title ? utf8_cut_copy(a, title, 256, true) : ""));
    }
    return chats;
}

json_t *chan_discover_result(arena_t *a, const char *me, size_t me_len, const char *updates, size_t updates_len,
                             const char **error)
{
    json_t *m = NULL, *u = NULL;
    cl_error ignore;
    *error = NULL;
    if (me == NULL || json_parse_object(a, me, me_len, &m, &ignore) != CL_OK ||
        !json_is_true(json_object_get(m, "ok")) || str_at(json_object_get(m, "result"), "username") == NULL) {
        const char *why = m ? str_at(m, "description") : NULL;
        *error = why ? arena_sprintf(a, "telegram did not accept the bot token: %s", utf8_cut_copy(a, why, 200, true))
                     : "telegram did not accept the bot token";
        return NULL;
    }
    const json_t *bot = json_object_get(m, "result");
    bool all = json_is_true(json_object_get(bot, "can_read_all_group_messages"));
    if (updates == NULL || json_parse_object(a, updates, updates_len, &u, &ignore) != CL_OK ||
        !json_is_true(json_object_get(u, "ok")))
        u = NULL;
    json_t *chats = u ? discovered_chats(a, u) : json_array();
    const char *hint =
        u == NULL ? "Telegram did not list the bot's updates (getUpdates answers nothing while a webhook is set): "
                    "remove the webhook or enter the chat id yourself"
        : json_array_size(chats) == 0 ? "No chats yet: send the bot a message, or add it to a group and post there, "
                                        "then discover again"
                                      : "Put the chat ids the agent should talk in into chat_id (comma-separated)";
    json_t *out = json_pack("{s:s, s:o, s:b, s:n, s:s}", "bot_username", str_at(bot, "username"), "chats", chats,
                            "can_read_all_group_messages", all, "privacy_warning", "hint", hint);
    if (!all)
        json_object_set_new(out, "privacy_warning",
                            json_string("Privacy mode is on: in groups the bot sees only commands and messages that "
                                        "mention it. Turn it off with @BotFather (/setprivacy) to relay every "
                                        "message."));
    return out;
}
