/* orgimport.c - see orgimport.h. */
#include "model/orgimport.h"

#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "base/time.h"
#include "base/utf8.h"
#include "model/channel.h"
#include "model/envfile.h"
#include "model/secret.h"
#include "model/schedule.h"
#include "model/memory.h"
#include "model/plugin.h"
#include "model/workspace.h"
#include "model/wsfiles.h"
#include "model/wstemplate.h"

static const char SQL_EVENT[] = "INSERT INTO structure_events (id, event_type, payload, created_at)"
                                " VALUES ($1, $2, $3, $4)";
static const char SQL_LIVE_CHILDREN[] = "SELECT id FROM workspaces WHERE parent_id = $1 AND status <> 'removed'";

void org_event(db_t *db, const char *type, const char *payload_json)
{
    arena_t *a = arena_new();
    char id[ID_UUID_LEN + 1];
    id_uuid4(id);
    cl_error e;
    if (db_run(db, a, NULL, &e, SQL_EVENT, "sssi", id, type, payload_json, time_now_ms()) != CL_OK)
        log_warn("structure event not recorded", "type=%s error=\"%s\"", type, e.msg);
    arena_free(a);
}

int64_t org_import_started(db_t *db, arena_t *a, const char *name, const char *dir, const char *mode)
{
    json_t *p = json_own(a, json_pack("{s:s, s:s?, s:s}", "name", name, "dir", dir, "mode", mode));
    org_event(db, "org.import.started", json_dump_arena(a, p, NULL));
    return time_mono_ms();
}

void org_import_completed(db_t *db, arena_t *a, const char *name, const char *dir, const char *mode,
                          const import_result *r, int64_t started, const char *error)
{
    json_t *p = json_own(a, json_pack("{s:s, s:s?, s:s, s:I, s:I, s:I, s:I, s:s}", "name", name, "dir", dir, "mode",
                                      mode, "created_count", (json_int_t)r->created, "skipped_count",
                                      (json_int_t)r->skipped, "reconcile_removed_count", (json_int_t)r->removed,
                                      "duration_ms", (json_int_t)(time_mono_ms() - started), "error",
                                      error ? error : ""));
    org_event(db, "org.import.completed", json_dump_arena(a, p, NULL));
}

typedef struct {
    db_t *db;
    arena_t *a;
    import_result *r;
    size_t cap;
    const char *configs_dir;
    mem_written *seeded; /* memories written, counted once the import commits */
    size_t nseeded, seeded_cap;
} import_ctx;

static const secret_actor IMPORT_ACTOR = {"import", NULL};

/* What a created node keeps besides its row (a node that exists keeps its own): its inline system prompt, stored
 * over its workspace template's files, and the plugins it declares. */
static cl_err seed_node(import_ctx *c, const tpl_node *n, const char *id, cl_error *err)
{
    cl_err e = CL_OK;
    if (n->system_prompt != NULL && n->system_prompt[0] != '\0') {
        ws_file f = {"system-prompt.md", n->system_prompt, strlen(n->system_prompt)};
        e = wsfiles_seed(c->db, c->a, id, wstpl_dir_of(c->a, c->configs_dir, n->template_name, n->name), &f, 1, err);
    }
    if (e == CL_OK && n->nplugins > 0)
        e = plugin_declare(c->db, c->a, id, n->plugins, n->nplugins, err);
    return e;
}

/* ---- channels (workspaces.md §4.3 step 8) ---------------------------------------------------------------- */

/* The config with each ${VAR} expanded from the secrets the node sees (read once, when a value needs them). NULL
 * with *why when a value cannot be: the reason names the field and the variable, never a value. */
