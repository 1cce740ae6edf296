/* template.c - see template.h. */
#include "model/template.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/fsread.h"
#include "base/json.h"
#include "base/time.h"
#include "base/utf8.h"
#include "base/yaml.h"
#include "model/envfile.h"
#include "model/schedule.h"
#include "model/memory.h"
#include "model/platform.h"
#include "model/plugin.h"
#include "model/urlcheck.h"
#include "model/workspace.h"

typedef enum { T_STR, T_INT, T_BOOL, T_LIST, T_MAP, T_ANY } key_type;
typedef struct {
    const char *key;
    key_type type;
} key_rule;

static const key_rule TOP_KEYS[] = {{"name", T_STR},          {"description", T_STR},     {"defaults", T_MAP},
                                    {"workspaces", T_LIST},   {"global_memories", T_LIST}, {"required_env", T_LIST},
                                    {"recommended_env", T_LIST}};
static const key_rule DEFAULT_KEYS[] = {
    {"runtime", T_STR},        {"tier", T_INT},          {"model", T_STR},
    {"plugins", T_LIST},       {"initial_prompt", T_STR}, {"initial_prompt_file", T_STR},
    {"idle_prompt", T_STR},    {"idle_prompt_file", T_STR}, {"idle_interval_seconds", T_INT},
    {"category_routing", T_MAP}, {"initial_memories", T_LIST}};
static const key_rule NODE_KEYS[] = {
    {"name", T_STR},           {"role", T_STR},          {"runtime", T_STR},
    {"tier", T_INT},           {"template", T_STR},      {"files_dir", T_STR},
    {"spawning", T_BOOL},      {"system_prompt", T_STR}, {"model", T_STR},
    {"workspace_dir", T_STR},  {"workspace_access", T_STR}, {"plugins", T_LIST},
    {"initial_prompt", T_STR}, {"initial_prompt_file", T_STR}, {"idle_prompt", T_STR},
    {"idle_prompt_file", T_STR}, {"idle_interval_seconds", T_INT}, {"category_routing", T_MAP},
    {"initial_memories", T_LIST}, {"max_concurrent_tasks", T_INT}, {"schedules", T_LIST},
    {"channels", T_LIST},      {"external", T_BOOL},     {"url", T_STR},
    {"canvas", T_MAP},         {"required_env", T_LIST}, {"recommended_env", T_LIST},
    {"children", T_LIST}};

static const char *type_name(key_type t)
{
    static const char *const names[] = {"a string", "an integer", "a boolean", "a list", "a mapping", "anything"};
    return names[t];
}

static bool type_ok(const json_t *v, key_type t)
{
    switch (t) {
    case T_STR: return json_is_string(v);
    case T_INT: return json_is_integer(v);
    case T_BOOL: return json_is_boolean(v);
    case T_LIST: return json_is_array(v);
    case T_MAP: return json_is_object(v);
    default: return true;
    }
}

/* Every key known, of its type (null counts as absent). */
static cl_err check_keys(const json_t *obj, const key_rule *rules, size_t n, const char *path, cl_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        size_t i = 0;
        while (i < n && strcmp(rules[i].key, key) != 0)
            i++;
        if (i == n)
            return cl_fail(err, CL_INVALID, "unknown key \"%s\" in %s", key, path);
        if (!json_is_null(v) && !type_ok(v, rules[i].type))
            return cl_fail(err, CL_INVALID, "%s.%s must be %s", path, key, type_name(rules[i].type));
    }
    return CL_OK;
}

