/* secrets.c - see secrets.h. A value arrives in one request body and leaves only in the …/secrets/values answer of
 * its own workspace's agent; no other answer, error or log line carries it. */
#include "api/secrets.h"

#include <string.h>

#include "api/auth.h"
#include "api/errors.h"
#include "api/input.h"
#include "api/paging.h"
#include "base/json.h"
#include "base/metrics.h"
#include "model/approval.h"
#include "model/secret.h"
#include "model/token.h"
#include "model/vault.h"

static bool gate_on;

void api_secrets_init(bool gate) { gate_on = gate; }

secret_actor api_secret_actor(http_req *rq)
{
    const caller *c = api_caller(rq);
    switch (c->kind) {
    case CALLER_ORG: return (secret_actor){"org", c->prefix};
    case CALLER_WORKSPACE: return (secret_actor){"workspace", c->workspace_id};
    default: return (secret_actor){"admin", NULL};
    }
}

/* ---- lists: a workspace's own secrets by name, then the globals it does not override (group 1), by name ---- */

static void meta_write(jsonw *w, const void *row, bool scoped_first)
{
    const secret_meta *m = row;
    jsonw_obj_open(w);
    jsonw_kstr(w, "key", m->name);
    jsonw_kbool(w, "has_value", true);
    if (scoped_first)
        jsonw_kstr(w, "scope", m->global ? "global" : "workspace");
    api_jsonw_time(w, "created_at", m->created_at);
    api_jsonw_time(w, "updated_at", m->updated_at);
    if (!scoped_first)
        jsonw_kstr(w, "scope", "global");
    jsonw_obj_close(w);
}

static void ws_meta_write(jsonw *w, const void *row)
{
    meta_write(w, row, true);
}
static void global_meta_write(jsonw *w, const void *row)
{
    meta_write(w, row, false);
}

static const char *meta_cursor(arena_t *a, const void *row)
{
    const secret_meta *m = row;
    return api_cursor_text(a, "ix", &(api_cursor){.n = {m->global ? 1 : 0}, .id = m->name});
}

