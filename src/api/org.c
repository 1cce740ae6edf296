/* org.c - see org.h. Difference 1: reconcile is scoped to the subtrees this import resolved. Difference 2: every
 * org.import.started gets its org.import.completed. colony also makes an import all-or-nothing (one transaction):
 * a failure leaves no partial tree, so the reference's 207 becomes the failure's own status. */
#include "api/org.h"

#include <stdlib.h>
#include <string.h>

#include "api/auth.h"
#include "api/errors.h"
#include "api/input.h"
#include "api/paging.h"
#include "api/templates.h"
#include "base/id.h"
#include "base/json.h"
#include "base/time.h"
#include "base/utf8.h"
#include "model/orgimport.h"
#include "model/platform.h"
#include "model/workspace.h"

static const char *templates_dir = "org-templates";

void api_org_init(const char *dir)
{
    if (dir != NULL && *dir != '\0')
        templates_dir = dir;
}

/* GET /org/templates: every template (the reference lists them all) up to a page of 1,000, limit + cursor past it. */
void api_org_templates(http_req *rq) { api_reply_dir_list(rq, templates_dir, org_template_list); }

static json_t *items_json(const import_result *r)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < r->count; i++) {
        const import_item *it = &r->items[i];
        json_t *o = json_pack("{s:s, s:s, s:I, s:o}", "id", it->id, "name", it->name, "tier", (json_int_t)it->tier,
                              "parent_id", it->parent_id ? json_string(it->parent_id) : json_null());
        if (it->skipped)
            json_object_set_new(o, "skipped", json_true());
        if (it->nchannels > 0) {
            json_t *types = json_array();
            for (size_t k = 0; k < it->nchannels; k++)
                json_array_append_new(types, json_string(it->channels[k]));
            json_object_set_new(o, "channels", types);
        }
        if (it->nchannels_skipped > 0) {
            json_t *skips = json_array();
            for (size_t k = 0; k < it->nchannels_skipped; k++)
                json_array_append_new(skips, json_pack("{s:s, s:s, s:s}", "workspace", it->name, "type",
                                                       it->channels_skipped[k].type, "reason",
                                                       it->channels_skipped[k].reason));
            json_object_set_new(o, "channels_skipped", skips);
        }
        json_array_append_new(arr, o);
    }
    return arr;
}

/* The fields of a 412 (workspaces.md §4.3): what is missing, and what to do about it. */
static json_t *env_report(const orgenv_report *r, const char *template_name)
{
    json_t *out = json_pack("{s:s}", "template", template_name);
    if (r->missing_env != NULL) {
        json_object_set(out, "missing_env", r->missing_env);
        json_object_set(out, "required_env", r->required_env);
        json_object_set_new(out, "suggestion", json_string("set the missing names as global secrets (PUT "
                                                           "/settings/secrets) and import again"));
    } else {
        json_object_set(out, "missing_workspace_env", r->missing_workspace_env);
        json_object_set_new(out, "suggestion",
                            json_string("set the missing names as global secrets (PUT /settings/secrets), or in the "
                                        "template's .env or the workspace's <files_dir>/.env, and import again"));
    }
    return out;
}

void api_org_import(http_req *rq)
{
    json_t *body;
    if (!api_json_object_or_reply(rq, &body))
        return;
    const char *dir = NULL, *mode = NULL;
    cl_error e;
    if (json_opt_string(body, "dir", &dir, NULL, NULL, &e) != CL_OK ||
        json_opt_string(body, "mode", &mode, NULL, NULL, &e) != CL_OK) {
        api_fail(rq, CL_INVALID, "invalid request body: %s", e.msg);
        return;
    }
    if (mode == NULL || mode[0] == '\0')
        mode = "merge";
    if (strcmp(mode, "merge") != 0 && strcmp(mode, "reconcile") != 0) {
        api_fail(rq, CL_INVALID, "mode must be merge or reconcile");
        return;
    }
    const json_t *inline_tpl = json_object_get(body, "template");
    if (dir == NULL && !json_is_object(inline_tpl)) {
        api_fail(rq, CL_INVALID, "provide 'dir' or 'template'");
        return;
    }
    const char *label = dir ? dir : (json_is_string(json_object_get(inline_tpl, "name"))
                                         ? json_string_value(json_object_get(inline_tpl, "name"))
                                         : "");
    int64_t t0 = org_import_started(rq->db, rq->arena, label, dir, mode);

    org_template t;
    import_result r = {0};
    const char *path;
    cl_err rc = dir ? org_template_path(rq->arena, templates_dir, dir, &path, &e) : CL_OK;
    if (rc == CL_OK)
        rc = dir ? tpl_load_file(rq->arena, path, &t, &e) : tpl_from_json(rq->arena, inline_tpl, &t, &e);
    if (rc == CL_OK && t.name[0] == '\0')
        t.name = label;
    t.configs_dir = api_configs_dir();
    if (rc == CL_OK)
        rc = org_import(rq->db, rq->arena, &t, strcmp(mode, "reconcile") == 0, &r, &e);
    org_import_completed(rq->db, rq->arena, rc == CL_OK ? t.name : label, dir, mode, &r, t0,
                         rc == CL_OK ? NULL : e.msg);
    if (rc == CL_PRECONDITION_FAILED) {
        api_fail_with(rq, rc, NULL, env_report(&r.env, t.name), "%s", e.msg);
        return;
    }
    if (rc != CL_OK) {
        if (rc == CL_INVALID && dir != NULL && strstr(e.msg, "line ") == e.msg) {
            char detail[CL_ERROR_MSG_MAX];
            memcpy(detail, e.msg, sizeof(detail));
            cl_fail(&e, CL_INVALID, "invalid org template: %.200s", detail);
        }
        api_reply_error(rq, &e);
        return;
    }
    json_t *out = json_pack("{s:s, s:o, s:I, s:I, s:I, s:s}", "org", t.name, "workspaces", items_json(&r), "count",
                            (json_int_t)r.count, "created", (json_int_t)r.created, "skipped", (json_int_t)r.skipped,
                            "mode", mode);
    if (strcmp(mode, "reconcile") == 0)
        json_object_set_new(out, "reconcile_removed_count", json_integer(r.removed));
    api_reply_json(rq, 201, out);
}

