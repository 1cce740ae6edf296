/* delegations.c - see delegations.h. A delegation to a push-mode workspace is delivered at once by an a2a job that
 * no request waits for; to a poll-mode workspace it is stored in the target's inbox and completes when the agent
 * answers (difference 7), or when the caller reports the outcome. */
#include "api/delegations.h"

#include <string.h>

#include "api/a2a.h"
#include "api/errors.h"
#include "api/input.h"
#include "api/paging.h"
#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "base/utf8.h"
#include "model/delegation.h"

/* {target_id, task[, idempotency_key][, delegation_id]} with the sheet's messages; answers 4xx itself. */
static bool delegation_input(http_req *rq, const char *id, const char **target, const char **task, const char **key,
                             const char **delegation_id)
{
    json_t *body;
    if (!api_json_object_or_reply(rq, &body))
        return false;
    const char *t = json_string_value(json_object_get(body, "target_id"));
    *task = json_string_value(json_object_get(body, "task"));
    *key = json_string_value(json_object_get(body, "idempotency_key"));
    *delegation_id = json_string_value(json_object_get(body, "delegation_id"));
    if (t == NULL || *task == NULL || (*task)[0] == '\0' || (*key && strlen(*key) > 256)) {
        api_fail(rq, CL_INVALID, "invalid delegation request");
        return false;
    }
    if (!id_is_uuid(t, strlen(t))) {
        api_fail(rq, CL_INVALID, "target_id must be a valid UUID");
        return false;
    }
    *target = id_lower(arena_strdup(rq->arena, t));
    if (strcmp(*target, id) == 0) {
        api_fail_with(rq, CL_INVALID, NULL,
                      json_pack("{s:s, s:s}", "reason", "target_id equals the caller", "hint",
                                "do the task yourself, or delegate to a peer or child"),
                      "self-delegation not permitted");
        return false;
    }
    return true; /* the hierarchy rule is the model's (deleg_create) */
}

deleg_sent api_delegation_send(http_req *rq, const char *caller, const char *target, const char *task,
                               const char *did, const json_t *files, const deleg_waiter *w, cl_error *err)
{
    a2a_job *j = a2a_job_new();
    arena_t *a = a2a_job_arena(j);
    json_t *msg = a2a_user_send(a, did, task, json_pack("{s:s}", "delegation_id", did));
    json_t *parts = json_object_get(json_object_get(json_object_get(msg, "params"), "message"), "parts");
    size_t i;
    json_t *f;
    json_array_foreach(files, i, f) /* {uri, name, mimeType?} → a file part named by the type's family */
        json_array_append_new(parts, a2a_file_part(f));
    a2a_msg *m = arena_calloc(a, 1, sizeof(*m));
    a2a_target t;
    cl_error e;
    bool moved;
    caller = arena_strdup(a, caller);
    did = arena_strdup(a, did);
    deleg_sent sent = DELEG_SENT_FAILED;
    cl_err r = a2a_send_body(a, msg, m, &e);
    if (r == CL_OK)
        r = a2a_target_get(rq->db, a, target, &t, &e);
    /* admitted as any message: the budget gate, a paused or hibernated target (model/a2a.h a2a_admit) */
    bool poll = r == CL_OK && strcmp(t.delivery_mode, "poll") == 0;
    a2a_admission adm = A2A_DELIVER;
    budget_refusal over;
    if (r == CL_OK)
        r = a2a_admit(rq->db, a, &t, caller, m, poll ? "queued for poll" : NULL, &adm, &over, &e);
    if (r == CL_PAYMENT_REQUIRED) { /* the target is over its budget: the delegation fails with the gate's reason */
        cl_error ignore;
        deleg_set_status(rq->db, a, did, caller, "failed", arena_strdup(a, e.msg), NULL, NULL, &moved, &ignore);
        if (err != NULL)
            *err = e;
        a2a_job_drop(j);
        return DELEG_SENT_FAILED;
    }
    if (r == CL_OK && poll) {
        r = deleg_set_status(rq->db, a, did, caller, "dispatched", NULL, NULL, NULL, &moved, &e);
        if (r == CL_OK)
            r = deleg_set_status(rq->db, a, did, caller, "in_progress", NULL, NULL, NULL, &moved, &e);
        if (r == CL_OK)
            r = deleg_callee_alive(rq->db, a, target, &e);
        sent = DELEG_SENT_POLL;
    } else if (r == CL_OK && (adm != A2A_DELIVER || t.url == NULL || t.url[0] == '\0')) {
        const char *qid;
        int64_t depth;
        bool existing;
        r = deleg_set_status(rq->db, a, did, caller, "dispatched", NULL, NULL, NULL, &moved, &e);
        if (r == CL_OK)
            r = a2a_enqueue(rq->db, a, &t, caller, m, A2A_PRIORITY_TASK, 0, &qid, &depth, &existing, &e);
        sent = DELEG_SENT_QUEUED;
    } else if (r == CL_OK) {
        if (w != NULL)
            a2a_job_wait(j, w->done, w->slow, w->arg);
        a2a_job_start(j, http_req_client(rq), rq->db, &t, caller, m, false, did);
        return DELEG_SENT_PUSH;
    }
    if (r != CL_OK) { /* said once, in the ledger too, rather than left queued until its deadline */
        log_warn("delegation not dispatched", "delegation=%s error=\"%s\"", did, e.msg);
        cl_error ignore;
        deleg_set_status(rq->db, a, did, caller, "failed", arena_sprintf(a, "not dispatched: %s", e.msg), NULL, NULL,
                         &moved, &ignore);
        if (err != NULL)
            *err = e;
        sent = DELEG_SENT_FAILED;
    }
    a2a_job_drop(j);
    return sent;
}

