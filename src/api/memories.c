/* memories.c - see memories.h. */
#include "api/memories.h"

#include <stdlib.h>
#include <string.h>

#include "api/errors.h"
#include "api/input.h"
#include "api/paging.h"
#include "base/batch.h"
#include "base/time.h"
#include "model/memory.h"

enum {
    LEGACY_LIMIT = 50,  /* GET /memories: the reference's 50; a smaller limit is honoured */
    TAG_MAX = 50,       /* the legacy namespace tag, echoed and not stored */
};

static const char CURSOR_SHAPE[] = "iiu"; /* rank (score or pin), created_at, id */
#define BAD_BODY "invalid request body"

/* A field of the body as a string (NULL when absent or null); another type answers 400. */
static bool body_str(http_req *rq, const json_t *body, const char *key, const char **out)
{
    const json_t *v = json_object_get(body, key);
    *out = json_is_string(v) ? json_string_value(v) : NULL;
    if (v && !json_is_null(v) && !json_is_string(v)) {
        api_fail(rq, CL_INVALID, BAD_BODY);
        return false;
    }
    return true;
}

/* Group commit of POST /memories (model: mem_commit_group): a worker that parsed a write hands it to the node's
 * group and, when no flush runs, writes everything that gathered meanwhile in one transaction (one commit, and on
 * SQLite one full-text index segment, per group instead of per write), then answers each. A write is a savepoint:
 * 64 at most, the subtransactions a PostgreSQL backend tracks without overflowing to disk. */
enum { MEM_GROUP_MAX = 64 };

typedef struct {
    http_req *rq; /* held until answered */
    mem_scoped w;
    const char *tag;
} mem_waiting;

static batch_t *mem_batch;

static void flush_memories(void *db, void **group, size_t n)
{
    arena_t *a = arena_new();
    mem_scoped *items = arena_calloc(a, n, sizeof(*items));
    for (size_t i = 0; i < n; i++)
        items[i] = ((mem_waiting *)group[i])->w;
    if (db != NULL) {
        mem_commit_group(db, a, items, n);
        db_reset(db); /* nothing stays open on this connection once the requests may be freed elsewhere */
    }
    for (size_t i = 0; i < n; i++) {
        mem_waiting *mw = group[i];
        if (db == NULL)
            api_fail(mw->rq, CL_UNAVAILABLE, "server is shutting down; retry");
        else if (items[i].result != CL_OK)
            api_reply_error(mw->rq, &items[i].err);
        else
            api_reply_json(mw->rq, 201, json_pack("{s:s, s:s, s:s}", "id", items[i].out.id, "scope",
                                                  mem_scope_name(items[i].scope), "namespace",
                                                  mw->tag && mw->tag[0] ? mw->tag : "general"));
        http_req_drop(mw->rq);
        free(mw);
    }
    arena_free(a);
}

void api_memories_init(int flushers) { mem_batch = batch_new(MEM_GROUP_MAX, flush_memories, flushers); }

void api_memories_fini(void)
{
    batch_free(mem_batch);
    mem_batch = NULL;
}

void api_memories_commit(http_req *rq)
{
    const char *ws, *content, *scope_name, *tag;
    json_t *body;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &ws) || !api_json_object_or_reply(rq, &body) ||
        !body_str(rq, body, "content", &content) || !body_str(rq, body, "scope", &scope_name) ||
        !body_str(rq, body, "namespace", &tag))
        return;
    mem_scope scope;
    if (!mem_scope_parse(scope_name, &scope)) {
        api_fail(rq, CL_INVALID, "scope must be LOCAL, TEAM or GLOBAL");
        return;
    }
    if (tag && strlen(tag) > TAG_MAX) {
        api_fail(rq, CL_INVALID, "namespace must be at most %d characters", TAG_MAX);
        return;
    }
    mem_waiting *mw = xcalloc(1, sizeof(*mw));
    mw->rq = http_req_hold(rq);
    mw->w = (mem_scoped){.workspace_id = ws, .scope = scope, .content = content, .source = "user"};
    mw->tag = tag;
    http_defer(rq);
    batch_add(mem_batch, rq->db, mw); /* a worker: it may flush right here */
}

/* `limit` as the reference reads it: absent, malformed or not positive → `def`, above `max` → `max`. */
static int64_t lenient_limit(http_req *rq, int64_t def, int64_t max)
{
    const char *v = http_query(rq, "limit");
    if (v == NULL || *v == '\0')
        return def;
    char *end;
    long long n = strtoll(v, &end, 10);
    if (*end != '\0' || n <= 0)
        return def;
    return n > max ? max : n;
}

static const char *record_cursor(arena_t *a, const void *row)
{
    const mem_record *r = row;
    api_cursor c = {.set = true, .n = {r->has_score ? r->score : r->pin, r->created_at}, .id = r->id};
    return api_cursor_text(a, CURSOR_SHAPE, &c);
}

/* The query's page position; false after answering 400. */
static bool cursor_or_reply(http_req *rq, mem_cursor *out, const mem_cursor **after)
{
    api_cursor c;
    if (!api_cursor_or_reply(rq, CURSOR_SHAPE, &c))
        return false;
    *out = (mem_cursor){c.n[0], c.n[1], c.id};
    *after = c.set ? out : NULL;
    return true;
}