static const char *str(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

typedef struct {
    arena_t *a;
    const json_t *defaults;
    org_template *t;
    size_t names_cap;
    const secret_pair *org_env; /* the template directory's .env (file imports) */
    size_t norg_env;
    size_t memories; /* seeded by the whole template (TPL_MAX_MEMORIES) */
} walk_ctx;

static int by_str(const void *x, const void *y) { return strcmp(*(const char *const *)x, *(const char *const *)y); }

/* A required_env list: names and {any_of: [names]} (an empty any_of is an error); invalid names are dropped, and an
 * entry left with none. */
static cl_err env_reqs(arena_t *a, const json_t *list, const char *path, tpl_env_req **out, size_t *n, cl_error *err)
{
    size_t cnt = json_array_size(list), k = 0;
    tpl_env_req *reqs = arena_calloc(a, cnt + 1, sizeof(*reqs));
    for (size_t i = 0; i < cnt; i++) {
        const json_t *v = json_array_get(list, i), *any = json_object_get(v, "any_of");
        if (json_is_string(v)) {
            if (secret_name_valid(json_string_value(v), json_string_length(v))) {
                reqs[k].names = arena_calloc(a, 1, sizeof(char *));
                reqs[k].names[0] = json_string_value(v);
                reqs[k++].n = 1;
            }
            continue;
        }
        if (!json_is_object(v) || json_object_size(v) != 1 || !json_is_array(any))
            return cl_fail(err, CL_INVALID, "%s[%zu] must be a name or {any_of: [names]}", path, i);
        if (json_array_size(any) == 0)
            return cl_fail(err, CL_INVALID, "%s[%zu].any_of must name at least one variable", path, i);
        const char **names = arena_calloc(a, json_array_size(any), sizeof(char *));
        size_t m = 0;
        for (size_t j = 0; j < json_array_size(any); j++) {
            const json_t *x = json_array_get(any, j);
            if (!json_is_string(x))
                return cl_fail(err, CL_INVALID, "%s[%zu].any_of must be a list of names", path, i);
            if (secret_name_valid(json_string_value(x), json_string_length(x)))
                names[m++] = json_string_value(x);
        }
        if (m > 1)
            qsort(names, m, sizeof(*names), by_str);
        size_t d = 0; /* distinct */
        for (size_t j = 0; j < m; j++)
            if (d == 0 || strcmp(names[d - 1], names[j]) != 0)
                names[d++] = names[j];
        if (d > 0)
            reqs[k++] = (tpl_env_req){names, d};
    }
    *out = reqs, *n = k;
    return CL_OK;
}

/* Relative, and never climbing out of the template directory. */
static bool files_dir_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > TPL_FILES_DIR_MAX || s[0] == '/' || strchr(s, '\\') != NULL)
        return false;
    for (const char *p = s; *p != '\0';) {
        size_t k = strcspn(p, "/");
        if (k == 2 && p[0] == '.' && p[1] == '.')
            return false;
        p += k + (p[k] == '/');
    }
    return true;
}

/* The env a created node stores (file imports): the org's .env overlaid by its <files_dir>/.env. */
static cl_err node_env(walk_ctx *w, tpl_node *out, const char *path, cl_error *err)
{
    out->env = w->org_env, out->nenv = w->norg_env;
    if (w->t->dir == NULL || out->files_dir == NULL)
        return CL_OK;
    secret_pair *own;
    size_t nown;
    cl_error fe;
    if (envfile_load(w->a, arena_sprintf(w->a, "%s/%s/.env", w->t->dir, out->files_dir), &own, &nown, &fe) != CL_OK)
        return cl_fail(err, CL_INVALID, "%s: %s", path, fe.msg);
    out->env = envfile_merge(w->a, w->org_env, w->norg_env, own, nown, &out->nenv);
    return CL_OK;
}

/* ---- schedules --------------------------------------------------------------------------------------------- */

static const key_rule SCHEDULE_KEYS[] = {{"name", T_STR},        {"cron_expr", T_STR}, {"timezone", T_STR},
                                         {"prompt", T_STR},      {"prompt_file", T_STR}, {"enabled", T_BOOL}};

/* The prompt in `<dir>/<files_dir>/<file>`: a file inside the template's directory (symlinks resolved), valid
 * UTF-8, at most SCHED_PROMPT_MAX bytes. */
