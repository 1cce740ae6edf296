/* plugins.c - see plugins.h. colony runs no containers, so it answers install and uninstall as the reference does
 * without one (503 `workspace container not running`, after the same checks in the same order), and shows what a
 * workspace declares (its org template's `plugins`) where the reference shows what a container has installed.
 * Where it differs: the only source scheme is `local` (the plugins directory; colony fetches nothing remote), the
 * allowlist that applies is that of the workspace's org root (the reference reads the direct parent's, §17), a
 * compatibility check judges the declared plugins, and an empty list is [] (the reference: null). */
#include "api/plugins.h"

#include <string.h>

#include "api/auth.h"
#include "api/errors.h"
#include "api/input.h"
#include "api/paging.h"
#include "api/templates.h"
#include "base/json.h"
#include "model/plugin.h"
#include "model/token.h"

enum { REGISTRY_DEFAULT = 1000, REGISTRY_MAX = 1000 };

static json_t *schemes(void)
{
    json_t *out = json_array();
    for (size_t i = 0; i < PLUGIN_SCHEMES_COUNT; i++)
        json_array_append_new(out, json_string(PLUGIN_SCHEMES[i]));
    return out;
}

/* One page of the registry for `runtime` (NULL: all). */
static void registry_page(http_req *rq, const char *runtime)
{
    int64_t limit;
    api_cursor c;
    if (!api_limit_or_reply(rq, REGISTRY_DEFAULT, REGISTRY_MAX, &limit) || !api_cursor_or_reply(rq, "x", &c))
        return;
    const char *last;
    bool more;
    json_t *list = plugin_registry(rq->arena, api_plugins_dir(), runtime, c.id, (size_t)limit, &last, &more);
    api_reply_dir_page(rq, list, more, last);
}

void api_plugins_registry(http_req *rq)
{
    const char *runtime = http_query(rq, "runtime");
    registry_page(rq, runtime && runtime[0] ? runtime : NULL);
}

void api_plugins_sources(http_req *rq) { api_reply_json(rq, 200, json_pack("{s:o}", "schemes", schemes())); }

void api_ws_plugins_available(http_req *rq)
{
    const char *id;
    ws_row w;
    if (api_live_workspace_or_reply(rq, &id, &w))
        registry_page(rq, w.runtime);
}

/* The registry entry of a declared plugin, or its name alone when the registry no longer has it. */
static json_t *entry(http_req *rq, const char *name)
{
    json_t *info = plugin_info(rq->arena, api_plugins_dir(), name);
    if (info == NULL)
        info = json_pack("{s:s, s:n, s:n, s:n, s:n, s:n, s:n}", "name", name, "version", "description", "author",
                         "tags", "skills", "runtimes");
    return json_own(rq->arena, info);
}

/* The declared plugins of a live workspace; false after answering. */
static bool declared_or_reply(http_req *rq, const char **id, ws_row *w, ws_plugin **rows, size_t *n)
{
    cl_error e;
    if (!api_live_workspace_or_reply(rq, id, w))
        return false;
    if (plugin_declared(rq->db, rq->arena, *id, rows, n, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return false;
    }
    return true;
}

/* A workspace declares at most PLUGIN_DECLARED_MAX plugins: one page holds them all unless a client pages. */
void api_ws_plugins(http_req *rq)
{
    const char *id, *last = NULL;
    ws_row w;
    ws_plugin *rows;
    size_t n;
    int64_t limit;
    api_cursor c;
    if (!api_limit_or_reply(rq, PLUGIN_DECLARED_MAX, PLUGIN_DECLARED_MAX, &limit) ||
        !api_cursor_or_reply(rq, "x", &c) || !declared_or_reply(rq, &id, &w, &rows, &n))
        return;
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++) {
        if (c.set && strcmp(rows[i].name, c.id) <= 0)
            continue;
        if (json_array_size(out) == (size_t)limit) {
            api_next_page(rq, api_cursor_text(rq->arena, "x", &(api_cursor){.id = last}));
            break;
        }
        last = rows[i].name;
        json_t *v = json_copy(entry(rq, rows[i].name));
        json_object_set_new(v, "source", json_string(rows[i].source));
        json_object_set_new(v, "supported_on_runtime", json_boolean(plugin_supports(v, w.runtime)));
        json_array_append_new(out, v);
    }
    api_reply_json(rq, 200, out);
}

void api_ws_plugins_compatibility(http_req *rq)
{
    const char *id, *runtime = http_query(rq, "runtime");
    ws_row w;
    ws_plugin *rows;
    size_t n;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &id))
        return;
    if (runtime == NULL || runtime[0] == '\0') {
        api_fail(rq, CL_INVALID, "runtime query parameter is required");
        return;
    }
    if (!declared_or_reply(rq, &id, &w, &rows, &n))
        return;
    json_t *ok = json_array(), *bad = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *info = entry(rq, rows[i].name);
        json_array_append_new(plugin_supports(info, runtime) ? ok : bad,
                              json_pack("{s:s, s:O}", "name", rows[i].name, "runtimes",
                                        json_object_get(info, "runtimes")));
    }
    api_reply_json(rq, 200, json_pack("{s:s, s:o, s:o, s:b}", "target_runtime", runtime, "compatible", ok,
                                      "incompatible", bad, "all_compatible", json_array_size(bad) == 0));
}

