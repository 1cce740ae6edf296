/* test_channel_wire.c - the pure parts of chat channels: reading each provider's webhook, the signature checks
 * (Slack's HMAC with its timestamp window, Discord's Ed25519 over timestamp ‖ body, Telegram's and Lark's shared
 * tokens), the [slug] prefix, configs (forms, masking, the masked value kept), the chunking of long texts, the API
 * call of a send and the reading of a provider's answer (sent, retry with its wait, failed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/mac.h"
#include "model/channel_adapter.h"
#include "model/channel_wire.h"

static int setup(void **state)
{
    *state = arena_new();
    return 0;
}

static int teardown(void **state)
{
    arena_free(*state);
    return 0;
}

static json_t *obj(arena_t *a, const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    assert_non_null(v);
    return json_own(a, v);
}

static void test_parse_telegram(void **state)
{
    arena_t *a = *state;
    chan_inbound in;
    cl_error err;
    const char *b = "{\"update_id\":42,\"message\":{\"message_id\":7,\"chat\":{\"id\":-1001},"
                    "\"from\":{\"id\":555,\"username\":\"alice\",\"is_bot\":false},\"text\":\"hello\"}}";
    assert_int_equal(chan_parse(a, CHAN_TELEGRAM, b, strlen(b), &in, &err), CL_OK);
    assert_int_equal(in.kind, CHAN_IN_MESSAGE);
    assert_string_equal(in.key, "42");
    assert_string_equal(in.chat, "-1001");
    assert_string_equal(in.user_id, "555");
    assert_string_equal(in.username, "alice");
    assert_string_equal(in.text, "hello");
    /* an edit: nothing to relay, but a valid update */
    const char *edit = "{\"update_id\":43,\"edited_message\":{\"chat\":{\"id\":1},\"text\":\"x\"}}";
    assert_int_equal(chan_parse(a, CHAN_TELEGRAM, edit, strlen(edit), &in, &err), CL_OK);
    assert_int_equal(in.kind, CHAN_IN_NONE);
    /* a bot's own message never loops back */
    const char *bot = "{\"update_id\":44,\"message\":{\"chat\":{\"id\":1},\"from\":{\"id\":9,\"is_bot\":true},"
                      "\"text\":\"hi\"}}";
    assert_int_equal(chan_parse(a, CHAN_TELEGRAM, bot, strlen(bot), &in, &err), CL_OK);
    assert_int_equal(in.kind, CHAN_IN_NONE);
    const char *bad[] = {"not json", "[]", "{}", "{\"update_id\":\"1\"}", "{\"update_id\":-1}",
                         "{\"update_id\":1,\"message\":{\"chat\":{}}}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(chan_parse(a, CHAN_TELEGRAM, bad[i], strlen(bad[i]), &in, &err), CL_INVALID);
        assert_string_equal(err.msg, "webhook parse failed");
    }
}

