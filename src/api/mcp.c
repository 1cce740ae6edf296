/* mcp.c - see mcp.h. One POST is an exchange: its calls run in order on the worker that took the request, each
 * answering its slot (most at once; a synchronous delegation later, from its delivery's outcome, on another thread
 * or on the I/O loop); the last slot answered sends the reply. The request is deferred and held until then, so no
 * worker waits for an agent. */
#include "api/mcp.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api/auth.h"
#include "api/errors.h"
#include "api/events.h"
#include "api/input.h"
#include "api/mcp_tools.h"
#include "base/id.h"
#include "base/json.h"
#include "base/jsonrpc.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/ratelimit.h"
#include "base/time.h"
#include "base/utf8.h"
#include "http/stream.h"
#include "model/token.h"

enum {
    MCP_LIMIT_SLOTS = 4096,      /* callers the limiter remembers at once (then it forgets the stalest) */
    MCP_LIMIT_WINDOW_MS = 60000, /* the limiter's window */
};

static const char PROTOCOL_VERSION[] = "2024-11-05";

static ratelimit *limiter;
static long per_window = 120;

void api_mcp_init(long rate_limit, bool allow_send_message)
{
    ratelimit_free(limiter);
    per_window = rate_limit;
    limiter = ratelimit_new_window(MCP_LIMIT_SLOTS, rate_limit, MCP_LIMIT_WINDOW_MS);
    mcp_tools_init(allow_send_message);
}

void api_mcp_free(void)
{
    ratelimit_free(limiter);
    limiter = NULL;
}

/* ---- the limit per workspace or operator credential --------------------------------------------------------- */

/* Take `cost` requests from the window of the caller — a workspace token's workspace (minting more tokens buys no
 * more requests), else the operator's bearer — keyed by a SHA-256 (the token itself is kept nowhere), and say where
 * it stands (X-RateLimit-*); false after answering 401 (no bearer) or 429. */
static bool within_limit(http_req *rq, long cost)
{
    const char *bearer = token_from_header(rq->arena, http_header(rq, "authorization"));
    if (bearer == NULL) { /* the guard admits only bearers today; a cookie session would have none */
        api_fail(rq, CL_UNAUTHORIZED, "missing bearer token");
        return false;
    }
    const caller *who = api_caller(rq);
    const char *key = who->kind == CALLER_WORKSPACE ? arena_sprintf(rq->arena, "workspace %s", who->workspace_id)
                                                    : arena_sprintf(rq->arena, "bearer %s", bearer);
    uint8_t digest[ID_SHA256_LEN];
    id_sha256(key, strlen(key), digest);
    ratelimit_window w;
    bool ok = ratelimit_take_window(limiter, digest, time_mono_ms(), cost, &w);
    long reset_s = (long)((w.reset_ms + 999) / 1000);
    http_add_header(rq, "x-ratelimit-limit", arena_sprintf(rq->arena, "%ld", per_window));
    http_add_header(rq, "x-ratelimit-remaining", arena_sprintf(rq->arena, "%ld", w.remaining));
    http_add_header(rq, "x-ratelimit-reset", arena_sprintf(rq->arena, "%ld", reset_s));
    if (ok)
        return true;
    metric_inc(METRIC_MCP_RATE_LIMITED);
    http_add_header(rq, "retry-after", arena_sprintf(rq->arena, "%ld", reset_s));
    api_fail_with(rq, CL_RATE_LIMITED, NULL, json_pack("{s:I}", "retry_after", (json_int_t)reset_s),
                  "MCP rate limit exceeded");
    return false;
}

/* The workspace of the URL, live; false after answering 404 (unknown or removed: nobody acts as it) or 503. */
static bool acting_workspace(http_req *rq, ws_row *w)
{
    const char *id;
    return api_live_workspace_or_reply(rq, &id, w);
}

/* ---- an exchange -------------------------------------------------------------------------------------------- */

typedef struct {
    pthread_mutex_t mu;
    http_req *rq; /* held until answered */
    jsonrpc_msg msg;
    json_t **responses; /* one slot per call */
    mcp_call *calls;
    size_t open;  /* slots not answered yet, plus the handler's own while it runs */
    size_t spent; /* of MCP_RESPONSE_TEXT_MAX: the JSON form of the texts answered so far */
} exchange;

/* Bytes of an ASCII byte in a JSON string as jansson writes it: \" \\ \b \f \n \r \t, other control bytes
 * \u00XX. */
static size_t json_byte_cost(unsigned char ch)
{
    if (ch == '"' || ch == '\\' || ch == '\b' || ch == '\f' || ch == '\n' || ch == '\r' || ch == '\t')
        return 2;
    return ch < 0x20 ? 6 : 1;
}

