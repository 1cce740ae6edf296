/* channel_adapter.c - see channel_adapter.h. */
#include "model/channel_adapter.h"

#include <string.h>
#include <strings.h>

#include "base/json.h"
#include "base/utf8.h"

/* How a value is checked. */
enum {
    FORM_TG_TOKEN,   /* <bot id>:<secret>, what @BotFather hands out (it goes into a URL path) */
    FORM_TOKEN,      /* printable ASCII without spaces (it may go into a header) */
    FORM_TG_SECRET,  /* Telegram's secret_token alphabet: A-Z a-z 0-9 _ -, CHAN_SECRET_MIN bytes or more */
    FORM_SECRET,     /* a shared secret: FORM_TOKEN, CHAN_SECRET_MIN bytes or more (guessing it is hopeless) */
    FORM_URL_SLACK,  /* https://hooks.slack.com/services/… */
    FORM_URL_DISCORD,/* https://discord.com/api/webhooks/… */
    FORM_URL_LARK,   /* https://open.feishu.cn/open-apis/bot/… or open.larksuite.com */
    FORM_TARGETS,    /* comma-separated chat ids */
    FORM_HEX_KEY,    /* 64 hex digits: an Ed25519 public key */
    FORM_NAME,       /* a display name: UTF-8, no control characters */
    FORM_EMOJI,      /* :name: */
};

#define PASSWORD "password"
static const chan_field TELEGRAM[] = {
    {"bot_token", "Bot token", PASSWORD, true, true, "123456789:AA…", "From @BotFather", FORM_TG_TOKEN},
    {"chat_id", "Chat IDs", "text", true, false, "-1001234567890, 987654321",
     "Comma-separated chats the bot talks in (Discover lists them)", FORM_TARGETS},
    {"webhook_secret", "Webhook secret", PASSWORD, false, true, NULL,
     "The secret_token given to setWebhook: incoming updates must carry it (colony takes no unsigned update)",
     FORM_TG_SECRET},
    {"username", "Agent name", "text", false, false, NULL, "A message starting with [name] goes to this agent",
     FORM_NAME},
};
static const chan_field SLACK[] = {
    {"bot_token", "Bot token", PASSWORD, false, true, "xoxb-…", "Posts with chat.postMessage (with Channel IDs)",
     FORM_TOKEN},
    {"channel_id", "Channel IDs", "text", false, false, "C0123456789", "Comma-separated channels", FORM_TARGETS},
    {"webhook_url", "Incoming webhook URL", PASSWORD, false, true, "https://hooks.slack.com/services/…",
     "Instead of a bot token", FORM_URL_SLACK},
    {"signing_secret", "Signing secret", PASSWORD, false, true, NULL,
     "The app's signing secret: incoming events must be signed with it", FORM_SECRET},
    {"username", "Display name", "text", false, false, NULL, NULL, FORM_NAME},
    {"icon_emoji", "Icon emoji", "text", false, false, ":robot_face:", NULL, FORM_EMOJI},
};
static const chan_field DISCORD[] = {
    {"webhook_url", "Webhook URL", PASSWORD, true, true, "https://discord.com/api/webhooks/…", NULL,
     FORM_URL_DISCORD},
    {"public_key", "Application public key", "text", false, false, NULL,
     "Verifies incoming interactions (Ed25519); DISCORD_APP_PUBLIC_KEY otherwise", FORM_HEX_KEY},
    {"channel_id", "Channel IDs", "text", false, false, NULL, "Channels whose interactions reach this agent",
     FORM_TARGETS},
    {"username", "Display name", "text", false, false, NULL, NULL, FORM_NAME},
};
static const chan_field LARK[] = {
    {"webhook_url", "Webhook URL", PASSWORD, true, true, "https://open.feishu.cn/open-apis/bot/v2/hook/…", NULL,
     FORM_URL_LARK},
    {"verify_token", "Verification token", PASSWORD, false, true, NULL, "Incoming events must carry it",
     FORM_SECRET},
    {"chat_id", "Chat IDs", "text", false, false, "oc_…", "Chats whose messages reach this agent", FORM_TARGETS},
    {"username", "Agent name", "text", false, false, NULL, NULL, FORM_NAME},
};
#define N(x) (sizeof(x) / sizeof((x)[0]))