static cl_err prompt_file(walk_ctx *w, const char *files_dir, const char *file, const char *path, const char **out,
                          cl_error *err)
{
    if (w->t->dir == NULL)
        return cl_fail(err, CL_INVALID, "%s: prompt_file needs a template directory (import by dir)", path);
    if (!files_dir_valid(file))
        return cl_fail(err, CL_INVALID, "%s: prompt_file must be a path inside the template directory", path);
    char root[PATH_MAX], real[PATH_MAX];
    const char *full = arena_sprintf(w->a, "%s/%s%s%s", w->t->dir, files_dir ? files_dir : "", files_dir ? "/" : "",
                                     file);
    if (realpath(w->t->dir, root) == NULL || realpath(full, real) == NULL)
        return cl_fail(err, CL_INVALID, "%s: cannot read prompt_file %s", path, file);
    size_t rn = strlen(root);
    if (strncmp(real, root, rn) != 0 || real[rn] != '/')
        return cl_fail(err, CL_INVALID, "%s: prompt_file must be a path inside the template directory", path);
    FILE *f = fs_fopen_regular(real);
    struct stat sb;
    if (f == NULL || fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        if (f)
            fclose(f);
        return cl_fail(err, CL_INVALID, "%s: cannot read prompt_file %s", path, file);
    }
    char *buf = arena_alloc(w->a, SCHED_PROMPT_MAX + 2);
    size_t n = fread(buf, 1, SCHED_PROMPT_MAX + 1, f);
    fclose(f);
    if (n > SCHED_PROMPT_MAX)
        return cl_fail(err, CL_INVALID, "%s: prompt_file is larger than %d bytes", path, SCHED_PROMPT_MAX);
    if (!utf8_valid(buf, n) || memchr(buf, '\0', n) != NULL)
        return cl_fail(err, CL_INVALID, "%s: prompt_file is not UTF-8 text", path);
    buf[n] = '\0';
    *out = buf;
    return CL_OK;
}

static cl_err schedule(walk_ctx *w, const json_t *j, const char *files_dir, const char *path, tpl_schedule *out,
                       cl_error *err)
{
    if (!json_is_object(j))
        return cl_fail(err, CL_INVALID, "%s must be a mapping", path);
    cl_err e = check_keys(j, SCHEDULE_KEYS, sizeof(SCHEDULE_KEYS) / sizeof(SCHEDULE_KEYS[0]), path, err);
    if (e != CL_OK)
        return e;
    out->name = str(j, "name");
    out->cron_expr = str(j, "cron_expr");
    out->timezone = str(j, "timezone") && str(j, "timezone")[0] ? str(j, "timezone") : "UTC";
    out->enabled = !json_is_false(json_object_get(j, "enabled"));
    if (out->name == NULL || out->name[0] == '\0' || strlen(out->name) > SCHED_NAME_MAX)
        return cl_fail(err, CL_INVALID, "%s.name is required (at most %d bytes): a template's schedules are kept by "
                                        "name", path, SCHED_NAME_MAX);
    if (out->cron_expr == NULL)
        return cl_fail(err, CL_INVALID, "%s.cron_expr is required", path);
    const char *text = str(j, "prompt");
    if ((text == NULL || text[0] == '\0') && str(j, "prompt_file") &&
        (e = prompt_file(w, files_dir, str(j, "prompt_file"), path, &text, err)) != CL_OK)
        return e;
    char *clean = arena_strdup(w->a, text ? text : ""), *to = clean; /* carriage returns go, as on the API */
    for (const char *from = clean; *from; from++)
        if (*from != '\r')
            *to++ = *from;
    *to = '\0';
    if (clean[0] == '\0' || strlen(clean) > SCHED_PROMPT_MAX)
        return cl_fail(err, CL_INVALID, "%s: a prompt (or prompt_file) of 1 to %d bytes is required", path,
                       SCHED_PROMPT_MAX);
    out->prompt = clean;
    int64_t next;
    sched_bad bad;
    cl_error why;
    if (sched_check(out->cron_expr, out->timezone, time_now_ms(), &next, &bad, &why) != CL_OK) {
        if (strcmp(why.code ? why.code : "", "invalid_timezone") == 0)
            return cl_fail(err, CL_INVALID, "%s.%s: %s", path, bad.field, why.msg);
        return cl_fail(err, CL_INVALID, "%s.%s: invalid %s at position %zu: %s", path, bad.field, bad.field,
                       bad.position, why.msg);
    }
    return CL_OK;
}