static cl_err expand_config(import_ctx *c, const char *id, const json_t *config, secret_pair **env, size_t *nenv,
                            bool *have_env, json_t **out, const char **why, cl_error *err)
{
    *out = json_own(c->a, json_object());
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)config, key, v) {
        const char *text = json_string_value(v), *expanded = text, *name;
        if (strstr(text, "${") != NULL) {
            const char **failed;
            size_t nfailed;
            cl_err e = *have_env ? CL_OK : secret_values(c->db, c->a, id, env, nenv, &failed, &nfailed, err);
            if (e != CL_OK)
                return e;
            *have_env = true;
            envfile_expansion r = envfile_expand(c->a, text, *env, *nenv, CHAN_VALUE_MAX, &expanded, &name);
            const char *field = utf8_cut_copy(c->a, key, 64, true);
            if (r == ENVFILE_UNRESOLVED) {
                *why = arena_sprintf(c->a, "config.%s: ${%s} is not set (in the template's .env files or the secrets)",
                                     field, name);
                return CL_OK;
            }
            if (r == ENVFILE_TOO_LONG) {
                *why = arena_sprintf(c->a, "config.%s is longer than %d bytes once expanded", field, CHAN_VALUE_MAX);
                return CL_OK;
            }
        }
        json_object_set_new(*out, key, json_string(expanded));
    }
    return CL_OK;
}

/* A created node's template channels, each created through the API's write (model/channel.h) or skipped with why. */
static cl_err add_channels(import_ctx *c, const tpl_node *n, const char *id, import_item *it, cl_error *err)
{
    secret_pair *env = NULL;
    size_t nenv = 0;
    bool have_env = false;
    it->channels = arena_calloc(c->a, n->nchannels + 1, sizeof(*it->channels));
    it->channels_skipped = arena_calloc(c->a, n->nchannels + 1, sizeof(*it->channels_skipped));
    for (size_t i = 0; i < n->nchannels; i++) {
        const tpl_channel *ch = &n->channels[i];
        const char *why = NULL;
        chan_type t = CHAN_TELEGRAM;
        json_t *config = NULL;
        cl_err e = CL_OK;
        if (ch->type[0] == '\0')
            why = "type is required";
        else if (!chan_type_parse(ch->type, &t))
            why = CHAN_UNKNOWN_TYPE;
        else
            e = expand_config(c, id, ch->config, &env, &nenv, &have_env, &config, &why, err);
        if (e == CL_OK && why == NULL) {
            chan_row made;
            const char *conflict;
            e = chan_create(c->db, c->a, id, t, config, ch->allowed, ch->enabled, NULL, &made, &conflict, err);
            if (e == CL_INVALID || e == CL_CONFLICT) /* refused as the API refuses it (a second of a type: 409) */
                why = arena_strdup(c->a, err->msg), e = CL_OK;
            else if (e == CL_OK)
                it->channels[it->nchannels++] = chan_type_name(t);
        }
        if (e != CL_OK) {
            const char *cause = arena_strdup(c->a, err->msg);
            return cl_fail(err, e, "channel %zu (%s): %s", i, utf8_cut_copy(c->a, ch->type, 64, true), cause);
        }
        if (why != NULL)
            it->channels_skipped[it->nchannels_skipped++] =
                (import_channel_skip){utf8_cut_copy(c->a, ch->type, 64, true), why};
    }
    return CL_OK;
}

/* ---- canvas layout (workspaces.md §4.3): the reference's grid, so a fresh org is not a pile of cards at 0,0 ---- */

enum { CARD_W = 300, CARD_H = 176, GUTTER = 14, HEADER = 130, SIDE = 16, GRID_COLS = 2 };

/* The canvas footprint of a node and where each of its children sits inside it, measured once, bottom up. */
typedef struct layout {
    double w, h;   /* the node's card, holding its children */
    double rx, ry; /* this node's offset inside its parent's card */
    struct layout *kids;
} layout;

/* A leaf is one card; a parent holds its children below its header on a grid of GRID_COLS columns, each column as
 * wide as its widest card and each row as tall as its tallest, with SIDE padding and GUTTER between cells. */