/* by display name */
static const chan_adapter ADAPTERS[] = {
    {CHAN_DISCORD, "discord", "Discord", DISCORD, N(DISCORD), "channel_id"},
    {CHAN_LARK, "lark", "Lark / Feishu", LARK, N(LARK), "chat_id"},
    {CHAN_SLACK, "slack", "Slack", SLACK, N(SLACK), "channel_id"},
    {CHAN_TELEGRAM, "telegram", "Telegram", TELEGRAM, N(TELEGRAM), "chat_id"},
};

const chan_adapter *chan_adapters(size_t *n)
{
    *n = N(ADAPTERS);
    return ADAPTERS;
}

const chan_adapter *chan_adapter_of(chan_type t)
{
    for (size_t i = 0; i < N(ADAPTERS); i++)
        if (ADAPTERS[i].type == t)
            return &ADAPTERS[i];
    return &ADAPTERS[0];
}

bool chan_type_parse(const char *name, chan_type *out)
{
    for (size_t i = 0; name != NULL && i < N(ADAPTERS); i++)
        if (strcmp(ADAPTERS[i].name, name) == 0) {
            *out = ADAPTERS[i].type;
            return true;
        }
    return false;
}

const char *chan_type_name(chan_type t) { return chan_adapter_of(t)->name; }

/* ---- value forms -------------------------------------------------------------------------------------------- */

static bool all_in(const char *s, size_t n, const char *extra)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr(extra, c)) ||
            c == '\0')
            return false;
    }
    return true;
}

static bool printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7F)
            return false;
    return n > 0;
}

/* https://<one of hosts><path starting with prefix>, no port, no fragment, no user info. */
static bool url_of(const char *s, size_t n, const char *const *hosts, const char *prefix)
{
    static const char scheme[] = "https://";
    if (n <= sizeof(scheme) - 1 || strncasecmp(s, scheme, sizeof(scheme) - 1) != 0 || !printable(s, n))
        return false;
    for (size_t i = 0; i < n; i++)
        if (strchr("#\"<>\\^`{|}'", s[i]))
            return false;
    const char *host = s + sizeof(scheme) - 1, *slash = memchr(host, '/', n - (size_t)(host - s));
    if (slash == NULL)
        return false;
    size_t hl = (size_t)(slash - host);
    bool known = false;
    for (size_t i = 0; hosts[i] != NULL && !known; i++)
        known = strlen(hosts[i]) == hl && strncasecmp(host, hosts[i], hl) == 0;
    return known && strncmp(slash, prefix, strlen(prefix)) == 0 && strlen(slash) > strlen(prefix);
}

static bool target_ok(const char *s, size_t n) { return n >= 1 && n <= CHAN_TARGET_MAX && all_in(s, n, "_@.:-"); }

/* Each comma-separated element of the list, trimmed: fn(arg, s, n) until it returns false. */
static bool each_target(const char *list, bool (*fn)(void *, const char *, size_t), void *arg)
{
    const char *p = list;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *s = p;
        while (n > 0 && (*s == ' ' || *s == '\t'))
            s++, n--;
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        if (!fn(arg, s, n))
            return false;
        if (end == NULL)
            return true;
        p = end + 1;
    }
}

typedef struct {
    size_t count;
} target_count;

static bool count_target(void *arg, const char *s, size_t n)
{
    target_count *c = arg;
    c->count++;
    return target_ok(s, n) && c->count <= CHAN_TARGETS_MAX;
}

