/* registry.c - see registry.h. Difference 8: a removed workspace cannot register (410) and emits nothing. */
#include "api/registry.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/auth.h"
#include "api/errors.h"
#include "api/input.h"
#include "api/paging.h"
#include "base/batch.h"
#include "base/json.h"
#include "base/metrics.h"
#include "base/ratelimit.h"
#include "base/time.h"
#include "model/budget.h"
#include "model/registry.h"
#include "model/secret.h"
#include "model/token.h"
#include "model/urlcheck.h"

enum { BOOTSTRAP_LIMIT_SLOTS = 4096 };

static ratelimit *bootstrap_limit;


/* One more anonymous bootstrap from this client's address? An IPv6 client is counted by its /64 (one subscriber's
 * whole prefix), an IPv4 one by its address; false after answering 429. */
static bool bootstrap_allowed(http_req *rq)
{
    static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
    netaddr peer = {0}; /* unknown (family 0): one shared key */
    uint8_t key[RATELIMIT_KEY_LEN] = {0};
    http_peer_address(rq, &peer);
    if (peer.family == 6 && memcmp(peer.b, mapped, 12) == 0) {
        key[0] = 4; /* an IPv4 client of a dual-stack listener: its own address, not the shared ::ffff:0:0/64 */
        memcpy(key + 1, peer.b + 12, 4);
    } else if (peer.family != 0) {
        key[0] = (uint8_t)peer.family;
        memcpy(key + 1, peer.b, peer.family == 4 ? 4 : 8);
    }
    int64_t retry_ms = 0;
    if (bootstrap_limit == NULL || ratelimit_take(bootstrap_limit, key, time_mono_ms(), &retry_ms))
        return true;
    metric_inc(METRIC_REGISTRY_REFUSED_RATE);
    char secs[24];
    snprintf(secs, sizeof(secs), "%lld", (long long)((retry_ms + 999) / 1000));
    http_add_header(rq, "retry-after", secs);
    api_fail(rq, CL_RATE_LIMITED, "too many registrations of new workspaces from this address; retry later");
    return false;
}

/* What the database says of `id`: *exists, and *removed (a tombstone); false after answering 503. */
static bool lookup_or_reply(http_req *rq, const char *id, bool *exists, bool *removed)
{
    ws_row w;
    cl_error e;
    cl_err r = ws_get(rq->db, rq->arena, id, &w, &e);
    if (r != CL_OK && r != CL_NOT_FOUND) {
        api_reply_error(rq, &e);
        return false;
    }
    *exists = r == CL_OK;
    *removed = *exists && strcmp(w.status, "removed") == 0;
    return true;
}

/* The registry gate for workspace `id`; false after answering. A token of `id` itself passes (the common case: one
 * lookup). Otherwise the row decides: removed → 410 for everyone; existing → only an operator (admin or org token)
 * passes, everyone else is 401, even when the workspace holds no live token (all revoked: nobody adopts it
 * anonymously); unknown → an operator passes, and so does an anonymous register (`may_bootstrap`: *bootstrap is set,
 * the model then insists on creating the row), rate-limited per address; anything else on an unknown id is 404. */
static bool gate(http_req *rq, const char *id, bool may_bootstrap, bool *bootstrap)
{
    if (bootstrap != NULL)
        *bootstrap = false;
    const char *bearer = token_from_header(rq->arena, http_header(rq, "authorization"));
    caller c = {0};
    if (bearer != NULL && api_identify(rq, bearer, &c) != CL_OK)
        return false;
    if (c.kind == CALLER_WORKSPACE && strcasecmp(c.workspace_id, id) == 0)
        return true; /* a live token of this live workspace */
    bool exists, removed;
    if (!lookup_or_reply(rq, id, &exists, &removed))
        return false;
    if (removed) {
        api_fail(rq, CL_GONE, "workspace removed");
        return false;
    }
    if (c.kind == CALLER_ADMIN || c.kind == CALLER_ORG)
        return true;
    if (!exists && !may_bootstrap) {
        api_fail(rq, CL_NOT_FOUND, "workspace not found");
        return false;
    }
    if (!exists && bearer == NULL) {
        if (!bootstrap_allowed(rq))
            return false;
        *bootstrap = true;
        return true;
    }
    metric_inc(METRIC_REGISTRY_REFUSED_AUTH);
    api_fail(rq, CL_UNAUTHORIZED, bearer == NULL ? "missing workspace auth token" : "invalid workspace auth token");
    return false;
}

