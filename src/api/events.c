/* events.c - see events.h. */
#include "api/events.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/auth.h"
#include "api/errors.h"
#include "api/input.h"
#include "base/id.h"
#include "base/netaddr.h"
#include "model/event.h"
#include "model/registry.h"
#include "model/workspace.h"

/* How long the feed's start waits for transactions older than it (PostgreSQL). A subscriber's "now" waits less: a
 * connect should not hang behind a long import; past the wait, an event of a transaction still open then counts as
 * before the connect. */
enum { START_WAIT_MS = 10000, NOW_WAIT_MS = 1000 };

static bool dev_open;
static event_horizon feed_horizon; /* the feed thread's, the only reader that asks for the horizon */

static stream_event *to_stream(arena_t *a, const event_row *rows, size_t n)
{
    stream_event *evs = arena_calloc(a, n + 1, sizeof(*evs));
    for (size_t i = 0; i < n; i++)
        evs[i] = (stream_event){rows[i].id, rows[i].created_at, rows[i].type, rows[i].workspace_id, rows[i].payload};
    return evs;
}

static cl_err read_events(void *ctx, arena_t *a, int64_t after, int64_t upto, size_t max, stream_event **out,
                          size_t *n, bool *settling, cl_error *err)
{
    event_row *rows;
    *settling = false;
    cl_err e = upto < 0 ? event_read_settled(ctx, a, after, (int64_t)max, &feed_horizon, &rows, n, settling, err)
                        : event_list_range(ctx, a, after, upto, (int64_t)max, &rows, n, err);
    if (e == CL_OK)
        *out = to_stream(a, rows, *n);
    return e;
}

static cl_err start_events(void *ctx, arena_t *a, int64_t *after, cl_error *err)
{
    return event_read_start(ctx, a, START_WAIT_MS, after, err);
}

/* Keys are "admin", "anon:<address>" (never revoked), "org:<token id>", "ws:<token id>". */
static cl_err check_keys(void *ctx, arena_t *a, const char *const *keys, size_t n, bool *valid, cl_error *err)
{
    const char **ids = arena_calloc(a, n + 1, sizeof(*ids));
    bool *live = arena_calloc(a, n + 1, sizeof(bool));
    size_t *at = arena_calloc(a, n + 1, sizeof(*at));
    for (int kind = 0; kind < 2; kind++) {
        const char *prefix = kind == 0 ? "org:" : "ws:";
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            if (strncmp(keys[i], prefix, strlen(prefix)) == 0) {
                at[m] = i;
                ids[m++] = keys[i] + strlen(prefix);
            } else if (kind == 0) {
                valid[i] = true;
            }
        }
        if (m == 0)
            continue;
        cl_err e = token_live(ctx, a, kind == 0, ids, m, live, err);
        if (e != CL_OK)
            return e;
        for (size_t k = 0; k < m; k++)
            valid[at[k]] = live[k];
    }
    return CL_OK;
}

static cl_err refilter(void *ctx, arena_t *a, const char *workspace_id, const char ***ids, size_t *count,
                       cl_error *err)
{
    return reg_reachable(ctx, a, workspace_id, ids, count, err);
}

void api_events_init(bool open_on_loopback, stream_config *c)
{
    dev_open = open_on_loopback;
    c->read = read_events;
    c->start = start_events;
    c->check = check_keys;
    c->refilter = refilter;
}

/* The credential a stream is opened with (stream_filter.key). */
static const char *stream_key(http_req *rq, const caller *c)
{
    switch (c->kind) {
    case CALLER_ADMIN:
        return "admin";
    case CALLER_ORG:
        return arena_sprintf(rq->arena, "org:%s", c->token_id);
    case CALLER_WORKSPACE:
        return arena_sprintf(rq->arena, "ws:%s", c->token_id);
    default:
        return arena_sprintf(rq->arena, "anon:%s", rq->peer);
    }
}

/* What the per-credential stream cap counts: an agent's streams by workspace (it can mint more tokens), the
 * others by credential. */
static const char *stream_group(http_req *rq, const caller *c)
{
    return c->kind == CALLER_WORKSPACE ? arena_sprintf(rq->arena, "workspace:%s", c->workspace_id)
                                       : stream_key(rq, c);
}

/* A cursor from `since` (or the SSE Last-Event-ID): -1 = from now; false after answering 400. */
static bool cursor(http_req *rq, const char *header, int64_t *since)
{
    const char *v = http_query(rq, "since");
    if (v == NULL && header != NULL)
        v = http_header(rq, header);
    *since = -1;
    if (v == NULL || *v == '\0')
        return true;
    char *end;
    long long n = strtoll(v, &end, 10);
    if (*end != '\0' || n < 0) {
        api_fail(rq, CL_INVALID, "since must be a non-negative event id");
        return false;
    }
    *since = n;
    return true;
}

