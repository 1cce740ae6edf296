/* bundle.c - see bundle.h. */
#include "model/bundle.h"

#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/utf8.h"
#include "base/yaml.h"
#include "model/event.h"
#include "model/workspace.h"
#include "model/wsconfig.h"
#include "model/wstemplate.h"

static const char *const NODE_KEYS[] = {"schema",  "id",    "name",    "description",    "tier",
                                        "model",   "system_prompt", "skills", "tools", "prompts",
                                        "sub_workspaces", "agent_card", "author", "version"};
static const char *const SKILL_KEYS[] = {"id", "name", "description", "files"};
static const char *const TOOL_KEYS[] = {"id", "config"};

static const char SQL_ORIGIN[] =
    "UPDATE workspaces SET source_bundle_id = $2, agent_card = COALESCE($3, agent_card) WHERE id = $1";

#define COUNT(x) (sizeof(x) / sizeof((x)[0]))

typedef struct {
    arena_t *a;
    size_t nodes;
    const char **ids; /* every bundle id read, for the duplicate check */
    size_t nids, idcap;
    const char *stack[BUNDLE_MAX_DEPTH + 2]; /* the ids of the enclosing bundles, for the cycle check */
    int depth;
} reader;

/* "<path>.<key>", or the key alone at the top. */
static const char *at(reader *r, const char *path, const char *key)
{
    return path[0] ? arena_sprintf(r->a, "%s.%s", path, key) : key;
}

static cl_err keys_known(const json_t *obj, const char *const *keys, size_t n, const char *path, cl_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        size_t i = 0;
        while (i < n && strcmp(keys[i], key) != 0)
            i++;
        if (i == n)
            return cl_fail(err, CL_INVALID, "unknown key \"%s\" at %s", key, path[0] ? path : "the bundle's top");
    }
    return CL_OK;
}

/* Optional string field (null counts as absent): *out "" when absent. */
static cl_err text(reader *r, const json_t *obj, const char *key, const char *path, size_t max, const char **out,
                   cl_error *err)
{
    const json_t *v = json_object_get(obj, key);
    *out = "";
    if (v == NULL || json_is_null(v))
        return CL_OK;
    const char *p = at(r, path, key);
    if (!json_is_string(v))
        return cl_fail(err, CL_INVALID, "%s must be a string", p);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return cl_fail(err, CL_INVALID, "%s must not contain NUL", p);
    if (json_string_length(v) > max)
        return cl_fail(err, CL_INVALID, "%s is larger than %zu bytes", p, max);
    *out = json_string_value(v);
    return CL_OK;
}

typedef struct {
    ws_file *files;
    size_t n, cap, bytes;
} file_set;

static cl_err add_file(reader *r, file_set *fs, const char *path, const char *where, const char *content, size_t size,
                       cl_error *err)
{
    cl_error why;
    if (wsfiles_path_check(path, &why) != CL_OK)
        return cl_fail(err, CL_INVALID, "%s: invalid path", where);
    if (wsfiles_hidden(path))
        return cl_fail(err, CL_INVALID, "%s: hidden files are not carried by bundles", where);
    if (size > WSFILES_FILE_MAX)
        return cl_fail(err, CL_INVALID, "%s is larger than %d bytes", where, WSFILES_FILE_MAX);
    if (strlen(content) != size || !utf8_valid(content, size))
        return cl_fail(err, CL_INVALID, "%s must be UTF-8 text without NUL", where);
    for (size_t i = 0; i < fs->n; i++)
        if (strcmp(fs->files[i].path, path) == 0)
            return cl_fail(err, CL_INVALID, "%s: a second file at %s", where, path);
    if (fs->n == WSFILES_MAX_FILES || (fs->bytes += size) > WSFILES_TOTAL_MAX)
        return cl_fail(err, CL_INVALID, "%s: a workspace carries at most %d files and %d bytes", where,
                       WSFILES_MAX_FILES, WSFILES_TOTAL_MAX);
    fs->files = arena_grow(r->a, fs->files, fs->n, &fs->cap, sizeof(ws_file));
    fs->files[fs->n++] = (ws_file){path, content, size};
    return CL_OK;
}