static void test_parse_slack_discord_lark(void **state)
{
    arena_t *a = *state;
    chan_inbound in;
    cl_error err;
    const char *hs = "{\"type\":\"url_verification\",\"challenge\":\"abc\"}";
    assert_int_equal(chan_parse(a, CHAN_SLACK, hs, strlen(hs), &in, &err), CL_OK);
    assert_int_equal(in.kind, CHAN_IN_HANDSHAKE);
    assert_string_equal(in.challenge, "abc");
    const char *ev = "{\"type\":\"event_callback\",\"event_id\":\"Ev1\",\"event\":{\"type\":\"message\","
                     "\"channel\":\"C1\",\"user\":\"U1\",\"text\":\"hey\",\"thread_ts\":\"1.2\"}}";
    assert_int_equal(chan_parse(a, CHAN_SLACK, ev, strlen(ev), &in, &err), CL_OK);
    assert_int_equal(in.kind, CHAN_IN_MESSAGE);
    assert_string_equal(in.key, "Ev1");
    assert_string_equal(in.chat, "C1");
    assert_string_equal(in.thread, "1.2");
    /* one message to the bot comes twice, as a message and as an app_mention event (two event ids): the same key */
    const char *msg = "{\"type\":\"event_callback\",\"event_id\":\"Ev7\",\"event\":{\"type\":\"message\","
                      "\"channel\":\"C1\",\"user\":\"U1\",\"text\":\"<@B> hey\",\"ts\":\"1700000000.000100\"}}";
    const char *mention = "{\"type\":\"event_callback\",\"event_id\":\"Ev8\",\"event\":{\"type\":\"app_mention\","
                          "\"channel\":\"C1\",\"user\":\"U1\",\"text\":\"<@B> hey\",\"ts\":\"1700000000.000100\"}}";
    assert_int_equal(chan_parse(a, CHAN_SLACK, msg, strlen(msg), &in, &err), CL_OK);
    const char *first = in.key;
    assert_int_equal(chan_parse(a, CHAN_SLACK, mention, strlen(mention), &in, &err), CL_OK);
    assert_int_equal(in.kind, CHAN_IN_MESSAGE);
    assert_string_equal(in.key, first);
    assert_string_equal(in.key, "ts:C1:1700000000.000100");
    const char *botmsg = "{\"type\":\"event_callback\",\"event_id\":\"Ev2\",\"event\":{\"type\":\"message\","
                         "\"channel\":\"C1\",\"bot_id\":\"B1\",\"text\":\"reply\"}}";
    assert_int_equal(chan_parse(a, CHAN_SLACK, botmsg, strlen(botmsg), &in, &err), CL_OK);
    assert_int_equal(in.kind, CHAN_IN_NONE);

    const char *ping = "{\"type\":1}";
    assert_int_equal(chan_parse(a, CHAN_DISCORD, ping, strlen(ping), &in, &err), CL_OK);
    assert_int_equal(in.kind, CHAN_IN_HANDSHAKE);
    const char *cmd = "{\"type\":2,\"id\":\"I1\",\"channel_id\":\"D1\",\"member\":{\"user\":{\"id\":\"7\","
                      "\"username\":\"bob\"}},\"data\":{\"name\":\"ask\",\"options\":[{\"type\":3,\"value\":\"q?\"}]}}";
    assert_int_equal(chan_parse(a, CHAN_DISCORD, cmd, strlen(cmd), &in, &err), CL_OK);
    assert_int_equal(in.kind, CHAN_IN_MESSAGE);
    assert_string_equal(in.text, "q?");
    assert_string_equal(in.username, "bob");

    const char *lark = "{\"schema\":\"2.0\",\"header\":{\"event_id\":\"E9\",\"token\":\"vt\",\"event_type\":"
                       "\"im.message.receive_v1\"},\"event\":{\"sender\":{\"sender_id\":{\"open_id\":\"ou_1\"}},"
                       "\"message\":{\"chat_id\":\"oc_1\",\"message_type\":\"text\","
                       "\"content\":\"{\\\"text\\\":\\\"@_user_1 hi there\\\"}\"}}}";
    assert_int_equal(chan_parse(a, CHAN_LARK, lark, strlen(lark), &in, &err), CL_OK);
    assert_int_equal(in.kind, CHAN_IN_MESSAGE);
    assert_string_equal(in.key, "E9");
    assert_string_equal(in.token, "vt");
    assert_string_equal(in.text, "hi there");
    assert_int_equal(chan_parse(a, CHAN_LARK, "{}", 2, &in, &err), CL_INVALID);
}

