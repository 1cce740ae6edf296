/* wsfiles.c - see wsfiles.h. */
#include "model/wsfiles.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/time.h"
#include "base/utf8.h"
#include "model/event.h"
#include "model/wstemplate.h"

/* the row lock that serialises writers of one workspace's files (so the totals below hold), and the liveness check */
static const char SQL_LOCK[] = "UPDATE workspaces SET updated_at = updated_at WHERE id = $1 AND status <> 'removed'";
static const char SQL_LIST[] = "SELECT path, size FROM workspace_files WHERE workspace_id = $1 AND root = $2";
static const char SQL_LIST_CONTENT[] =
    "SELECT path, size, content FROM workspace_files WHERE workspace_id = $1 AND root = $2";
static const char SQL_GET[] =
    "SELECT content, size FROM workspace_files WHERE workspace_id = $1 AND root = $2 AND path = $3";
static const char SQL_COUNT_ROOT[] = "SELECT count(*) FROM workspace_files WHERE workspace_id = $1 AND root = $2";
static const char SQL_TOTALS[] = "SELECT count(*), CAST(COALESCE(sum(size), 0) AS BIGINT) FROM workspace_files"
                                 " WHERE workspace_id = $1";
static const char SQL_UPSERT[] =
    "INSERT INTO workspace_files (workspace_id, root, path, content, size, updated_at) VALUES ($1, $2, $3, $4, $5, $6)"
    " ON CONFLICT (workspace_id, root, path) DO UPDATE SET content = excluded.content, size = excluded.size,"
    " updated_at = excluded.updated_at";
static const char SQL_DELETE_ONE[] = "DELETE FROM workspace_files WHERE workspace_id = $1 AND root = $2 AND path = $3";
/* the files under directory $3 ("dir/"), $4 its length in characters (LIKE would fold ASCII case on SQLite) */
static const char SQL_DELETE_UNDER[] = "DELETE FROM workspace_files WHERE workspace_id = $1 AND root = $2"
                                       " AND substr(path, 1, CAST($4 AS INTEGER)) = $3";

static const char *const ROOTS[] = {WSFILES_CONFIGS, "/workspace", "/home", "/plugins"};
static const char *const IGNORED[] = {".git", "__pycache__", "node_modules", ".DS_Store"};

bool wsfiles_root_valid(const char *root)
{
    for (size_t i = 0; root != NULL && i < sizeof(ROOTS) / sizeof(ROOTS[0]); i++)
        if (strcmp(root, ROOTS[i]) == 0)
            return true;
    return false;
}

cl_err wsfiles_path_check(const char *path, cl_error *err)
{
    size_t n = path ? strlen(path) : 0;
    if (n == 0 || n > WSFILES_PATH_MAX || path[0] == '/' || path[n - 1] == '/' || !utf8_valid(path, n))
        return cl_fail(err, CL_INVALID, "invalid path");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f || path[i] == '\\')
            return cl_fail(err, CL_INVALID, "invalid path");
    for (const char *p = path; *p != '\0';) {
        size_t k = strcspn(p, "/");
        if (k == 0 || (k == 1 && p[0] == '.') || (k == 2 && p[0] == '.' && p[1] == '.'))
            return cl_fail(err, CL_INVALID, "invalid path");
        p += k + (p[k] == '/');
    }
    return CL_OK;
}

cl_err wsfiles_content_check(const char *content, size_t size, cl_error *err)
{
    if (size > WSFILES_FILE_MAX)
        return cl_fail(err, CL_TOO_LARGE, "file exceeds %d bytes", WSFILES_FILE_MAX);
    if (content == NULL || !utf8_valid(content, size) || memchr(content, '\0', size) != NULL)
        return cl_fail(err, CL_INVALID, "file content must be UTF-8 text");
    return CL_OK;
}

/* Does any part of `path` satisfy `pred`? */
static bool any_part(const char *path, bool (*pred)(const char *part, size_t len))
{
    for (const char *p = path; *p != '\0';) {
        size_t k = strcspn(p, "/");
        if (pred(p, k))
            return true;
        p += k + (p[k] == '/');
    }
    return false;
}

static bool ignored_part(const char *part, size_t len)
{
    for (size_t i = 0; i < sizeof(IGNORED) / sizeof(IGNORED[0]); i++)
        if (strlen(IGNORED[i]) == len && strncmp(part, IGNORED[i], len) == 0)
            return true;
    return false;
}

static bool hidden_part(const char *part, size_t len) { return len > 0 && part[0] == '.'; }

