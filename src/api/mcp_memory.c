/* mcp_memory.c - the memory tools of the MCP bridge (data.md §2.7, schedules-mcp.md §8 rows 11-18), through the
 * model functions of the /workspaces/:id/memories and …/v2 routes: the namespaces of the tree decide what the
 * acting workspace reads and writes, every write is redacted, and writes and forgets leave their memory_* activity
 * rows (the model writes them in the same transaction). */
#include <string.h>

#include "api/errors.h"
#include "api/mcp_tools.h"
#include "base/time.h"
#include "model/memns.h"
#include "model/memory.h"

enum {
    RECALL_MAX = 50,                             /* recall_memory: the reference's limit */
    SEARCH_NAMESPACES_MAX = 4 * MEMNS_COUNT,     /* names one search may ask for (the readable ones are three) */
    SEARCH_KINDS_MAX = 3,
};
static const int64_t SUMMARY_TTL_MS = 30LL * 24 * 3600 * 1000; /* commit_summary without expires_at */

/* The scope of the legacy tools: absent or "" (*given false), LOCAL or TEAM; GLOBAL is not for MCP (data.md §2.7). */
static bool arg_scope(mcp_call *c, const char *why, bool *given, mem_scope *scope)
{
    const char *s;
    if (!mcp_arg_opt(c, "scope", &s))
        return false;
    *given = s != NULL;
    if (s != NULL && (!mem_scope_parse(s, scope) || *scope == MEM_SCOPE_GLOBAL)) {
        mcp_fail(c, CL_INVALID, why);
        return false;
    }
    return true;
}

/* commit_memory {content, scope}: into the workspace's namespace of the scope's kind (LOCAL by default) →
 * {"id","scope"}. */
void mcp_commit_memory(mcp_call *c)
{
    const char *content, *ns;
    mem_scope scope = MEM_SCOPE_LOCAL;
    bool given;
    mem_written out;
    cl_error e;
    if (mcp_arg_str(c, "content", true, &content) && arg_scope(c, "scope must be LOCAL or TEAM", &given, &scope) &&
        mcp_ok_or_fail(c, mem_commit_scope(c->rq->db, c->rq->arena, c->self->id, scope, content, "agent", false,
                                           MEM_LOG_WRITE, &out, &ns, &e),
                       &e))
        mcp_done_json(c, json_pack("{s:s, s:s}", "id", out.id, "scope", mem_scope_name(scope)), JSON_COMPACT);
}

/* recall_memory {query, scope}: every readable namespace (no scope), the workspace's (LOCAL), or the workspace's
 * and the team's (TEAM); org memories wrapped as the legacy list shows them → 2-space [{id, content, scope,
 * created_at}] as GET /memories prints them, or "No memories found.". */
void mcp_recall_memory(mcp_call *c)
{
    mem_query q = {.workspace_id = c->self->id, .limit = RECALL_MAX};
    mem_scope scope;
    bool given;
    if (!mcp_arg_str(c, "query", false, &q.query) || !arg_scope(c, "scope must be LOCAL, TEAM or empty", &given,
                                                                  &scope))
        return;
    if (given)
        q.scopes = scope == MEM_SCOPE_LOCAL ? 1u << MEMNS_WORKSPACE : 1u << MEMNS_WORKSPACE | 1u << MEMNS_TEAM;
    mem_record *rows;
    size_t n;
    cl_error e;
    if (!mcp_ok_or_fail(c, mem_search(c->rq->db, c->rq->arena, &q, &rows, &n, &e), &e))
        return;
    if (n == 0) {
        mcp_call_done(c, "No memories found.");
        return;
    }
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++) {
        memns_kind k = memns_kind_of(rows[i].namespace);
        char at[TIME_RFC3339_MAX];
        time_format_rfc3339(rows[i].created_at, at);
        at[19] = 'Z'; /* whole seconds, as the legacy list */
        at[20] = '\0';
        json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s}", "id", rows[i].id, "content",
                                             k == MEMNS_ORG ? mem_wrap_org(c->rq->arena, &rows[i], true)
                                                            : rows[i].content,
                                             "scope", mem_scope_of(k), "created_at", at));
    }
    mcp_done_json(c, out, JSON_INDENT(2));
}