static cl_err schedules(walk_ctx *w, const json_t *j, const char *path, tpl_node *out, cl_error *err)
{
    const json_t *list = json_object_get(j, "schedules");
    size_t n = json_array_size(list);
    if (n > TPL_SCHEDULES_MAX)
        return cl_fail(err, CL_INVALID, "%s.schedules: at most %d schedules", path, TPL_SCHEDULES_MAX);
    out->schedules = arena_calloc(w->a, n ? n : 1, sizeof(*out->schedules));
    for (size_t i = 0; i < n; i++) {
        const char *p = arena_sprintf(w->a, "%s.schedules[%zu]", path, i);
        cl_err e = schedule(w, json_array_get(list, i), out->files_dir, p, &out->schedules[i], err);
        if (e != CL_OK)
            return e;
        for (size_t k = 0; k < i; k++)
            if (strcmp(out->schedules[k].name, out->schedules[i].name) == 0)
                return cl_fail(err, CL_INVALID, "duplicate schedule name \"%s\" at %s", out->schedules[i].name, p);
    }
    out->nschedules = n;
    return CL_OK;
}

/* ---- channels ---------------------------------------------------------------------------------------------- */

static const key_rule CHANNEL_KEYS[] = {{"type", T_STR}, {"config", T_MAP}, {"allowed_users", T_LIST},
                                        {"enabled", T_BOOL}};

static cl_err channel(walk_ctx *w, const json_t *j, const char *path, tpl_channel *out, cl_error *err)
{
    if (!json_is_object(j))
        return cl_fail(err, CL_INVALID, "%s must be a mapping", path);
    cl_err e = check_keys(j, CHANNEL_KEYS, sizeof(CHANNEL_KEYS) / sizeof(CHANNEL_KEYS[0]), path, err);
    if (e != CL_OK)
        return e;
    out->type = str(j, "type") ? str(j, "type") : "";
    out->enabled = !json_is_false(json_object_get(j, "enabled"));
    const json_t *allowed = json_object_get(j, "allowed_users");
    out->allowed = json_is_array(allowed) ? allowed : NULL;
    out->config = json_own(w->a, json_object());
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(j, "config"), key, v) { /* map string→string: YAML's scalars as text */
        json_t *text = json_is_string(v)    ? json_incref(v)
                       : json_is_integer(v) ? json_sprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v))
                       : json_is_boolean(v) ? json_string(json_is_true(v) ? "true" : "false")
                                            : NULL;
        if (text == NULL)
            return cl_fail(err, CL_INVALID, "%s.config.%s must be a string", path, key);
        json_object_set_new(out->config, key, text);
    }
    return CL_OK;
}

static cl_err channels(walk_ctx *w, const json_t *j, const char *path, tpl_node *out, cl_error *err)
{
    const json_t *list = json_object_get(j, "channels");
    size_t n = json_array_size(list);
    if (n > TPL_CHANNELS_MAX)
        return cl_fail(err, CL_INVALID, "%s.channels: at most %d channels", path, TPL_CHANNELS_MAX);
    out->channels = arena_calloc(w->a, n ? n : 1, sizeof(*out->channels));
    for (size_t i = 0; i < n; i++) {
        cl_err e = channel(w, json_array_get(list, i), arena_sprintf(w->a, "%s.channels[%zu]", path, i),
                           &out->channels[i], err);
        if (e != CL_OK)
            return e;
    }
    out->nchannels = n;
    return CL_OK;
}