static bool form_ok(int form, const char *s, size_t n)
{
    static const char *const slack[] = {"hooks.slack.com", NULL};
    static const char *const discord[] = {"discord.com", "discordapp.com", "ptb.discord.com", "canary.discord.com",
                                          NULL};
    static const char *const lark[] = {"open.feishu.cn", "open.larksuite.com", NULL};
    const char *colon;
    switch (form) {
    case FORM_TG_TOKEN:
        colon = memchr(s, ':', n);
        return colon != NULL && colon > s && colon - s <= 20 && all_in(s, (size_t)(colon - s), "") &&
               n - (size_t)(colon - s) - 1 >= 20 && n <= 256 && all_in(colon + 1, n - (size_t)(colon - s) - 1, "_-");
    case FORM_TOKEN:
        return n <= 512 && printable(s, n);
    case FORM_SECRET:
        return n >= CHAN_SECRET_MIN && n <= 512 && printable(s, n);
    case FORM_TG_SECRET:
        return n >= CHAN_SECRET_MIN && n <= 256 && all_in(s, n, "_-");
    case FORM_URL_SLACK:
        return url_of(s, n, slack, "/services/");
    case FORM_URL_DISCORD:
        return url_of(s, n, discord, "/api/webhooks/");
    case FORM_URL_LARK:
        return url_of(s, n, lark, "/open-apis/bot/");
    case FORM_TARGETS: {
        target_count c = {0};
        return each_target(s, count_target, &c);
    }
    case FORM_HEX_KEY:
        return n == 64 && all_in(s, n, "") && strspn(s, "0123456789abcdefABCDEF") == 64;
    case FORM_NAME:
        if (n > CHAN_NAME_MAX || !utf8_valid(s, n))
            return false;
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)s[i] < 0x20 || s[i] == 0x7F)
                return false;
        return true;
    case FORM_EMOJI:
        return n >= 3 && n <= 64 && s[0] == ':' && s[n - 1] == ':' && all_in(s + 1, n - 2, "_+-");
    }
    return false;
}

static const char *form_text(int form)
{
    switch (form) {
    case FORM_TG_TOKEN:
        return "a Telegram bot token (<bot id>:<secret>)";
    case FORM_TOKEN:
        return "1 to 512 printable ASCII characters without spaces";
    case FORM_SECRET:
        return "16 to 512 printable ASCII characters without spaces";
    case FORM_TG_SECRET:
        return "16 to 256 of A-Z, a-z, 0-9, _ and -";
    case FORM_URL_SLACK:
        return "an https://hooks.slack.com/services/… URL";
    case FORM_URL_DISCORD:
        return "an https://discord.com/api/webhooks/… URL";
    case FORM_URL_LARK:
        return "an https://open.feishu.cn/open-apis/bot/… or open.larksuite.com URL";
    case FORM_TARGETS:
        return "1 to 50 comma-separated ids of letters, digits and _@.:- (128 bytes each)";
    case FORM_HEX_KEY:
        return "64 hex digits";
    case FORM_NAME:
        return "at most 80 bytes of text without control characters";
    case FORM_EMOJI:
        return "an emoji name such as :robot_face:";
    }
    return "valid";
}

/* ---- configs ------------------------------------------------------------------------------------------------ */

static const chan_field *field_of(const chan_adapter *ad, const char *key)
{
    for (size_t i = 0; i < ad->nfields; i++)
        if (strcmp(ad->fields[i].key, key) == 0)
            return &ad->fields[i];
    return NULL;
}

static bool has(const json_t *o, const char *key) { return o != NULL && json_object_get(o, key) != NULL; }