/* Split a comma-separated parameter into at most `max` non-empty items; false (after a 400 naming it) past that. */
static bool list_param(http_req *rq, const char *name, size_t max, const char ***items, size_t *n)
{
    const char *v = http_query(rq, name);
    *items = NULL;
    *n = 0;
    if (v == NULL || *v == '\0')
        return true;
    const char **out = arena_alloc(rq->arena, (max + 1) * sizeof(*out));
    size_t k = 0;
    for (const char *p = v;; p++) {
        size_t len = strcspn(p, ",");
        if (len > 0) {
            if (k == max) {
                api_fail(rq, CL_INVALID, "at most %zu values of %s", max, name);
                return false;
            }
            out[k++] = arena_strndup(rq->arena, p, len);
        }
        p += len;
        if (*p == '\0')
            break;
    }
    *items = out;
    *n = k;
    return true;
}

/* Run the search and answer with it: fn writes the page into the body. */
static bool search_or_reply(http_req *rq, mem_query *q, mem_record **rows, size_t *n)
{
    mem_cursor pos;
    if (!cursor_or_reply(rq, &pos, &q->after))
        return false;
    q->limit += 1; /* one more: is there a next page? */
    cl_error e;
    if (mem_search(rq->db, rq->arena, q, rows, n, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return false;
    }
    q->limit -= 1;
    return true;
}

static void legacy_write(jsonw *w, const void *row)
{
    const mem_record *r = row;
    char at[TIME_RFC3339_MAX];
    time_format_rfc3339(r->created_at, at);
    at[19] = 'Z'; /* whole seconds, as the reference prints it */
    at[20] = '\0';
    jsonw_obj_open(w);
    jsonw_kstr(w, "id", r->id);
    jsonw_kstr(w, "content", r->content);
    jsonw_kstr(w, "scope", mem_scope_of(memns_kind_of(r->namespace)));
    jsonw_kstr(w, "created_at", at);
    jsonw_obj_close(w);
}

/* GET /workspaces/:id/memories: what the canvas Memory tab reads. The fork ignores its parameters (data.md §7.5
 * calls that a bug); colony reads them as April did: scope picks one namespace kind, q searches, limit up to 50. */
void api_memories_list(http_req *rq)
{
    const char *ws;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &ws))
        return;
    mem_query q = {.workspace_id = ws, .query = http_query(rq, "q"), .limit = lenient_limit(rq, LEGACY_LIMIT,
                                                                                            LEGACY_LIMIT)};
    const char *scope_name = http_query(rq, "scope");
    mem_scope scope;
    if (scope_name && scope_name[0]) {
        if (!mem_scope_parse(scope_name, &scope)) {
            api_fail(rq, CL_INVALID, "scope must be LOCAL, TEAM or GLOBAL");
            return;
        }
        q.scopes = 1u << scope; /* the scopes are in the order of the namespace kinds */
    }
    mem_record *rows;
    size_t n;
    if (search_or_reply(rq, &q, &rows, &n))
        api_reply_rows(rq, rows, n, sizeof(*rows), q.limit, legacy_write, record_cursor);
}

static json_t *namespace_json(const memns *ns)
{
    return json_pack("{s:s, s:s, s:s}", "name", ns->name, "kind", memns_kind_name(ns->kind), "label", ns->label);
}

void api_memory_namespaces(http_req *rq)
{
    const char *ws;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &ws))
        return;
    memns_set set;
    cl_error e;
    if (memns_resolve(rq->db, rq->arena, ws, &set, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    json_t *readable = json_array(), *writable = json_array();
    for (int i = 0; i < MEMNS_COUNT; i++) {
        json_array_append_new(readable, namespace_json(&set.ns[i]));
        if (set.ns[i].writable)
            json_array_append_new(writable, namespace_json(&set.ns[i]));
    }
    api_reply_json(rq, 200, json_pack("{s:o, s:o}", "readable", readable, "writable", writable));
}

static void v2_write(jsonw *w, const void *row)
{
    const mem_record *r = row;
    jsonw_obj_open(w);
    jsonw_kstr(w, "id", r->id);
    jsonw_kstr(w, "namespace", r->namespace);
    jsonw_kstr(w, "content", r->content);
    jsonw_kstr(w, "kind", r->kind);
    jsonw_kstr(w, "source", r->source);
    jsonw_kbool(w, "pin", r->pin);
    if (r->expires_at)
        api_jsonw_time(w, "expires_at", r->expires_at);
    api_jsonw_time(w, "created_at", r->created_at);
    if (r->has_score) {
        jsonw_key(w, "score");
        jsonw_real(w, (double)r->score / 1e6);
    }
    if (r->source_workspace_id && r->source_workspace_id[0])
        jsonw_kstr(w, "source_workspace_id", r->source_workspace_id);
    jsonw_obj_close(w);
}

void api_memories_search(http_req *rq)
{
    const char *ws;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &ws))
        return;
    mem_query q = {.workspace_id = ws, .query = http_query(rq, "q"),
                   .limit = lenient_limit(rq, MEM_SEARCH_DEFAULT, MEM_SEARCH_MAX)};
    const char **names, **kinds;
    if (!list_param(rq, "namespace", MEMNS_COUNT * 4, &names, &q.nnamespaces) ||
        !list_param(rq, "kind", 3, &kinds, &q.nkinds))
        return;
    q.namespaces = names;
    q.kinds = kinds;
    mem_record *rows;
    size_t n;
    if (!search_or_reply(rq, &q, &rows, &n))
        return;
    jsonw w;
    api_list_writer(&w);
    jsonw_obj_open(&w);
    jsonw_key(&w, "memories");
    api_write_page(rq, &w, rows, n, sizeof(*rows), q.limit, v2_write, record_cursor);
    jsonw_obj_close(&w);
    api_reply_jsonw(rq, 200, &w);
}

void api_memory_forget(http_req *rq)
{
    const char *ws;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &ws))
        return;
    cl_error e;
    if (mem_forget(rq->db, rq->arena, ws, api_item_id(rq, "memoryId"), NULL, false, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:s}", "status", "deleted"));
}