char *mcp_text_cut(const char *s, size_t len, size_t cap, size_t *cost, bool *cut)
{
    char *out = xmalloc(cap + 1); /* every byte written costs at least one */
    size_t i = 0, o = 0, c = 0;
    while (i < len) {
        size_t k = utf8_seq_len(s + i, len - i);
        const char *src = k > 0 ? s + i : "\xEF\xBF\xBD"; /* U+FFFD for each invalid byte, as utf8_sanitize */
        size_t n = k > 0 ? k : 3, w = k == 1 ? json_byte_cost((unsigned char)s[i]) : n;
        if (c + w > cap)
            break;
        memcpy(out + o, src, n);
        o += n;
        c += w;
        i += k > 0 ? k : 1;
    }
    out[o] = '\0';
    *cost = c;
    *cut = i < len;
    return out;
}

static void finish(exchange *x)
{
    http_req *rq = x->rq;
    json_t *reply = jsonrpc_reply(&x->msg, x->responses);
    if (reply == NULL) { /* only notifications: nothing to answer (JSON-RPC), accepted (the MCP HTTP transport) */
        http_respond(rq, 202, NULL, "", 0);
    } else {
        api_reply_json(rq, 200, reply);
    }
    free(x->responses);
    pthread_mutex_destroy(&x->mu);
    free(x);
    http_req_drop(rq);
}

/* Answer slot i with r (stolen; NULL: no answer); the last one sends the reply. Any thread. */
static void settle(exchange *x, size_t i, json_t *r)
{
    pthread_mutex_lock(&x->mu);
    x->responses[i] = r;
    bool last = --x->open == 0;
    pthread_mutex_unlock(&x->mu);
    if (last)
        finish(x);
}

void mcp_call_done(mcp_call *c, const char *text)
{
    exchange *x = c->exchange;
    size_t cost;
    bool cut;
    char *clean = mcp_text_cut(text, strlen(text), MCP_RESPONSE_TEXT_MAX, &cost, &cut);
    pthread_mutex_lock(&x->mu); /* first answered, first served: a batch's calls end in any order */
    bool fits = !cut && x->spent + cost <= MCP_RESPONSE_TEXT_MAX;
    if (fits)
        x->spent += cost;
    pthread_mutex_unlock(&x->mu);
    if (!fits) {
        free(clean);
        cl_error e;
        cl_fail(&e, CL_TOO_LARGE,
                "this response has spent its budget (%d bytes of tool text): the call ran, its text is not shown; %s",
                MCP_RESPONSE_TEXT_MAX, c->follow ? c->follow : "call it alone, or ask for less");
        mcp_call_fail(c, &e);
        return;
    }
    json_t *content = json_pack("{s:[{s:s, s:o}]}", "content", "type", "text", "text", json_stringn(clean, strlen(clean)));
    free(clean);
    metric_inc(METRIC_MCP_TOOL_OK);
    settle(x, c->slot, jsonrpc_result(x->msg.calls[c->slot].id, content));
}

void mcp_call_fail(mcp_call *c, const cl_error *e)
{
    exchange *x = c->exchange;
    const char *code = e->code ? e->code : cl_err_code(e->err);
    metric_inc(METRIC_MCP_TOOL_FAILED);
    char qtool[160], qmsg[512]; /* both may carry what the client sent: quoted, so no line can be forged */
    log_info("mcp tool call failed", "workspace=%s tool=\"%s\" code=%s error=\"%s\"", c->self->id,
             log_quote(qtool, sizeof(qtool), c->tool, strlen(c->tool)), code,
             log_quote(qmsg, sizeof(qmsg), e->msg, strlen(e->msg)));
    /* the reference's message, and what the REST route would have said in data (never more than it would) */
    size_t cost;
    bool cut;
    char *msg = mcp_text_cut(e->msg, strlen(e->msg), sizeof(e->msg) * 6, &cost, &cut); /* valid UTF-8, whole */
    json_t *data = json_pack("{s:s, s:s}", "error", msg, "code", code);
    free(msg);
    settle(x, c->slot, jsonrpc_error(x->msg.calls[c->slot].id, JSONRPC_SERVER_ERROR, "tool call failed", data));
}

static json_t *initialize_result(void)
{
    return json_pack("{s:s, s:{s:{s:b}}, s:{s:s, s:s}}", "protocolVersion", PROTOCOL_VERSION, "capabilities", "tools",
                     "listChanged", 0, "serverInfo", "name", "molecule-a2a", "version", "1.0.0");
}

