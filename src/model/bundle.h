/* bundle.h - a workspace subtree as one portable JSON document (workspaces.md §8, surface.md §12):
 * {schema:"1.0", id, name, description, tier, model, system_prompt, skills:[{id,name,description,files}],
 *  tools:[{id,config}], prompts:{path:content}, sub_workspaces:[bundle…], agent_card, author, version}.
 *
 * The reader is strict: every key known and of its type, sizes bounded, names valid and unique among siblings, no
 * bundle id repeated (a repeat of an ancestor's is a cycle), and each refusal names the path of the problem
 * ("sub_workspaces[1].skills[0].files[\"a.md\"]: …"). An import resolves every node through ws_resolve (retrying
 * one converges on the same workspaces; a node that exists is skipped and its children walked) in one transaction:
 * all of it or nothing. An export carries what the workspace shows under /configs (model/wsfiles.h) - never a
 * hidden file (.env, .auth_token …), never a token or a secret, which live elsewhere. */
#ifndef COLONY_MODEL_BUNDLE_H
#define COLONY_MODEL_BUNDLE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"
#include "base/error.h"
#include "model/wsfiles.h"
#include "store/db.h"

enum {
    BUNDLE_MAX_NODES = 5000,
    BUNDLE_MAX_DEPTH = 24, /* levels of sub_workspaces: 2 JSON levels each, with room under JSON_MAX_DEPTH for a
                              * node's own (skills, tools, agent_card) */
    BUNDLE_SKILLS_MAX = 100,   /* per workspace */
    BUNDLE_TOOLS_MAX = 100,    /* per workspace */
    BUNDLE_ID_MAX = 128,       /* bytes of a bundle id */
    BUNDLE_TEXT_MAX = 1024,    /* bytes of author, version */
    BUNDLE_CARD_MAX = 256 * 1024,
    BUNDLE_EXPORT_MAX = 32 << 20, /* bytes of an exported document */
};

/* One workspace of a bundle, as the reader validated it. */
typedef struct bundle {
    const char *id, *name, *description, *model, *runtime;
    int64_t tier;
    ws_file *files; /* what it stores under /configs: system-prompt.md, prompts, skills/<id>/<path> */
    size_t nfiles;
    const json_t *tools;    /* the `tools` list, or NULL */
    const char *agent_card; /* JSON text, or NULL */
    struct bundle *subs;
    size_t nsubs;
} bundle;

/* Validate a parsed document. CL_INVALID naming the path; *nodes receives the number of workspaces. */
cl_err bundle_read(arena_t *a, const json_t *doc, bundle *out, size_t *nodes, cl_error *err);
/* Parse and validate bundle text: invalid UTF-8 names its byte offset, malformed JSON its line and column. */
cl_err bundle_parse(arena_t *a, const char *text, size_t len, bundle *out, size_t *nodes, cl_error *err);

/* What an import did with one node. */
typedef struct bundle_result {
    const char *workspace_id, *name, *status;
    bool skipped;
    struct bundle_result *children;
    size_t nchildren;
} bundle_result;

/* Import `b` under the platform root (or as a root when there is none), all or nothing. Created rows wait for
 * their agents (`provisioning`, WORKSPACE_PROVISIONING {name, tier, runtime, source_bundle_id}) and keep the
 * bundle id they came from (workspaces.source_bundle_id); existing ones are left as they are. */
cl_err bundle_import(db_t *db, arena_t *a, const bundle *b, bundle_result *out, cl_error *err);

/* Export workspace `id` (whatever its status) and its live descendants. `configs_dir` is where workspace templates
 * are (a workspace that stores no files exports its template's). CL_NOT_FOUND "bundle not found"; CL_TOO_LARGE
 * past BUNDLE_MAX_NODES, BUNDLE_MAX_DEPTH or BUNDLE_EXPORT_MAX. *out is owned by `a`. */
cl_err bundle_export(db_t *db, arena_t *a, const char *id, const char *configs_dir, json_t **out, cl_error *err);

#endif
