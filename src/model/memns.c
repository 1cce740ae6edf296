/* memns.c - see memns.h. */
#include "model/memns.h"

#include <string.h>

#include "base/utf8.h"
#include "model/workspace.h"

/* Self first, then each parent up to the root (removed ones too), at most WS_MAX_DEPTH of them. */
static const char SQL_CHAIN[] =
    "WITH RECURSIVE chain(id, name, parent_id, status, depth) AS ("
    " SELECT id, name, parent_id, status, 0 FROM workspaces WHERE id = $1"
    " UNION ALL SELECT w.id, w.name, w.parent_id, w.status, chain.depth + 1 FROM workspaces w JOIN chain"
    " ON w.id = chain.parent_id WHERE chain.depth + 1 < $2)"
    " SELECT id, name, status FROM chain ORDER BY depth";

static const char *const KIND_NAMES[] = {"workspace", "team", "org", "custom"};

const char *memns_kind_name(memns_kind k) { return KIND_NAMES[k]; }

memns_kind memns_kind_of(const char *name)
{
    for (int k = MEMNS_WORKSPACE; k < MEMNS_CUSTOM; k++) {
        size_t n = strlen(KIND_NAMES[k]);
        if (strncmp(name, KIND_NAMES[k], n) == 0 && name[n] == ':')
            return (memns_kind)k;
    }
    return MEMNS_CUSTOM;
}

bool memns_name_valid(const char *name)
{
    size_t n = strlen(name), i = 0;
    if (n > MEMNS_NAME_MAX)
        return false;
    while (i < n && name[i] >= 'a' && name[i] <= 'z')
        i++;
    if (i == 0 || i == n || name[i] != ':' || i + 1 == n)
        return false;
    for (i++; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == ':' ||
              c == '.' || c == '-'))
            return false;
    }
    return true;
}

const char *memns_label(arena_t *a, const char *name, memns_kind kind, const char *display)
{
    const char *colon = strchr(name, ':');
    const char *rest = colon ? colon + 1 : "";
    bool shown = display != NULL && display[0] != '\0';
    switch (kind) {
    case MEMNS_WORKSPACE:
    case MEMNS_TEAM: {
        const char *word = kind == MEMNS_WORKSPACE ? "Workspace" : "Team";
        if (shown)
            return arena_sprintf(a, "%s (%s)", word, display);
        size_t n = strlen(rest);
        return arena_sprintf(a, "%s (%.*s)", word, (int)(n > 8 ? utf8_floor(rest, 8) : n), rest);
    }
    case MEMNS_ORG:
        return arena_sprintf(a, "Org (%s)", shown ? display : rest);
    case MEMNS_CUSTOM:
        return rest[0] ? arena_strdup(a, rest) : arena_strdup(a, name);
    }
    return arena_strdup(a, name);
}

static memns make(arena_t *a, memns_kind kind, const memns_link *owner, bool writable)
{
    memns n = {.kind = kind, .owner_id = owner->id, .display_name = owner->name, .writable = writable};
    n.name = arena_sprintf(a, "%s:%s", KIND_NAMES[kind], owner->id);
    n.label = memns_label(a, n.name, kind, owner->name);
    return n;
}

void memns_from_chain(arena_t *a, const memns_link *chain, size_t n, memns_set *out)
{
    bool root = n == 1;
    out->ns[0] = make(a, MEMNS_WORKSPACE, &chain[0], true);
    out->ns[1] = make(a, MEMNS_TEAM, root ? &chain[0] : &chain[1], true);
    out->ns[2] = make(a, MEMNS_ORG, &chain[n - 1], root);
    out->removed = false;
}

cl_err memns_resolve(db_t *db, arena_t *a, const char *id, memns_set *out, cl_error *err)
{
    memns_link chain[WS_MAX_DEPTH];
    size_t n = 0;
    bool row, removed = false;
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_CHAIN, "si", id, (int64_t)WS_MAX_DEPTH);
    while (e == CL_OK && (e = db_step(st, &row, err)) == CL_OK && row && n < WS_MAX_DEPTH) {
        chain[n].id = db_col_dup(st, a, 0);
        chain[n].name = db_col_dup(st, a, 1);
        if (n == 0)
            removed = strcmp(db_col_text(st, 2), "removed") == 0;
        n++;
    }
    db_finish(st);
    if (e != CL_OK)
        return e;
    if (n == 0)
        return cl_fail(err, CL_NOT_FOUND, "workspace not found");
    memns_from_chain(a, chain, n, out);
    out->removed = removed;
    return CL_OK;
}

const memns *memns_find(const memns_set *s, const char *name)
{
    for (size_t i = 0; i < MEMNS_COUNT; i++)
        if (strcmp(s->ns[i].name, name) == 0)
            return &s->ns[i];
    return NULL;
}

bool memns_can_write(const memns_set *s, const char *name)
{
    const memns *n = memns_find(s, name);
    return n != NULL && n->writable;
}
