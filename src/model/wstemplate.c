/* wstemplate.c - see wstemplate.h. */
#include "model/wstemplate.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/dirpage.h"
#include "base/fsread.h"
#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "base/utf8.h"
#include "base/yaml.h"
#include "model/workspace.h"

enum { NAME_SCAN_MAX = 1000, NAME_SCAN_BYTES = 8192 };

const char *wstpl_normalize(arena_t *a, const char *name)
{
    size_t n = strlen(name), o = 0;
    char *out = arena_alloc(a, n + 1);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (c >= 'A' && c <= 'Z')
            out[o++] = (char)(c - 'A' + 'a');
        else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')
            out[o++] = c;
        else if (c == ' ' || c == '-')
            out[o++] = '-';
    }
    out[o] = '\0';
    return o == 0 ? "unnamed" : out; /* only [a-z0-9_-] is left: no '.', so no ".." either */
}

cl_err wstpl_name_check(const char *name, cl_error *err)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > WSTPL_NAME_MAX || strpbrk(name, "/\\") != NULL || strstr(name, "..") != NULL)
        return cl_fail(err, CL_INVALID, "invalid template name");
    return CL_OK;
}

static bool is_dir(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Read regular file `path` (no symlink at its end) of at most `max` bytes as text; CL_NOT_FOUND when it is not
 * one, CL_TOO_LARGE past max, CL_INVALID when it is not UTF-8 text. */
static cl_err read_text(arena_t *a, const char *path, size_t max, ws_file *out, cl_error *err)
{
    char *buf;
    size_t got;
    cl_err e = fs_read_file(a, path, max, &buf, &got, err);
    if (e != CL_OK)
        return e;
    if (!utf8_valid(buf, got) || memchr(buf, '\0', got) != NULL)
        return cl_fail(err, CL_INVALID, "not a text file");
    out->content = buf;
    out->size = got;
    return CL_OK;
}

static bool has_config(arena_t *a, const char *dir)
{
    struct stat sb;
    return lstat(arena_sprintf(a, "%s/config.yaml", dir), &sb) == 0 && S_ISREG(sb.st_mode);
}

/* A top-level `name:` line of (the start of) a config.yaml equal to `want` (bare or quoted). */
static bool names(const char *text, const char *want)
{
    for (const char *line = text; line != NULL && *line != '\0';) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > 5 && strncmp(line, "name:", 5) == 0) {
            const char *v = line + 5, *stop = line + len;
            while (v < stop && (*v == ' ' || *v == '\t'))
                v++;
            while (stop > v && (stop[-1] == ' ' || stop[-1] == '\t' || stop[-1] == '\r'))
                stop--;
            if (stop - v >= 2 && (*v == '"' || *v == '\'') && stop[-1] == *v)
                v++, stop--;
            return (size_t)(stop - v) == strlen(want) && strncmp(v, want, (size_t)(stop - v)) == 0;
        }
        line = end ? end + 1 : NULL;
    }
    return false;
}

static const char *by_config_name(arena_t *a, const char *configs_dir, const char *ws_name)
{
    DIR *d = opendir(configs_dir);
    if (d == NULL)
        return NULL;
    const char *found = NULL;
    struct dirent *ent;
    for (int seen = 0; found == NULL && seen < NAME_SCAN_MAX && (ent = readdir(d)) != NULL; seen++) {
        if (ent->d_name[0] == '.')
            continue;
        const char *dir = arena_sprintf(a, "%s/%s", configs_dir, ent->d_name);
        char *head; /* the name is looked for in the first NAME_SCAN_BYTES only: read no more, on every request */
        size_t got;
        cl_error e;
        if (!is_dir(dir) || fs_read_head(a, arena_sprintf(a, "%s/config.yaml", dir), WSTPL_CONFIG_MAX,
                                         NAME_SCAN_BYTES, &head, &got, &e) != CL_OK)
            continue;
        if (names(head, ws_name))
            found = dir;
    }
    closedir(d);
    return found;
}

