/* template.h - org templates: a YAML (or JSON) tree of workspaces with a `defaults` block, validated whole before
 * anything is created (workspaces.md §4.2). Every key the reference knows is accepted; an unknown key, a wrong
 * type, a duplicate sibling name or a node without a model is refused with its path. */
#ifndef COLONY_MODEL_TEMPLATE_H
#define COLONY_MODEL_TEMPLATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "model/secret.h"

enum { TPL_MAX_NODES = 20000, TPL_MAX_DEPTH = 32, TPL_FILE_MAX = 4 << 20, TPL_FILES_DIR_MAX = 1024,
       TPL_SCHEDULES_MAX = 100, TPL_MAX_MEMORIES = 100000, TPL_CHANNELS_MAX = 16 };

/* One required_env entry (workspaces.md §4.2): a name (n == 1), or any one of several (sorted, distinct). Entries
 * that name nothing valid are dropped, as the reference drops invalid names. */
typedef struct {
    const char **names;
    size_t n;
} tpl_env_req;

/* A node's schedule (schedules-mcp.md §5): validated like an API create (expression, zone, bounds); the prompt is
 * inline, or read from `prompt_file` under `<template dir>/<files_dir>/` (directory imports only). */
typedef struct {
    const char *name, *cron_expr, *timezone, *prompt;
    bool enabled;
} tpl_schedule;

/* A node's chat channel (workspaces.md §4.2): created with the node, through the API's write (model/channel.h), or
 * skipped with a reason (an unknown or empty type, an unresolved ${VAR}, a config or allowed_users the API refuses).
 * Only the shape is checked here: a mapping of known keys, a config of scalars (numbers and booleans as their text). */
typedef struct {
    const char *type;      /* as written; "" when absent */
    json_t *config;        /* an object of strings, ${VAR} not yet expanded */
    const json_t *allowed; /* allowed_users, or NULL */
    bool enabled;          /* default true */
} tpl_channel;

/* A memory a template seeds (initial_memories of a node or of defaults, global_memories of the org). */
typedef struct {
    const char *content;
    int scope; /* mem_scope */
} tpl_memory;

typedef struct tpl_node {
    const char *name, *role, *runtime, *model, *template_name, *workspace_dir, *workspace_access, *url;
    const char *files_dir;     /* inside the template's directory, or NULL */
    tpl_env_req *required;     /* the node's required_env */
    size_t nrequired;
    const secret_pair *env;    /* file imports: the org's .env overlaid by <files_dir>/.env, stored as the created */
    size_t nenv;               /* workspace's secrets */
    int64_t tier, max_concurrent_tasks;
    bool external, has_canvas;
    double x, y;
    tpl_schedule *schedules; /* at most TPL_SCHEDULES_MAX, names unique */
    size_t nschedules;
    tpl_channel *channels; /* at most TPL_CHANNELS_MAX */
    size_t nchannels;
    const char *system_prompt; /* inline, at most 1 MiB: stored as its system-prompt.md (model/wsfiles.h) */
    const char **plugins;      /* defaults.plugins then its own, less its "!x"/"-x" opt-outs; names, deduplicated */
    size_t nplugins;
    struct tpl_node *children;
    size_t nchildren;
    const tpl_memory *memories; /* initial_memories: the node's when it has any, else defaults' */
    size_t nmemories;
} tpl_node;

typedef struct {
    const char *name, *description;
    tpl_node *roots;
    size_t nroots;
    size_t nodes;    /* nodes that will be created (spawning: false subtrees excluded) */
    size_t declared; /* every node in the file, spawning or not */
    const char **all_names; /* every node name in the file (reconcile scope), `declared` of them */
    json_t *required_env, *recommended_env; /* borrowed from the document, or NULL */
    tpl_env_req *required;                  /* the template's own required_env, parsed */
    size_t nrequired;
    bool any_required;                      /* the template or a spawning node requires something */
    const char *dir;                        /* file imports: the template's directory (its .env files); else NULL */
    const char *configs_dir; /* set by the importer: where the nodes' workspace templates are (NULL: none) */
    const tpl_memory *global_memories; /* seeded as GLOBAL on the first root when the import creates it */
    size_t nglobal_memories;
} org_template;

/* Validate `doc` (a parsed YAML/JSON document owned by `a`) into `out`. CL_INVALID naming the path on refusal. An
 * inline document has no directory: a schedule's prompt_file is refused. */
cl_err tpl_from_json(arena_t *a, const json_t *doc, org_template *out, cl_error *err);
/* Read and validate a YAML file (bounded by TPL_FILE_MAX), with the `.env` files next to it: the template
 * directory's own, and each spawning node's <files_dir>/.env (model/envfile.h). CL_NOT_FOUND when it cannot be
 * opened. */
cl_err tpl_load_file(arena_t *a, const char *path, org_template *out, cl_error *err);

#endif