cl_err chan_config_check(arena_t *a, chan_type t, const json_t *in, const json_t *stored, chan_config *out,
                         cl_error *err)
{
    const chan_adapter *ad = chan_adapter_of(t);
    if (!json_is_object(in))
        return cl_fail(err, CL_INVALID, "invalid config: config must be an object");
    out->clear = json_own(a, json_object());
    out->secret = json_own(a, json_object());
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)in, key, v)
    {
        /* the reference's Discord code reads app_public_key where its schema says public_key */
        const char *name = t == CHAN_DISCORD && strcmp(key, "app_public_key") == 0 ? "public_key" : key;
        const chan_field *f = field_of(ad, name);
        if (f == NULL)
            return cl_fail(err, CL_INVALID, "invalid config: unknown field %.64s for %s", key, ad->name);
        if (json_is_null(v))
            continue;
        if (!json_is_string(v))
            return cl_fail(err, CL_INVALID, "invalid config: %s must be a string", f->key);
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (strlen(s) != n)
            return cl_fail(err, CL_INVALID, "invalid config: %s must not contain NUL", f->key);
        if (n == 0)
            continue;
        if (f->sensitive && strcmp(s, CHAN_MASK) == 0) { /* shown masked, sent back: the stored value stays */
            json_t *kept = stored ? json_object_get(stored, f->key) : NULL;
            if (kept != NULL)
                json_object_set(out->secret, f->key, kept);
            continue;
        }
        if (n > CHAN_VALUE_MAX || !form_ok(f->form, s, n))
            return cl_fail(err, CL_INVALID, "invalid config: %s must be %s", f->key, form_text(f->form));
        if (has(out->clear, f->key) || has(out->secret, f->key))
            return cl_fail(err, CL_INVALID, "invalid config: %s is given twice", f->key);
        json_object_set_new(f->sensitive ? out->secret : out->clear, f->key, json_stringn(s, n));
    }
    for (size_t i = 0; i < ad->nfields; i++)
        if (ad->fields[i].required && !has(out->clear, ad->fields[i].key) && !has(out->secret, ad->fields[i].key))
            return cl_fail(err, CL_INVALID, "invalid config: %s is required", ad->fields[i].key);
    if (t == CHAN_SLACK && !has(out->secret, "webhook_url") &&
        !(has(out->secret, "bot_token") && has(out->clear, "channel_id")))
        return cl_fail(err, CL_INVALID, "invalid config: slack needs bot_token and channel_id, or webhook_url");
    return CL_OK;
}

json_t *chan_config_masked(const json_t *clear, const json_t *secret)
{
    json_t *v = json_deep_copy(clear ? clear : json_object());
    if (v == NULL)
        v = json_object();
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)secret, key, val) json_object_set_new(v, key, json_string(CHAN_MASK));
    return v;
}

typedef struct {
    arena_t *a;
    const char **list;
    size_t n;
    const char *want;
    bool found;
} target_list;

static bool collect_target(void *arg, const char *s, size_t n)
{
    target_list *l = arg;
    if (n == 0)
        return true;
    for (size_t i = 0; i < l->n; i++)
        if (strlen(l->list[i]) == n && memcmp(l->list[i], s, n) == 0)
            return true;
    if (l->want != NULL && strlen(l->want) == n && memcmp(l->want, s, n) == 0)
        l->found = true;
    if (l->n < CHAN_TARGETS_MAX)
        l->list[l->n++] = arena_strndup(l->a, s, n);
    return true;
}

static void targets_of(arena_t *a, chan_type t, const json_t *clear, target_list *l)
{
    const char *list = json_string_value(json_object_get(clear, chan_adapter_of(t)->targets_key));
    l->a = a;
    l->list = arena_calloc(a, CHAN_TARGETS_MAX, sizeof(*l->list));
    if (list != NULL)
        each_target(list, collect_target, l);
}

void chan_targets(arena_t *a, chan_type t, const json_t *clear, const char ***out, size_t *n)
{
    target_list l = {0};
    targets_of(a, t, clear, &l);
    *out = l.list;
    *n = l.n;
}

bool chan_has_target(arena_t *a, chan_type t, const json_t *clear, const char *chat)
{
    target_list l = {.want = chat};
    targets_of(a, t, clear, &l);
    return chat != NULL && l.found;
}

cl_err chan_allowed_check(const json_t *v, cl_error *err)
{
    if (!json_is_array(v) || json_array_size(v) > CHAN_ALLOWED_MAX)
        return cl_fail(err, CL_INVALID, "allowed_users must be an array of at most %d user ids or names",
                       CHAN_ALLOWED_MAX);
    size_t i;
    json_t *u;
    json_array_foreach(v, i, u)
    {
        size_t n = json_is_string(u) ? json_string_length(u) : 0;
        if (n == 0 || n > CHAN_USER_MAX || strlen(json_string_value(u)) != n)
            return cl_fail(err, CL_INVALID, "allowed_users[%zu] must be a non-empty string of at most %d bytes", i,
                           CHAN_USER_MAX);
    }
    return CL_OK;
}