/* expires_at: RFC 3339, or absent (0). `strict` refuses an unparsable one (commit_memory_v2); otherwise it is
 * ignored (commit_summary), as the reference does. */
static bool arg_expiry(mcp_call *c, bool strict, int64_t *ms)
{
    const char *s;
    *ms = 0;
    if (!mcp_arg_opt(c, "expires_at", &s))
        return false;
    if (s != NULL && !time_parse_rfc3339(s, strlen(s), ms)) {
        *ms = 0;
        if (strict) {
            mcp_fail(c, CL_INVALID, "expires_at must be an RFC 3339 time");
            return false;
        }
    }
    return true;
}

/* The write, into the workspace's own namespace when none is named → {"id","namespace"}. */
static void commit(mcp_call *c, mem_write *w)
{
    mem_written out;
    cl_error e;
    if (w->namespace == NULL)
        w->namespace = arena_sprintf(c->rq->arena, "workspace:%s", c->self->id);
    if (mcp_ok_or_fail(c, mem_commit(c->rq->db, c->rq->arena, w, &out, &e), &e))
        mcp_done_json(c, json_pack("{s:s, s:s}", "id", out.id, "namespace", w->namespace), JSON_COMPACT);
}

void mcp_commit_memory_v2(mcp_call *c)
{
    mem_write w = {.workspace_id = c->self->id, .source = "agent", .log = MEM_LOG_WRITE};
    json_t *pin = json_object_get(c->args, "pin");
    if (!mcp_arg_str(c, "content", true, &w.content) || !mcp_arg_opt(c, "namespace", &w.namespace) ||
        !mcp_arg_opt(c, "kind", &w.kind) || !arg_expiry(c, true, &w.expires_at))
        return;
    if (pin != NULL && !json_is_null(pin) && !json_is_boolean(pin)) {
        mcp_fail(c, CL_INVALID, "pin must be a boolean");
        return;
    }
    w.pin = json_is_true(pin);
    commit(c, &w);
}

void mcp_commit_summary(mcp_call *c)
{
    mem_write w = {.workspace_id = c->self->id, .source = "agent", .kind = "summary", .log = MEM_LOG_SUMMARY};
    if (!mcp_arg_str(c, "content", true, &w.content) || !mcp_arg_opt(c, "namespace", &w.namespace) ||
        !arg_expiry(c, false, &w.expires_at))
        return;
    if (w.expires_at == 0)
        w.expires_at = time_now_ms() + SUMMARY_TTL_MS;
    commit(c, &w);
}

/* An argument that is an array of at most `max` strings (none when absent or null). */
static bool arg_strings(mcp_call *c, const char *key, size_t max, const char *const **out, size_t *n)
{
    json_t *v = json_object_get(c->args, key), *x;
    size_t i;
    *out = NULL;
    *n = 0;
    if (v == NULL || json_is_null(v))
        return true;
    bool ok = json_is_array(v) && json_array_size(v) <= max;
    json_array_foreach(v, i, x) ok = ok && json_is_string(x);
    if (!ok) {
        mcp_fail(c, CL_INVALID, arena_sprintf(c->rq->arena, "%s must be an array of at most %zu strings", key, max));
        return false;
    }
    const char **items = arena_alloc(c->rq->arena, (json_array_size(v) + 1) * sizeof(*items));
    json_array_foreach(v, i, x) items[i] = json_string_value(x);
    *out = items;
    *n = json_array_size(v);
    return true;
}