const char *wstpl_dir_of(arena_t *a, const char *configs_dir, const char *template_name, const char *ws_name)
{
    cl_error e;
    struct stat sb; /* the operator's directory may be reached through a link; lstat() only beneath it */
    if (configs_dir == NULL || configs_dir[0] == '\0' || stat(configs_dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return NULL;
    if (template_name != NULL && template_name[0] != '\0' && template_name[0] != '.' &&
        wstpl_name_check(template_name, &e) == CL_OK) {
        const char *dir = arena_sprintf(a, "%s/%s", configs_dir, template_name);
        if (is_dir(dir) && has_config(a, dir))
            return dir;
    }
    if (ws_name == NULL || ws_name[0] == '\0')
        return NULL;
    const char *dir = arena_sprintf(a, "%s/%s", configs_dir, wstpl_normalize(a, ws_name));
    if (is_dir(dir) && has_config(a, dir))
        return dir;
    return by_config_name(a, configs_dir, ws_name);
}

/* ---- reading a template's files ------------------------------------------------------------------------------ */

typedef struct {
    arena_t *a;
    const char *root;
    bool with_content;
    ws_file *files;
    size_t n, cap, total;
} walk;

static int by_path(const void *x, const void *y) { return strcmp(((const ws_file *)x)->path, ((const ws_file *)y)->path); }

/* Collect the regular files under root/rel (symlinks are not followed: a template cannot point outside itself). */
static cl_err collect(walk *w, const char *rel, int depth, cl_error *err)
{
    const char *dir = rel[0] ? arena_sprintf(w->a, "%s/%s", w->root, rel) : w->root;
    DIR *d = opendir(dir);
    if (d == NULL)
        return CL_OK;
    cl_err e = CL_OK;
    struct dirent *ent;
    int seen = 0;
    while (e == CL_OK && (ent = readdir(d)) != NULL && seen++ < WSTPL_DIR_MAX) {
        if (ent->d_name[0] == '.') /* hidden: .env, .auth_token, .git … never leave the template */
            continue;
        const char *path = rel[0] ? arena_sprintf(w->a, "%s/%s", rel, ent->d_name) : arena_strdup(w->a, ent->d_name);
        const char *full = arena_sprintf(w->a, "%s/%s", w->root, path);
        struct stat sb;
        cl_error ignored;
        if (wsfiles_ignored(path) || lstat(full, &sb) != 0 || wsfiles_path_check(path, &ignored) != CL_OK)
            continue;
        if (S_ISDIR(sb.st_mode)) {
            if (depth < WSTPL_DEPTH_MAX)
                e = collect(w, path, depth + 1, err);
            continue;
        }
        if (!S_ISREG(sb.st_mode))
            continue;
        ws_file f = {path, NULL, (size_t)sb.st_size};
        cl_err r = read_text(w->a, full, WSFILES_FILE_MAX, &f, &ignored); /* a listing shows what a read serves */
        if (r == CL_INVALID || r == CL_NOT_FOUND) /* binary, or gone meanwhile: not a file colony serves */
            continue;
        if (r != CL_OK)
            e = cl_fail(err, r, "template file %s: %s", path, ignored.msg);
        if (!w->with_content)
            f.content = NULL;
        if (e == CL_OK && (w->n == WSFILES_MAX_FILES || (w->total += f.size) > WSFILES_TOTAL_MAX))
            e = cl_fail(err, CL_TOO_LARGE, "template holds more than %d files or %d bytes", WSFILES_MAX_FILES,
                        WSFILES_TOTAL_MAX);
        if (e == CL_OK) {
            w->files = arena_grow(w->a, w->files, w->n, &w->cap, sizeof(ws_file));
            w->files[w->n++] = f;
        }
    }
    closedir(d);
    return e;
}

cl_err wstpl_files(arena_t *a, const char *dir, bool with_content, ws_file **files, size_t *n, cl_error *err)
{
    walk w = {a, dir, with_content, NULL, 0, 0, 0};
    cl_err e = collect(&w, "", 0, err);
    if (w.n > 1)
        qsort(w.files, w.n, sizeof(ws_file), by_path);
    *files = w.files;
    *n = w.n;
    return e;
}

cl_err wstpl_read(arena_t *a, const char *dir, const char *path, ws_file *out, cl_error *err)
{
    cl_error why;
    if (wsfiles_path_check(path, &why) != CL_OK || wsfiles_hidden(path))
        return cl_fail(err, CL_NOT_FOUND, "file not found");
    /* no symlink is followed beneath the template (collect() lists none), so a link cannot serve a hidden file, a
     * file outside the template, or one the listing does not show */
    char *buf;
    size_t got;
    cl_err e = fs_read_under(a, dir, path, WSFILES_FILE_MAX, &buf, &got, err);
    if (e == CL_OK && (!utf8_valid(buf, got) || memchr(buf, '\0', got) != NULL))
        e = CL_NOT_FOUND;
    if (e == CL_NOT_FOUND)
        return cl_fail(err, CL_NOT_FOUND, "file not found");
    *out = (ws_file){path, buf, got};
    return e;
}

/* ---- the listing --------------------------------------------------------------------------------------------- */

static int by_name(const void *x, const void *y) { return strcmp(*(const char *const *)x, *(const char *const *)y); }

static json_t *list_or_null(const json_t *v) { return json_is_array(v) ? json_deep_copy(v) : NULL; }

/* One item of GET /templates, or NULL when the directory is not a template colony lists. */
static json_t *item(arena_t *a, const char *configs_dir, const char *id)
{
    ws_file f;
    cl_error e;
    json_t *doc;
    const char *path = arena_sprintf(a, "%s/%s/config.yaml", configs_dir, id);
    if (read_text(a, path, WSTPL_CONFIG_MAX, &f, &e) != CL_OK || yaml_parse(a, f.content, f.size, &doc, &e) != CL_OK ||
        !json_is_object(doc))
        return NULL;
    const json_t *rc = json_object_get(doc, "runtime_config");
    const char *runtime = json_string_value(json_object_get(doc, "runtime"));
    if (runtime == NULL || runtime[0] == '\0')
        runtime = "claude-code";
    size_t rl = strlen(runtime);
    const char *bare = rl > 8 && strcmp(runtime + rl - 8, "-default") == 0 ? arena_strndup(a, runtime, rl - 8)
                                                                           : runtime;
    if (!ws_runtime_known(bare))
        return NULL;
    const char *name = json_string_value(json_object_get(doc, "name"));
    const char *desc = json_string_value(json_object_get(doc, "description"));
    const char *model = json_string_value(json_object_get(doc, "model"));
    if (model == NULL)
        model = json_string_value(json_object_get(rc, "model"));
    const json_t *tier = json_object_get(doc, "tier"), *skills = json_object_get(doc, "skills");
    json_t *out = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s}", "id", id, "name", name ? name : id, "description",
                            desc ? desc : "", "tier", (json_int_t)(json_is_integer(tier) ? json_integer_value(tier)
                                                                                        : WS_TIER_DEFAULT),
                            "runtime", runtime, "model", model ? model : "");
    static const char *const lists[] = {"models", "required_env", "recommended_env"};
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        json_t *v = list_or_null(json_object_get(doc, lists[i]));
        if (v != NULL)
            json_object_set_new(out, lists[i], v);
    }
    json_object_set_new(out, "skills", json_is_array(skills) ? json_deep_copy(skills) : json_null());
    json_object_set_new(out, "skill_count", json_integer((json_int_t)json_array_size(skills)));
    const json_t *pts = json_object_get(rc, "provision_timeout_seconds");
    if (json_is_integer(pts))
        json_object_set_new(out, "provision_timeout_seconds", json_incref((json_t *)pts));
    const json_t *disp = json_object_get(doc, "displayable");
    if (json_is_boolean(disp))
        json_object_set_new(out, "displayable", json_incref((json_t *)disp));
    return out;
}

