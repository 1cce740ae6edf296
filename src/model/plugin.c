/* plugin.c - see plugin.h. */
#include "model/plugin.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/dirpage.h"
#include "base/fsread.h"
#include "base/json.h"
#include "base/targz.h"
#include "base/time.h"
#include "base/utf8.h"
#include "base/yaml.h"
#include "model/platform.h"
#include "model/workspace.h"
#include "model/wsfiles.h"

const char *const PLUGIN_SCHEMES[] = {"local"};
const size_t PLUGIN_SCHEMES_COUNT = sizeof(PLUGIN_SCHEMES) / sizeof(PLUGIN_SCHEMES[0]);

static const char SQL_DECLARE[] = "INSERT INTO workspace_plugins (workspace_id, name, source, created_at)"
                                  " VALUES ($1, $2, $3, $4) ON CONFLICT (workspace_id, name) DO NOTHING";
static const char SQL_DECLARED[] = "SELECT name, source FROM workspace_plugins WHERE workspace_id = $1";
static const char SQL_ALLOWLIST[] =
    "SELECT count(*), COALESCE(sum(CASE WHEN plugin_name = $2 THEN 1 ELSE 0 END), 0) FROM org_plugin_allowlist"
    " WHERE org_id = $1";

/* A plugin directory name: a plugin name (platform.h) that is one path component. */
static bool dir_name_ok(const char *name)
{
    return name != NULL && plugin_name_valid(name) && strchr(name, '/') == NULL && name[0] != '.';
}

/* Read a whole regular file (no symlink at its end) of at most `max` bytes into `a`. */
static bool slurp(arena_t *a, const char *path, size_t max, char **out, size_t *len)
{
    cl_error ignored;
    return fs_read_file(a, path, max, out, len, &ignored) == CL_OK;
}

static bool is_dir(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static json_t *field(const json_t *doc, const char *key, bool list)
{
    const json_t *v = json_object_get(doc, key);
    if (list ? json_is_array(v) : json_is_string(v))
        return json_deep_copy(v);
    return json_null();
}

json_t *plugin_info(arena_t *a, const char *dir, const char *name)
{
    if (!dir_name_ok(name) || !is_dir(arena_sprintf(a, "%s/%s", dir, name)))
        return NULL;
    char *text;
    size_t len;
    json_t *doc = NULL;
    cl_error e;
    if (!slurp(a, arena_sprintf(a, "%s/%s/plugin.yaml", dir, name), PLUGIN_YAML_MAX, &text, &len) ||
        !utf8_valid(text, len) || yaml_parse(a, text, len, &doc, &e) != CL_OK || !json_is_object(doc))
        doc = NULL; /* a directory without a readable plugin.yaml is still a plugin, described by its name */
    return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "name", name, "version", field(doc, "version", false),
                     "description", field(doc, "description", false), "author", field(doc, "author", false), "tags",
                     field(doc, "tags", true), "skills", field(doc, "skills", true), "runtimes",
                     field(doc, "runtimes", true));
}

/* Runtime names compare with '-' and '_' alike. */
static bool same_runtime(const char *x, const char *y)
{
    for (; *x && *y; x++, y++) {
        char cx = *x == '_' ? '-' : *x, cy = *y == '_' ? '-' : *y;
        if (cx != cy)
            return false;
    }
    return *x == *y;
}

bool plugin_supports(const json_t *info, const char *runtime)
{
    const json_t *list = json_object_get(info, "runtimes");
    if (!json_is_array(list) || json_array_size(list) == 0 || runtime == NULL)
        return true;
    size_t i;
    const json_t *v;
    json_array_foreach(list, i, v) {
        if (json_is_string(v) && same_runtime(json_string_value(v), runtime))
            return true;
    }
    return false;
}

typedef struct {
    const char *dir, *runtime;
} registry_ctx;

static json_t *registry_item(arena_t *a, void *arg, const char *name)
{
    const registry_ctx *c = arg;
    json_t *info = plugin_info(a, c->dir, name);
    if (info != NULL && !plugin_supports(info, c->runtime)) {
        json_decref(info);
        info = NULL;
    }
    return info;
}

json_t *plugin_registry(arena_t *a, const char *dir, const char *runtime, const char *after, size_t limit,
                        const char **last, bool *more)
{
    registry_ctx c = {dir, runtime};
    return dirpage_list(a, dir, after, limit, PLUGIN_DIR_MAX, registry_item, &c, last, more);
}

cl_err plugin_source_parse(arena_t *a, const char *text, plugin_source *out, cl_error *err)
{
    size_t n = text ? strlen(text) : 0;
    if (n == 0 || n > PLUGIN_SOURCE_MAX || !utf8_valid(text, n))
        return cl_fail(err, CL_INVALID, "invalid plugin source");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)text[i] <= ' ' || text[i] == 0x7f)
            return cl_fail(err, CL_INVALID, "invalid plugin source");
    const char *sep = strstr(text, "://");
    if (sep == NULL) { /* a bare name means local://<name> */
        if (!dir_name_ok(text))
            return cl_fail(err, CL_INVALID, "invalid plugin source");
        *out = (plugin_source){"local", text, text};
        return CL_OK;
    }
    size_t sl = (size_t)(sep - text);
    if (sl == 0 || sep[3] == '\0' || !(text[0] >= 'a' && text[0] <= 'z') ||
        strspn(text, "abcdefghijklmnopqrstuvwxyz0123456789+.-") != sl)
        return cl_fail(err, CL_INVALID, "invalid plugin source");
    out->scheme = arena_strndup(a, text, sl);
    out->spec = sep + 3;
    if (strcmp(out->scheme, "local") != 0)
        return cl_fail_code(err, CL_INVALID, "unknown_scheme", "failed to resolve plugin source");
    if (!dir_name_ok(out->spec))
        return cl_fail(err, CL_INVALID, "invalid plugin source");
    out->name = out->spec;
    return CL_OK;
}