/* A list of {content, scope} at `path` (scope LOCAL when absent; `force_global` for global_memories). Each is
 * written later through the same path as POST /memories, which checks the content again; refusing it here names
 * the entry before anything is created. */
static cl_err memories(walk_ctx *w, const json_t *list, const char *path, bool force_global, const tpl_memory **out,
                       size_t *count, cl_error *err)
{
    size_t n = json_array_size(list);
    *out = NULL;
    *count = 0;
    if (n == 0)
        return CL_OK;
    if ((w->memories += n) > TPL_MAX_MEMORIES)
        return cl_fail(err, CL_TOO_LARGE, "template seeds more than %d memories", TPL_MAX_MEMORIES);
    tpl_memory *m = arena_calloc(w->a, n, sizeof(*m));
    for (size_t i = 0; i < n; i++) {
        const json_t *j = json_array_get(list, i);
        const json_t *content = json_object_get(j, "content"), *scope = json_object_get(j, "scope");
        if (!json_is_object(j) || !json_is_string(content) || (scope && !json_is_null(scope) && !json_is_string(scope)))
            return cl_fail(err, CL_INVALID, "%s[%zu] must be a mapping with a string content and scope", path, i);
        m[i].content = json_string_value(content);
        mem_scope sc = MEM_SCOPE_LOCAL;
        const char *name = json_is_string(scope) ? json_string_value(scope) : "";
        if (name[0] && !mem_scope_parse(name, &sc))
            return cl_fail(err, CL_INVALID, "%s[%zu].scope must be LOCAL, TEAM or GLOBAL", path, i);
        m[i].scope = force_global ? MEM_SCOPE_GLOBAL : (int)sc;
        size_t len = strlen(m[i].content), k = 0;
        while (k < len && strchr(" \t\n\r\f\v", m[i].content[k]))
            k++;
        if (k == len)
            return cl_fail(err, CL_INVALID, "%s[%zu].content is required", path, i);
        if ((int64_t)len > mem_config()->content_max)
            return cl_fail(err, CL_INVALID, "%s[%zu].content is longer than %lld bytes", path, i,
                           (long long)mem_config()->content_max);
    }
    *out = m;
    *count = n;
    return CL_OK;
}

static cl_err node(walk_ctx *w, const json_t *j, const char *path, int depth, bool spawn, tpl_node *out,
                   cl_error *err);

/* ---- what a created node keeps besides its row: its system prompt and its plugins ---------------------------- */

enum { TPL_PROMPT_MAX = 1 << 20 };

/* defaults.plugins, then the node's own; "!x" or "-x" in the node's list removes x (workspaces.md §4.2). */
static cl_err node_plugins(walk_ctx *w, const json_t *j, const char *path, tpl_node *out, cl_error *err)
{
    const json_t *lists[] = {json_object_get(w->defaults, "plugins"), json_object_get(j, "plugins")};
    const char *paths[] = {"defaults.plugins", arena_sprintf(w->a, "%s.plugins", path)};
    size_t cap = json_array_size(lists[0]) + json_array_size(lists[1]);
    out->plugins = arena_calloc(w->a, cap + 1, sizeof(char *));
    for (int l = 0; l < 2; l++) {
        for (size_t i = 0; i < json_array_size(lists[l]); i++) {
            const char *v = json_string_value(json_array_get(lists[l], i)), *name = v;
            bool drop = l == 1 && v != NULL && (v[0] == '!' || v[0] == '-');
            name = drop ? v + 1 : v;
            if (name == NULL || !plugin_name_valid(name) || strchr(name, '/') != NULL)
                return cl_fail(err, CL_INVALID, "%s[%zu]: invalid plugin name", paths[l], i);
            size_t k = 0;
            while (k < out->nplugins && strcmp(out->plugins[k], name) != 0)
                k++;
            if (drop && k < out->nplugins) /* opted out: the later ones move up, in order */
                memmove(&out->plugins[k], &out->plugins[k + 1], (--out->nplugins - k) * sizeof(char *));
            else if (!drop && k == out->nplugins)
                out->plugins[out->nplugins++] = name;
        }
    }
    if (out->nplugins > PLUGIN_DECLARED_MAX)
        return cl_fail(err, CL_INVALID, "%s: at most %d plugins", path, PLUGIN_DECLARED_MAX);
    out->system_prompt = str(j, "system_prompt");
    if (out->system_prompt && strlen(out->system_prompt) > TPL_PROMPT_MAX)
        return cl_fail(err, CL_INVALID, "%s.system_prompt is larger than %d bytes", path, TPL_PROMPT_MAX);
    return CL_OK;
}