/* A listed entry of digits alone is a numeric user id (Telegram's, Discord's): it matches the sender's id and only
 * that. Anything else is a name: the sender's real username (never a display or first name, which anyone picks),
 * '@' and case ignored. So a name spelled like an allowed id, or an id like an allowed name, matches nothing. */
static bool numeric_id(const char *s)
{
    if (*s == '-')
        s++;
    if (*s == '\0')
        return false;
    while (*s >= '0' && *s <= '9')
        s++;
    return *s == '\0';
}

static bool same_name(const char *listed, const char *who)
{
    if (who == NULL || who[0] == '\0')
        return false;
    if (listed[0] == '@')
        listed++;
    if (who[0] == '@')
        who++;
    return strcasecmp(listed, who) == 0;
}

bool chan_user_allowed(const json_t *allowed, const char *user_id, const char *username)
{
    if (!json_is_array(allowed) || json_array_size(allowed) == 0)
        return true;
    size_t i;
    json_t *u;
    json_array_foreach(allowed, i, u)
    {
        const char *s = json_string_value(u);
        if (s == NULL)
            continue;
        if (numeric_id(s) ? user_id != NULL && strcmp(s, user_id) == 0 : same_name(s, username))
            return true;
    }
    return false;
}

int64_t chan_pace_ms(chan_type t, const char *target)
{
    switch (t) {
    case CHAN_TELEGRAM:
        return target != NULL && target[0] == '-' ? 3000 : 1000; /* 20 a minute in a group, 1 a second in a chat */
    case CHAN_SLACK:
        return 1000; /* chat.postMessage: about one a second per channel */
    case CHAN_DISCORD:
        return 2000; /* a webhook: 30 a minute */
    case CHAN_LARK:
        return 600; /* a custom bot: 100 a minute */
    case CHAN__COUNT:
        break;
    }
    return 1000;
}

/* What a provider's words may quote of a credential: the value, and the token part of a hook URL (its last path
 * segment) or of a bot token (past its ':'), each CHAN_SCRUB_MIN bytes or longer. */
static size_t scrub_needles(arena_t *a, const json_t *secret, const char ***out)
{
    size_t n = 0, cap = 0;
    const char **v = NULL;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)secret, key, val)
    {
        const char *s = json_string_value(val);
        if (s == NULL)
            continue;
        const char *parts[] = {s, strrchr(s, '/'), strchr(s, ':')};
        parts[1] = strncmp(s, "https://", 8) == 0 && parts[1] ? parts[1] + 1 : NULL;
        parts[2] = strncmp(s, "https://", 8) != 0 && parts[2] ? parts[2] + 1 : NULL;
        for (size_t i = 0; i < 3; i++)
            if (parts[i] != NULL && strlen(parts[i]) >= CHAN_SCRUB_MIN) {
                v = arena_grow(a, v, n, &cap, sizeof(*v));
                v[n++] = parts[i];
            }
    }
    *out = v;
    return n;
}

const char *chan_scrub(arena_t *a, const char *text, const json_t *secret)
{
    if (text == NULL)
        return NULL;
    const char **needles;
    size_t n = scrub_needles(a, secret, &needles), len = strlen(text), used = 0;
    /* read once, left to right, the longest credential at each place replaced: nothing inserted is read again */
    char *out = arena_alloc(a, 3 * len + 1); /* each replacement takes >= 4 bytes and writes 10 */
    for (size_t i = 0; i < len;) {
        size_t best = 0;
        for (size_t k = 0; k < n; k++) {
            size_t m = strlen(needles[k]);
            if (m > best && strncmp(text + i, needles[k], m) == 0)
                best = m;
        }
        if (best > 0) {
            memcpy(out + used, "[REDACTED]", 10);
            used += 10;
            i += best;
        } else {
            out[used++] = text[i++];
        }
    }
    out[used] = '\0';
    return out;
}