static json_t *list_item(arena_t *a, void *configs_dir, const char *id)
{
    return is_dir(arena_sprintf(a, "%s/%s", (const char *)configs_dir, id)) ? item(a, configs_dir, id) : NULL;
}

json_t *wstpl_list(arena_t *a, const char *configs_dir, const char *after, size_t limit, const char **last, bool *more)
{
    return dirpage_list(a, configs_dir, after, limit, WSTPL_DIR_MAX, list_item, (void *)configs_dir, last, more);
}

/* ---- generated config.yaml ----------------------------------------------------------------------------------- */

static void yaml_str(buf_t *b, const char *key, const char *v)
{
    json_t *s = json_string(v ? v : "");
    char *q = json_dumps(s, JSON_ENCODE_ANY);
    buf_printf(b, "%s: %s\n", key, q ? q : "\"\"");
    free(q);
    json_decref(s);
}

static void yaml_list(buf_t *b, const char *key, const char *const *items, size_t n)
{
    if (n == 0) {
        buf_printf(b, "%s: []\n", key);
        return;
    }
    buf_printf(b, "%s:\n", key);
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_string(items[i]);
        char *q = json_dumps(s, JSON_ENCODE_ANY);
        buf_printf(b, "  - %s\n", q ? q : "\"\"");
        free(q);
        json_decref(s);
    }
}

