/* kvmemory.c - see kvmemory.h. */
#include "api/kvmemory.h"

#include <string.h>

#include "api/errors.h"
#include "api/input.h"
#include "api/paging.h"
#include "base/json.h"
#include "model/kvmem.h"

static void write_entry(jsonw *w, const void *row)
{
    const kv_row *r = row;
    jsonw_obj_open(w);
    jsonw_kstr(w, "key", r->key);
    jsonw_key(w, "value");
    if (!jsonw_stored(w, r->value, true))
        jsonw_null(w);
    jsonw_kint(w, "version", r->version);
    if (r->expires_at)
        api_jsonw_time(w, "expires_at", r->expires_at);
    api_jsonw_time(w, "updated_at", r->updated_at);
    jsonw_obj_close(w);
}

static const char *entry_cursor(arena_t *a, const void *row)
{
    api_cursor c = {.set = true, .id = ((const kv_row *)row)->key};
    return api_cursor_text(a, "x", &c);
}

void api_kv_list(http_req *rq)
{
    const char *ws;
    int64_t limit;
    api_cursor c;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &ws) ||
        !api_limit_or_reply(rq, KV_KEYS_MAX, KV_KEYS_MAX, &limit) || !api_cursor_or_reply(rq, "x", &c))
        return;
    kv_row *rows;
    size_t n;
    cl_error e;
    if (kv_list(rq->db, rq->arena, ws, c.set ? c.id : NULL, limit + 1, &rows, &n, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_rows(rq, rows, n, sizeof(*rows), limit, write_entry, entry_cursor);
}

void api_kv_get(http_req *rq)
{
    const char *ws;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &ws))
        return;
    kv_row r;
    cl_error e;
    if (kv_get(rq->db, rq->arena, ws, http_param_get(rq, "key"), &r, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    jsonw w;
    jsonw_init(&w, 2 * KV_VALUE_MAX + 4096);
    write_entry(&w, &r);
    api_reply_jsonw(rq, 200, &w);
}

void api_kv_set(http_req *rq)
{
    const char *ws;
    json_t *body;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &ws) || !api_json_object_or_reply(rq, &body))
        return;
    const json_t *key = json_object_get(body, "key"), *value = json_object_get(body, "value");
    kv_put p = {.key = json_is_string(key) ? json_string_value(key) : NULL};
    if (key && !json_is_null(key) && !json_is_string(key)) {
        api_fail(rq, CL_INVALID, "key must be a string");
        return;
    }
    if (value != NULL) /* JSON null is a value like any other */
        p.value = json_dump_arena(rq->arena, value, NULL);
    bool present;
    cl_error e;
    if (json_opt_int(body, "ttl_seconds", &p.ttl_s, &present, &e) != CL_OK ||
        json_opt_int(body, "if_match_version", &p.if_match_version, &p.has_version, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    int64_t version;
    kv_mismatch mm;
    if (kv_set(rq->db, rq->arena, ws, &p, &version, &mm, &e) != CL_OK) {
        if (e.err == CL_CONFLICT && e.code == NULL) /* a compare-and-set that found another version */
            api_fail_with(rq, CL_CONFLICT, NULL,
                          json_pack("{s:I, s:o}", "expected_version", (json_int_t)mm.expected, "current_version",
                                    mm.has_current ? json_integer(mm.current) : json_null()),
                          "%s", e.msg);
        else
            api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:s, s:s, s:I}", "status", "ok", "key", p.key, "version", (json_int_t)version));
}

void api_kv_delete(http_req *rq)
{
    const char *ws;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &ws))
        return;
    cl_error e;
    if (kv_delete(rq->db, rq->arena, ws, http_param_get(rq, "key"), &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:s}", "status", "deleted"));
}