/* An object of path: text, each stored at prefix + path. */
static cl_err file_map(reader *r, const json_t *map, const char *where, const char *prefix, file_set *fs,
                       cl_error *err)
{
    if (map == NULL || json_is_null(map))
        return CL_OK;
    if (!json_is_object(map))
        return cl_fail(err, CL_INVALID, "%s must be an object of path: content", where);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)map, key, v) {
        const char *p = arena_sprintf(r->a, "%s[\"%s\"]", where, key);
        if (!json_is_string(v))
            return cl_fail(err, CL_INVALID, "%s must be a string", p);
        if (prefix[0] == '\0' && (strncmp(key, "skills/", 7) == 0 || strcmp(key, "skills") == 0))
            return cl_fail(err, CL_INVALID, "%s: skill files belong in `skills`", p);
        cl_err e = add_file(r, fs, arena_sprintf(r->a, "%s%s", prefix, key), p, json_string_value(v),
                            json_string_length(v), err);
        if (e != CL_OK)
            return e;
    }
    return CL_OK;
}

static cl_err skills(reader *r, const json_t *list, const char *path, file_set *fs, cl_error *err)
{
    const char *where = at(r, path, "skills");
    if (list == NULL || json_is_null(list))
        return CL_OK;
    if (!json_is_array(list) || json_array_size(list) > BUNDLE_SKILLS_MAX)
        return cl_fail(err, CL_INVALID, "%s must be a list of at most %d skills", where, BUNDLE_SKILLS_MAX);
    for (size_t i = 0; i < json_array_size(list); i++) {
        const json_t *s = json_array_get(list, i);
        const char *p = arena_sprintf(r->a, "%s[%zu]", where, i), *id, *name, *desc;
        cl_error why;
        cl_err e;
        if (!json_is_object(s))
            return cl_fail(err, CL_INVALID, "%s must be an object", p);
        if ((e = keys_known(s, SKILL_KEYS, COUNT(SKILL_KEYS), p, err)) != CL_OK ||
            (e = text(r, s, "id", p, WSFILES_PATH_MAX, &id, err)) != CL_OK ||
            (e = text(r, s, "name", p, BUNDLE_TEXT_MAX, &name, err)) != CL_OK ||
            (e = text(r, s, "description", p, BUNDLE_TEXT_MAX, &desc, err)) != CL_OK)
            return e;
        if (id[0] == '\0' || strchr(id, '/') != NULL || wsfiles_path_check(id, &why) != CL_OK || id[0] == '.')
            return cl_fail(err, CL_INVALID, "%s.id must name a skill directory (one path part)", p);
        const char *prefix = arena_sprintf(r->a, "skills/%s/", id);
        for (size_t k = 0; k < fs->n; k++)
            if (strncmp(fs->files[k].path, prefix, strlen(prefix)) == 0)
                return cl_fail(err, CL_INVALID, "%s.id: a second skill \"%s\"", p, id);
        size_t before = fs->n;
        if ((e = file_map(r, json_object_get(s, "files"), at(r, p, "files"), prefix, fs, err)) != CL_OK)
            return e;
        bool has_md = false;
        for (size_t k = before; k < fs->n; k++)
            has_md = has_md || strcmp(fs->files[k].path + strlen(prefix), "SKILL.md") == 0;
        if (!has_md) { /* name and description live in SKILL.md: keep them */
            json_t *nm = json_string(name[0] ? name : id), *ds = json_string(desc);
            char *qn = json_dumps(nm, JSON_ENCODE_ANY), *qd = json_dumps(ds, JSON_ENCODE_ANY);
            const char *md = arena_sprintf(r->a, "---\nname: %s\ndescription: %s\n---\n", qn, qd);
            free(qn), free(qd), json_decref(nm), json_decref(ds);
            if ((e = add_file(r, fs, arena_sprintf(r->a, "%sSKILL.md", prefix), p, md, strlen(md), err)) != CL_OK)
                return e;
        }
    }
    return CL_OK;
}

