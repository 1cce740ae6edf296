/* orgenv.c - see orgenv.h. */
#include "model/orgenv.h"

#include <stdlib.h>
#include <string.h>

#include "base/json.h"

typedef struct {
    const tpl_env_req **items;
    size_t n, cap;
} reqs;

static void add(arena_t *a, reqs *r, const tpl_env_req *q)
{
    r->items = arena_grow(a, r->items, r->n, &r->cap, sizeof(*r->items));
    r->items[r->n++] = q;
}

static bool has(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return true;
    return false;
}

static bool same(const tpl_env_req *x, const tpl_env_req *y)
{
    if (x->n != y->n)
        return false;
    for (size_t i = 0; i < x->n; i++) /* members are sorted */
        if (strcmp(x->names[i], y->names[i]) != 0)
            return false;
    return true;
}

/* Singles first, by name; then groups, by their names in order. */
static int order(const void *p, const void *q)
{
    const tpl_env_req *x = *(const tpl_env_req *const *)p, *y = *(const tpl_env_req *const *)q;
    if ((x->n == 1) != (y->n == 1))
        return x->n == 1 ? -1 : 1;
    for (size_t i = 0; i < x->n && i < y->n; i++) {
        int c = strcmp(x->names[i], y->names[i]);
        if (c != 0)
            return c;
    }
    return x->n < y->n ? -1 : x->n > y->n;
}

/* The requirements as the reference reports them: distinct, groups holding a required single dropped, sorted. */
static json_t *normalized(arena_t *a, const reqs *r)
{
    const tpl_env_req **keep = arena_calloc(a, r->n + 1, sizeof(*keep));
    size_t k = 0;
    for (size_t i = 0; i < r->n; i++) {
        const tpl_env_req *q = r->items[i];
        bool drop = false;
        for (size_t j = 0; j < r->n && !drop; j++) {
            const tpl_env_req *o = r->items[j];
            drop = (j < i && same(o, q)) || (q->n > 1 && o->n == 1 && has(q->names, q->n, o->names[0]));
        }
        if (!drop)
            keep[k++] = q;
    }
    if (k > 1)
        qsort(keep, k, sizeof(*keep), order);
    json_t *out = json_array();
    for (size_t i = 0; i < k; i++) {
        if (keep[i]->n == 1) {
            json_array_append_new(out, json_string(keep[i]->names[0]));
            continue;
        }
        json_t *any = json_array();
        for (size_t j = 0; j < keep[i]->n; j++)
            json_array_append_new(any, json_string(keep[i]->names[j]));
        json_array_append_new(out, json_pack("{s:o}", "any_of", any));
    }
    return json_own(a, out);
}

/* Is `q` met by the globals or the node's own env? */
static bool met(const tpl_env_req *q, const char *const *globals, size_t ng, const secret_pair *env, size_t nenv)
{
    for (size_t i = 0; i < q->n; i++) {
        if (has(globals, ng, q->names[i]))
            return true;
        for (size_t j = 0; j < nenv; j++)
            if (strcmp(env[j].name, q->names[i]) == 0)
                return true;
    }
    return false;
}

typedef struct {
    arena_t *a;
    const char *const *globals;
    size_t nglobals;
    reqs all;
    json_t *missing_ws;
} walk;

static void visit(walk *w, const tpl_node *n)
{
    reqs unmet = {0};
    for (size_t i = 0; i < n->nrequired; i++) {
        add(w->a, &w->all, &n->required[i]);
        if (!met(&n->required[i], w->globals, w->nglobals, n->env, n->nenv))
            add(w->a, &unmet, &n->required[i]);
    }
    if (unmet.n > 0)
        json_array_append_new(w->missing_ws,
                              json_pack("{s:s, s:s, s:O}", "workspace", n->name, "files_dir",
                                        n->files_dir ? n->files_dir : "", "unsatisfied", normalized(w->a, &unmet)));
    for (size_t i = 0; i < n->nchildren; i++) /* only spawning children are kept */
        visit(w, &n->children[i]);
}

cl_err orgenv_check(arena_t *a, const org_template *t, const char *const *globals, size_t nglobals,
                    orgenv_report *out, cl_error *err)
{
    memset(out, 0, sizeof(*out));
    if (!t->any_required)
        return CL_OK;
    walk w = {a, globals, nglobals, {0}, json_own(a, json_array())};
    reqs unmet = {0};
    for (size_t i = 0; i < t->nrequired; i++) {
        add(a, &w.all, &t->required[i]);
        if (!met(&t->required[i], globals, nglobals, NULL, 0))
            add(a, &unmet, &t->required[i]);
    }
    for (size_t i = 0; i < t->nroots; i++)
        visit(&w, &t->roots[i]);
    if (unmet.n > 0) {
        out->missing_env = normalized(a, &unmet);
        out->required_env = normalized(a, &w.all);
        return cl_fail(err, CL_PRECONDITION_FAILED, "missing required environment variables");
    }
    if (json_array_size(w.missing_ws) > 0) {
        out->missing_workspace_env = w.missing_ws;
        return cl_fail(err, CL_PRECONDITION_FAILED, "missing per-workspace required environment variables");
    }
    return CL_OK;
}