/* A source as the reference answers it: 400 unparsable, 400 with the schemes colony resolves. */
static bool source_or_reply(http_req *rq, const char *text, plugin_source *src)
{
    cl_error e;
    if (plugin_source_parse(rq->arena, text, src, &e) == CL_OK)
        return true;
    if (e.code != NULL && strcmp(e.code, "unknown_scheme") == 0)
        api_fail_with(rq, CL_INVALID, NULL, json_pack("{s:o}", "available_schemes", schemes()), "%s", e.msg);
    else
        api_reply_error(rq, &e);
    return false;
}

static void no_container(http_req *rq) { api_fail(rq, CL_UNAVAILABLE, "workspace container not running"); }

void api_ws_plugin_install(http_req *rq)
{
    const char *id, *text;
    ws_row w;
    json_t *body;
    if (!api_live_workspace_or_reply(rq, &id, &w))
        return;
    if (ws_runtime_external_like(w.runtime)) {
        api_fail_with(rq, CL_UNPROCESSABLE, NULL,
                      json_pack("{s:s}", "hint",
                                "install the plugin where the agent runs (its own plugins directory); external "
                                "runtimes are operator-driven"),
                      "plugin install via push is not supported for external runtimes");
        return;
    }
    if (!api_json_object_or_reply(rq, &body) || !api_body_str_or_reply(rq, body, "source", true,
                                                                       "invalid plugin source", &text))
        return;
    plugin_source src;
    if (!source_or_reply(rq, text, &src))
        return;
    json_t *info = json_own(rq->arena, plugin_info(rq->arena, api_plugins_dir(), src.name));
    if (info == NULL) {
        api_fail_with(rq, CL_NOT_FOUND, NULL, json_pack("{s:s}", "source", text), "failed to fetch plugin from %s",
                      src.scheme);
        return;
    }
    bool allowed = true;
    cl_error e;
    if (plugin_allowed(rq->db, rq->arena, id, src.name, &allowed, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    if (!allowed) {
        api_fail_with(rq, CL_FORBIDDEN, NULL, json_pack("{s:s}", "plugin", src.name),
                      "plugin %s is not in the org's plugin allowlist", src.name);
        return;
    }
    no_container(rq);
}

static bool name_ok(const char *name)
{
    return name != NULL && name[0] != '\0' && strpbrk(name, "/\\") == NULL && strstr(name, "..") == NULL;
}

void api_ws_plugin_uninstall(http_req *rq)
{
    const char *id, *name = http_param_get(rq, "name");
    ws_row w;
    if (!api_live_workspace_or_reply(rq, &id, &w))
        return;
    if (ws_runtime_external_like(w.runtime)) {
        api_fail_with(rq, CL_UNPROCESSABLE, NULL,
                      json_pack("{s:s}", "hint", "remove the plugin where the agent runs; external runtimes are "
                                                 "operator-driven"),
                      "plugin uninstall via docker exec is not supported for external runtimes");
        return;
    }
    if (!name_ok(name)) {
        api_fail(rq, CL_INVALID, "invalid plugin name");
        return;
    }
    no_container(rq);
}

/* The workspace's own token, when it holds any live one (the reference's extra check: the plugin's code goes to
 * the agent itself, not to an operator's credential). */
static bool own_token_or_reply(http_req *rq, const char *id)
{
    bool live = false;
    cl_error e;
    if (token_has_live(rq->db, rq->arena, id, NULL, &live, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return false;
    }
    const caller *c = api_caller(rq);
    if (live && (c->kind != CALLER_WORKSPACE || strcmp(c->workspace_id, id) != 0)) {
        api_fail(rq, CL_UNAUTHORIZED, "invalid workspace auth token");
        return false;
    }
    return true;
}

void api_ws_plugin_download(http_req *rq)
{
    const char *id, *name = http_param_get(rq, "name"), *text = http_query(rq, "source");
    ws_row w;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &id))
        return;
    if (!name_ok(name)) {
        api_fail(rq, CL_INVALID, "invalid plugin name");
        return;
    }
    if (!api_live_workspace_or_reply(rq, &id, &w) || !own_token_or_reply(rq, id))
        return;
    if (text == NULL || text[0] == '\0')
        text = arena_sprintf(rq->arena, "local://%s", name);
    plugin_source src;
    if (!source_or_reply(rq, text, &src))
        return;
    if (strcmp(src.name, name) != 0) {
        api_fail_with(rq, CL_INVALID, NULL,
                      json_pack("{s:s, s:s}", "resolved_name", src.name, "requested_name", name),
                      "plugin source resolves to another plugin");
        return;
    }
    const char *data;
    size_t len;
    cl_error e;
    cl_err r = plugin_pack(rq->arena, api_plugins_dir(), name, &data, &len, &e);
    if (r == CL_NOT_FOUND) {
        api_fail_with(rq, CL_NOT_FOUND, NULL, json_pack("{s:s}", "source", text), "failed to fetch plugin from %s",
                      src.scheme);
        return;
    }
    if (r != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    http_add_header(rq, "content-disposition", arena_sprintf(rq->arena, "attachment; filename=\"%s.tar.gz\"", name));
    http_add_header(rq, "x-plugin-name", name);
    http_add_header(rq, "x-plugin-source", text);
    http_respond(rq, 200, "application/gzip", data, len);
}