static cl_err tools(reader *r, const json_t *list, const char *path, cl_error *err)
{
    const char *where = at(r, path, "tools");
    if (list == NULL || json_is_null(list))
        return CL_OK;
    if (!json_is_array(list) || json_array_size(list) > BUNDLE_TOOLS_MAX)
        return cl_fail(err, CL_INVALID, "%s must be a list of at most %d tools", where, BUNDLE_TOOLS_MAX);
    for (size_t i = 0; i < json_array_size(list); i++) {
        const json_t *t = json_array_get(list, i);
        const char *p = arena_sprintf(r->a, "%s[%zu]", where, i), *id;
        if (!json_is_object(t))
            return cl_fail(err, CL_INVALID, "%s must be an object", p);
        cl_err e = keys_known(t, TOOL_KEYS, COUNT(TOOL_KEYS), p, err);
        if (e == CL_OK)
            e = text(r, t, "id", p, BUNDLE_TEXT_MAX, &id, err);
        if (e != CL_OK)
            return e;
    }
    size_t len; /* the document the import will seed (wsconfig_seed): refused here, not inside its transaction */
    json_dump_arena(r->a, json_own(r->a, json_pack("{s:O}", "tools", list)), &len);
    if (len > WSCONFIG_DOC_MAX)
        return cl_fail(err, CL_INVALID, "%s would make a config document over %d bytes", where, WSCONFIG_DOC_MAX);
    return CL_OK;
}

/* runtime and model from the config.yaml it carries, when it says. */
static void from_config(reader *r, const file_set *fs, const char **runtime, const char **model)
{
    for (size_t i = 0; i < fs->n; i++) {
        if (strcmp(fs->files[i].path, "config.yaml") != 0)
            continue;
        json_t *doc;
        cl_error e;
        if (yaml_parse(r->a, fs->files[i].content, fs->files[i].size, &doc, &e) != CL_OK || !json_is_object(doc))
            return;
        const char *rt = json_string_value(json_object_get(doc, "runtime"));
        const char *m = json_string_value(json_object_get(doc, "model"));
        if (m == NULL)
            m = json_string_value(json_object_get(json_object_get(doc, "runtime_config"), "model"));
        if (rt != NULL && rt[0] != '\0')
            *runtime = rt;
        if ((*model)[0] == '\0' && m != NULL)
            *model = m;
    }
}

static cl_err node(reader *r, const json_t *j, const char *path, bundle *out, cl_error *err);

static cl_err subs(reader *r, const json_t *list, const char *path, bundle *out, cl_error *err)
{
    const char *where = at(r, path, "sub_workspaces");
    if (list == NULL || json_is_null(list))
        return CL_OK;
    if (!json_is_array(list))
        return cl_fail(err, CL_INVALID, "%s must be a list of bundles", where);
    size_t n = json_array_size(list);
    out->subs = arena_calloc(r->a, n ? n : 1, sizeof(bundle));
    for (size_t i = 0; i < n; i++) {
        const char *p = arena_sprintf(r->a, "%s[%zu]", where, i);
        cl_err e = node(r, json_array_get(list, i), p, &out->subs[i], err);
        if (e != CL_OK)
            return e;
        for (size_t k = 0; k < i; k++) /* siblings' names differ, as in the tree they become */
            if (strcmp(out->subs[k].name, out->subs[i].name) == 0)
                return cl_fail(err, CL_INVALID, "%s.name: duplicate sibling name \"%s\"", p, out->subs[i].name);
        out->nsubs++;
    }
    return CL_OK;
}