static void test_slack_signature(void **state)
{
    arena_t *a = *state;
    const char *body = "{\"type\":\"event_callback\"}";
    char hex[MAC_HEX_LEN + 1];
    const char *base = "v0:1700000000:{\"type\":\"event_callback\"}";
    mac_hmac_sha256_hex("sekrit", 6, base, strlen(base), hex);
    char sig[3 + MAC_HEX_LEN + 1];
    snprintf(sig, sizeof(sig), "v0=%s", hex);
    chan_sig_headers h = {.signature = sig, .timestamp = "1700000000"};
    json_t *secret = obj(a, "{\"signing_secret\":\"sekrit\"}"), *wrong = obj(a, "{\"signing_secret\":\"other\"}");
    assert_int_equal(chan_sig_precheck(CHAN_SLACK, &h, 1700000000 + CHAN_SKEW_S), CHAN_SIG_OK);
    assert_int_equal(chan_sig_precheck(CHAN_SLACK, &h, 1700000000 + CHAN_SKEW_S + 1), CHAN_SIG_STALE);
    assert_int_equal(chan_sig_precheck(CHAN_SLACK, &h, 1700000000 - CHAN_SKEW_S - 1), CHAN_SIG_STALE);
    assert_true(chan_sig_verify(CHAN_SLACK, &h, body, strlen(body), NULL, NULL, secret, NULL));
    assert_false(chan_sig_verify(CHAN_SLACK, &h, body, strlen(body), NULL, NULL, wrong, NULL));
    /* the timestamp is signed: moving it forward breaks the signature */
    chan_sig_headers moved = {.signature = sig, .timestamp = "1700000001"};
    assert_false(chan_sig_verify(CHAN_SLACK, &moved, body, strlen(body), NULL, NULL, secret, NULL));
    assert_false(chan_sig_verify(CHAN_SLACK, &h, body, strlen(body) - 1, NULL, NULL, secret, NULL));
    chan_sig_headers none = {0}, v1 = {.signature = "v1=00", .timestamp = "1700000000"};
    assert_int_equal(chan_sig_precheck(CHAN_SLACK, &none, 1700000000), CHAN_SIG_MISSING);
    assert_int_equal(chan_sig_precheck(CHAN_SLACK, &v1, 1700000000), CHAN_SIG_MISSING);
    chan_sig_headers neg = {.signature = sig, .timestamp = "-1700000000"};
    assert_int_equal(chan_sig_precheck(CHAN_SLACK, &neg, 1700000000), CHAN_SIG_MISSING);
}

static void test_discord_signature(void **state)
{
    arena_t *a = *state;
    uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES], seed[32] = {7};
    crypto_sign_seed_keypair(pk, sk, seed);
    const char *ts = "1700000000", *body = "{\"type\":1}";
    uint8_t msg[64], sig[crypto_sign_BYTES];
    size_t n = strlen(ts) + strlen(body);
    memcpy(msg, ts, strlen(ts));
    memcpy(msg + strlen(ts), body, strlen(body));
    crypto_sign_detached(sig, NULL, msg, n, sk);
    char sighex[2 * crypto_sign_BYTES + 1], pkhex[2 * crypto_sign_PUBLICKEYBYTES + 1];
    mac_hex(sig, sizeof(sig), sighex);
    mac_hex(pk, sizeof(pk), pkhex);
    chan_sig_headers h = {.signature = sighex, .timestamp = ts};
    json_t *clear = json_own(a, json_pack("{s:s}", "public_key", pkhex));
    assert_int_equal(chan_sig_precheck(CHAN_DISCORD, &h, 1700000000), CHAN_SIG_OK);
    assert_true(chan_sig_verify(CHAN_DISCORD, &h, body, strlen(body), NULL, clear, NULL, NULL));
    /* no key on the channel: DISCORD_APP_PUBLIC_KEY */
    json_t *empty = obj(a, "{}");
    assert_true(chan_sig_verify(CHAN_DISCORD, &h, body, strlen(body), NULL, empty, NULL, pkhex));
    assert_false(chan_sig_verify(CHAN_DISCORD, &h, body, strlen(body), NULL, empty, NULL, NULL));
    chan_sig_headers other_ts = {.signature = sighex, .timestamp = "1700000001"};
    assert_false(chan_sig_verify(CHAN_DISCORD, &other_ts, body, strlen(body), NULL, clear, NULL, NULL));
    sighex[0] = sighex[0] == '0' ? '1' : '0';
    assert_false(chan_sig_verify(CHAN_DISCORD, &h, body, strlen(body), NULL, clear, NULL, NULL));
    assert_int_equal(chan_sig_precheck(CHAN_DISCORD, &h, 1700000000 + 301), CHAN_SIG_STALE);
}