static layout measure(arena_t *a, const tpl_node *n)
{
    layout l = {CARD_W, CARD_H, 0, 0, NULL};
    if (n->nchildren == 0)
        return l;
    l.kids = arena_alloc(a, n->nchildren * sizeof(*l.kids));
    double colw[GRID_COLS] = {0}, top = HEADER, rowh = 0;
    for (size_t i = 0; i < n->nchildren; i++) {
        layout *k = &l.kids[i];
        *k = measure(a, &n->children[i]);
        size_t col = i % GRID_COLS;
        k->ry = top;
        colw[col] = k->w > colw[col] ? k->w : colw[col];
        rowh = k->h > rowh ? k->h : rowh;
        if (col == GRID_COLS - 1 || i + 1 == n->nchildren) { /* the row ends: the next starts below its tallest */
            top += rowh + GUTTER;
            rowh = 0;
        }
    }
    for (size_t i = 0; i < n->nchildren; i++)
        l.kids[i].rx = SIDE + (i % GRID_COLS == 1 ? colw[0] + GUTTER : 0);
    l.w = SIDE + colw[0] + (n->nchildren > 1 ? GUTTER + colw[1] : 0) + SIDE;
    l.h = top - GUTTER + SIDE;
    return l;
}

/* A created node's initial memories, through the write path of POST /memories, as the operator who imports (a
 * template's GLOBAL seeds reach the org namespace of the chain even below a platform root). An existing node is
 * left as it is: a re-import never brings back a memory an agent forgot. */
static cl_err seed(import_ctx *c, const char *id, const char *name, const tpl_memory *m, size_t n, cl_error *err)
{
    for (size_t i = 0; i < n; i++) {
        const char *ns;
        c->seeded = arena_grow(c->a, c->seeded, c->nseeded, &c->seeded_cap, sizeof(*c->seeded));
        cl_err e = mem_commit_scope(c->db, c->a, id, (mem_scope)m[i].scope, m[i].content, "user", true, MEM_LOG_NONE,
                                    &c->seeded[c->nseeded++], &ns, err);
        if (e != CL_OK) {
            const char *why = arena_strdup(c->a, err->msg);
            return cl_fail(err, e, "workspace \"%s\": initial memory %zu: %s", name, i, why);
        }
    }
    return CL_OK;
}

static cl_err create_tree(import_ctx *c, const tpl_node *n, const layout *l, const char *parent, int depth, double x,
                          double y, cl_error *err)
{
    ws_spec s = {
        .name = n->name,
        .role = n->role,
        .parent_id = parent,
        .runtime = n->runtime,
        .model = n->model,
        .template_name = n->template_name,
        .url = n->url,
        .workspace_dir = n->workspace_dir,
        .workspace_access = n->workspace_access,
        .tier = n->tier,
        .max_concurrent_tasks = n->max_concurrent_tasks,
        .has_canvas = true, /* a created node gets its place; an existing one keeps wherever it was moved */
        .x = x,
        .y = y,
        .status = "awaiting_agent",
        .secrets = n->env,
        .nsecrets = n->nenv,
        .secrets_by = &IMPORT_ACTOR,
    };
    ws_row row;
    ws_outcome how;
    cl_err e = ws_resolve(c->db, c->a, &s, &row, &how, err);
    if (e == CL_OK && how == WS_CREATED)
        e = seed_node(c, n, row.id, err);
    if (e != CL_OK) { /* the message names the node; the cause is copied out first (formatting into the buffer it
                       * is read from garbles it) */
        const char *why = arena_strdup(c->a, err->msg);
        return cl_fail(err, e, "%s \"%s\": %s", depth == 0 ? "root" : "workspace", n->name, why);
    }
    for (size_t i = 0; how == WS_CREATED && i < n->nschedules; i++) { /* a node that existed keeps its own */
        const tpl_schedule *ts = &n->schedules[i];
        sched_spec spec = {ts->name, ts->cron_expr, ts->timezone, ts->prompt, "template", ts->enabled};
        sched_row made;
        sched_bad bad;
        const char *conflict;
        bool kept;
        if ((e = sched_create(c->db, c->a, row.id, &spec, &made, &conflict, &kept, &bad, err)) != CL_OK) {
            const char *why = arena_strdup(c->a, err->msg);
            return cl_fail(err, e, "workspace \"%s\", schedule \"%s\": %s", n->name, ts->name, why);
        }
    }
    if (how == WS_CREATED && (e = seed(c, row.id, n->name, n->memories, n->nmemories, err)) != CL_OK)
        return e;
    import_item item = {row.id, n->name, parent, n->tier, depth, how == WS_EXISTING, NULL, 0, NULL, 0};
    if (how == WS_CREATED && (e = add_channels(c, n, row.id, &item, err)) != CL_OK) {
        const char *why = arena_strdup(c->a, err->msg);
        return cl_fail(err, e, "workspace \"%s\", %s", n->name, why);
    }
    import_result *r = c->r;
    r->items = arena_grow(c->a, r->items, r->count, &c->cap, sizeof(import_item));
    r->items[r->count++] = item;
    if (how == WS_EXISTING)
        r->skipped++;
    else
        r->created++;
    for (size_t i = 0; i < n->nchildren; i++) {
        const tpl_node *k = &n->children[i]; /* its grid cell, or the template's own position when it names one */
        double cx = k->has_canvas ? k->x : x + l->kids[i].rx, cy = k->has_canvas ? k->y : y + l->kids[i].ry;
        if ((e = create_tree(c, k, &l->kids[i], row.id, depth + 1, cx, cy, err)) != CL_OK)
            return e;
    }
    return CL_OK;
}

