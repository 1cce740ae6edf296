/* memns.h - memory namespaces resolved from the org tree (shared/api/data.md §2.5, vectors.md §3.4). A workspace
 * reads three namespaces, always in this order, and writes the first two (the third only when it is its chain's
 * root):
 *
 *   workspace:<self>                      its own
 *   team:<parent>, or team:<self> at a root  shared by siblings; a parent sees its children's team only at the root
 *   org:<root of its chain>               shared by the whole tree under that root
 *
 * The chain is walked up the parent links, removed workspaces included (as the reference). Nothing else is
 * readable: another team's namespace, another workspace's own, a custom one. The rules are re-derived from the
 * tree on every read and every write, so a move or a new root applies at once. */
#ifndef COLONY_MODEL_MEMNS_H
#define COLONY_MODEL_MEMNS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"
#include "base/error.h"
#include "store/db.h"

enum {
    MEMNS_NAME_MAX = 256,
    MEMNS_COUNT = 3, /* readable namespaces of a workspace */
};

typedef enum { MEMNS_WORKSPACE, MEMNS_TEAM, MEMNS_ORG, MEMNS_CUSTOM } memns_kind;

/* One namespace as a workspace sees it (arena-owned strings). */
typedef struct {
    const char *name;         /* "team:<uuid>" */
    memns_kind kind;
    const char *owner_id;     /* the workspace it is named after (NULL for custom) */
    const char *display_name; /* that workspace's name, NULL when it has none */
    const char *label;        /* "Team (Engineering)", memns_label */
    bool writable;
} memns;

/* What a workspace may read (ns[0..2] in the order above) and, by their flags, write. */
typedef struct {
    memns ns[MEMNS_COUNT];
    bool removed; /* the workspace itself is removed (its chain still resolves, as the reference's) */
} memns_set;

/* One workspace of a chain, self first: its id and name. */
typedef struct {
    const char *id, *name;
} memns_link;

/* "workspace", "team", "org", "custom". */
const char *memns_kind_name(memns_kind k);
/* The kind a name's prefix says (workspace:, team:, org:), else custom (the reference's inference for upserts). */
memns_kind memns_kind_of(const char *name);
/* The name syntax of the plugin contract: ^[a-z]+:[A-Za-z0-9_:.\-]+$, at most MEMNS_NAME_MAX bytes. */
bool memns_name_valid(const char *name);
/* The label of a namespace (vectors.md §3.4): "Workspace (<display>)" or "Workspace (<first 8 of the id>)", "Team
 * (…)" likewise, "Org (<display>)" or "Org (<id>)", a custom namespace's text after its first ':' (the name when
 * that is empty), the name itself for a kind it does not know. Arena-owned. */
const char *memns_label(arena_t *a, const char *name, memns_kind kind, const char *display);

/* The three namespaces of the workspace whose chain (self first, root last; n >= 1) is given. */
void memns_from_chain(arena_t *a, const memns_link *chain, size_t n, memns_set *out);
/* Walk the tree from workspace `id` and derive its namespaces. CL_NOT_FOUND "workspace not found" for an id that
 * is not a workspace (removed ones are found). */
cl_err memns_resolve(db_t *db, arena_t *a, const char *id, memns_set *out, cl_error *err);

/* The readable namespace called `name`, or NULL (the reference's CanRead). */
const memns *memns_find(const memns_set *s, const char *name);
/* Whether `name` is writable by the workspace (CanWrite). */
bool memns_can_write(const memns_set *s, const char *name);

#endif