bool wsfiles_ignored(const char *path) { return any_part(path, ignored_part); }
bool wsfiles_hidden(const char *path) { return any_part(path, hidden_part); }

static int by_path(const void *x, const void *y) { return strcmp(((const ws_file *)x)->path, ((const ws_file *)y)->path); }

/* The stored files of a root, sorted by path (in C: the database's collation is not ours to rely on). */
static cl_err stored(db_t *db, arena_t *a, const char *ws_id, const char *root, bool with_content, ws_file **out,
                     size_t *count, cl_error *err)
{
    db_stmt_t *st;
    ws_file *files = NULL;
    size_t n = 0, cap = 0;
    bool row = true;
    cl_err e = db_query(db, a, &st, err, with_content ? SQL_LIST_CONTENT : SQL_LIST, "ss", ws_id, root);
    while (e == CL_OK && (e = db_step(st, &row, err)) == CL_OK && row) {
        files = arena_grow(a, files, n, &cap, sizeof(ws_file));
        files[n++] = (ws_file){db_col_dup(st, a, 0), with_content ? db_col_dup(st, a, 2) : NULL,
                               (size_t)db_col_int64(st, 1)};
    }
    db_finish(st);
    if (n > 1)
        qsort(files, n, sizeof(ws_file), by_path);
    *out = files, *count = n;
    return e;
}

const char *wsfiles_default_config(arena_t *a, const ws_row *w, const ws_file *files, size_t n)
{
    wstpl_config c = {w->name, w->role ? w->role : "", w->runtime, w->model, w->tier, files, n, NULL, 0};
    return wstpl_config_yaml(a, &c);
}

static bool has_path(const ws_file *files, size_t n, const char *path)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(files[i].path, path) == 0)
            return true;
    return false;
}

cl_err wsfiles_view(db_t *db, arena_t *a, const ws_row *w, const char *tpl_dir, const char *root, bool with_content,
                    ws_file **files, size_t *n, bool *own, cl_error *err)
{
    cl_err e = stored(db, a, w->id, root, with_content, files, n, err);
    if (e != CL_OK)
        return e;
    *own = *n > 0;
    bool configs = strcmp(root, WSFILES_CONFIGS) == 0;
    if (!configs)
        return CL_OK;
    if (*n == 0 && tpl_dir != NULL && (e = wstpl_files(a, tpl_dir, with_content, files, n, err)) != CL_OK)
        return e;
    if (has_path(*files, *n, "config.yaml"))
        return CL_OK;
    const char *text = wsfiles_default_config(a, w, *files, *n); /* shown until one is saved */
    ws_file *all = arena_alloc(a, (*n + 1) * sizeof(ws_file));
    if (*n > 0)
        memcpy(all, *files, *n * sizeof(ws_file));
    all[(*n)++] = (ws_file){"config.yaml", with_content ? text : NULL, strlen(text)};
    qsort(all, *n, sizeof(ws_file), by_path);
    *files = all;
    return CL_OK;
}

static cl_err count_root(db_t *db, arena_t *a, const char *ws_id, const char *root, int64_t *count, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_COUNT_ROOT, "ss", ws_id, root);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK)
        *count = db_col_int64(st, 0);
    db_finish(st);
    return e;
}

cl_err wsfiles_read(db_t *db, arena_t *a, const ws_row *w, const char *tpl_dir, const char *root, const char *path,
                    ws_file *out, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_GET, "sss", w->id, root, path);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK)
        *out = (ws_file){path, db_col_dup(st, a, 0), (size_t)db_col_int64(st, 1)};
    db_finish(st);
    if (e != CL_NOT_FOUND)
        return e;
    if (strcmp(root, WSFILES_CONFIGS) != 0)
        return cl_fail(err, CL_NOT_FOUND, "file not found");
    int64_t mine = 0;
    if ((e = count_root(db, a, w->id, root, &mine, err)) != CL_OK)
        return e;
    if (mine == 0 && tpl_dir != NULL)
        return wstpl_read(a, tpl_dir, path, out, err);
    if (strcmp(path, "config.yaml") == 0) {
        ws_file *files;
        size_t n;
        bool own;
        if ((e = wsfiles_view(db, a, w, tpl_dir, root, false, &files, &n, &own, err)) != CL_OK)
            return e;
        const char *text = wsfiles_default_config(a, w, files, n);
        *out = (ws_file){path, text, strlen(text)};
        return CL_OK;
    }
    return cl_fail(err, CL_NOT_FOUND, mine == 0 ? "file not found (container offline, no template)" : "file not found");
}