/* A memory as GET …/v2/memories shows it; an org memory's content wrapped (data.md §2.7). */
static json_t *record_json(arena_t *a, const mem_record *r)
{
    json_t *m = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}", "id", r->id, "namespace", r->namespace, "content",
                          memns_kind_of(r->namespace) == MEMNS_ORG ? mem_wrap_org(a, r, false) : r->content, "kind",
                          r->kind, "source", r->source, "pin", r->pin);
    if (r->expires_at)
        json_object_set_new(m, "expires_at", api_json_time(r->expires_at));
    json_object_set_new(m, "created_at", api_json_time(r->created_at));
    if (r->has_score)
        json_object_set_new(m, "score", json_real((double)r->score / 1e6));
    if (r->source_workspace_id && r->source_workspace_id[0])
        json_object_set_new(m, "source_workspace_id", json_string(r->source_workspace_id));
    return m;
}

/* search_memory {query, namespaces, kinds, limit (50, at most 100)} → {"memories":[…]}. */
void mcp_search_memory(mcp_call *c)
{
    mem_query q = {.workspace_id = c->self->id, .limit = MEM_SEARCH_DEFAULT};
    json_t *limit = json_object_get(c->args, "limit");
    if (!mcp_arg_str(c, "query", false, &q.query) ||
        !arg_strings(c, "namespaces", SEARCH_NAMESPACES_MAX, &q.namespaces, &q.nnamespaces) ||
        !arg_strings(c, "kinds", SEARCH_KINDS_MAX, &q.kinds, &q.nkinds))
        return;
    if (limit != NULL && !json_is_null(limit) && !json_is_integer(limit)) {
        mcp_fail(c, CL_INVALID, "limit must be an integer");
        return;
    }
    if (json_is_integer(limit) && json_integer_value(limit) > 0) /* else the default, as the REST route */
        q.limit = json_integer_value(limit) > MEM_SEARCH_MAX ? MEM_SEARCH_MAX : json_integer_value(limit);
    mem_record *rows;
    size_t n;
    cl_error e;
    if (!mcp_ok_or_fail(c, mem_search(c->rq->db, c->rq->arena, &q, &rows, &n, &e), &e))
        return;
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, record_json(c->rq->arena, &rows[i]));
    mcp_done_json(c, json_pack("{s:o}", "memories", list), JSON_COMPACT);
}

/* The namespaces of the workspace, in the resolver's order → 2-space [{name, kind, description, writable,
 * display_name?}]. */
static void list_namespaces(mcp_call *c, bool writable_only)
{
    memns_set set;
    cl_error e;
    if (!mcp_ok_or_fail(c, memns_resolve(c->rq->db, c->rq->arena, c->self->id, &set, &e), &e))
        return;
    json_t *out = json_array();
    for (int i = 0; i < MEMNS_COUNT; i++) {
        const memns *ns = &set.ns[i];
        if (writable_only && !ns->writable)
            continue;
        json_t *m = json_pack("{s:s, s:s, s:s, s:b}", "name", ns->name, "kind", memns_kind_name(ns->kind),
                              "description", ns->label, "writable", ns->writable);
        if (ns->display_name != NULL)
            json_object_set_new(m, "display_name", json_string(ns->display_name));
        json_array_append_new(out, m);
    }
    mcp_done_json(c, out, JSON_INDENT(2));
}

void mcp_list_writable_namespaces(mcp_call *c) { list_namespaces(c, true); }
void mcp_list_readable_namespaces(mcp_call *c) { list_namespaces(c, false); }

/* forget_memory {memory_id, namespace (the workspace's own by default)} → {"forgotten":true}. */
void mcp_forget_memory(mcp_call *c)
{
    const char *id, *ns;
    cl_error e;
    if (mcp_arg_str(c, "memory_id", true, &id) && mcp_arg_opt(c, "namespace", &ns) &&
        mcp_ok_or_fail(c, mem_forget(c->rq->db, c->rq->arena, c->self->id, id, ns, true, &e), &e))
        mcp_call_done(c, "{\"forgotten\":true}");
}