void api_platform_install(http_req *rq)
{
    json_t *body;
    if (!api_json_object_or_reply(rq, &body))
        return;
    const char *id = NULL, *name = NULL;
    cl_error e;
    if (json_opt_string(body, "id", &id, NULL, NULL, &e) != CL_OK ||
        json_opt_string(body, "name", &name, NULL, NULL, &e) != CL_OK || id == NULL ||
        !id_is_uuid(id, strlen(id))) {
        api_fail(rq, CL_INVALID, "invalid request body: id must be a UUID");
        return;
    }
    if (name == NULL || name[0] == '\0')
        name = "Org Concierge";
    if (ws_validate_name(name, &e) != CL_OK) {
        api_fail(rq, CL_INVALID, "invalid request body: %s", e.msg);
        return;
    }
    const char *lid = id_lower(arena_strdup(rq->arena, id));
    if (platform_install(rq->db, rq->arena, lid, name, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:s, s:s, s:s}", "status", "installed", "platform_agent_id", lid, "kind",
                                      "platform"));
}

/* An org token anchored to an org may only touch that org's allowlist. */
static bool org_access_or_reply(http_req *rq, const char *org_id)
{
    const caller *c = api_caller(rq);
    if (c->kind == CALLER_ORG && (c->org_id == NULL || strcmp(c->org_id, org_id) != 0)) {
        api_fail(rq, CL_FORBIDDEN, "org access denied");
        return false;
    }
    return true;
}

static void reply_allowlist(http_req *rq, const char *org_id)
{
    allowlist_entry *rows;
    size_t n;
    cl_error e;
    if (allowlist_get(rq->db, rq->arena, org_id, &rows, &n, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:s, s:s, s:o}", "plugin_name", rows[i].plugin_name, "enabled_by",
                                             rows[i].enabled_by, "enabled_at", api_json_time(rows[i].enabled_at)));
    api_reply_json(rq, 200, json_pack("{s:s, s:o, s:b}", "org_id", org_id, "plugins", arr, "allow_all", n == 0));
}

void api_allowlist_get(http_req *rq)
{
    const char *org_id;
    if (!api_uuid_param_or_reply(rq, "id", "org", &org_id) || !org_access_or_reply(rq, org_id))
        return;
    reply_allowlist(rq, org_id);
}

void api_allowlist_put(http_req *rq)
{
    const char *org_id;
    json_t *body;
    if (!api_uuid_param_or_reply(rq, "id", "org", &org_id) || !org_access_or_reply(rq, org_id) ||
        !api_json_object_or_reply(rq, &body))
        return;
    const char *by = NULL;
    cl_error e;
    json_t *plugins = json_object_get(body, "plugins");
    if (json_opt_string(body, "enabled_by", &by, NULL, NULL, &e) != CL_OK || by == NULL || by[0] == '\0') {
        api_fail(rq, CL_INVALID, "enabled_by is required");
        return;
    }
    if (!json_is_array(plugins) || json_array_size(plugins) > ALLOWLIST_MAX) {
        api_fail(rq, CL_INVALID, "plugins must be a list of at most %d names", ALLOWLIST_MAX);
        return;
    }
    size_t n = json_array_size(plugins);
    const char **names = arena_calloc(rq->arena, n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(plugins, i);
        if (!json_is_string(v) || !plugin_name_valid(json_string_value(v))) {
            api_fail_with(rq, CL_INVALID, NULL,
                          json_pack("{s:o, s:s}", "plugin_name", json_is_string(v) ? json_incref(v) : json_null(),
                                    "detail", "1-128 characters of A-Z a-z 0-9 . _ @ / -, not starting with '.'"),
                          "invalid plugin name");
            return;
        }
        names[i] = json_string_value(v);
    }
    if (allowlist_put(rq->db, rq->arena, org_id, names, n, by, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    reply_allowlist(rq, org_id);
}

/* An environment value as JSON can carry it ("" when unset or not UTF-8). */
static const char *env_or_empty(const char *name)
{
    const char *v = getenv(name);
    return v && utf8_valid(v, strlen(v)) ? v : "";
}

static bool env_set(const char *name) { return env_or_empty(name)[0] != '\0'; }

void api_org_identity(http_req *rq)
{
    /* a platform LLM proxy: a base URL and a token (surface.md §5); only whether they are set leaves colony */
    bool managed = (env_set("MOLECULE_LLM_BASE_URL") || env_set("OPENAI_BASE_URL")) &&
                   (env_set("MOLECULE_LLM_USAGE_TOKEN") || env_set("OPENAI_API_KEY"));
    api_reply_json(rq, 200, json_pack("{s:s, s:s, s:s, s:b}", "name", env_or_empty("MOLECULE_ORG_NAME"), "slug",
                                      env_or_empty("MOLECULE_ORG_SLUG"), "org_id", env_or_empty("MOLECULE_ORG_ID"),
                                      "platform_managed_available", managed));
}
