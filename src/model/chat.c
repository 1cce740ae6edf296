/* chat.c - see chat.h. */
#include "model/chat.h"

#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/json.h"

enum { CHAT_TEXT_MAX = 4 * 1024 * 1024 }; /* an agent's joined text: bounded by the stored body anyway */

const char *chat_role_name(chat_role r) { return r == CHAT_USER ? "user" : r == CHAT_AGENT ? "agent" : "system"; }

static const char *str_of(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool kind_is(const json_t *part, const char *kind)
{
    const char *k = str_of(part, "kind");
    if (k == NULL)
        k = str_of(part, "type");
    return k != NULL && strcmp(k, kind) == 0;
}

/* The name a file gets from its uri: the last path segment once workspace:, https:// or http:// is stripped;
 * "file" when that is empty. */
static const char *base_name(arena_t *a, const char *uri)
{
    static const char *const prefixes[] = {"workspace:", "https://", "http://"};
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        if (strncmp(uri, prefixes[i], strlen(prefixes[i])) == 0) {
            uri += strlen(prefixes[i]);
            break;
        }
    const char *slash = strrchr(uri, '/');
    const char *name = slash ? slash + 1 : uri;
    return *name ? arena_strdup(a, name) : "file";
}

/* One attachment of a part, or NULL: a file part ({kind|type: file} with a `file` object or the fields inline)
 * needs a uri; a part with a `url` (A2A v1) has it there, its name in `filename` and its type in `mediaType`. */
static json_t *attachment(arena_t *a, const json_t *part)
{
    const json_t *f = part;
    if (kind_is(part, "file") && json_is_object(json_object_get(part, "file")))
        f = json_object_get(part, "file");
    const char *uri = str_of(f, "uri");
    if (kind_is(part, "file") && uri != NULL && *uri) {
        const char *name = str_of(f, "name");
        json_t *out = json_pack("{s:s, s:s}", "uri", uri, "name", name && *name ? name : base_name(a, uri));
        const char *mime = str_of(f, "mimeType");
        const json_t *size = json_object_get(f, "size");
        if (mime != NULL)
            json_object_set_new(out, "mimeType", json_string(mime));
        if (json_is_number(size))
            json_object_set(out, "size", (json_t *)size);
        return out;
    }
    const char *url = str_of(f, "url");
    if (url == NULL || !*url || kind_is(part, "text"))
        return NULL;
    const char *name = str_of(f, "filename");
    json_t *out = json_pack("{s:s, s:s}", "uri", url, "name", name && *name ? name : base_name(a, url));
    const char *mime = str_of(f, "mediaType");
    if (mime != NULL)
        json_object_set_new(out, "mimeType", json_string(mime));
    return out;
}

static void attachments_of_parts(arena_t *a, const json_t *parts, json_t *out)
{
    size_t i;
    const json_t *p;
    json_array_foreach(parts, i, p) {
        json_t *att = json_is_object(p) ? attachment(a, p) : NULL;
        if (att != NULL)
            json_array_append_new(out, att);
    }
}

/* File parts of a message, a result or a whole body: in parts, artifacts[].parts, status.message.parts and
 * message.parts. NULL when there are none. */
static json_t *attachments_of(arena_t *a, const json_t *o)
{
    if (!json_is_object(o))
        return NULL;
    json_t *out = json_own(a, json_array());
    attachments_of_parts(a, json_object_get(o, "parts"), out);
    size_t i;
    const json_t *art;
    json_array_foreach(json_object_get(o, "artifacts"), i, art) attachments_of_parts(a, json_object_get(art, "parts"), out);
    attachments_of_parts(a, json_object_get(json_object_get(json_object_get(o, "status"), "message"), "parts"), out);
    attachments_of_parts(a, json_object_get(json_object_get(o, "message"), "parts"), out);
    return json_array_size(out) > 0 ? out : NULL;
}

static json_t *parse(arena_t *a, const char *text)
{
    return text ? json_own(a, json_loads(text, JSON_DECODE_ANY, NULL)) : NULL;
}

static void add(chat_msg **out, size_t *n, size_t *cap, arena_t *a, chat_msg m)
{
    *out = arena_grow(a, *out, *n, cap, sizeof(**out));
    (*out)[(*n)++] = m;
}

/* The user's bubble: the first non-empty text of request.params.message, and its files. */
static void user_bubble(arena_t *a, const activity_row *r, chat_msg **out, size_t *n, size_t *cap)
{
    json_t *msg = json_object_get(json_object_get(parse(a, r->request_body), "params"), "message");
    if (!json_is_object(msg))
        return;
    const char *text = NULL;
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(msg, "parts"), i, p) {
        const char *t = str_of(p, "text");
        if (t != NULL && *t) {
            text = t;
            break;
        }
    }
    json_t *files = attachments_of(a, msg);
    if ((text == NULL && files == NULL) || (text && strncmp(text, "Delegation results are ready", 28) == 0))
        return;
    add(out, n, cap, a, (chat_msg){CHAT_USER, text ? text : "", files, NULL, r->created_at});
}

