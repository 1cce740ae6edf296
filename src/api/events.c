/* events.c - see events.h. */
#include "api/events.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/auth.h"
#include "api/errors.h"
#include "api/input.h"
#include "base/id.h"
#include "model/event.h"
#include "model/registry.h"
#include "model/workspace.h"

static bool dev_open;

void api_events_init(bool open_on_loopback) { dev_open = open_on_loopback; }

cl_err api_events_fetch(db_t *db, arena_t *a, int64_t after, size_t max, stream_event **out, size_t *n,
                        cl_error *err)
{
    event_row *rows;
    cl_err e = event_list_after(db, a, after, (int64_t)max, &rows, n, err);
    if (e != CL_OK)
        return e;
    stream_event *evs = arena_calloc(a, *n + 1, sizeof(*evs));
    for (size_t i = 0; i < *n; i++)
        evs[i] = (stream_event){rows[i].id, rows[i].created_at, rows[i].type, rows[i].workspace_id, rows[i].payload};
    *out = evs;
    return CL_OK;
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
    if (bearer != NULL && *bearer) {
        caller c;
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
        }
    } else if (!(dev_open && http_peer_is_loopback(rq))) {
        api_fail(rq, CL_UNAUTHORIZED, "missing auth token (Authorization: Bearer, or ?token=)");
        return;
    }
    if (!stream_ws_subscribe(rq, since, &f))
        api_fail(rq, CL_INVALID, "websocket upgrade required");
}

void api_events_stream(http_req *rq)
{
    const char *id;
    int64_t since;
    ws_row w;
    if (!api_workspace_or_reply(rq, &id, &w) || !cursor(rq, "last-event-id", &since))
        return;
    const char *const ids[] = {id};
    stream_filter f = {false, ids, 1};
    stream_sse_subscribe(rq, since, &f);
}