void wsfiles_entries(arena_t *a, const ws_file *files, size_t n, const char *dir, int depth, ws_entry **out,
                     size_t *count)
{
    const char *prefix = dir && dir[0] ? arena_sprintf(a, "%s/", dir) : "";
    size_t plen = strlen(prefix), k = 0, cap = 0;
    ws_entry *entries = NULL;
    for (size_t i = 0; i < n; i++) {
        const char *p = files[i].path;
        if (strncmp(p, prefix, plen) != 0 || wsfiles_ignored(p + plen))
            continue;
        const char *cut = p + plen;
        for (int level = 1; level <= depth; level++) { /* each directory on the way, then the file itself */
            const char *slash = strchr(cut, '/');
            entries = arena_grow(a, entries, k, &cap, sizeof(ws_entry));
            if (slash == NULL) {
                entries[k++] = (ws_entry){p, (int64_t)files[i].size, false};
                break;
            }
            entries[k++] = (ws_entry){arena_strndup(a, p, (size_t)(slash - p)), 0, true};
            cut = slash + 1;
        }
    }
    size_t m = 0; /* sorted, each directory once */
    if (k > 1)
        qsort(entries, k, sizeof(ws_entry), by_path);
    for (size_t i = 0; i < k; i++)
        if (m == 0 || strcmp(entries[m - 1].path, entries[i].path) != 0)
            entries[m++] = entries[i];
    *out = entries, *count = m;
}

/* ---- writes ------------------------------------------------------------------------------------------------- */

static cl_err put(db_t *db, arena_t *a, const char *ws_id, const char *root, const ws_file *f, int64_t now,
                  cl_error *err)
{
    return db_run(db, a, NULL, err, SQL_UPSERT, "ssssii", ws_id, root, f->path, f->content, (int64_t)f->size, now);
}

static cl_err put_all(db_t *db, arena_t *a, const char *ws_id, const char *root, const ws_file *files, size_t n,
                      cl_error *err)
{
    int64_t now = time_now_ms();
    cl_err e = CL_OK;
    for (size_t i = 0; e == CL_OK && i < n; i++)
        e = put(db, a, ws_id, root, &files[i], now, err);
    return e;
}

/* Copy the template's files in when the workspace stores nothing under /configs yet. */
static cl_err copy_template(db_t *db, arena_t *a, const char *ws_id, const char *tpl_dir, const char *root,
                            cl_error *err)
{
    int64_t mine = 0;
    ws_file *files;
    size_t n;
    cl_err e;
    if (tpl_dir == NULL || strcmp(root, WSFILES_CONFIGS) != 0 || (e = count_root(db, a, ws_id, root, &mine, err)) != CL_OK)
        return tpl_dir == NULL || strcmp(root, WSFILES_CONFIGS) != 0 ? CL_OK : e;
    if (mine > 0)
        return CL_OK;
    if ((e = wstpl_files(a, tpl_dir, true, &files, &n, err)) != CL_OK)
        return e;
    return put_all(db, a, ws_id, root, files, n, err);
}

static cl_err check_totals(db_t *db, arena_t *a, const char *ws_id, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_TOTALS, "s", ws_id);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK &&
        (db_col_int64(st, 0) > WSFILES_MAX_FILES || db_col_int64(st, 1) > WSFILES_TOTAL_MAX))
        e = cl_fail(err, CL_TOO_LARGE, "a workspace holds at most %d files and %d bytes", WSFILES_MAX_FILES,
                    WSFILES_TOTAL_MAX);
    db_finish(st);
    return e;
}

static int by_path_ptr(const void *x, const void *y) { return strcmp(*(const char *const *)x, *(const char *const *)y); }