/* The roots: at their template position, else side by side from the origin. */
static cl_err create_roots(import_ctx *c, const org_template *t, const char *parent, cl_error *err)
{
    double next_x = 0;
    cl_err e = CL_OK;
    for (size_t i = 0; e == CL_OK && i < t->nroots; i++) {
        const tpl_node *n = &t->roots[i];
        layout l = measure(c->a, n);
        e = create_tree(c, n, &l, parent, 0, n->has_canvas ? n->x : next_x, n->has_canvas ? n->y : 0, err);
        if (!n->has_canvas)
            next_x += l.w + GUTTER;
    }
    return e;
}

static bool resolved(const import_result *r, const char *id)
{
    for (size_t i = 0; i < r->count; i++)
        if (strcmp(r->items[i].id, id) == 0)
            return true;
    return false;
}

/* Remove the live children of every resolved node that this import did not resolve; their subtrees go with them. */
static cl_err reconcile(import_ctx *c, cl_error *err)
{
    size_t n = c->r->count; /* the removals below never add items */
    for (size_t i = 0; i < n; i++) {
        db_stmt_t *st;
        cl_err e = db_query(c->db, c->a, &st, err, SQL_LIVE_CHILDREN, "s", c->r->items[i].id);
        const char **orphans = NULL;
        size_t norphans = 0, cap = 0;
        bool row = true;
        while (e == CL_OK && (e = db_step(st, &row, err)) == CL_OK && row) {
            const char *kid = db_col_dup(st, c->a, 0);
            if (!resolved(c->r, kid)) {
                orphans = arena_grow(c->a, orphans, norphans, &cap, sizeof(char *));
                orphans[norphans++] = kid;
            }
        }
        db_finish(st);
        for (size_t k = 0; e == CL_OK && k < norphans; k++) {
            int64_t cascaded = 0;
            if ((e = ws_delete(c->db, c->a, orphans[k], false, &cascaded, err)) == CL_OK)
                c->r->removed += 1 + cascaded;
        }
        if (e != CL_OK)
            return e;
    }
    return CL_OK;
}

/* required_env against the global secrets as this transaction sees them. */
static cl_err check_env(db_t *db, arena_t *a, const org_template *t, orgenv_report *report, cl_error *err)
{
    const char **names;
    size_t n;
    cl_err e = secret_global_names(db, a, &names, &n, err);
    if (e != CL_OK)
        return cl_fail(err, e, "could not verify required environment variables; try again");
    return orgenv_check(a, t, names, n, report, err);
}