const char *wstpl_config_yaml(arena_t *a, const wstpl_config *c)
{
    const char **prompts = arena_calloc(a, c->nfiles + 1, sizeof(char *)), **skills = arena_calloc(a, c->nfiles + 1,
                                                                                                  sizeof(char *));
    size_t np = 0, ns = 0;
    for (size_t i = 0; i < c->nfiles; i++) {
        const char *p = c->files[i].path;
        size_t len = strlen(p);
        if (strchr(p, '/') == NULL && len > 3 && strcmp(p + len - 3, ".md") == 0)
            prompts[np++] = p;
        const char *rest = strncmp(p, "skills/", 7) == 0 ? p + 7 : NULL, *slash = rest ? strchr(rest, '/') : NULL;
        if (slash != NULL && strcmp(slash, "/SKILL.md") == 0)
            skills[ns++] = arena_strndup(a, rest, (size_t)(slash - rest));
    }
    if (np > 1)
        qsort(prompts, np, sizeof(char *), by_name);
    if (ns > 1)
        qsort(skills, ns, sizeof(char *), by_name);
    buf_t b = BUF_INIT(1 << 20);
    yaml_str(&b, "name", c->name);
    yaml_str(&b, "description", c->description);
    buf_puts(&b, "version: \"1.0.0\"\n");
    buf_printf(&b, "tier: %lld\n", (long long)(c->tier ? c->tier : WS_TIER_DEFAULT));
    yaml_str(&b, "runtime", c->runtime ? c->runtime : "claude-code");
    yaml_str(&b, "model", c->model);
    yaml_list(&b, "prompt_files", prompts, np);
    yaml_list(&b, "skills", skills, ns);
    if (c->nrequired > 0)
        yaml_list(&b, "required_env", c->required_env, c->nrequired);
    buf_puts(&b, "a2a:\n  port: 8000\n");
    char *out = arena_strndup(a, b.data ? b.data : "", b.len);
    buf_free(&b);
    return out;
}

const char *wstpl_yaml_string(arena_t *a, const char *text, size_t len, const char *key)
{
    json_t *doc;
    cl_error e;
    if (yaml_parse(a, text, len, &doc, &e) != CL_OK || !json_is_object(doc))
        return NULL;
    return json_string_value(json_object_get(doc, key));
}

/* ---- import -------------------------------------------------------------------------------------------------- */

/* mkdir -p of the directories of `path` below `root`. */
static bool make_parents(arena_t *a, const char *root, const char *path)
{
    for (const char *s = strchr(path, '/'); s != NULL; s = strchr(s + 1, '/')) {
        const char *dir = arena_sprintf(a, "%s/%.*s", root, (int)(s - path), path);
        if (mkdir(dir, 0755) != 0 && errno != EEXIST)
            return false;
    }
    return true;
}