void api_delegate(http_req *rq)
{
    const char *id, *target, *task, *key, *did;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &id) || !delegation_input(rq, id, &target, &task, &key, &did))
        return;
    deleg_row d;
    bool hit;
    cl_error e;
    if (deleg_create(rq->db, rq->arena, id, target, task, NULL, key, &d, &hit, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    if (hit) {
        api_reply_json(rq, 200, json_pack("{s:s, s:s, s:s, s:b}", "delegation_id", d.delegation_id, "status", d.status,
                                          "target_id", d.callee_id, "idempotent_hit", 1));
        return;
    }
    api_delegation_send(rq, id, target, task, d.delegation_id, NULL, NULL, NULL);
    api_reply_json(rq, 202, json_pack("{s:s, s:s, s:s}", "delegation_id", d.delegation_id, "status", "delegated",
                                      "target_id", target));
}

void api_delegation_record(http_req *rq)
{
    const char *id, *target, *task, *key, *did;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &id) || !delegation_input(rq, id, &target, &task, &key, &did))
        return;
    if (did == NULL || !id_is_uuid(did, strlen(did))) {
        api_fail(rq, CL_INVALID, "delegation_id must be a valid UUID");
        return;
    }
    did = id_lower(arena_strdup(rq->arena, did));
    deleg_row d;
    bool hit, moved;
    cl_error e;
    cl_err r = deleg_create(rq->db, rq->arena, id, target, task, did, NULL, &d, &hit, &e);
    if (r == CL_OK)
        r = deleg_set_status(rq->db, rq->arena, did, id, "dispatched", NULL, NULL, NULL, &moved, &e);
    if (r != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 202, json_pack("{s:s, s:s}", "delegation_id", did, "status", "recorded"));
}

void api_delegation_update(http_req *rq)
{
    const char *id, *did;
    json_t *body;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &id) ||
        !api_uuid_param_or_reply(rq, "delegation_id", "delegation", &did) || !api_json_object_or_reply(rq, &body))
        return;
    const char *status = json_string_value(json_object_get(body, "status"));
    if (status == NULL || (strcmp(status, "completed") != 0 && strcmp(status, "failed") != 0)) {
        api_fail(rq, CL_INVALID, "status must be 'completed' or 'failed'");
        return;
    }
    const char *error = json_string_value(json_object_get(body, "error"));
    const char *preview = json_string_value(json_object_get(body, "response_preview"));
    bool moved;
    cl_error e;
    if (deleg_set_status(rq->db, rq->arena, did, id, status, error, preview, "update", &moved, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:s, s:s}", "status", status, "delegation_id", did));
}

/* Pages of delegations: the reference's 50 newest by default (100 for the admin view), limit + cursor past them. */
enum { DELEG_LIST_DEFAULT = 50, DELEG_LIST_MAX = 500, DELEG_ADMIN_DEFAULT = 100, PREVIEW_CUT_MAX = 300 };

static const char *deleg_cursor(arena_t *a, const void *row)
{
    const deleg_row *d = row;
    return api_cursor_text(a, "iu", &(api_cursor){.n = {d->created_at}, .id = d->delegation_id});
}

/* The `limit` and `cursor` of both lists; false after answering 400. */
static bool deleg_page_or_reply(http_req *rq, int64_t def, int64_t max, int64_t *limit, deleg_key *before,
                                bool *has_before)
{
    api_cursor c;
    if (!api_limit_or_reply(rq, def, max, limit) || !api_cursor_or_reply(rq, "iu", &c))
        return false;
    *before = (deleg_key){c.n[0], c.id};
    *has_before = c.set;
    return true;
}