static void list(http_req *rq, const char *workspace_id)
{
    int64_t limit;
    api_cursor c;
    if (!api_limit_or_reply(rq, SECRET_LIST_MAX, SECRET_LIST_MAX, &limit) || !api_cursor_or_reply(rq, "ix", &c))
        return;
    if (c.set && (c.n[0] < 0 || c.n[0] > 1 || (workspace_id == NULL && c.n[0] != 1))) {
        api_fail(rq, CL_INVALID, "cursor is not one this list gave (pass back X-Next-Cursor as it came)");
        return;
    }
    secret_meta *rows;
    size_t n;
    cl_error e;
    if (secret_list(rq->db, rq->arena, workspace_id, c.set && c.n[0] == 1, c.set ? c.id : NULL, limit + 1, &rows,
                    &n, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_rows(rq, rows, n, sizeof(*rows), limit, workspace_id ? ws_meta_write : global_meta_write,
                   meta_cursor);
}

void api_secrets_list(http_req *rq)
{
    const char *id;
    if (api_uuid_param_or_reply(rq, "id", "workspace", &id))
        list(rq, id);
}

void api_global_secrets_list(http_req *rq)
{
    list(rq, NULL);
}

/* ---- writes ---- */

/* {key, value}: both non-empty strings (else 400 "invalid request body"), a valid name, a bounded value. */
static bool pair_or_reply(http_req *rq, secret_pair *p)
{
    json_t *body;
    if (!api_json_object_or_reply(rq, &body))
        return false;
    size_t klen = 0;
    cl_error e;
    memset(p, 0, sizeof(*p));
    if (json_opt_string(body, "key", &p->name, &klen, NULL, &e) != CL_OK ||
        json_opt_string(body, "value", &p->value, &p->len, NULL, &e) != CL_OK || p->name == NULL ||
        p->value == NULL || klen == 0 || p->len == 0) {
        api_fail(rq, CL_INVALID, "invalid request body");
        return false;
    }
    if (!secret_name_valid(p->name, klen)) { /* the text is not echoed: it may be a value pasted in the wrong box */
        api_fail(rq, CL_INVALID,
                 "invalid secret key: use A-Z, 0-9 and _, starting with a letter, at most %d "
                 "characters",
                 SECRET_NAME_MAX);
        return false;
    }
    if (p->len > SECRET_VALUE_MAX) {
        api_fail(rq, CL_INVALID, "secret value must be at most %d bytes", SECRET_VALUE_MAX);
        return false;
    }
    return true;
}

static bool key_param_or_reply(http_req *rq, const char **key)
{
    *key = http_param_get(rq, "key");
    if (*key == NULL || !secret_name_valid(*key, strlen(*key))) {
        api_fail(rq, CL_INVALID,
                 "invalid secret key: use A-Z, 0-9 and _, starting with a letter, at most %d "
                 "characters",
                 SECRET_NAME_MAX);
        return false;
    }
    return true;
}

/* §3.4 guard 2, as the reference means it (its own flag bug leaves it inert, §7.2): ADMIN_TOKEN is the credential
 * the reference hands the platform agent, so with it no one writes the platform workspace's secrets — an org
 * token or the workspace's own token still can. The refusal is audited. */
static bool not_concierge_self_write_or_reply(http_req *rq, const ws_row *w, const char *key)
{
    if (api_caller(rq)->kind != CALLER_ADMIN || strcmp(w->kind, "platform") != 0)
        return true;
    secret_actor by = api_secret_actor(rq);
    cl_error e;
    secret_refused(rq->db, rq->arena, w->id, key, &by, "CONCIERGE_SELF_WRITE_BLOCKED", &e);
    api_fail_with(rq, CL_FORBIDDEN, "CONCIERGE_SELF_WRITE_BLOCKED", NULL,
                  "the admin token cannot write the platform agent's own secrets; use an org API token");
    return false;
}

/* One secret write, run alone or inside the approval gate's transaction. */
struct write {
    const char *workspace_id;
    const secret_pair *pair;
    secret_actor by;
};

static cl_err write_in_gate(db_t *db, arena_t *a, void *arg, cl_error *err)
{
    struct write *w = arg;
    return w->workspace_id ? secret_put_guarded(db, a, w->workspace_id, w->pair, &w->by, err)
                           : secret_put(db, a, NULL, w->pair, 1, &w->by, err);
}

/* A refusal of §3.4 guard 1 names the key and the workspace, as the reference's; other errors as they are. */
static void reply_write_error(http_req *rq, const char *workspace_id, const char *key, const cl_error *e)
{
    if (e->code != NULL && strcmp(e->code, SECRET_PLATFORM_MANAGED_CODE) == 0)
        api_fail_with(rq, e->err, e->code, json_pack("{s:s, s:s}", "key", key, "workspace_id", workspace_id), "%s",
                      e->msg);
    else
        api_reply_error(rq, e);
}

/* §3.4 guard 1, first of the three: checked again inside the write's transaction (secret_put_guarded), this early
 * answer keeps a refused key from waiting for an approval it could never use. */
static bool not_platform_managed_key_or_reply(http_req *rq, const char *workspace_id, const char *key)
{
    cl_error e;
    if (secret_llm_guard(rq->db, rq->arena, workspace_id, key, &e) == CL_OK)
        return true;
    reply_write_error(rq, workspace_id, key, &e);
    return false;
}

/* §3.4 guard 3: an operator's write of a workspace secret waits for another credential's approval (the workspace's
 * own agent writes without one). The approval allows exactly this write by this credential: the key, and the value
 * by its keyed fingerprint (the value itself never reaches the approval, which operators list). *held after
 * answering 202. */
static cl_err gated_write(http_req *rq, struct write *w, bool *held, cl_error *e)
{
    char fingerprint[SEAL_FINGERPRINT_LEN + 1];
    cl_err r = vault_require(e); /* no key: refuse now rather than hold a write that cannot happen */
    if (r != CL_OK)
        return r;
    vault_fingerprint(w->pair->value, w->pair->len, fingerprint);
    const char *actor = api_caller_actor(rq); /* who asks is part of it: an asker never approves its own write */
    json_t *context = json_own(rq->arena, json_pack("{s:s, s:s, s:s, s:s}", "workspace_id", w->workspace_id, "key",
                                                    w->pair->name, "value_hash", fingerprint, "actor", actor));
    approval_gate g = {w->workspace_id, "secret_write", arena_sprintf(rq->arena, "write secret %s", w->pair->name),
                       actor, context};
    const char *pending = NULL;
    if ((r = approval_gated(rq->db, rq->arena, &g, write_in_gate, w, &pending, e)) != CL_OK)
        return r;
    *held = pending != NULL;
    metric_inc(pending ? METRIC_APPROVAL_GATE_PENDING : METRIC_APPROVAL_GATE_CONSUMED);
    if (pending)
        api_reply_json(rq, 202, json_pack("{s:s, s:s, s:s, s:s}", "status", "pending_approval", "approval_id",
                                          pending, "action", g.action, "reason", g.reason));
    return CL_OK;
}

/* Store one secret and answer as the reference does (a global's answer names its scope). */
static void save(http_req *rq, const char *workspace_id, const secret_pair *p)
{
    struct write w = {workspace_id, p, api_secret_actor(rq)};
    caller_kind kind = api_caller(rq)->kind;
    bool held = false;
    cl_error e;
    cl_err r = workspace_id && gate_on && (kind == CALLER_ADMIN || kind == CALLER_ORG)
                   ? gated_write(rq, &w, &held, &e)
                   : write_in_gate(rq->db, rq->arena, &w, &e);
    if (r != CL_OK) {
        reply_write_error(rq, workspace_id, p->name, &e);
        return;
    }
    if (held)
        return;
    json_t *out = json_pack("{s:s, s:s}", "status", "saved", "key", p->name);
    if (workspace_id == NULL)
        json_object_set_new(out, "scope", json_string("global"));
    api_reply_json(rq, 200, out);
}

void api_secrets_put(http_req *rq)
{
    const char *id;
    ws_row w;
    secret_pair p;
    if (api_workspace_or_reply(rq, &id, &w) && pair_or_reply(rq, &p) &&
        not_platform_managed_key_or_reply(rq, id, p.name) && not_concierge_self_write_or_reply(rq, &w, p.name))
        save(rq, id, &p);
}

void api_global_secrets_put(http_req *rq)
{
    secret_pair p;
    if (pair_or_reply(rq, &p))
        save(rq, NULL, &p);
}

static void delete (http_req *rq, const char *workspace_id, const char *key)
{
    secret_actor by = api_secret_actor(rq);
    cl_error e;
    if (secret_delete(rq->db, rq->arena, workspace_id, key, &by, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    json_t *out = json_pack("{s:s, s:s}", "status", "deleted", "key", key);
    if (workspace_id == NULL)
        json_object_set_new(out, "scope", json_string("global"));
    api_reply_json(rq, 200, out);
}

void api_secrets_delete(http_req *rq)
{
    const char *id, *key;
    if (api_uuid_param_or_reply(rq, "id", "workspace", &id) && key_param_or_reply(rq, &key))
        delete (rq, id, key);
}

void api_global_secrets_delete(http_req *rq)
{
    const char *key;
    if (key_param_or_reply(rq, &key))
        delete (rq, NULL, key);
}

/* ---- values ---- */

/* The reference's re-check: the route's guard let an operator through, but a workspace that holds a live token
 * gets its values only through one of its own tokens (an operator serves a workspace that has none yet). */
static bool own_agent_or_reply(http_req *rq, const char *id)
{
    const caller *c = api_caller(rq);
    if (c->kind == CALLER_WORKSPACE) /* the guard matched it against :id */
        return true;
    bool has = true;
    cl_error e;
    if (token_has_live(rq->db, rq->arena, id, NULL, &has, &e) != CL_OK) {
        api_reply_datastore_unavailable(rq);
        return false;
    }
    if (has)
        api_fail(rq, CL_UNAUTHORIZED, "invalid workspace auth token");
    return !has;
}

void api_secrets_values(http_req *rq)
{
    const char *id;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &id) || !own_agent_or_reply(rq, id))
        return;
    secret_pair *pairs;
    const char **failed;
    size_t n, nfailed;
    cl_error e;
    if (secret_values(rq->db, rq->arena, id, &pairs, &n, &failed, &nfailed, &e) != CL_OK) {
        json_t *extra = NULL;
        if (nfailed > 0) {
            json_t *keys = json_array();
            for (size_t i = 0; i < nfailed; i++)
                json_array_append_new(keys, json_string(failed[i]));
            extra = json_pack("{s:o}", "failed_keys", keys);
        }
        api_fail_with(rq, e.err, e.code, extra, "%s", e.msg);
        return;
    }
    json_t *out = json_object();
    for (size_t i = 0; i < n; i++)
        json_object_set_new(out, pairs[i].name, json_stringn(pairs[i].value, pairs[i].len));
    api_reply_json(rq, 200, out);
}
