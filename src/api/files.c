/* files.c - see files.h. The reference reads and writes these in a container (or over SSH); colony, which runs
 * none, keeps them in its database and answers with the same shapes. Where it differs: writes work (the reference
 * without Docker: 500 "docker not available"), `root` is honoured on writes too (the reference's local containers
 * always write /configs), a file over WSFILES_FILE_MAX is a 413, and a removed workspace is a 404. */
#include "api/files.h"

#include <string.h>

#include "api/errors.h"
#include "api/input.h"
#include "api/paging.h"
#include "api/templates.h"
#include "model/wsfiles.h"

enum { LIST_DEFAULT = 5000, LIST_MAX = 5000 };

/* ?root= (default /configs): false after answering (/agent-home is the reference's stub, 501). */
static bool root_or_reply(http_req *rq, const char **root)
{
    const char *r = http_query(rq, "root");
    *root = r && r[0] ? r : WSFILES_CONFIGS;
    if (strcmp(*root, "/agent-home") == 0) {
        api_fail(rq, CL_NOT_IMPLEMENTED, "/agent-home is not served by this platform");
        return false;
    }
    if (!wsfiles_root_valid(*root)) {
        api_fail(rq, CL_INVALID, "invalid root: must be one of /configs, /workspace, /home, /plugins");
        return false;
    }
    return true;
}

static bool path_or_reply(http_req *rq, const char *path)
{
    cl_error e;
    if (wsfiles_path_check(path, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return false;
    }
    return true;
}

/* The workspace, root and (path routes) the path of a file request; false after answering. */
static bool target_or_reply(http_req *rq, bool with_path, const char **id, ws_row *w, const char **root,
                            const char **path)
{
    if (!api_uuid_param_or_reply(rq, "id", "workspace", id) || !root_or_reply(rq, root))
        return false;
    *path = with_path ? http_param_get(rq, "path") : NULL;
    if (with_path && !path_or_reply(rq, *path))
        return false;
    return api_live_workspace_or_reply(rq, id, w);
}

void api_files_list(http_req *rq)
{
    const char *id, *root, *dir = http_query(rq, "path"), *path;
    ws_row w;
    int64_t depth, limit;
    api_cursor c;
    if (!target_or_reply(rq, false, &id, &w, &root, &path) ||
        !api_query_int_or_reply(rq, "depth", 1, 1, WSFILES_DEPTH_MAX, &depth) ||
        !api_limit_or_reply(rq, LIST_DEFAULT, LIST_MAX, &limit) || !api_cursor_or_reply(rq, "x", &c))
        return;
    if (dir != NULL && dir[0] != '\0' && !path_or_reply(rq, dir))
        return;
    ws_file *files;
    size_t n, count;
    bool own;
    cl_error e;
    if (wsfiles_view(rq->db, rq->arena, &w, api_template_dir(rq, &w), root, false, &files, &n, &own, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    ws_entry *entries;
    wsfiles_entries(rq->arena, files, n, dir, (int)depth, &entries, &count);
    json_t *out = json_array();
    const char *last = NULL;
    for (size_t i = 0; i < count; i++) {
        if (c.set && strcmp(entries[i].path, c.id) <= 0)
            continue;
        if (json_array_size(out) == (size_t)limit) {
            api_next_page(rq, api_cursor_text(rq->arena, "x", &(api_cursor){.id = last}));
            break;
        }
        json_array_append_new(out, json_pack("{s:s, s:I, s:b}", "path", entries[i].path, "size",
                                             (json_int_t)entries[i].size, "dir", entries[i].dir));
        last = entries[i].path;
    }
    api_reply_json(rq, 200, out);
}

void api_file_get(http_req *rq)
{
    const char *id, *root, *path;
    ws_row w;
    if (!target_or_reply(rq, true, &id, &w, &root, &path))
        return;
    ws_file f;
    cl_error e;
    if (wsfiles_read(rq->db, rq->arena, &w, api_template_dir(rq, &w), root, path, &f, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:s, s:s%, s:I}", "path", path, "content", f.content, f.size, "size",
                                      (json_int_t)f.size));
}

void api_file_put(http_req *rq)
{
    const char *id, *root, *path;
    ws_row w;
    json_t *body;
    if (!target_or_reply(rq, true, &id, &w, &root, &path) || !api_json_object_or_reply(rq, &body))
        return;
    const json_t *content = json_object_get(body, "content");
    if (!json_is_string(content)) {
        api_fail(rq, CL_INVALID, "invalid request body: content must be a string");
        return;
    }
    ws_file f = {path, json_string_value(content), json_string_length(content)};
    cl_error e;
    if (wsfiles_content_check(f.content, f.size, &e) != CL_OK ||
        wsfiles_write(rq->db, rq->arena, &w, api_template_dir(rq, &w), root, &f, 1, false, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:s, s:s}", "status", "saved", "path", path));
}

void api_file_delete(http_req *rq)
{
    const char *id, *root, *path;
    ws_row w;
    if (!target_or_reply(rq, true, &id, &w, &root, &path))
        return;
    int64_t n;
    cl_error e;
    if (wsfiles_delete(rq->db, rq->arena, &w, api_template_dir(rq, &w), root, path, &n, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:s, s:s}", "status", "deleted", "path", path));
}

/* PUT /workspaces/:id/files {files:{path:content}}: every file checked before anything is written, then one
 * transaction; a default config.yaml is added when none is stored after. */
void api_files_replace(http_req *rq)
{
    const char *id, *root, *unused;
    ws_row w;
    json_t *body;
    if (!target_or_reply(rq, false, &id, &w, &root, &unused) || !api_json_object_or_reply(rq, &body))
        return;
    const json_t *files = json_object_get(body, "files");
    ws_file *list;
    size_t n;
    cl_error e;
    if (!json_is_object(files)) {
        api_fail(rq, CL_INVALID, "invalid request body: files must be an object of path: content");
        return;
    }
    if (!api_file_map_or_reply(rq, files, &list, &n))
        return;
    if (wsfiles_write(rq->db, rq->arena, &w, api_template_dir(rq, &w), root, list, n, true, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:s, s:s, s:I, s:s}", "status", "replaced", "workspace", id, "files",
                                      (json_int_t)n, "source", "database"));
}