/* "From now" is the newest event committed before this request, read here on the worker: the feed's head could
 * still be short of it (its thread reads after a commit's wake-up), and a subscriber that started there would be
 * sent events of before it connected. False after answering 503. */
static bool from_now(http_req *rq, int64_t *since)
{
    cl_error e;
    if (*since >= 0 || event_read_start(rq->db, rq->arena, NOW_WAIT_MS, since, &e) == CL_OK)
        return true;
    api_reply_error(rq, &e);
    return false;
}

/* Host names this server under a loopback name (127/8, ::1, "localhost"), whatever port: a page served under such a
 * name is colony's own (its console). A page of any other name is not, even when that name points here now: a DNS
 * rebind re-points a site's name at 127.0.0.1 after its page loaded, and the browser then sends that name as both
 * Host and Origin. */
static bool host_is_loopback(const char *host)
{
    size_t len = strlen(host);
    const char *colon = strrchr(host, ':'), *close = strrchr(host, ']');
    if (colon != NULL && (host[0] != '[' || (close != NULL && colon > close)))
        len = (size_t)(colon - host); /* the port */
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']')
        host++, len -= 2;
    netaddr a;
    const char *why = NULL;
    switch (netaddr_parse_host(host, len, &a)) {
    case NETADDR_NUMERIC:
        netaddr_classify(&a, &why);
        return why != NULL && strcmp(why, "loopback") == 0;
    case NETADDR_NAME:
        return len == 9 && strncasecmp(host, "localhost", 9) == 0;
    default:
        return false;
    }
}

/* The anonymous development stream is for the canvas and the console on this machine. A browser opens a WebSocket
 * to any address for any page it shows, naming the page's Origin: a page of another site must not read the org's
 * events. So an Origin must be named in --cors-origins ("*" names none: it would admit every site, a DNS-rebound
 * one and "null" included) or be this server itself under a loopback name; a client without one (curl, an SDK) is
 * no page. */
static bool dev_origin_ok(http_req *rq)
{
    const char *origin = http_header(rq, "origin"), *host = http_header(rq, "host");
    if (origin == NULL || http_origin_listed(rq))
        return true;
    return host != NULL && strncasecmp(origin, "http://", 7) == 0 && strcasecmp(origin + 7, host) == 0 &&
           host_is_loopback(host);
}

void api_ws(http_req *rq)
{
    int64_t since;
    if (!cursor(rq, NULL, &since))
        return;
    const char *hdr = http_header(rq, "authorization");
    const char *bearer = token_from_header(rq->arena, hdr);
    if (bearer == NULL) /* browsers cannot set headers on a WebSocket: the token may come as ?token= */
        bearer = http_query(rq, "token");
    stream_filter f = {.all = true};
    caller c = {0};
    if (bearer != NULL && *bearer) {
        if (api_identify(rq, bearer, &c) != CL_OK)
            return;
        if (c.kind == CALLER_NONE) {
            api_fail(rq, CL_UNAUTHORIZED, "invalid auth token");
            return;
        }
        if (c.kind == CALLER_WORKSPACE) { /* an agent sees the workspaces it may talk to */
            cl_error e;
            if (reg_reachable(rq->db, rq->arena, c.workspace_id, (const char ***)&f.workspace_ids, &f.count,
                              &e) != CL_OK) {
                api_reply_error(rq, &e);
                return;
            }
            f.all = false;
            f.follow = c.workspace_id; /* and keeps following the tree (refilter) */
        }
    } else if (!(dev_open && rq->peer_loopback)) {
        api_fail(rq, CL_UNAUTHORIZED, "missing auth token (Authorization: Bearer, or ?token=)");
        return;
    } else if (!dev_origin_ok(rq)) {
        api_fail(rq, CL_FORBIDDEN, "origin not allowed");
        return;
    }
    f.key = stream_key(rq, &c);
    f.group = stream_group(rq, &c);
    if (!from_now(rq, &since))
        return;
    if (!stream_ws_subscribe(rq, since, &f))
        api_fail(rq, CL_INVALID, "websocket upgrade required");
}

void api_events_credential(http_req *rq, stream_filter *f)
{
    f->key = stream_key(rq, api_caller(rq));
    f->group = stream_group(rq, api_caller(rq));
}

void api_events_stream(http_req *rq)
{
    const char *id;
    int64_t since;
    ws_row w;
    if (!api_workspace_or_reply(rq, &id, &w) || !cursor(rq, "last-event-id", &since) || !from_now(rq, &since))
        return;
    const char *const ids[] = {id};
    stream_filter f = {false, ids, 1, NULL, NULL, NULL};
    api_events_credential(rq, &f);
    stream_sse_subscribe(rq, since, &f);
}