static void test_token_signatures(void **state)
{
    arena_t *a = *state;
    json_t *secret = obj(a, "{\"webhook_secret\":\"s3cr3t\",\"verify_token\":\"vt\"}");
    chan_sig_headers good = {.telegram_secret = "s3cr3t"}, bad = {.telegram_secret = "s3cr3"}, none = {0};
    assert_true(chan_sig_verify(CHAN_TELEGRAM, &good, "", 0, NULL, NULL, secret, NULL));
    assert_false(chan_sig_verify(CHAN_TELEGRAM, &bad, "", 0, NULL, NULL, secret, NULL));
    assert_false(chan_sig_verify(CHAN_TELEGRAM, &none, "", 0, NULL, NULL, secret, NULL));
    /* a channel without a webhook_secret takes no webhook */
    assert_false(chan_sig_verify(CHAN_TELEGRAM, &good, "", 0, NULL, NULL, obj(a, "{}"), NULL));
    chan_inbound in = {.token = "vt"}, wrong = {.token = "vx"};
    assert_true(chan_sig_verify(CHAN_LARK, &none, "", 0, &in, NULL, secret, NULL));
    assert_false(chan_sig_verify(CHAN_LARK, &none, "", 0, &wrong, NULL, secret, NULL));
}

static void test_slug(void **state)
{
    arena_t *a = *state;
    const char *slug, *rest;
    assert_true(chan_slug(a, "[Research bot]   what is new?", &slug, &rest));
    assert_string_equal(slug, "Research bot");
    assert_string_equal(rest, "what is new?");
    assert_false(chan_slug(a, "[] empty", &slug, &rest)); /* ']' at index 2 is the least */
    assert_true(chan_slug(a, "[x] ok", &slug, &rest));
    assert_string_equal(slug, "x");
    assert_true(chan_slug(a, "[01234567890123456789012345678901234567] at 39", &slug, &rest));
    assert_false(chan_slug(a, "[012345678901234567890123456789012345678] at 40", &slug, &rest));
    assert_false(chan_slug(a, "[a/b] no", &slug, &rest));
    assert_false(chan_slug(a, "no [slug]", &slug, &rest));
    assert_false(chan_slug(a, "[0123456789012345678901234567890123456789] far", &slug, &rest));
}