static bool write_file(const char *path, const char *content, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return false;
    size_t done = 0;
    while (done < size) {
        ssize_t k = write(fd, content + done, size - done);
        if (k <= 0)
            break;
        done += (size_t)k;
    }
    return close(fd) == 0 && done == size;
}

/* Remove a directory tree this import made (its own staging directory: no symlinks in it). */
static void remove_tree(arena_t *a, const char *dir)
{
    DIR *d = opendir(dir);
    if (d != NULL) {
        struct dirent *ent;
        while ((ent = readdir(d)) != NULL) {
            if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
                continue;
            const char *p = arena_sprintf(a, "%s/%s", dir, ent->d_name);
            if (is_dir(p))
                remove_tree(a, p);
            else
                unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

cl_err wstpl_import(arena_t *a, const char *configs_dir, const char *name, const ws_file *files, size_t n,
                    const char **id, cl_error *err)
{
    cl_err e = wstpl_name_check(name, err);
    if (e != CL_OK)
        return e;
    if (n > WSFILES_BULK_MAX)
        return cl_fail(err, CL_INVALID, "too many files (%zu), max %d", n, WSFILES_BULK_MAX);
    bool config = false;
    for (size_t i = 0; i < n; i++) { /* everything is checked before anything is written */
        cl_error why;
        if (wsfiles_path_check(files[i].path, &why) != CL_OK)
            return cl_fail(err, CL_INVALID, "invalid request body: %s: invalid path", files[i].path);
        if ((e = wsfiles_content_check(files[i].content, files[i].size, &why)) != CL_OK)
            return cl_fail(err, e, "%s: %s", files[i].path, why.msg);
        config = config || strcmp(files[i].path, "config.yaml") == 0;
    }
    const char *dir = wsfiles_shape_conflict(a, files, n);
    if (dir != NULL)
        return cl_fail(err, CL_INVALID, "invalid request body: %s is both a file and a directory", dir);
    *id = wstpl_normalize(a, name);
    const char *target = arena_sprintf(a, "%s/%s", configs_dir, *id);
    if (mkdir(configs_dir, 0755) != 0 && errno != EEXIST)
        return cl_fail(err, CL_UNAVAILABLE, "templates directory unavailable");
    if (is_dir(target) || access(target, F_OK) == 0)
        return cl_fail(err, CL_CONFLICT, "template already exists");
    char nonce[ID_UUID_LEN + 1];
    id_uuid4(nonce);
    const char *stage = arena_sprintf(a, "%s/.import-%s", configs_dir, nonce);
    if (mkdir(stage, 0755) != 0)
        return cl_fail(err, CL_UNAVAILABLE, "templates directory unavailable");
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++)
        ok = make_parents(a, stage, files[i].path) &&
             write_file(arena_sprintf(a, "%s/%s", stage, files[i].path), files[i].content, files[i].size);
    if (ok && !config) {
        static const char *const required[] = {"ANTHROPIC_API_KEY"};
        wstpl_config c = {name, "", "claude-code", "anthropic:claude-haiku-4-5-20251001", WS_TIER_DEFAULT, files, n,
                          required, 1};
        const char *text = wstpl_config_yaml(a, &c);
        ok = write_file(arena_sprintf(a, "%s/config.yaml", stage), text, strlen(text));
    }
    if (ok && rename(stage, target) != 0) { /* another import took the name meanwhile (rename onto a non-empty
                                              * directory fails) */
        remove_tree(a, stage);
        return cl_fail(err, CL_CONFLICT, "template already exists");
    }
    if (!ok) {
        log_warn("template import failed", "id=%s error=\"%s\"", *id, strerror(errno));
        remove_tree(a, stage);
        return cl_fail(err, CL_UNAVAILABLE, "failed to write template");
    }
    return CL_OK;
}