static cl_err node(reader *r, const json_t *j, const char *path, bundle *out, cl_error *err)
{
    const char *where = path[0] ? path : "the bundle";
    if (!json_is_object(j))
        return cl_fail(err, CL_INVALID, "%s must be an object", where);
    if (r->depth >= BUNDLE_MAX_DEPTH)
        return cl_fail(err, CL_INVALID, "%s is nested deeper than %d levels", where, BUNDLE_MAX_DEPTH);
    if (++r->nodes > BUNDLE_MAX_NODES)
        return cl_fail(err, CL_INVALID, "%s: a bundle holds at most %d workspaces", where, BUNDLE_MAX_NODES);
    memset(out, 0, sizeof(*out));
    const char *schema, *prompt, *author, *version;
    cl_error why;
    cl_err e;
    if ((e = keys_known(j, NODE_KEYS, COUNT(NODE_KEYS), path, err)) != CL_OK ||
        (e = text(r, j, "schema", path, BUNDLE_TEXT_MAX, &schema, err)) != CL_OK ||
        (e = text(r, j, "id", path, BUNDLE_ID_MAX, &out->id, err)) != CL_OK ||
        (e = text(r, j, "name", path, BUNDLE_TEXT_MAX, &out->name, err)) != CL_OK ||
        (e = text(r, j, "description", path, BUNDLE_TEXT_MAX, &out->description, err)) != CL_OK ||
        (e = text(r, j, "model", path, WS_MODEL_MAX, &out->model, err)) != CL_OK ||
        (e = text(r, j, "system_prompt", path, WSFILES_FILE_MAX, &prompt, err)) != CL_OK ||
        (e = text(r, j, "author", path, BUNDLE_TEXT_MAX, &author, err)) != CL_OK ||
        (e = text(r, j, "version", path, BUNDLE_TEXT_MAX, &version, err)) != CL_OK)
        return e;
    if (schema[0] != '\0' && strcmp(schema, "1.0") != 0)
        return cl_fail(err, CL_INVALID, "%s: unsupported bundle schema \"%s\" (colony reads \"1.0\")",
                       at(r, path, "schema"), schema);
    if (out->name[strspn(out->name, " \t")] == '\0')
        return path[0] ? cl_fail(err, CL_INVALID, "%s: bundle name is required", at(r, path, "name"))
                       : cl_fail(err, CL_INVALID, "bundle name is required");
    if (ws_validate_name(out->name, &why) != CL_OK ||
        (out->description[0] && ws_validate_role(out->description, &why) != CL_OK))
        return cl_fail(err, CL_INVALID, "%s: %s", where, why.msg);
    if (strpbrk(out->model, "\r\n") != NULL)
        return cl_fail(err, CL_INVALID, "%s must not contain CR or LF", at(r, path, "model"));
    const json_t *tier = json_object_get(j, "tier");
    out->tier = WS_TIER_DEFAULT;
    if (tier != NULL && !json_is_null(tier)) {
        int64_t t = 0;
        if (json_opt_int(j, "tier", &t, NULL, &why) != CL_OK || (t != 0 && (t < WS_TIER_MIN || t > WS_TIER_MAX)))
            return cl_fail(err, CL_INVALID, "%s must be an integer from %d to %d", at(r, path, "tier"), WS_TIER_MIN,
                           WS_TIER_MAX);
        out->tier = t ? t : WS_TIER_DEFAULT;
    }
    const json_t *card = json_object_get(j, "agent_card");
    if (card != NULL && !json_is_null(card)) {
        size_t len;
        if (!json_is_object(card))
            return cl_fail(err, CL_INVALID, "%s must be an object or null", at(r, path, "agent_card"));
        out->agent_card = json_dump_arena(r->a, card, &len);
        if (len > BUNDLE_CARD_MAX)
            return cl_fail(err, CL_INVALID, "%s is larger than %d bytes", at(r, path, "agent_card"), BUNDLE_CARD_MAX);
    }
    if (out->id[0] != '\0') { /* an id repeated inside its own subtree would make the tree a cycle */
        for (int k = 0; k < r->depth; k++)
            if (strcmp(r->stack[k], out->id) == 0)
                return cl_fail(err, CL_INVALID, "%s: cycle: \"%s\" is the id of an enclosing bundle",
                               at(r, path, "id"), out->id);
        r->ids = arena_grow(r->a, r->ids, r->nids, &r->idcap, sizeof(char *));
        r->ids[r->nids++] = out->id;
    }
    file_set fs = {0};
    if (prompt[0] != '\0' && (e = add_file(r, &fs, "system-prompt.md", at(r, path, "system_prompt"), prompt,
                                           strlen(prompt), err)) != CL_OK)
        return e;
    if ((e = file_map(r, json_object_get(j, "prompts"), at(r, path, "prompts"), "", &fs, err)) != CL_OK ||
        (e = skills(r, json_object_get(j, "skills"), path, &fs, err)) != CL_OK ||
        (e = tools(r, json_object_get(j, "tools"), path, err)) != CL_OK)
        return e;
    const char *both = wsfiles_shape_conflict(r->a, fs.files, fs.n);
    if (both != NULL)
        return cl_fail(err, CL_INVALID, "%s: %s is both a file and a directory", at(r, path, "prompts"), both);
    const json_t *tl = json_object_get(j, "tools");
    out->tools = json_array_size(tl) > 0 ? tl : NULL;
    out->files = fs.files, out->nfiles = fs.n;
    out->runtime = "claude-code";
    from_config(r, &fs, &out->runtime, &out->model);
    if (!ws_runtime_known(out->runtime))
        return cl_fail(err, CL_INVALID, "%s[\"config.yaml\"]: unsupported runtime \"%s\"", at(r, path, "prompts"),
                       out->runtime);
    if (strlen(out->model) > WS_MODEL_MAX || strpbrk(out->model, "\r\n") != NULL)
        return cl_fail(err, CL_INVALID, "%s[\"config.yaml\"]: model must be at most %d bytes, one line",
                       at(r, path, "prompts"), WS_MODEL_MAX);
    r->stack[r->depth++] = out->id[0] ? out->id : "";
    e = subs(r, json_object_get(j, "sub_workspaces"), path, out, err);
    r->depth--;
    return e;
}