/* A required UUID field of the body, lower-cased. */
static bool uuid_field(http_req *rq, json_t *body, const char *key, const char **out)
{
    const char *v = NULL;
    cl_error e;
    if (json_opt_string(body, key, &v, NULL, NULL, &e) != CL_OK || v == NULL || !id_is_uuid(v, strlen(v))) {
        api_fail(rq, CL_INVALID, "invalid request body: %s must be a workspace UUID", key);
        return false;
    }
    *out = id_lower(arena_strdup(rq->arena, v));
    return true;
}

/* The agent card as bounded JSON object text. */
static bool card_field(http_req *rq, json_t *body, const char **out, const char **card_url)
{
    json_t *card = json_object_get(body, "agent_card");
    if (!json_is_object(card)) {
        api_fail(rq, CL_INVALID, "invalid request body: agent_card must be a JSON object");
        return false;
    }
    size_t len;
    *out = json_dump_arena(rq->arena, card, &len);
    if (len > REG_CARD_MAX) {
        api_fail(rq, CL_TOO_LARGE, "agent_card larger than %d bytes", REG_CARD_MAX);
        return false;
    }
    json_t *u = json_object_get(card, "url");
    *card_url = json_is_string(u) ? json_string_value(u) : NULL;
    return true;
}

void api_registry_register(http_req *rq)
{
    json_t *body;
    if (!api_json_object_or_reply(rq, &body))
        return;
    reg_register r = {0};
    const char *card_url = NULL;
    cl_error e;
    if (!uuid_field(rq, body, "id", &r.id) || !card_field(rq, body, &r.agent_card, &card_url))
        return;
    if (json_opt_string(body, "url", &r.url, NULL, NULL, &e) != CL_OK ||
        json_opt_string(body, "delivery_mode", &r.delivery_mode, NULL, NULL, &e) != CL_OK ||
        json_opt_string(body, "kind", &r.kind, NULL, NULL, &e) != CL_OK) {
        api_fail(rq, CL_INVALID, "invalid request body: %s", e.msg);
        return;
    }
    if (r.delivery_mode && strcmp(r.delivery_mode, "push") != 0 && strcmp(r.delivery_mode, "poll") != 0) {
        api_fail(rq, CL_INVALID, "delivery_mode must be 'push' or 'poll'");
        return;
    }
    if (r.kind && strcmp(r.kind, "workspace") != 0 && strcmp(r.kind, "platform") != 0) {
        api_fail(rq, CL_INVALID, "kind must be 'workspace' or 'platform'");
        return;
    }
    bool bootstrap;
    if (!gate(rq, r.id, true, &bootstrap))
        return;
    r.bootstrap = bootstrap;
    ws_row cur;
    bool known = !bootstrap && ws_get(rq->db, rq->arena, r.id, &cur, &e) == CL_OK;
    const char *mode = r.delivery_mode ? r.delivery_mode : known ? cur.delivery_mode : "push";
    bool push = strcmp(mode, "push") == 0;
    /* only a push agent's URLs are dialled: a poll agent may name a placeholder (remote://no-inbound) */
    if (push && card_url != NULL && card_url[0] && url_check_agent(card_url, &e) != CL_OK) {
        api_fail(rq, CL_INVALID, "workspace agent_card URL not allowed: %s", e.msg);
        return;
    }
    if ((r.url == NULL || r.url[0] == '\0') && card_url != NULL)
        r.url = card_url;
    if (push && (r.url == NULL || r.url[0] == '\0')) {
        api_fail(rq, CL_INVALID, "url is required for push-mode workspaces");
        return;
    }
    if (r.url && r.url[0] && (push ? url_check_agent(r.url, &e) : url_check_placeholder(r.url, &e)) != CL_OK) {
        api_fail(rq, CL_INVALID, "workspace URL not allowed: %s", e.msg);
        return;
    }
    reg_result res;
    if (reg_register_ws(rq->db, rq->arena, &r, &res, &e) != CL_OK) {
        if (e.err == CL_UNAUTHORIZED) /* a bootstrap that lost the race to whoever created the id */
            metric_inc(METRIC_REGISTRY_REFUSED_AUTH);
        api_reply_error(rq, &e);
        return;
    }
    if (bootstrap)
        metric_inc(METRIC_REGISTRY_BOOTSTRAPS);
    json_t *out = json_pack("{s:s, s:s}", "status", "registered", "delivery_mode", res.delivery_mode);
    bool has = true;
    if (token_has_live(rq->db, rq->arena, r.id, "instance", &has, &e) == CL_OK && !has) {
        char plain[ID_TOKEN_LEN + 1];
        token_row tr;
        if (token_mint_workspace(rq->db, rq->arena, r.id, "instance", plain, &tr, &e) == CL_OK)
            json_object_set_new(out, "auth_token", json_string(plain)); /* shown once */
    }
    const char *secret;
    bool minted;
    if (secret_inbound(rq->db, rq->arena, r.id, &secret, &minted, &e) == CL_OK)
        json_object_set_new(out, "platform_inbound_secret", json_string(secret));
    api_reply_json(rq, 200, out);
}

