/* memadmin.c - see memadmin.h. */
#include "api/memadmin.h"

#include <string.h>

#include "api/errors.h"
#include "api/paging.h"
#include "base/json.h"
#include "base/time.h"
#include "model/memadmin.h"
#include "model/memory.h"

static void export_write(jsonw *w, const void *row)
{
    const mem_export_row *r = row;
    jsonw_obj_open(w);
    jsonw_kstr(w, "id", r->id);
    jsonw_kstr(w, "content", r->content);
    jsonw_kstr(w, "scope", r->scope);
    jsonw_kstr(w, "namespace", r->namespace);
    api_jsonw_time(w, "created_at", r->created_at);
    jsonw_kstr(w, "workspace_name", r->workspace_name);
    jsonw_kstr(w, "kind", r->kind);
    jsonw_kstr(w, "source", r->source);
    jsonw_kbool(w, "pin", r->pin);
    if (r->expires_at)
        api_jsonw_time(w, "expires_at", r->expires_at);
    jsonw_obj_close(w);
}

static const char *export_cursor(arena_t *a, const void *row)
{
    api_cursor c = {.set = true, .n = {((const mem_export_row *)row)->seq}};
    return api_cursor_text(a, "i", &c);
}

void api_memories_export(http_req *rq)
{
    int64_t limit;
    api_cursor c;
    if (!api_limit_or_reply(rq, MEM_EXPORT_DEFAULT, MEM_EXPORT_MAX, &limit) || !api_cursor_or_reply(rq, "i", &c))
        return;
    mem_export_row *rows;
    size_t n;
    cl_error e;
    if (mem_export(rq->db, rq->arena, c.set ? c.n[0] : 0, limit + 1, &rows, &n, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_rows(rq, rows, n, sizeof(*rows), limit, export_write, export_cursor);
}

/* Field `key` of entry `i` as a string (NULL when absent or null); false, with *why set, for another type. */
static bool entry_str(const json_t *o, const char *key, size_t i, const char **out, cl_error *why)
{
    const json_t *v = json_object_get(o, key);
    *out = json_is_string(v) ? json_string_value(v) : NULL;
    if (v && !json_is_null(v) && !json_is_string(v)) {
        cl_fail(why, CL_INVALID, "entry %zu: %s must be a string", i, key);
        return false;
    }
    return true;
}

/* A time field of entry `i` (RFC 3339) in ms, 0 when absent or empty. */
static bool entry_time(const json_t *o, const char *key, size_t i, int64_t *out, cl_error *why)
{
    const char *s;
    *out = 0;
    if (!entry_str(o, key, i, &s, why))
        return false;
    if (s && s[0] && !time_parse_rfc3339(s, strlen(s), out)) {
        cl_fail(why, CL_INVALID, "entry %zu: %s must be an RFC 3339 time", i, key);
        return false;
    }
    return true;
}

static bool entry(const json_t *o, size_t i, mem_import_entry *out, cl_error *why)
{
    memset(out, 0, sizeof(*out));
    if (!json_is_object(o)) {
        cl_fail(why, CL_INVALID, "entry %zu must be an object", i);
        return false;
    }
    const json_t *pin = json_object_get(o, "pin");
    if (pin && !json_is_null(pin) && !json_is_boolean(pin)) {
        cl_fail(why, CL_INVALID, "entry %zu: pin must be a boolean", i);
        return false;
    }
    out->pin = json_is_true(pin);
    return entry_str(o, "content", i, &out->content, why) && entry_str(o, "scope", i, &out->scope, why) &&
           entry_str(o, "namespace", i, &out->namespace, why) &&
           entry_str(o, "workspace_name", i, &out->workspace_name, why) && entry_str(o, "id", i, &out->id, why) &&
           entry_str(o, "kind", i, &out->kind, why) && entry_str(o, "source", i, &out->source, why) &&
           entry_time(o, "created_at", i, &out->created_at, why) &&
           entry_time(o, "expires_at", i, &out->expires_at, why);
}

void api_memories_import(http_req *rq)
{
    json_t *body;
    cl_error e;
    if (json_parse(rq->arena, rq->body ? rq->body : "", rq->body_len, &body, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    if (!json_is_array(body)) {
        api_fail(rq, CL_INVALID, "invalid request body: expected an array of memories");
        return;
    }
    size_t n = json_array_size(body);
    if (n > MEM_IMPORT_MAX) {
        api_fail(rq, CL_TOO_LARGE, "at most %d memories per import", MEM_IMPORT_MAX);
        return;
    }
    mem_import_entry *entries = arena_calloc(rq->arena, n ? n : 1, sizeof(*entries));
    for (size_t i = 0; i < n; i++)
        if (!entry(json_array_get(body, i), i, &entries[i], &e)) {
            api_reply_error(rq, &e);
            return;
        }
    mem_import_result r;
    if (mem_import(rq->db, rq->arena, entries, n, &r, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:I, s:I, s:I, s:I}", "imported", (json_int_t)r.imported, "skipped",
                                      (json_int_t)r.skipped, "errors", (json_int_t)r.errors, "total",
                                      (json_int_t)r.total));
}