static int by_str(const void *x, const void *y) { return strcmp(*(const char *const *)x, *(const char *const *)y); }

cl_err bundle_read(arena_t *a, const json_t *doc, bundle *out, size_t *nodes, cl_error *err)
{
    reader r = {.a = a};
    cl_err e = node(&r, doc, "", out, err);
    *nodes = r.nodes;
    if (e != CL_OK)
        return e;
    if (r.nids > 1)
        qsort(r.ids, r.nids, sizeof(char *), by_str);
    for (size_t i = 1; i < r.nids; i++)
        if (strcmp(r.ids[i - 1], r.ids[i]) == 0)
            return cl_fail(err, CL_INVALID, "duplicate bundle id \"%s\" (each workspace of a bundle has its own)",
                           r.ids[i]);
    return CL_OK;
}

cl_err bundle_parse(arena_t *a, const char *text_in, size_t len, bundle *out, size_t *nodes, cl_error *err)
{
    *nodes = 0;
    for (size_t i = 0; i < len;) { /* name where the text stops being UTF-8 */
        size_t k = utf8_seq_len(text_in + i, len - i);
        if (k == 0)
            return cl_fail(err, CL_INVALID, "invalid UTF-8 at byte %zu", i);
        i += k;
    }
    json_t *doc;
    cl_err e = json_parse(a, text_in, len, &doc, err);
    if (e != CL_OK)
        return cl_fail(err, CL_INVALID, "%s", arena_strdup(a, err->msg));
    return bundle_read(a, doc, out, nodes, err);
}

/* ---- import ------------------------------------------------------------------------------------------------- */

typedef struct {
    db_t *db;
    arena_t *a;
} importer;

static cl_err import_node(importer *c, const bundle *b, const char *parent, int depth, bundle_result *out,
                          cl_error *err)
{
    ws_spec s = {.name = b->name,
                 .role = b->description[0] ? b->description : NULL,
                 .parent_id = parent,
                 .runtime = b->runtime,
                 .model = b->model,
                 .tier = b->tier,
                 .status = "provisioning",
                 .own_event = true};
    ws_row row;
    ws_outcome how;
    cl_err e = ws_resolve(c->db, c->a, &s, &row, &how, err);
    if (e != CL_OK) {
        const char *why = arena_strdup(c->a, err->msg);
        return cl_fail(err, e, "%s \"%s\": %s", depth == 0 ? "root" : "workspace", b->name, why);
    }
    *out = (bundle_result){row.id, b->name, how == WS_CREATED ? "provisioning" : row.status, how == WS_EXISTING,
                           NULL, 0};
    if (how == WS_CREATED) { /* a workspace that exists keeps what it has */
        json_t *p = json_own(c->a, json_pack("{s:s, s:I, s:s, s:s}", "name", b->name, "tier", (json_int_t)b->tier,
                                             "runtime", b->runtime, "source_bundle_id", b->id));
        if ((e = event_record(c->db, c->a, EV_WORKSPACE_PROVISIONING, row.id, json_dump_arena(c->a, p, NULL), NULL,
                              err)) != CL_OK ||
            (e = db_run(c->db, c->a, NULL, err, SQL_ORIGIN, "sss", row.id, b->id[0] ? b->id : NULL, b->agent_card)) !=
                CL_OK ||
            (e = wsfiles_seed(c->db, c->a, row.id, NULL, b->files, b->nfiles, err)) != CL_OK)
            return e;
        if (b->tools != NULL &&
            (e = wsconfig_seed(c->db, c->a, row.id, json_own(c->a, json_pack("{s:O}", "tools", b->tools)), err)) !=
                CL_OK)
            return e;
    }
    out->children = arena_calloc(c->a, b->nsubs ? b->nsubs : 1, sizeof(bundle_result));
    for (size_t i = 0; i < b->nsubs; i++) {
        if ((e = import_node(c, &b->subs[i], row.id, depth + 1, &out->children[i], err)) != CL_OK)
            return e;
        out->nchildren++;
    }
    return CL_OK;
}