static void test_config(void **state)
{
    arena_t *a = *state;
    chan_config c;
    cl_error err;
    json_t *tg = obj(a, "{\"bot_token\":\"123456:ABCDEFGHIJKLMNOPQRSTUV\",\"chat_id\":\"1, -2,1\","
                        "\"webhook_secret\":\"ws_1-0123456789abcdef\"}");
    assert_int_equal(chan_config_check(a, CHAN_TELEGRAM, tg, NULL, &c, &err), CL_OK);
    assert_null(json_object_get(c.clear, "bot_token"));
    assert_string_equal(json_string_value(json_object_get(c.secret, "bot_token")), "123456:ABCDEFGHIJKLMNOPQRSTUV");
    json_t *masked = json_own(a, chan_config_masked(c.clear, c.secret));
    assert_string_equal(json_string_value(json_object_get(masked, "bot_token")), CHAN_MASK);
    assert_string_equal(json_string_value(json_object_get(masked, "chat_id")), "1, -2,1");
    const char **t;
    size_t n;
    chan_targets(a, CHAN_TELEGRAM, c.clear, &t, &n);
    assert_int_equal(n, 2);
    assert_string_equal(t[0], "1");
    assert_string_equal(t[1], "-2");
    assert_true(chan_has_target(a, CHAN_TELEGRAM, c.clear, "-2"));
    assert_false(chan_has_target(a, CHAN_TELEGRAM, c.clear, "2"));
    /* the masked config sent back keeps the stored token */
    chan_config again;
    assert_int_equal(chan_config_check(a, CHAN_TELEGRAM, masked, c.secret, &again, &err), CL_OK);
    assert_string_equal(json_string_value(json_object_get(again.secret, "bot_token")), "123456:ABCDEFGHIJKLMNOPQRSTUV");

    struct {
        chan_type t;
        const char *cfg, *msg;
    } bad[] = {
        {CHAN_TELEGRAM, "{\"chat_id\":\"1\"}", "invalid config: bot_token is required"},
        {CHAN_TELEGRAM, "{\"bot_token\":\"nocolon\",\"chat_id\":\"1\"}",
         "invalid config: bot_token must be a Telegram bot token (<bot id>:<secret>)"},
        {CHAN_TELEGRAM, "{\"bot_token\":\"1:ABCDEFGHIJKLMNOPQRSTUV\",\"chat_id\":\"1\",\"x\":\"y\"}",
         "invalid config: unknown field x for telegram"},
        {CHAN_TELEGRAM, "{\"bot_token\":\"1:ABCDEFGHIJKLMNOPQRSTUV\",\"chat_id\":\"1;DROP\"}",
         "invalid config: chat_id must be 1 to 50 comma-separated ids of letters, digits and _@.:- (128 bytes each)"},
        {CHAN_SLACK, "{\"bot_token\":\"xoxb-1\"}",
         "invalid config: slack needs bot_token and channel_id, or webhook_url"},
        {CHAN_SLACK, "{\"webhook_url\":\"https://evil.example/services/x\"}",
         "invalid config: webhook_url must be an https://hooks.slack.com/services/… URL"},
        {CHAN_DISCORD, "{\"webhook_url\":\"http://discord.com/api/webhooks/1/x\"}",
         "invalid config: webhook_url must be an https://discord.com/api/webhooks/… URL"},
        {CHAN_LARK, "{\"webhook_url\":1}", "invalid config: webhook_url must be a string"},
        {CHAN_LARK, "[]", "invalid config: config must be an object"},
        /* a shared secret short enough to guess is no secret */
        {CHAN_TELEGRAM, "{\"bot_token\":\"1:ABCDEFGHIJKLMNOPQRSTUV\",\"chat_id\":\"1\",\"webhook_secret\":\"s3cr3t\"}",
         "invalid config: webhook_secret must be 16 to 256 of A-Z, a-z, 0-9, _ and -"},
        {CHAN_SLACK, "{\"webhook_url\":\"https://hooks.slack.com/services/x\",\"signing_secret\":\"123456789012345\"}",
         "invalid config: signing_secret must be 16 to 512 printable ASCII characters without spaces"},
        {CHAN_LARK, "{\"webhook_url\":\"https://open.feishu.cn/open-apis/bot/x\",\"verify_token\":\"vt\"}",
         "invalid config: verify_token must be 16 to 512 printable ASCII characters without spaces"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *in = json_is_object(obj(a, bad[i].cfg)) ? obj(a, bad[i].cfg) : obj(a, "[]");
        assert_int_equal(chan_config_check(a, bad[i].t, in, NULL, &c, &err), CL_INVALID);
        assert_string_equal(err.msg, bad[i].msg);
    }
}

static void test_allowed(void **state)
{
    arena_t *a = *state;
    cl_error err;
    assert_int_equal(chan_allowed_check(obj(a, "[\"@Alice\", \"42\"]"), &err), CL_OK);
    assert_int_equal(chan_allowed_check(obj(a, "[\"\"]"), &err), CL_INVALID);
    assert_int_equal(chan_allowed_check(obj(a, "{}"), &err), CL_INVALID);
    json_t *list = obj(a, "[\"@Alice\", \"42\"]");
    assert_true(chan_user_allowed(list, "1", "alice"));
    assert_true(chan_user_allowed(list, "42", NULL));
    assert_false(chan_user_allowed(list, "43", "bob"));
    assert_true(chan_user_allowed(obj(a, "[]"), "43", "bob"));
    /* ids and names never match each other: a name spelled like an allowed id, or an id like an allowed name */
    assert_false(chan_user_allowed(list, "7", "42"));
    assert_false(chan_user_allowed(obj(a, "[\"alice\"]"), "alice", NULL));
    assert_true(chan_user_allowed(obj(a, "[\"ALICE\"]"), "7", "@alice"));
    assert_false(chan_user_allowed(obj(a, "[\"@555\"]"), "555", NULL));
    assert_true(chan_user_allowed(obj(a, "[\"@555\"]"), "7", "555"));
    /* Slack's and Lark's user ids are not numbers: listed as they are */
    assert_true(chan_user_allowed(obj(a, "[\"U0123ABC\"]"), "U0123ABC", "U0123ABC"));
    /* Telegram: a first name is no username (anyone may call themselves "alice" or "555") */
    chan_inbound in;
    const char *b = "{\"update_id\":1,\"message\":{\"chat\":{\"id\":1},\"text\":\"hi\","
                    "\"from\":{\"id\":9,\"first_name\":\"alice\",\"is_bot\":false}}}";
    assert_int_equal(chan_parse(a, CHAN_TELEGRAM, b, strlen(b), &in, &err), CL_OK);
    assert_string_equal(in.user_id, "9");
    assert_null(in.username);
    assert_false(chan_user_allowed(obj(a, "[\"alice\", \"555\"]"), in.user_id, in.username));
}

static void test_chunks(void **state)
{
    (void)state;
    char text[5000];
    memset(text, 'a', sizeof(text));
    text[3000] = ' ';
    /* Discord: 2000 bytes, cut after the last space in the second half when there is one */
    assert_int_equal(chan_chunk_end(CHAN_DISCORD, text, sizeof(text), 0), 2000);
    assert_int_equal(chan_chunk_end(CHAN_TELEGRAM, text, sizeof(text), 0), 3001);
    assert_int_equal(chan_chunk_end(CHAN_TELEGRAM, text, sizeof(text), 3001), sizeof(text));
    /* never inside a UTF-8 sequence: "é" is two bytes straddling 2000 */
    memset(text, 'a', sizeof(text));
    text[1999] = (char)0xC3;
    text[2000] = (char)0xA9;
    assert_int_equal(chan_chunk_end(CHAN_DISCORD, text, sizeof(text), 0), 1999);
}

static void test_request_and_response(void **state)
{
    arena_t *a = *state;
    chan_set_bases("http://127.0.0.1:9/", "http://127.0.0.1:8");
    chan_request r;
    json_t *secret = obj(a, "{\"bot_token\":\"1:TOKEN\"}");
    chan_request_build(a, CHAN_TELEGRAM, obj(a, "{}"), secret, "-5", NULL, "hi", 2, &r);
    assert_string_equal(r.url, "http://127.0.0.1:9/bot1:TOKEN/sendMessage");
    assert_string_equal(r.body, "{\"chat_id\":\"-5\",\"text\":\"hi\"}");
    chan_request_build(a, CHAN_DISCORD, obj(a, "{\"username\":\"Bot\"}"),
                       obj(a, "{\"webhook_url\":\"https://discord.com/api/webhooks/1/abc\"}"), "", NULL, "yo", 2, &r);
    assert_string_equal(r.url, "http://127.0.0.1:8/api/webhooks/1/abc");
    assert_string_equal(r.body, "{\"content\":\"yo\",\"allowed_mentions\":{\"parse\":[]},\"username\":\"Bot\"}");
    chan_request_build(a, CHAN_SLACK, obj(a, "{}"), obj(a, "{\"bot_token\":\"xoxb-1\"}"), "C1", "1.2", "x", 1, &r);
    assert_string_equal(r.url, "http://127.0.0.1:8/api/chat.postMessage");
    assert_string_equal(r.authorization, "Bearer xoxb-1");
    assert_string_equal(r.body, "{\"channel\":\"C1\",\"thread_ts\":\"1.2\",\"text\":\"x\"}");
    chan_set_bases(NULL, NULL);

    int64_t wait;
    const char *error;
    const char *ok = "{\"ok\":true}";
    assert_int_equal(chan_response(a, CHAN_TELEGRAM, 200, ok, strlen(ok), -1, &wait, &error), CHAN_SENT);
    const char *limited = "{\"ok\":false,\"description\":\"Too Many Requests\",\"parameters\":{\"retry_after\":3}}";
    assert_int_equal(chan_response(a, CHAN_TELEGRAM, 429, limited, strlen(limited), -1, &wait, &error), CHAN_RETRY);
    assert_int_equal(wait, 3000);
    assert_string_equal(error, "HTTP 429: Too Many Requests");
    /* the header's Retry-After wins over the body's */
    assert_int_equal(chan_response(a, CHAN_TELEGRAM, 429, limited, strlen(limited), 7000, &wait, &error), CHAN_RETRY);
    assert_int_equal(wait, 7000);
    assert_int_equal(chan_response(a, CHAN_DISCORD, 503, "", 0, -1, &wait, &error), CHAN_RETRY);
    assert_int_equal(wait, -1);
    const char *gone = "{\"ok\":false,\"description\":\"Bad Request: chat not found\"}";
    assert_int_equal(chan_response(a, CHAN_TELEGRAM, 400, gone, strlen(gone), -1, &wait, &error), CHAN_FAILED);
    assert_string_equal(error, "HTTP 400: Bad Request: chat not found");
    const char *slack = "{\"ok\":false,\"error\":\"ratelimited\"}";
    assert_int_equal(chan_response(a, CHAN_SLACK, 200, slack, strlen(slack), -1, &wait, &error), CHAN_RETRY);
    const char *lark = "{\"code\":9499,\"msg\":\"too many request\"}";
    assert_int_equal(chan_response(a, CHAN_LARK, 200, lark, strlen(lark), -1, &wait, &error), CHAN_RETRY);
    assert_int_equal(chan_response(a, CHAN_DISCORD, 204, "", 0, -1, &wait, &error), CHAN_SENT);
}

/* An agent's text pings nobody: Slack's <!channel>/<!here>/<!everyone>/<!subteam^…> and Lark's <at user_id="all">
 * are sent as plain text, as Discord's allowed_mentions does there. */
static void test_mentions_are_defused(void **state)
{
    arena_t *a = *state;
    chan_request r;
    json_t *slack = obj(a, "{\"webhook_url\":\"https://hooks.slack.com/services/T/B/x\"}");
    const char *t = "hi <!channel> <!here|here> <!everyone> <https://x.example|link>";
    chan_request_build(a, CHAN_SLACK, obj(a, "{}"), slack, "", NULL, t, strlen(t), &r);
    assert_string_equal(r.body, "{\"text\":\"hi &lt;!channel> &lt;!here|here> &lt;!everyone> "
                                "<https://x.example|link>\"}");
    json_t *lark = obj(a, "{\"webhook_url\":\"https://open.feishu.cn/open-apis/bot/v2/hook/x\"}");
    const char *l = "ping <at user_id=\"all\">all</at> <AT user_id=\"ou_1\"></AT>";
    chan_request_build(a, CHAN_LARK, obj(a, "{}"), lark, "", NULL, l, strlen(l), &r);
    assert_string_equal(r.body, "{\"msg_type\":\"text\",\"content\":{\"text\":\"ping <\u200bat user_id=\\\"all\\\">"
                                "all</at> <\u200bAT user_id=\\\"ou_1\\\"></AT>\"}}");
}

static void test_scrub(void **state)
{
    arena_t *a = *state;
    json_t *secret = obj(a, "{\"bot_token\":\"1:TOKENVALUE\",\"short\":\"abc\"}");
    assert_string_equal(chan_scrub(a, "POST /bot1:TOKENVALUE/sendMessage abc", secret),
                        "POST /bot[REDACTED]/sendMessage abc");
    /* a credential spelled like (a part of) the replacement: the text is read once, it does not loop */
    json_t *odd = obj(a, "{\"webhook_secret\":\"REDACTED\",\"verify_token\":\"ACTE\"}");
    assert_string_equal(chan_scrub(a, "x REDACTED y REDACTEDACTE", odd), "x [REDACTED] y [REDACTED][REDACTED]");
    /* credentials of 4 bytes and more; the token of a hook URL and of a bot token on their own */
    json_t *hooks = obj(a, "{\"verify_token\":\"abcd\",\"signing_secret\":\"xyz\","
                           "\"webhook_url\":\"https://hooks.slack.com/services/T1/B2/hooktoken99\","
                           "\"bot_token\":\"123:SECRETPART\"}");
    assert_string_equal(chan_scrub(a, "abcd xyz /services/T1/B2/hooktoken99 bot SECRETPART", hooks),
                        "[REDACTED] xyz /services/T1/B2/[REDACTED] bot [REDACTED]");
}

static void test_discover(void **state)
{
    arena_t *a = *state;
    const char *error;
    const char *me = "{\"ok\":true,\"result\":{\"id\":1,\"username\":\"colony_bot\","
                     "\"can_read_all_group_messages\":true}}";
    const char *up = "{\"ok\":true,\"result\":[{\"update_id\":1,\"message\":{\"chat\":{\"id\":-100,\"type\":"
                     "\"supergroup\",\"title\":\"Team\"}}},{\"update_id\":2,\"my_chat_member\":{\"chat\":{\"id\":"
                     "42,\"type\":\"private\",\"first_name\":\"Ann\"}}},{\"update_id\":3,\"message\":{\"chat\":"
                     "{\"id\":-100}}},{\"update_id\":4,\"callback_query\":{}}]}";
    json_t *r = json_own(a, chan_discover_result(a, me, strlen(me), up, strlen(up), &error));
    assert_non_null(r);
    char *text = json_dumps(r, JSON_COMPACT);
    assert_string_equal(text, "{\"bot_username\":\"colony_bot\",\"chats\":[{\"chat_id\":\"-100\",\"type\":"
                              "\"supergroup\",\"title\":\"Team\"},{\"chat_id\":\"42\",\"type\":\"private\","
                              "\"title\":\"Ann\"}],\"can_read_all_group_messages\":true,\"privacy_warning\":null,"
                              "\"hint\":\"Put the chat ids the agent should talk in into chat_id (comma-separated)\"}");
    free(text);
    /* a webhook is set: getUpdates refuses, no chats */
    const char *conflict = "{\"ok\":false,\"error_code\":409,\"description\":\"Conflict\"}";
    const char *me2 = "{\"ok\":true,\"result\":{\"username\":\"b\"}}";
    r = json_own(a, chan_discover_result(a, me2, strlen(me2), conflict, strlen(conflict), &error));
    assert_int_equal(json_array_size(json_object_get(r, "chats")), 0);
    assert_true(json_is_string(json_object_get(r, "privacy_warning")));
    assert_non_null(strstr(json_string_value(json_object_get(r, "hint")), "webhook is set"));
    const char *bad = "{\"ok\":false,\"error_code\":401,\"description\":\"Unauthorized\"}";
    assert_null(chan_discover_result(a, bad, strlen(bad), NULL, 0, &error));
    assert_string_equal(error, "telegram did not accept the bot token: Unauthorized");
    chan_set_bases("http://127.0.0.1:9", NULL);
    assert_string_equal(chan_telegram_url(a, "1:T", "getMe"), "http://127.0.0.1:9/bot1:T/getMe");
    chan_set_bases(NULL, NULL);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_parse_telegram, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_slack_discord_lark, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slack_signature, setup, teardown),
        cmocka_unit_test_setup_teardown(test_discord_signature, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_signatures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slug, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_allowed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chunks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_and_response, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mentions_are_defused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scrub, setup, teardown),
        cmocka_unit_test_setup_teardown(test_discover, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