/* Validate a list of sibling nodes; only spawning ones land in *out. */
static cl_err siblings(walk_ctx *w, const json_t *list, const char *path, int depth, bool spawn, tpl_node **out,
                       size_t *count, cl_error *err)
{
    size_t n = json_array_size(list), k = 0;
    tpl_node *nodes = arena_calloc(w->a, n ? n : 1, sizeof(*nodes));
    for (size_t i = 0; i < n; i++) {
        const json_t *j = json_array_get(list, i);
        char *p = arena_sprintf(w->a, "%s[%zu]", path, i);
        if (!json_is_object(j))
            return cl_fail(err, CL_INVALID, "%s must be a mapping", p);
        const json_t *sp = json_object_get(j, "spawning");
        bool child_spawns = spawn && !json_is_false(sp);
        cl_err e = node(w, j, p, depth, child_spawns, &nodes[k], err);
        if (e != CL_OK)
            return e;
        for (size_t m = 0; m < i; m++) { /* siblings must differ, spawning or not */
            const char *other = str(json_array_get(list, m), "name");
            if (other && strcmp(other, str(j, "name")) == 0)
                return cl_fail(err, CL_INVALID, "duplicate sibling name \"%s\" at %s", other, p);
        }
        if (child_spawns)
            k++;
    }
    *out = nodes;
    *count = k;
    return CL_OK;
}

