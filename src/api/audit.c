/* audit.c - see audit.h. */
#include "api/audit.h"

#include <string.h>

#include "api/auth.h"
#include "api/errors.h"
#include "api/input.h"
#include "api/paging.h"
#include "base/json.h"
#include "base/metrics.h"
#include "base/time.h"
#include "model/audit.h"

enum { AUDIT_LIST_DEFAULT = 100 };

static void event_write(jsonw *w, const void *row)
{
    const audit_event *ev = row;
    jsonw_obj_open(w);
    jsonw_kstr(w, "id", ev->id);
    api_jsonw_time(w, "timestamp", ev->timestamp);
    jsonw_kstr(w, "agent_id", ev->agent_id);
    jsonw_kstr(w, "session_id", ev->session_id);
    jsonw_kstr(w, "operation", ev->operation);
    jsonw_kstr(w, "input_hash", ev->input_hash);
    jsonw_kstr(w, "output_hash", ev->output_hash);
    jsonw_kstr(w, "model_used", ev->model_used);
    jsonw_kbool(w, "human_oversight_flag", ev->human_oversight_flag);
    jsonw_kbool(w, "risk_flag", ev->risk_flag);
    jsonw_kstr(w, "prev_hmac", ev->prev_hmac);
    jsonw_kstr(w, "hmac", ev->hmac);
    jsonw_kstr(w, "workspace_id", ev->workspace_id);
    jsonw_obj_close(w);
}

static const char *event_cursor(arena_t *a, const void *row)
{
    const audit_event *ev = row;
    return api_cursor_text(a, "ii", &(api_cursor){.n = {ev->timestamp, ev->seq}});
}

/* Query parameter `name` as an RFC 3339 time; false (having answered 400 `bad`) when it is not one. */
static bool time_param_or_reply(http_req *rq, const char *name, const char *bad, int64_t *out, bool *has)
{
    const char *v = http_query(rq, name);
    *has = v != NULL && v[0] != '\0';
    if (*has && !time_parse_rfc3339(v, strlen(v), out)) {
        api_fail(rq, CL_INVALID, "%s", bad);
        return false;
    }
    return true;
}

static const char *nonempty_query(http_req *rq, const char *name)
{
    const char *v = http_query(rq, name);
    return v && v[0] ? v : NULL;
}

void api_audit_list(http_req *rq)
{
    const char *ws;
    ws_row row;
    audit_filter f = {.agent_id = nonempty_query(rq, "agent_id"), .session_id = nonempty_query(rq, "session_id")};
    int64_t limit, offset;
    api_cursor c;
    if (!api_workspace_or_reply(rq, &ws, &row) ||
        !time_param_or_reply(rq, "from", "from must be RFC 3339 (e.g. 2026-04-17T00:00:00Z)", &f.from, &f.has_from) ||
        !time_param_or_reply(rq, "to", "to must be RFC 3339 (e.g. 2026-04-17T23:59:59Z)", &f.to, &f.has_to) ||
        !api_limit_or_reply(rq, AUDIT_LIST_DEFAULT, AUDIT_LIST_MAX, &limit) ||
        !api_query_int_or_reply(rq, "offset", 0, 0, INT32_MAX, &offset) || !api_cursor_or_reply(rq, "ii", &c))
        return;
    if (c.set && offset > 0) {
        api_fail(rq, CL_INVALID, "offset and cursor cannot be combined: follow the cursor");
        return;
    }
    const char *verify = http_query(rq, "verify");
    bool full = verify != NULL && strcmp(verify, "full") == 0;
    if (full && api_caller(rq)->kind != CALLER_ADMIN && api_caller(rq)->kind != CALLER_ORG) {
        api_fail(rq, CL_FORBIDDEN, "a full verification of the ledger is for operators (admin or org token)");
        return;
    }
    cl_error e;
    audit_verdict v = {0};
    bool verified = audit_key_configured();
    if (verified && audit_verify(rq->db, rq->arena, ws, full, &v, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    metric_add(METRIC_AUDIT_VERIFIED, v.hashed);
    audit_key after = {c.n[0], c.n[1]};
    audit_event *rows;
    size_t n;
    int64_t total = 0;
    if (audit_list(rq->db, rq->arena, ws, &f, c.set ? &after : NULL, offset, limit + 1, &rows, &n, &total, &e) !=
        CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    jsonw w;
    api_list_writer(&w);
    jsonw_obj_open(&w);
    jsonw_key(&w, "events");
    api_write_page(rq, &w, rows, n, sizeof(*rows), limit, event_write, event_cursor);
    jsonw_kint(&w, "total", total);
    jsonw_key(&w, "chain_valid"); /* null: no key to verify with, or a ledger too long to finish in one request */
    if (verified && (!v.valid || v.complete))
        jsonw_bool(&w, v.valid);
    else
        jsonw_null(&w);
    if (verified && !v.valid) {
        jsonw_key(&w, "chain_break");
        jsonw_obj_open(&w);
        jsonw_kstr(&w, "id", v.broken_id);
        jsonw_kstr(&w, "agent_id", v.broken_agent);
        jsonw_kstr(&w, "reason", v.broken_reason);
        jsonw_obj_close(&w);
    }
    jsonw_obj_close(&w);
    api_reply_jsonw(rq, 200, &w);
}

void api_audit_append(http_req *rq)
{
    const char *ws, *ts = NULL;
    json_t *body;
    audit_input in = {0};
    cl_error e;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &ws) || !api_json_object_or_reply(rq, &body))
        return;
    if (json_opt_string(body, "id", &in.id, NULL, NULL, &e) != CL_OK ||
        json_opt_string(body, "timestamp", &ts, NULL, NULL, &e) != CL_OK ||
        json_opt_string(body, "agent_id", &in.agent_id, NULL, NULL, &e) != CL_OK ||
        json_opt_string(body, "session_id", &in.session_id, NULL, NULL, &e) != CL_OK ||
        json_opt_string(body, "operation", &in.operation, NULL, NULL, &e) != CL_OK ||
        json_opt_string(body, "input_hash", &in.input_hash, NULL, NULL, &e) != CL_OK ||
        json_opt_string(body, "output_hash", &in.output_hash, NULL, NULL, &e) != CL_OK ||
        json_opt_string(body, "model_used", &in.model_used, NULL, NULL, &e) != CL_OK ||
        json_opt_string(body, "prev_hmac", &in.prev_hmac, NULL, NULL, &e) != CL_OK ||
        json_opt_string(body, "hmac", &in.hmac, NULL, NULL, &e) != CL_OK ||
        json_opt_bool(body, "human_oversight_flag", &in.human_oversight_flag, NULL, &e) != CL_OK ||
        json_opt_bool(body, "risk_flag", &in.risk_flag, NULL, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    in.has_prev_hmac = json_object_get(body, "prev_hmac") != NULL; /* null claims "the first of its chain" */
    in.has_timestamp = ts != NULL;
    if (ts != NULL && !time_parse_rfc3339(ts, strlen(ts), &in.timestamp)) {
        api_fail(rq, CL_INVALID, "timestamp must be RFC 3339 (e.g. 2026-04-17T00:00:00Z)");
        return;
    }
    audit_event ev;
    if (audit_append(rq->db, rq->arena, ws, &in, &ev, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    metric_inc(METRIC_AUDIT_APPENDED);
    jsonw w;
    jsonw_init(&w, API_LIST_BODY_MAX);
    event_write(&w, &ev);
    api_reply_jsonw(rq, 201, &w);
}