cl_err org_import(db_t *db, arena_t *a, const org_template *t, bool do_reconcile, import_result *out, cl_error *err)
{
    memset(out, 0, sizeof(*out));
    import_ctx c = {db, a, out, 0, t->configs_dir, NULL, 0, 0};
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    /* the tree lock for the whole import: shared to add (no removal or install interleaves), exclusive when the
     * import also removes (taken first, never upgraded, so two reconciling imports cannot deadlock) */
    e = do_reconcile ? db_tx_lock(db, WS_TREE_LOCK, err) : db_tx_lock_shared(db, WS_TREE_LOCK, err);
    const char *platform = NULL; /* roots join the platform root when there is one, as API creates do */
    if (e == CL_OK && t->any_required)
        e = check_env(db, a, t, &out->env, err);
    if (e == CL_OK && (e = ws_platform_id(db, a, &platform, err)) == CL_OK)
        e = create_roots(&c, t, platform, err);
    if (e == CL_OK && out->count > 0 && !out->items[0].skipped) /* the org's memories, on its first root */
        e = seed(&c, out->items[0].id, out->items[0].name, t->global_memories, t->nglobal_memories, err);
    if (e == CL_OK && do_reconcile)
        e = reconcile(&c, err);
    if (e == CL_OK)
        e = db_tx_commit(db, err);
    else
        db_tx_rollback(db);
    for (size_t i = 0; e == CL_OK && i < c.nseeded && !db_in_tx(db); i++)
        mem_count(&c.seeded[i]);
    if (e != CL_OK) { /* all or nothing: report nothing as created */
        out->count = out->created = out->skipped = 0;
        out->removed = 0;
    }
    return e;
}

cl_err org_template_path(arena_t *a, const char *dir, const char *name, const char **path, cl_error *err)
{
    if (name[0] == '\0' || name[0] == '.' || strchr(name, '/') != NULL || strchr(name, '\\') != NULL ||
        strlen(name) > 255)
        return cl_fail(err, CL_INVALID, "invalid org directory");
    static const char *const files[] = {"org.yaml", "org.yml"};
    for (size_t i = 0; i < 2; i++) {
        const char *p = arena_sprintf(a, "%s/%s/%s", dir, name, files[i]);
        struct stat sb;
        if (stat(p, &sb) == 0 && S_ISREG(sb.st_mode)) {
            *path = p;
            return CL_OK;
        }
    }
    return cl_fail(err, CL_NOT_FOUND, "org template not found");
}

static int by_name(const void *x, const void *y) { return strcmp(*(const char *const *)x, *(const char *const *)y); }

json_t *org_template_list(arena_t *a, const char *dir, const char *after, size_t limit, const char **last, bool *more)
{
    json_t *out = json_array();
    *last = NULL, *more = false;
    DIR *d = opendir(dir);
    if (d == NULL)
        return out;
    struct dirent *ent;
    const char **names = NULL;
    size_t n = 0, cap = 0;
    while ((ent = readdir(d)) != NULL && n < ORG_TEMPLATES_DIR_MAX) {
        if (ent->d_name[0] == '.' || (after != NULL && strcmp(ent->d_name, after) <= 0))
            continue;
        names = arena_grow(a, names, n, &cap, sizeof(char *));
        names[n++] = arena_strdup(a, ent->d_name);
    }
    closedir(d);
    if (n > 0)
        qsort(names, n, sizeof(*names), by_name); /* stable, sorted output: the order pages follow */
    for (size_t i = 0; i < n; i++) {
        if (i == limit) {
            *more = true;
            break;
        }
        *last = names[i];
        const char *path;
        org_template t;
        cl_error e;
        if (org_template_path(a, dir, names[i], &path, &e) != CL_OK || tpl_load_file(a, path, &t, &e) != CL_OK)
            continue;
        json_t *req = t.required_env ? json_incref(t.required_env) : json_array();
        json_t *rec = t.recommended_env ? json_incref(t.recommended_env) : json_array();
        json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:I, s:o, s:o}", "dir", names[i], "name", t.name,
                                             "description", t.description, "workspaces", (json_int_t)t.declared,
                                             "required_env", req, "recommended_env", rec));
    }
    return out;
}
