/* wsconfig.c - see wsconfig.h. */
#include "model/wsconfig.h"

#include <string.h>

#include "base/json.h"
#include "base/time.h"
#include "model/event.h"

static const char SQL_GET[] = "SELECT data FROM workspace_config WHERE workspace_id = $1";
/* the workspace's row lock serialises merges (read, merge, write) and refuses a removed workspace */
static const char SQL_LOCK[] = "UPDATE workspaces SET updated_at = $2 WHERE id = $1 AND status <> 'removed'";
static const char SQL_PUT[] = "INSERT INTO workspace_config (workspace_id, data, updated_at) VALUES ($1, $2, $3)"
                              " ON CONFLICT (workspace_id) DO UPDATE SET data = excluded.data,"
                              " updated_at = excluded.updated_at";
static const char SQL_MODEL[] =
    "UPDATE workspaces SET model = $2, updated_at = $3 WHERE id = $1 AND status <> 'removed'";
static const char SQL_ABILITIES[] =
    "UPDATE workspaces SET broadcast_enabled = COALESCE(CAST($2 AS INTEGER), broadcast_enabled),"
    " talk_to_user_enabled = COALESCE(CAST($3 AS INTEGER), talk_to_user_enabled), updated_at = $4"
    " WHERE id = $1 AND status <> 'removed'";

cl_err wsconfig_get(db_t *db, arena_t *a, const char *ws_id, const char **json_text, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_GET, "s", ws_id);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK)
        *json_text = db_col_dup(st, a, 0);
    db_finish(st);
    if (e == CL_NOT_FOUND) {
        *json_text = "{}";
        return CL_OK;
    }
    return e;
}

static cl_err lock_live(db_t *db, arena_t *a, const char *ws_id, int64_t now, cl_error *err)
{
    int64_t changed = 0;
    cl_err e = db_run(db, a, &changed, err, SQL_LOCK, "si", ws_id, now);
    return e == CL_OK && changed == 0 ? cl_fail(err, CL_NOT_FOUND, "workspace not found") : e;
}

static cl_err announce(db_t *db, arena_t *a, const char *ws_id, json_t *payload, cl_error *err)
{
    json_own(a, payload);
    return event_record(db, a, EV_WORKSPACE_CONFIG_UPDATED, ws_id, json_dump_arena(a, payload, NULL), NULL, err);
}

static cl_err merge(db_t *db, arena_t *a, const char *ws_id, const json_t *patch, cl_error *err)
{
    int64_t now = time_now_ms();
    const char *text;
    json_t *doc;
    cl_err e = lock_live(db, a, ws_id, now, err);
    if (e == CL_OK)
        e = wsconfig_get(db, a, ws_id, &text, err);
    if (e == CL_OK && (json_parse(a, text, strlen(text), &doc, err) != CL_OK || !json_is_object(doc)))
        doc = json_own(a, json_object()); /* never written by colony otherwise; start over rather than fail forever */
    if (e != CL_OK)
        return e;
    json_t *merged = json_own(a, json_copy(doc)), *keys = json_array();
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)patch, key, v) {
        json_object_set(merged, key, v);
        json_array_append_new(keys, json_string(key));
    }
    size_t len;
    const char *out = json_dump_arena(a, merged, &len);
    if (len > WSCONFIG_DOC_MAX) {
        json_decref(keys);
        return cl_fail(err, CL_TOO_LARGE, "config document would exceed %d bytes", WSCONFIG_DOC_MAX);
    }
    if ((e = db_run(db, a, NULL, err, SQL_PUT, "ssi", ws_id, out, now)) != CL_OK) {
        json_decref(keys);
        return e;
    }
    return announce(db, a, ws_id, json_pack("{s:s, s:o}", "kind", "config", "keys", keys), err);
}

cl_err wsconfig_merge(db_t *db, arena_t *a, const char *ws_id, const json_t *patch, cl_error *err)
{
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    return db_tx_end(db, merge(db, a, ws_id, patch, err), err);
}

cl_err wsconfig_seed(db_t *db, arena_t *a, const char *ws_id, const json_t *doc, cl_error *err)
{
    size_t len;
    const char *text = json_dump_arena(a, doc, &len);
    if (len > WSCONFIG_DOC_MAX)
        return cl_fail(err, CL_TOO_LARGE, "config document would exceed %d bytes", WSCONFIG_DOC_MAX);
    return db_run(db, a, NULL, err, SQL_PUT, "ssi", ws_id, text, time_now_ms());
}

cl_err wsconfig_set_model(db_t *db, arena_t *a, const char *ws_id, const char *model, cl_error *err)
{
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    int64_t changed = 0;
    e = db_run(db, a, &changed, err, SQL_MODEL, "ssi", ws_id, model, time_now_ms());
    if (e == CL_OK && changed == 0)
        e = cl_fail(err, CL_NOT_FOUND, "workspace not found");
    if (e == CL_OK)
        e = announce(db, a, ws_id, json_pack("{s:s, s:s}", "kind", "model", "model", model), err);
    return db_tx_end(db, e, err);
}

cl_err wsconfig_set_abilities(db_t *db, arena_t *a, const char *ws_id, const bool *broadcast, const bool *talk_to_user,
                              cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_prepare(db, a, SQL_ABILITIES, &st, err);
    if (e != CL_OK)
        return e;
    db_bind_str(st, 1, ws_id);
    if (broadcast)
        db_bind_int64(st, 2, *broadcast);
    else
        db_bind_null(st, 2);
    if (talk_to_user)
        db_bind_int64(st, 3, *talk_to_user);
    else
        db_bind_null(st, 3);
    db_bind_int64(st, 4, time_now_ms());
    e = db_exec(st, err);
    int64_t changed = e == CL_OK ? db_changes(st) : 0;
    db_finish(st);
    return e == CL_OK && changed == 0 ? cl_fail(err, CL_NOT_FOUND, "workspace not found") : e;
}