const char *wsfiles_shape_conflict(arena_t *a, const ws_file *files, size_t n)
{
    const char **paths = arena_calloc(a, n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        paths[i] = files[i].path;
    qsort(paths, n, sizeof(char *), by_path_ptr);
    for (size_t i = 0; i < n; i++) /* each directory on the way to a file must not be a file itself */
        for (const char *s = strchr(paths[i], '/'); s != NULL; s = strchr(s + 1, '/')) {
            const char *dir = arena_strndup(a, paths[i], (size_t)(s - paths[i]));
            if (bsearch(&dir, paths, n, sizeof(char *), by_path_ptr) != NULL)
                return dir;
        }
    return NULL;
}

/* Within the writer's lock: what root `root` holds now has no path that is a file and a directory. */
static cl_err check_shape(db_t *db, arena_t *a, const char *ws_id, const char *root, cl_error *err)
{
    ws_file *now;
    size_t k;
    cl_err e = stored(db, a, ws_id, root, false, &now, &k, err);
    const char *dir = e == CL_OK ? wsfiles_shape_conflict(a, now, k) : NULL;
    if (dir != NULL)
        e = cl_fail(err, CL_INVALID, "invalid request body: %s is both a file and a directory", dir);
    return e;
}

static cl_err lock_live(db_t *db, arena_t *a, const char *ws_id, cl_error *err)
{
    int64_t changed = 0;
    cl_err e = db_run(db, a, &changed, err, SQL_LOCK, "s", ws_id);
    return e == CL_OK && changed == 0 ? cl_fail(err, CL_NOT_FOUND, "workspace not found") : e;
}

static cl_err announce(db_t *db, arena_t *a, const char *ws_id, const char *root, const ws_file *files, size_t n,
                       const char *one, bool deleted, cl_error *err)
{
    json_t *paths = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(paths, json_string(files[i].path));
    if (one != NULL)
        json_array_append_new(paths, json_string(one));
    json_t *p = json_own(a, json_pack("{s:s, s:s, s:o, s:b}", "kind", "files", "root", root, "paths", paths,
                                      "deleted", deleted));
    return event_record(db, a, EV_WORKSPACE_CONFIG_UPDATED, ws_id, json_dump_arena(a, p, NULL), NULL, err);
}

cl_err wsfiles_write(db_t *db, arena_t *a, const ws_row *w, const char *tpl_dir, const char *root, const ws_file *files,
                     size_t n, bool default_config, cl_error *err)
{
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    if ((e = lock_live(db, a, w->id, err)) == CL_OK && (e = copy_template(db, a, w->id, tpl_dir, root, err)) == CL_OK)
        e = put_all(db, a, w->id, root, files, n, err);
    if (e == CL_OK && default_config && strcmp(root, WSFILES_CONFIGS) == 0) {
        ws_file *now;
        size_t k;
        if ((e = stored(db, a, w->id, root, false, &now, &k, err)) == CL_OK && !has_path(now, k, "config.yaml")) {
            ws_file f = {"config.yaml", wsfiles_default_config(a, w, now, k), 0};
            f.size = strlen(f.content);
            e = put(db, a, w->id, root, &f, time_now_ms(), err);
        }
    }
    if (e == CL_OK && (e = check_totals(db, a, w->id, err)) == CL_OK &&
        (e = check_shape(db, a, w->id, root, err)) == CL_OK)
        e = announce(db, a, w->id, root, files, n, NULL, false, err);
    return db_tx_end(db, e, err);
}

cl_err wsfiles_delete(db_t *db, arena_t *a, const ws_row *w, const char *tpl_dir, const char *root, const char *path,
                      int64_t *deleted, cl_error *err)
{
    *deleted = 0;
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    if ((e = lock_live(db, a, w->id, err)) == CL_OK && (e = copy_template(db, a, w->id, tpl_dir, root, err)) == CL_OK)
        e = db_run(db, a, deleted, err, SQL_DELETE_ONE, "sss", w->id, root, path);
    if (e == CL_OK && *deleted == 0) { /* a directory: everything under it */
        const char *under = arena_sprintf(a, "%s/", path);
        e = db_run(db, a, deleted, err, SQL_DELETE_UNDER, "sssi", w->id, root, under,
                   (int64_t)utf8_count(under, strlen(under)));
    }
    if (e == CL_OK && *deleted == 0)
        e = cl_fail(err, CL_NOT_FOUND, "file not found");
    if (e == CL_OK)
        e = announce(db, a, w->id, root, NULL, 0, path, true, err);
    return db_tx_end(db, e, err);
}

cl_err wsfiles_seed(db_t *db, arena_t *a, const char *ws_id, const char *tpl_dir, const ws_file *files, size_t n,
                    cl_error *err)
{
    cl_err e = copy_template(db, a, ws_id, tpl_dir, WSFILES_CONFIGS, err);
    if (e == CL_OK)
        e = put_all(db, a, ws_id, WSFILES_CONFIGS, files, n, err);
    if (e == CL_OK && (e = check_totals(db, a, ws_id, err)) == CL_OK)
        e = check_shape(db, a, ws_id, WSFILES_CONFIGS, err);
    return e;
}