cl_err bundle_import(db_t *db, arena_t *a, const bundle *b, bundle_result *out, cl_error *err)
{
    importer c = {db, a};
    const char *platform = NULL;
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    /* shared: no removal or platform install interleaves; the root joins the platform root as creates do */
    if ((e = db_tx_lock_shared(db, WS_TREE_LOCK, err)) == CL_OK && (e = ws_platform_id(db, a, &platform, err)) == CL_OK)
        e = import_node(&c, b, platform, 0, out, err);
    return db_tx_end(db, e, err);
}

/* ---- export ------------------------------------------------------------------------------------------------- */

typedef struct {
    db_t *db;
    arena_t *a;
    const char *configs_dir;
    size_t nodes, bytes; /* bytes: of the files and cards gathered so far */
} exporter;

/* `key` of the YAML front matter of a SKILL.md (between "---" lines), or NULL. */
static const char *front_matter(arena_t *a, const char *md, const char *key)
{
    if (strncmp(md, "---\n", 4) != 0)
        return NULL;
    const char *end = strstr(md + 4, "\n---");
    return end ? wstpl_yaml_string(a, md + 4, (size_t)(end - md - 3), key) : NULL;
}

/* skills/<id>/<path> files grouped per skill, in path order (the files come sorted). */
static json_t *skills_json(arena_t *a, const ws_file *files, size_t n)
{
    json_t *out = json_array(), *cur = NULL;
    size_t idlen = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = files[i].path, *rest = p + 7, *slash;
        if (strncmp(p, "skills/", 7) != 0 || (slash = strchr(rest, '/')) == NULL || wsfiles_hidden(p))
            continue;
        if (cur == NULL || (size_t)(slash - rest) != idlen ||
            strncmp(json_string_value(json_object_get(cur, "id")), rest, idlen) != 0) {
            idlen = (size_t)(slash - rest);
            cur = json_pack("{s:s%, s:s%, s:s, s:o}", "id", rest, idlen, "name", rest, idlen, "description", "",
                            "files", json_object());
            json_array_append_new(out, cur);
        }
        json_object_set_new(json_object_get(cur, "files"), slash + 1, json_stringn(files[i].content, files[i].size));
        if (strcmp(slash + 1, "SKILL.md") == 0) {
            const char *nm = front_matter(a, files[i].content, "name"), *ds = front_matter(a, files[i].content,
                                                                                          "description");
            if (nm != NULL)
                json_object_set_new(cur, "name", json_string(nm));
            if (ds != NULL)
                json_object_set_new(cur, "description", json_string(ds));
        }
    }
    return out;
}