/* Group commit of heartbeats: a proven heartbeat (its workspace's own token) joins the node's batch; the thread
 * that finds no flush running writes every waiting heartbeat in one transaction and answers them all (base/batch.h).
 * The rest (admin/org tokens, bootstrap, unknown or removed ids) take the general path. */
enum { HB_GROUP_MAX = 256, HB_BODY_MAX = 16 * 1024 };

typedef struct {
    http_req *rq; /* held until answered */
    reg_hb_item item;
} hb_waiting;

static batch_t *hb_batch;

static void heartbeat_general(http_req *rq, reg_heartbeat *h)
{
    cl_error e;
    const char *status;
    if (!gate(rq, h->workspace_id, false, NULL))
        return;
    if (reg_heartbeat_ws(rq->db, rq->arena, h, &status, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:s, s:s}", "status", "ok", "workspace_status", status));
}

static void flush_heartbeats(void *db, void **group, size_t n)
{
    if (db == NULL) { /* the server stopped before a worker could write them */
        for (size_t i = 0; i < n; i++) {
            hb_waiting *wt = group[i];
            api_fail(wt->rq, CL_UNAVAILABLE, "server is shutting down; retry");
            http_req_drop(wt->rq);
            free(wt);
        }
        return;
    }
    arena_t *a = arena_new();
    reg_hb_item *items = arena_calloc(a, n, sizeof(*items));
    for (size_t i = 0; i < n; i++)
        items[i] = ((hb_waiting *)group[i])->item;
    cl_error e;
    cl_err rc = reg_heartbeat_group(db, a, items, n, &e);
    db_reset(db); /* nothing of the group stays open on this connection when the requests go */
    for (size_t i = 0; i < n; i++) {
        hb_waiting *wt = group[i];
        http_req *rq = wt->rq;
        if (rc != CL_OK) {
            api_reply_error(rq, &e);
        } else if (items[i].proved) {
            api_reply_json(rq, 200, json_pack("{s:s, s:s}", "status", "ok", "workspace_status", items[i].status));
        } else { /* answered on this thread, with its connection, as the handler would have */
            rq->db = db;
            heartbeat_general(rq, &wt->item.h);
            db_reset(db);
        }
        free(wt);
        http_req_drop(rq);
    }
    arena_free(a);
}

void api_registry_init(long bootstrap_per_minute)
{
    ratelimit_free(bootstrap_limit);
    bootstrap_limit = ratelimit_new(BOOTSTRAP_LIMIT_SLOTS, bootstrap_per_minute);
    hb_batch = batch_new(HB_GROUP_MAX, flush_heartbeats, 1); /* groups take turns anyway (their lock) */
}

void api_registry_fini(void)
{
    batch_free(hb_batch);
    hb_batch = NULL;
    ratelimit_free(bootstrap_limit);
    bootstrap_limit = NULL;
}

/* A worker writes what the loops queued. */
static void drain_heartbeats(void *ctx, void *arg)
{
    (void)arg;
    batch_drain(hb_batch, ctx);
}

static void schedule_drain(void *rq) { http_run_pooled(rq, drain_heartbeats, NULL); }

/* The general path (no token of its own: bootstrap, operators) needs the database: on a worker. */
static void heartbeat_on_worker(void *ctx, void *arg)
{
    hb_waiting *wt = arg;
    http_req *rq = wt->rq;
    if (ctx == NULL) {
        api_fail(rq, CL_UNAVAILABLE, "server is shutting down; retry");
    } else {
        rq->db = ctx;
        heartbeat_general(rq, &wt->item.h);
        db_reset(ctx);
    }
    free(wt);
    http_req_drop(rq);
}

/* The hot path runs on the I/O thread: the body is small and parsed here (no database), and a proven heartbeat
 * only joins the batch, which a worker writes, one group at a time: one hand-off per group, not per request. */
void api_registry_heartbeat(http_req *rq)
{
    json_t *body;
    if (rq->body_len > HB_BODY_MAX) { /* parsing happens on the loop: keep it short */
        api_fail(rq, CL_TOO_LARGE, "heartbeat body larger than %d bytes", HB_BODY_MAX);
        return;
    }
    if (!api_json_object_or_reply(rq, &body))
        return;
    reg_heartbeat h = {0};
    cl_error e;
    bool has_task = false;
    if (!uuid_field(rq, body, "workspace_id", &h.workspace_id))
        return;
    if (json_opt_number(body, "error_rate", &h.error_rate, NULL, &e) != CL_OK ||
        json_opt_string(body, "sample_error", &h.sample_error, NULL, NULL, &e) != CL_OK ||
        /* every integer against its column (INTEGER, BIGINT): one out-of-range value must not reach a group */
        json_opt_int_range(body, "active_tasks", 0, INT32_MAX, &h.active_tasks, NULL, &e) != CL_OK ||
        json_opt_int_range(body, "uptime_seconds", 0, INT64_MAX, &h.uptime_seconds, NULL, &e) != CL_OK ||
        json_opt_string(body, "current_task", &h.current_task, NULL, &has_task, &e) != CL_OK ||
        json_opt_string(body, "runtime_state", &h.runtime_state, NULL, NULL, &e) != CL_OK ||
        json_opt_int(body, "monthly_spend", &h.monthly_spend, NULL, &e) != CL_OK) {
        api_fail(rq, CL_INVALID, "invalid request body: %s", e.msg);
        return;
    }
    /* cents, clamped as the reference does (runtime.md §1.5); 0 (or less) reports nothing */
    h.monthly_spend = h.monthly_spend < 0 ? 0 : h.monthly_spend > BUDGET_LIMIT_MAX ? BUDGET_LIMIT_MAX : h.monthly_spend;
    if (h.error_rate < 0 || h.error_rate > 1 ||
        (h.sample_error && strlen(h.sample_error) > 4096) || (h.current_task && strlen(h.current_task) > 4096)) {
        api_fail(rq, CL_INVALID, "invalid request body: a field is out of range");
        return;
    }
    h.has_current_task = has_task;
    const char *bearer = token_from_header(rq->arena, http_header(rq, "authorization"));
    hb_waiting *wt = xcalloc(1, sizeof(*wt));
    wt->rq = http_req_hold(rq);
    wt->item = (reg_hb_item){h, bearer, false, NULL};
    http_defer(rq);
    if (bearer == NULL || strlen(bearer) > TOKEN_TEXT_MAX)
        http_run_pooled(rq, heartbeat_on_worker, wt);
    else
        batch_add_elsewhere(hb_batch, wt, schedule_drain, rq);
}

void api_registry_update_card(http_req *rq)
{
    json_t *body;
    const char *id, *card, *card_url;
    if (!api_json_object_or_reply(rq, &body) || !uuid_field(rq, body, "workspace_id", &id) ||
        !card_field(rq, body, &card, &card_url) || !gate(rq, id, false, NULL))
        return;
    cl_error e;
    if (card_url && card_url[0] && url_check_agent(card_url, &e) != CL_OK) {
        api_fail(rq, CL_INVALID, "workspace URL not allowed");
        return;
    }
    if (reg_update_card(rq->db, rq->arena, id, card, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:s}", "status", "updated"));
}

/* GET /registry/:id/peers: everything the reference returns for any real family, and limit + cursor past it. */
enum { PEERS_DEFAULT = 1000, PEERS_MAX = 1000 };

static void peer_write(jsonw *jw, const ws_row *w)
{
    jsonw_obj_open(jw);
    jsonw_kstr(jw, "id", w->id);
    jsonw_kstr(jw, "name", w->name);
    jsonw_kstr(jw, "role", w->role && *w->role ? w->role : NULL);
    jsonw_kint(jw, "tier", w->tier);
    jsonw_kstr(jw, "status", w->status);
    jsonw_key(jw, "agent_card");
    if (!jsonw_stored(jw, w->agent_card, false))
        jsonw_null(jw);
    jsonw_kstr(jw, "url", w->url ? w->url : "");
    jsonw_kstr(jw, "parent_id", w->parent_id);
    jsonw_kint(jw, "active_tasks", w->active_tasks);
    jsonw_obj_close(jw);
}

/* A page of peers: rows that pass `q` are written; the cursor is the last row read, written or not, so a filter
 * that passes nothing still moves the next page on. */
typedef struct {
    jsonw w;
    const char *q, *self_id, *self_parent;
    api_cursor last;
    char last_id[ID_UUID_LEN + 1];
} peers_page;

static bool peer_row(void *arg, const ws_row *r)
{
    peers_page *p = arg;
    if (reg_peer_matches(r, p->q)) {
        jsonw_mark m = jsonw_save(&p->w);
        peer_write(&p->w, r);
        if (!api_row_fits(&p->w, &m))
            return false;
    }
    p->last.n[0] = ws_peer_group(p->self_id, p->self_parent, r);
    p->last.n[1] = r->created_at;
    snprintf(p->last_id, sizeof(p->last_id), "%s", r->id);
    return true;
}

void api_registry_discover(http_req *rq)
{
    const char *target;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &target))
        return;
    const char *caller_id = http_header(rq, "x-workspace-id");
    if (caller_id == NULL || !id_is_uuid(caller_id, strlen(caller_id))) {
        api_fail(rq, CL_INVALID, "X-Workspace-ID header is required");
        return;
    }
    caller_id = id_lower((char *)caller_id); /* an arena copy */
    if (!gate(rq, caller_id, false, NULL))
        return;
    bool ok;
    cl_error e;
    if (reg_can_communicate(rq->db, rq->arena, caller_id, target, &ok, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    if (!ok) {
        api_fail(rq, CL_FORBIDDEN, "not authorized to discover this workspace");
        return;
    }
    ws_row w;
    if (ws_get(rq->db, rq->arena, target, &w, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    if (strcmp(w.status, "removed") == 0) { /* a removed workspace discloses nothing, not even its old URL */
        api_fail(rq, CL_GONE, "workspace removed");
        return;
    }
    bool live = strcmp(w.status, "online") == 0 || strcmp(w.status, "degraded") == 0;
    if (w.url == NULL || w.url[0] == '\0' || !live) {
        api_fail_with(rq, CL_UNAVAILABLE, NULL, json_pack("{s:s?}", "status", w.status), "workspace not available");
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:s, s:s, s:s}", "id", w.id, "url", w.url, "name", w.name));
}

void api_registry_peers(http_req *rq)
{
    const char *id;
    int64_t limit;
    api_cursor c;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &id) || !gate(rq, id, false, NULL) ||
        !api_limit_or_reply(rq, PEERS_DEFAULT, PEERS_MAX, &limit) || !api_cursor_or_reply(rq, "iiu", &c))
        return;
    ws_row self;
    cl_error e;
    if (ws_get(rq->db, rq->arena, id, &self, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    peers_page p = {.q = http_query(rq, "q"), .self_id = self.id, .self_parent = self.parent_id, .last.id = p.last_id};
    api_list_writer(&p.w);
    jsonw_arr_open(&p.w);
    ws_key after = {c.n[0], c.n[1], c.id};
    bool more;
    if (ws_peers_page(rq->db, rq->arena, self.id, self.parent_id, c.set ? &after : NULL, limit, peer_row, &p, &more,
                      &e) != CL_OK) {
        jsonw_free(&p.w);
        api_reply_error(rq, &e);
        return;
    }
    api_reply_array_page(rq, &p.w, more, p.last_id[0] != '\0', api_cursor_text(rq->arena, "iiu", &p.last));
}

void api_registry_check_access(http_req *rq)
{
    json_t *body;
    const char *caller_id, *target;
    if (!api_json_object_or_reply(rq, &body) || !uuid_field(rq, body, "caller_id", &caller_id) ||
        !uuid_field(rq, body, "target_id", &target))
        return;
    bool ok = false, known, gone_caller, gone_target;
    cl_error e;
    if (!lookup_or_reply(rq, caller_id, &known, &gone_caller) || !lookup_or_reply(rq, target, &known, &gone_target))
        return;
    /* a removed workspace talks to nobody: its old place in the tree is not disclosed */
    if (!gone_caller && !gone_target &&
        reg_can_communicate(rq->db, rq->arena, caller_id, target, &ok, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:b}", "allowed", ok));
}
