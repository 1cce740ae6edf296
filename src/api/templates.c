/* templates.c - see templates.h. Where colony differs from the reference (surface.md §17 item 4): an import checks
 * every file before it writes one and lands whole or not at all, and a name that tries to leave the configs
 * directory ('/', '\', "..") is a 400 instead of being normalised into some other name. */
#include "api/templates.h"

#include <string.h>

#include "api/errors.h"
#include "api/input.h"
#include "api/paging.h"
#include "base/json.h"
#include "model/wstemplate.h"

static const char *configs_dir = "workspace-configs-templates", *plugins_dir = "plugins";

void api_templates_init(const char *configs, const char *plugins)
{
    if (configs != NULL && configs[0] != '\0')
        configs_dir = configs;
    if (plugins != NULL && plugins[0] != '\0')
        plugins_dir = plugins;
}

const char *api_configs_dir(void) { return configs_dir; }
const char *api_plugins_dir(void) { return plugins_dir; }

const char *api_template_dir(http_req *rq, const ws_row *w)
{
    return wstpl_dir_of(rq->arena, configs_dir, w->template_name, w->name);
}

/* GET /templates: every template up to a page of 1,000 (the reference lists them all), limit + cursor past it. */
enum { TEMPLATES_DEFAULT = 1000, TEMPLATES_MAX = 1000 };

void api_reply_dir_list(http_req *rq, const char *dir, api_dir_list_fn list_fn)
{
    int64_t limit;
    api_cursor c;
    if (!api_limit_or_reply(rq, TEMPLATES_DEFAULT, TEMPLATES_MAX, &limit) || !api_cursor_or_reply(rq, "x", &c))
        return;
    const char *last;
    bool more;
    json_t *list = list_fn(rq->arena, dir, c.id, (size_t)limit, &last, &more);
    api_reply_dir_page(rq, list, more, last);
}

void api_templates_list(http_req *rq) { api_reply_dir_list(rq, configs_dir, wstpl_list); }

void api_reply_dir_page(http_req *rq, json_t *list, bool more, const char *last)
{
    if (more)
        api_next_page(rq, api_cursor_text(rq->arena, "x", &(api_cursor){.id = last}));
    api_reply_json(rq, 200, list);
}

bool api_file_map_or_reply(http_req *rq, const json_t *files, ws_file **list, size_t *n)
{
    if (files != NULL && !json_is_null(files) && !json_is_object(files)) {
        api_fail(rq, CL_INVALID, "invalid request body: files must be an object of path: content");
        return false;
    }
    *n = json_object_size(files);
    if (*n > WSFILES_BULK_MAX) {
        api_fail(rq, CL_INVALID, "too many files (%zu), max %d", *n, WSFILES_BULK_MAX);
        return false;
    }
    ws_file *out = arena_calloc(rq->arena, *n + 1, sizeof(*out));
    size_t i = 0;
    const char *path;
    json_t *v;
    cl_error e;
    json_object_foreach((json_t *)files, path, v) {
        if (!json_is_string(v)) {
            api_fail(rq, CL_INVALID, "invalid request body: files[\"%s\"] must be a string", path);
            return false;
        }
        out[i] = (ws_file){path, json_string_value(v), json_string_length(v)};
        if (wsfiles_path_check(path, &e) != CL_OK) {
            api_fail(rq, CL_INVALID, "invalid request body: %s: invalid path", path);
            return false;
        }
        if (wsfiles_content_check(out[i].content, out[i].size, &e) != CL_OK) {
            api_fail(rq, e.err, "%s: %s", path, e.msg);
            return false;
        }
        i++;
    }
    *list = out;
    return true;
}

void api_templates_import(http_req *rq)
{
    json_t *body;
    if (!api_json_object_or_reply(rq, &body))
        return;
    const char *name;
    ws_file *list;
    size_t n;
    if (!api_body_str_or_reply(rq, body, "name", true, "invalid request body", &name) ||
        !api_file_map_or_reply(rq, json_object_get(body, "files"), &list, &n))
        return;
    const char *id;
    cl_error e;
    if (wstpl_import(rq->arena, configs_dir, name, list, n, &id, &e) != CL_OK) {
        if (e.err == CL_CONFLICT)
            api_fail_with(rq, CL_CONFLICT, NULL, json_pack("{s:s}", "id", wstpl_normalize(rq->arena, name)), "%s",
                          e.msg);
        else
            api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 201, json_pack("{s:s, s:s, s:s}", "status", "imported", "id", id, "name", name));
}

void api_templates_refresh(http_req *rq)
{
    /* colony clones no template manifest: what --configs-dir holds is what GET /templates lists */
    api_fail(rq, CL_UNAVAILABLE,
             "template cache refresh is not available: colony fetches no templates; it reads them from --configs-dir");
}