static cl_err export_node(exporter *x, const char *id, int depth, json_t **out, cl_error *err)
{
    if (depth >= BUNDLE_MAX_DEPTH || ++x->nodes > BUNDLE_MAX_NODES)
        return cl_fail(err, CL_TOO_LARGE, "a bundle holds at most %d workspaces, %d levels deep", BUNDLE_MAX_NODES,
                       BUNDLE_MAX_DEPTH);
    ws_row w;
    ws_file *files;
    size_t n;
    bool own;
    const char *config, *prompt = "";
    cl_err e = ws_get(x->db, x->a, id, &w, err);
    if (e == CL_NOT_FOUND)
        return cl_fail(err, CL_NOT_FOUND, "bundle not found");
    if (e != CL_OK ||
        (e = wsfiles_view(x->db, x->a, &w, wstpl_dir_of(x->a, x->configs_dir, w.template_name, w.name),
                          WSFILES_CONFIGS, true, &files, &n, &own, err)) != CL_OK ||
        (e = wsconfig_get(x->db, x->a, id, &config, err)) != CL_OK)
        return e;
    /* stop gathering once the document cannot fit: a large tree would otherwise be read whole into memory (up to
     * BUNDLE_MAX_NODES x WSFILES_TOTAL_MAX) before the final check of bundle_export */
    for (size_t i = 0; i < n; i++)
        x->bytes += wsfiles_hidden(files[i].path) ? 0 : files[i].size;
    x->bytes += w.agent_card ? strlen(w.agent_card) : 0;
    if (x->bytes > BUNDLE_EXPORT_MAX)
        return cl_fail(err, CL_TOO_LARGE, "bundle larger than %d bytes", BUNDLE_EXPORT_MAX);
    json_t *prompts = json_object();
    for (size_t i = 0; i < n; i++) {
        const char *p = files[i].path;
        if (wsfiles_hidden(p) || strncmp(p, "skills/", 7) == 0)
            continue;
        if (strcmp(p, "system-prompt.md") == 0)
            prompt = files[i].content;
        else
            json_object_set_new(prompts, p, json_stringn(files[i].content, files[i].size));
    }
    json_t *cfg, *tl = NULL;
    cl_error ignored;
    if (json_parse(x->a, config, strlen(config), &cfg, &ignored) == CL_OK)
        tl = json_object_get(cfg, "tools");
    json_t *card = NULL;
    if (w.agent_card && json_parse(x->a, w.agent_card, strlen(w.agent_card), &card, &ignored) != CL_OK)
        card = NULL;
    json_t *b = json_own(x->a, json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:o, s:o, s:o, s:o, s:O?, s:s, s:s}",
                                         "schema", "1.0", "id", w.id, "name", w.name, "description",
                                         w.role ? w.role : "", "tier", (json_int_t)w.tier, "model",
                                         w.model ? w.model : "", "system_prompt", prompt, "skills",
                                         skills_json(x->a, files, n), "tools",
                                         json_is_array(tl) ? json_deep_copy(tl) : json_array(), "prompts", prompts,
                                         "sub_workspaces", json_array(), "agent_card", card, "author", "", "version",
                                         "1.0.0"));
    if (b == NULL)
        return cl_fail(err, CL_INTERNAL, "bundle of %s could not be built", id);
    const char **kids, **names;
    size_t nk;
    if ((e = ws_children(x->db, x->a, id, &kids, &names, &nk, err)) != CL_OK)
        return e;
    /* by name (unique among live siblings): the same tree exports the same document, whenever its rows were made */
    size_t *order = arena_alloc(x->a, (nk + 1) * sizeof(size_t));
    for (size_t i = 0; i < nk; i++) {
        size_t k = i;
        while (k > 0 && strcmp(names[order[k - 1]], names[i]) > 0) {
            order[k] = order[k - 1];
            k--;
        }
        order[k] = i;
    }
    json_t *list = json_object_get(b, "sub_workspaces");
    for (size_t i = 0; i < nk; i++) {
        json_t *sub;
        if ((e = export_node(x, kids[order[i]], depth + 1, &sub, err)) != CL_OK)
            return e;
        json_array_append(list, sub);
    }
    *out = b;
    return CL_OK;
}

cl_err bundle_export(db_t *db, arena_t *a, const char *id, const char *configs_dir, json_t **out, cl_error *err)
{
    exporter x = {db, a, configs_dir, 0, 0};
    cl_err e = export_node(&x, id, 0, out, err);
    if (e == CL_OK && json_dumpb(*out, NULL, 0, JSON_COMPACT) > BUNDLE_EXPORT_MAX)
        e = cl_fail(err, CL_TOO_LARGE, "bundle larger than %d bytes", BUNDLE_EXPORT_MAX);
    return e;
}