static cl_err node(walk_ctx *w, const json_t *j, const char *path, int depth, bool spawn, tpl_node *out,
                   cl_error *err)
{
    cl_err e = check_keys(j, NODE_KEYS, sizeof(NODE_KEYS) / sizeof(NODE_KEYS[0]), path, err);
    if (e != CL_OK)
        return e;
    if (depth > TPL_MAX_DEPTH)
        return cl_fail(err, CL_INVALID, "%s is nested deeper than %d levels", path, TPL_MAX_DEPTH);
    if (++w->t->declared > TPL_MAX_NODES)
        return cl_fail(err, CL_TOO_LARGE, "template has more than %d workspaces", TPL_MAX_NODES);
    memset(out, 0, sizeof(*out));
    out->name = str(j, "name");
    cl_error fe;
    if (ws_validate_name(out->name, &fe) != CL_OK)
        return cl_fail(err, CL_INVALID, "%s: %s", path, fe.msg);
    w->t->all_names = arena_grow(w->a, w->t->all_names, w->t->declared - 1, &w->names_cap, sizeof(char *));
    w->t->all_names[w->t->declared - 1] = out->name;
    out->role = str(j, "role");
    if (out->role && ws_validate_role(out->role, &fe) != CL_OK)
        return cl_fail(err, CL_INVALID, "%s: %s", path, fe.msg);
    const json_t *d = w->defaults;
    out->external = json_is_true(json_object_get(j, "external"));
    out->runtime = str(j, "runtime") ? str(j, "runtime") : str(d, "runtime");
    if (out->runtime == NULL)
        out->runtime = out->external ? "external" : "claude-code";
    if (!ws_runtime_known(out->runtime))
        return cl_fail(err, CL_INVALID, "%s: unsupported runtime \"%s\"", path, out->runtime);
    out->external = out->external || ws_runtime_external_like(out->runtime);
    out->model = str(j, "model") ? str(j, "model") : str(d, "model");
    if (spawn && !out->external && (out->model == NULL || out->model[0] == '\0'))
        return cl_fail(err, CL_INVALID, "%s \"%s\": model is required (on the node or in defaults.model)", path,
                       out->name);
    const json_t *tier = json_object_get(j, "tier");
    if (!json_is_integer(tier))
        tier = json_object_get(d, "tier");
    out->tier = json_is_integer(tier) ? json_integer_value(tier) : WS_TIER_DEFAULT;
    if (out->tier < WS_TIER_MIN || out->tier > WS_TIER_MAX)
        return cl_fail(err, CL_INVALID, "%s: tier must be between %d and %d", path, WS_TIER_MIN, WS_TIER_MAX);
    out->template_name = str(j, "template");
    out->workspace_dir = str(j, "workspace_dir");
    if (out->workspace_dir && ws_validate_dir(out->workspace_dir, &fe) != CL_OK)
        return cl_fail(err, CL_INVALID, "%s: invalid workspace directory", path);
    out->workspace_access = str(j, "workspace_access");
    if (out->workspace_access && strcmp(out->workspace_access, "none") != 0 &&
        ((strcmp(out->workspace_access, "read_only") != 0 && strcmp(out->workspace_access, "read_write") != 0) ||
         out->workspace_dir == NULL))
        return cl_fail(err, CL_INVALID, "%s: invalid workspace access", path);
    out->url = str(j, "url");
    if (out->url && out->url[0] && url_check_agent(out->url, &fe) != CL_OK)
        return cl_fail(err, CL_INVALID, "%s: unsafe workspace URL: %s", path, fe.msg);
    const json_t *mct = json_object_get(j, "max_concurrent_tasks");
    out->max_concurrent_tasks = json_is_integer(mct) && json_integer_value(mct) > 0 ? json_integer_value(mct) : 1;
    if (out->max_concurrent_tasks > INT32_MAX) /* an INTEGER column: refuse here, not with the import's commit */
        return cl_fail(err, CL_INVALID, "%s: max_concurrent_tasks must be at most %d", path, INT32_MAX);
    out->files_dir = str(j, "files_dir");
    if (out->files_dir && !files_dir_valid(out->files_dir))
        return cl_fail(err, CL_INVALID, "%s: files_dir must be a relative path inside the template directory", path);
    if ((e = env_reqs(w->a, json_object_get(j, "required_env"), arena_sprintf(w->a, "%s.required_env", path),
                      &out->required, &out->nrequired, err)) != CL_OK)
        return e;
    if (spawn) {
        w->t->any_required |= out->nrequired > 0;
        if ((e = node_env(w, out, path, err)) != CL_OK)
            return e;
    }
    const json_t *canvas = json_object_get(j, "canvas");
    if (json_is_object(canvas)) {
        const json_t *x = json_object_get(canvas, "x"), *y = json_object_get(canvas, "y");
        if ((x && !json_is_number(x)) || (y && !json_is_number(y)))
            return cl_fail(err, CL_INVALID, "%s.canvas: x and y must be numbers", path);
        out->has_canvas = true;
        out->x = x ? json_number_value(x) : 0;
        out->y = y ? json_number_value(y) : 0;
    }
    if ((e = schedules(w, j, path, out, err)) != CL_OK || (e = channels(w, j, path, out, err)) != CL_OK ||
        (e = node_plugins(w, j, path, out, err)) != CL_OK)
        return e;
    const json_t *seeds = json_object_get(j, "initial_memories");
    const char *from = path;
    if (json_array_size(seeds) == 0) { /* the node's own list when it has one, else the defaults' */
        seeds = json_object_get(d, "initial_memories");
        from = "defaults";
    }
    if (spawn &&
        (e = memories(w, seeds, arena_sprintf(w->a, "%s.initial_memories", from), false, &out->memories,
                      &out->nmemories, err)) != CL_OK)
        return e;
    if (spawn)
        w->t->nodes++;
    const json_t *kids = json_object_get(j, "children");
    if (!json_is_array(kids))
        return CL_OK;
    return siblings(w, kids, arena_sprintf(w->a, "%s.children", path), depth + 1, spawn, &out->children,
                    &out->nchildren, err);
}