/* `key`: at most `cap` bytes of s (<= PREVIEW_CUT_MAX) on a code point, with a marker when cut; omitted when NULL. */
static void kcut(jsonw *w, const char *key, const char *s, long cap)
{
    if (s == NULL)
        return;
    char buf[PREVIEW_CUT_MAX + 1];
    utf8_cut cut = utf8_cut_bytes(s, strlen(s), cap, true);
    memcpy(buf, s, cut.keep);
    if (cut.marker)
        memcpy(buf + cut.keep, UTF8_ELLIPSIS, UTF8_ELLIPSIS_LEN);
    jsonw_key(w, key);
    jsonw_strn(w, buf, cut.keep + (cut.marker ? UTF8_ELLIPSIS_LEN : 0));
}

static void ledger_write(jsonw *w, const void *row)
{
    const deleg_row *d = row;
    jsonw_obj_open(w);
    jsonw_kstr(w, "delegation_id", d->delegation_id);
    jsonw_kstr(w, "source_id", d->caller_id);
    jsonw_kstr(w, "target_id", d->callee_id);
    if (d->task_preview)
        kcut(w, "summary", d->task_preview, 200);
    else
        jsonw_knull(w, "summary");
    jsonw_kstr(w, "status", d->status);
    api_jsonw_time(w, "created_at", d->created_at);
    api_jsonw_time(w, "updated_at", d->updated_at);
    jsonw_kbool(w, "_ledger", true);
    kcut(w, "response_preview", d->result_preview, 300);
    if (d->error_detail)
        jsonw_kstr(w, "error", d->error_detail);
    if (d->last_heartbeat)
        api_jsonw_time(w, "last_heartbeat", d->last_heartbeat);
    api_jsonw_time(w, "deadline", d->deadline);
    jsonw_obj_close(w);
}

void api_delegations_list(http_req *rq)
{
    const char *id;
    int64_t limit;
    deleg_key before;
    bool has_before;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &id) ||
        !deleg_page_or_reply(rq, DELEG_LIST_DEFAULT, DELEG_LIST_MAX, &limit, &before, &has_before))
        return;
    deleg_row *rows;
    size_t n;
    cl_error e;
    if (deleg_list(rq->db, rq->arena, id, has_before ? &before : NULL, limit + 1, &rows, &n, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_rows(rq, rows, n, sizeof(*rows), limit, ledger_write, deleg_cursor);
}

static void admin_write(jsonw *w, const void *row)
{
    const deleg_row *d = row;
    jsonw_obj_open(w);
    jsonw_kstr(w, "delegation_id", d->delegation_id);
    jsonw_kstr(w, "caller_id", d->caller_id);
    jsonw_kstr(w, "callee_id", d->callee_id);
    jsonw_kstr(w, "task_preview", d->task_preview);
    jsonw_kstr(w, "status", d->status);
    api_jsonw_time(w, "deadline", d->deadline);
    jsonw_kint(w, "retry_count", d->retry_count);
    api_jsonw_time(w, "created_at", d->created_at);
    api_jsonw_time(w, "updated_at", d->updated_at);
    api_jsonw_time(w, "last_heartbeat", d->last_heartbeat);
    jsonw_kstr(w, "result_preview", d->result_preview);
    jsonw_kstr(w, "error_detail", d->error_detail);
    jsonw_obj_close(w);
}

void api_admin_delegations(http_req *rq)
{
    const char *status = http_query(rq, "status");
    int64_t limit;
    deleg_key before;
    bool has_before;
    if (!deleg_page_or_reply(rq, DELEG_ADMIN_DEFAULT, DELEG_ADMIN_LIMIT_MAX, &limit, &before, &has_before))
        return;
    status = status ? status : "in_flight";
    deleg_row *rows;
    size_t n;
    cl_error e;
    if (deleg_admin_list(rq->db, rq->arena, status, has_before ? &before : NULL, limit + 1, &rows, &n, &e) !=
        CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    jsonw w;
    api_list_writer(&w);
    jsonw_obj_open(&w);
    jsonw_key(&w, "delegations");
    size_t shown = api_write_page(rq, &w, rows, n, sizeof(*rows), limit, admin_write, deleg_cursor);
    jsonw_kint(&w, "count", (int64_t)shown);
    jsonw_kstr(&w, "status", status);
    jsonw_kint(&w, "limit", limit);
    jsonw_obj_close(&w);
    api_reply_jsonw(rq, 200, &w);
}

void api_admin_delegation_stats(http_req *rq)
{
    int64_t c[6];
    cl_error e;
    if (deleg_stats(rq->db, rq->arena, c, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    json_t *o = json_object();
    for (int i = 0; i < 6; i++)
        json_object_set_new(o, DELEG_STATUSES[i], json_integer(c[i]));
    api_reply_json(rq, 200, o);
}