static void append_line(buf_t *b, const char *t)
{
    if (t == NULL || *t == '\0')
        return;
    if (b->len > 0)
        buf_putc(b, '\n');
    buf_puts(b, t);
}

/* The agent's text: `result` as a string; else the text parts of result.parts (or their root.text) and of
 * result.artifacts[].parts, one per line; else a top-level `task` string. NULL when there is none. */
static const char *agent_text(arena_t *a, const json_t *body)
{
    const json_t *result = json_object_get(body, "result");
    if (json_is_string(result) && json_string_length(result) > 0)
        return json_string_value(result);
    buf_t b;
    buf_init(&b, CHAT_TEXT_MAX);
    size_t i, k;
    const json_t *p, *art;
    json_array_foreach(json_object_get(result, "parts"), i, p)
        append_line(&b, kind_is(p, "text") ? str_of(p, "text") : str_of(json_object_get(p, "root"), "text"));
    json_array_foreach(json_object_get(result, "artifacts"), i, art)
        json_array_foreach(json_object_get(art, "parts"), k, p)
            if (kind_is(p, "text"))
                append_line(&b, str_of(p, "text"));
    const char *out = b.len > 0 ? arena_strndup(a, b.data, b.len) : str_of(body, "task");
    buf_free(&b);
    return out && *out ? out : NULL;
}

/* The tool steps inside [at - duration, at], marker stripped, as [{tool}]; NULL when there are none. */
static json_t *rebuilt_trace(arena_t *a, const activity_row *r, const activity_row *steps, size_t nsteps)
{
    if (!r->has_duration || r->duration_ms <= 0)
        return NULL;
    json_t *out = json_own(a, json_array());
    for (size_t i = 0; i < nsteps; i++) {
        const activity_row *s = &steps[i];
        if (s->created_at >= r->created_at - r->duration_ms && s->created_at <= r->created_at && s->summary &&
            strncmp(s->summary, CHAT_TOOL_MARKER, strlen(CHAT_TOOL_MARKER)) == 0)
            json_array_append_new(out, json_pack("{s:s}", "tool", s->summary + strlen(CHAT_TOOL_MARKER)));
    }
    return json_array_size(out) > 0 ? out : NULL;
}

static void agent_bubble(arena_t *a, const activity_row *r, const activity_row *steps, size_t nsteps,
                         chat_msg **out, size_t *n, size_t *cap)
{
    json_t *body = parse(a, r->response_body);
    if (body == NULL || json_is_null(body))
        return;
    const char *text = agent_text(a, body);
    const json_t *result = json_object_get(body, "result");
    json_t *files = attachments_of(a, json_is_object(result) ? result : body);
    if (text == NULL && files == NULL)
        return;
    bool failed = strcmp(r->status, "error") == 0 || (text && strncasecmp(text, "agent error", 11) == 0);
    json_t *trace = parse(a, r->tool_trace);
    if (trace == NULL || json_is_null(trace))
        trace = rebuilt_trace(a, r, steps, nsteps);
    add(out, n, cap, a, (chat_msg){failed ? CHAT_SYSTEM : CHAT_AGENT, text ? text : "", files, trace, r->created_at});
}

void chat_messages(arena_t *a, const activity_row *rows, size_t n, const activity_row *steps, size_t nsteps,
                   chat_msg **out, size_t *count)
{
    size_t k = 0, cap = 0;
    *out = NULL;
    for (size_t i = n; i-- > 0;) { /* oldest row first; within a row, the user spoke first */
        user_bubble(a, &rows[i], out, &k, &cap);
        agent_bubble(a, &rows[i], steps, nsteps, out, &k, &cap);
    }
    *count = k;
}

bool chat_steps_window(const activity_row *rows, size_t n, int64_t *from, int64_t *to)
{
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        const activity_row *r = &rows[i];
        if (r->tool_trace != NULL || !r->has_duration || r->duration_ms <= 0 || r->response_body == NULL)
            continue;
        int64_t lo = r->created_at - r->duration_ms;
        if (!any || lo < *from)
            *from = lo;
        if (!any || r->created_at > *to)
            *to = r->created_at;
        any = true;
    }
    return any;
}