/* tools/call: {name, arguments?}; the tool answers the slot itself. */
static void tools_call(exchange *x, size_t i, const ws_row *self)
{
    const jsonrpc_call *rc = &x->msg.calls[i];
    json_t *name = json_object_get(rc->params, "name"), *args = json_object_get(rc->params, "arguments");
    if (!json_is_object(rc->params) || !json_is_string(name) || (args != NULL && !json_is_null(args) &&
                                                                 !json_is_object(args))) {
        settle(x, i, jsonrpc_error(rc->id, JSONRPC_INVALID_PARAMS, "invalid parameters", NULL));
        return;
    }
    mcp_call *c = &x->calls[i];
    *c = (mcp_call){.rq = x->rq, .self = self, .tool = json_string_value(name),
                    .args = json_is_object(args) ? args : json_own(x->rq->arena, json_object()), .exchange = x,
                    .slot = i};
    mcp_tool_call(c);
}

/* One call of the exchange: answered here, or by its tool. */
static void run_call(exchange *x, size_t i, const ws_row *self)
{
    const jsonrpc_call *rc = &x->msg.calls[i];
    if (rc->invalid != NULL) {
        settle(x, i, jsonrpc_invalid(rc));
    } else if (rc->id == NULL) { /* a notification (notifications/initialized, …): nothing to do, nothing to say */
        settle(x, i, NULL);
    } else if (strcmp(rc->method, "initialize") == 0) {
        settle(x, i, jsonrpc_result(rc->id, initialize_result()));
    } else if (strcmp(rc->method, "ping") == 0 || strcmp(rc->method, "notifications/initialized") == 0) {
        settle(x, i, jsonrpc_result(rc->id, json_object())); /* ping as MCP defines it; the other sent with an id */
    } else if (strcmp(rc->method, "tools/list") == 0) {
        settle(x, i, jsonrpc_result(rc->id, mcp_tools_list()));
    } else if (strcmp(rc->method, "tools/call") == 0) {
        tools_call(x, i, self);
    } else {
        settle(x, i, jsonrpc_error(rc->id, JSONRPC_METHOD_NOT_FOUND, "method not found", NULL));
    }
}

void api_mcp(http_req *rq)
{
    if (rq->body_len > MCP_BODY_MAX) {
        if (within_limit(rq, 1))
            api_fail(rq, CL_TOO_LARGE, "request body larger than %d bytes", MCP_BODY_MAX);
        return;
    }
    jsonrpc_msg msg;
    cl_error e;
    bool parsed = jsonrpc_parse(rq->arena, rq->body ? rq->body : "", rq->body_len, &msg, &e) == CL_OK;
    if (!within_limit(rq, parsed ? (long)msg.n : 1)) /* every request of a batch counts */
        return;
    if (!parsed) { /* the protocol's answer, not colony's error shape: a client reads error.code */
        api_reply_json(rq, 400, jsonrpc_error(NULL, JSONRPC_PARSE_ERROR, "parse error", NULL));
        return;
    }
    ws_row *self = arena_calloc(rq->arena, 1, sizeof(*self));
    if (!acting_workspace(rq, self))
        return;
    exchange *x = xcalloc(1, sizeof(*x));
    pthread_mutex_init(&x->mu, NULL);
    x->rq = http_req_hold(rq);
    x->msg = msg;
    x->responses = xcalloc(msg.n, sizeof(json_t *));
    x->calls = arena_calloc(rq->arena, msg.n, sizeof(mcp_call));
    x->open = msg.n + 1;
    http_defer(rq);
    for (size_t i = 0; i < msg.n; i++)
        run_call(x, i, self);
    pthread_mutex_lock(&x->mu);
    bool last = --x->open == 0;
    pthread_mutex_unlock(&x->mu);
    if (last)
        finish(x);
}

/* HEAD of the stream: its headers, counted as the stream is (else HEAD would be a way around the window). */
void api_mcp_stream_head(http_req *rq)
{
    ws_row w;
    if (!within_limit(rq, 1) || !acting_workspace(rq, &w))
        return;
    http_add_header(rq, "cache-control", "no-cache");
    http_respond(rq, 200, "text/event-stream", "", 0);
}

void api_mcp_stream(http_req *rq)
{
    ws_row w;
    if (!within_limit(rq, 1) || !acting_workspace(rq, &w)) /* a stream counts once, when it opens */
        return;
    stream_filter f = {0};
    api_events_credential(rq, &f);
    stream_sse_keepalive(rq, arena_sprintf(rq->arena, "event: endpoint\ndata: /workspaces/%s/mcp\n\n", w.id), &f);
}