/* tpl_from_json, with the template's directory for file imports (NULL: an inline template, no files read). */
static cl_err from_json(arena_t *a, const json_t *doc, const char *dir, org_template *out, cl_error *err)
{
    memset(out, 0, sizeof(*out));
    out->dir = dir;
    if (!json_is_object(doc))
        return cl_fail(err, CL_INVALID, "an org template must be a mapping");
    cl_err e = check_keys(doc, TOP_KEYS, sizeof(TOP_KEYS) / sizeof(TOP_KEYS[0]), "the template", err);
    const json_t *defaults = json_object_get(doc, "defaults");
    if (e == CL_OK && json_is_object(defaults))
        e = check_keys(defaults, DEFAULT_KEYS, sizeof(DEFAULT_KEYS) / sizeof(DEFAULT_KEYS[0]), "defaults", err);
    if (e != CL_OK)
        return e;
    out->name = str(doc, "name") ? str(doc, "name") : "";
    out->description = str(doc, "description") ? str(doc, "description") : "";
    out->required_env = json_object_get(doc, "required_env");
    out->recommended_env = json_object_get(doc, "recommended_env");
    if ((e = env_reqs(a, out->required_env, "required_env", &out->required, &out->nrequired, err)) != CL_OK)
        return e;
    out->any_required = out->nrequired > 0;
    const json_t *roots = json_object_get(doc, "workspaces");
    if (!json_is_array(roots) || json_array_size(roots) == 0)
        return cl_fail(err, CL_INVALID, "the template has no workspaces");
    walk_ctx w = {a, json_is_object(defaults) ? defaults : json_object(), out, 0, NULL, 0, 0};
    if (!json_is_object(defaults))
        json_own(a, (json_t *)w.defaults);
    secret_pair *org_env = NULL;
    if (dir != NULL && (e = envfile_load(a, arena_sprintf(a, "%s/.env", dir), &org_env, &w.norg_env, err)) != CL_OK)
        return e;
    w.org_env = org_env;
    if ((e = siblings(&w, roots, "workspaces", 0, true, &out->roots, &out->nroots, err)) != CL_OK)
        return e;
    return memories(&w, json_object_get(doc, "global_memories"), "global_memories", true, &out->global_memories,
                    &out->nglobal_memories, err);
}

cl_err tpl_from_json(arena_t *a, const json_t *doc, org_template *out, cl_error *err)
{
    return from_json(a, doc, NULL, out, err);
}

cl_err tpl_load_file(arena_t *a, const char *path, org_template *out, cl_error *err)
{
    FILE *f = fs_fopen_regular(path);
    if (f == NULL)
        return cl_fail(err, CL_NOT_FOUND, "cannot open %s: %s", path, strerror(errno));
    char *buf = arena_alloc(a, TPL_FILE_MAX + 1);
    size_t n = fread(buf, 1, TPL_FILE_MAX + 1, f);
    fclose(f);
    if (n > TPL_FILE_MAX)
        return cl_fail(err, CL_TOO_LARGE, "%s is larger than %d bytes", path, TPL_FILE_MAX);
    json_t *doc;
    cl_err e = yaml_parse(a, buf, n, &doc, err);
    const char *slash = strrchr(path, '/');
    const char *dir = slash == NULL ? "." : slash == path ? "/" : arena_strndup(a, path, (size_t)(slash - path));
    return e == CL_OK ? from_json(a, doc, dir, out, err) : e;
}