/* ---- the archive ------------------------------------------------------------------------------------------- */

typedef struct {
    arena_t *a;
    const char *root;
    targz *tar;
    size_t entries;
} pack;

static int by_str(const void *x, const void *y) { return strcmp(*(const char *const *)x, *(const char *const *)y); }

static cl_err add_tree(pack *p, const char *rel, int depth, cl_error *err)
{
    const char *dir = rel[0] ? arena_sprintf(p->a, "%s/%s", p->root, rel) : p->root;
    DIR *d = opendir(dir);
    if (d == NULL)
        return CL_OK;
    const char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0 || wsfiles_ignored(ent->d_name))
            continue;
        if (++p->entries > PLUGIN_PACK_FILES) {
            closedir(d);
            return cl_fail(err, CL_TOO_LARGE, "staged plugin exceeds size limit");
        }
        names = arena_grow(p->a, names, n, &cap, sizeof(char *));
        names[n++] = arena_strdup(p->a, ent->d_name);
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof(*names), by_str); /* a stable archive for the same directory */
    for (size_t i = 0; i < n; i++) {
        const char *path = rel[0] ? arena_sprintf(p->a, "%s/%s", rel, names[i]) : names[i];
        const char *full = arena_sprintf(p->a, "%s/%s", p->root, path);
        struct stat sb;
        targz_status s = TARGZ_OK;
        if (lstat(full, &sb) != 0 || S_ISLNK(sb.st_mode)) /* a symlink could reach outside the plugin: left out */
            continue;
        if (S_ISDIR(sb.st_mode)) {
            if (depth >= PLUGIN_PACK_DEPTH)
                continue;
            if ((s = targz_add_dir(p->tar, path)) == TARGZ_OK) {
                cl_err e = add_tree(p, path, depth + 1, err);
                if (e != CL_OK)
                    return e;
            }
        } else if (S_ISREG(sb.st_mode)) {
            char *data;
            size_t len;
            if ((uint64_t)sb.st_size > PLUGIN_PACK_MAX)
                return cl_fail(err, CL_TOO_LARGE, "staged plugin exceeds size limit");
            if (!slurp(p->a, full, PLUGIN_PACK_MAX, &data, &len))
                continue;
            s = targz_add_file(p->tar, path, data, len);
        }
        if (s == TARGZ_TOO_LARGE)
            return cl_fail(err, CL_TOO_LARGE, "staged plugin exceeds size limit");
        /* TARGZ_BAD_NAME: a name tar cannot carry is left out */
    }
    return CL_OK;
}

cl_err plugin_pack(arena_t *a, const char *dir, const char *name, const char **data, size_t *len, cl_error *err)
{
    const char *root = arena_sprintf(a, "%s/%s", dir, name ? name : "");
    if (!dir_name_ok(name) || !is_dir(root))
        return cl_fail(err, CL_NOT_FOUND, "plugin not found");
    targz tar;
    targz_init(&tar, PLUGIN_PACK_MAX, time_now_ms() / 1000);
    pack p = {a, root, &tar, 0};
    cl_err e = add_tree(&p, "", 0, err);
    if (e == CL_OK && targz_finish(&tar, a, data, len) != TARGZ_OK)
        e = cl_fail(err, CL_TOO_LARGE, "staged plugin exceeds size limit");
    targz_free(&tar);
    return e;
}

/* ---- the org's allowlist and declared plugins ---------------------------------------------------------------- */

cl_err plugin_allowed(db_t *db, arena_t *a, const char *ws_id, const char *name, bool *ok, cl_error *err)
{
    const char *org;
    db_stmt_t *st = NULL;
    cl_err e = ws_org_root(db, a, ws_id, &org, err);
    if (e == CL_OK && (e = db_query(db, a, &st, err, SQL_ALLOWLIST, "ss", org, name)) == CL_OK &&
        (e = db_one(st, err)) == CL_OK)
        *ok = db_col_int64(st, 0) == 0 || db_col_int64(st, 1) > 0;
    db_finish(st);
    return e;
}

cl_err plugin_declare(db_t *db, arena_t *a, const char *ws_id, const char *const *names, size_t n, cl_error *err)
{
    int64_t now = time_now_ms();
    cl_err e = CL_OK;
    for (size_t i = 0; e == CL_OK && i < n; i++)
        e = db_run(db, a, NULL, err, SQL_DECLARE, "sssi", ws_id, names[i], arena_sprintf(a, "local://%s", names[i]),
                   now);
    return e;
}

static int by_plugin(const void *x, const void *y)
{
    return strcmp(((const ws_plugin *)x)->name, ((const ws_plugin *)y)->name);
}

cl_err plugin_declared(db_t *db, arena_t *a, const char *ws_id, ws_plugin **rows, size_t *n, cl_error *err)
{
    db_stmt_t *st;
    ws_plugin *out = NULL;
    size_t k = 0, cap = 0;
    bool row = true;
    cl_err e = db_query(db, a, &st, err, SQL_DECLARED, "s", ws_id);
    while (e == CL_OK && (e = db_step(st, &row, err)) == CL_OK && row) {
        out = arena_grow(a, out, k, &cap, sizeof(ws_plugin));
        out[k++] = (ws_plugin){db_col_dup(st, a, 0), db_col_dup(st, a, 1)};
    }
    db_finish(st);
    if (k > 1)
        qsort(out, k, sizeof(ws_plugin), by_plugin);
    *rows = out, *n = k;
    return e;
}
