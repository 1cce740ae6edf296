/* orgenv.h - the required_env checks of an org import (workspaces.md §4.3), against the names of the global secrets
 * and the template's .env files. The template's own required_env must be global secrets; a node's must be global
 * secrets or in the .env files it stores (the org's, its <files_dir>/.env). colony checks a node's requirements
 * only in the second check, so a .env file can satisfy them (the reference's union-wide first check rejects that,
 * its difference 3). Pure: the caller reads the names. */
#ifndef COLONY_MODEL_ORGENV_H
#define COLONY_MODEL_ORGENV_H

#include <jansson.h>

#include "base/arena.h"
#include "base/error.h"
#include "model/template.h"

/* What a failed check reports (arena-owned JSON, NULL when not part of it). A requirement is "NAME" or
 * {"any_of": [names]}; lists are deduplicated by their names, a required name drops every any_of that contains
 * it, singles come first, each part sorted. */
typedef struct {
    json_t *missing_env;           /* the template's requirements no global secret satisfies */
    json_t *required_env;          /* every requirement of the template and its spawning nodes */
    json_t *missing_workspace_env; /* [{"workspace", "files_dir", "unsatisfied": [...]}], in template order */
} orgenv_report;

/* CL_OK when every requirement is satisfied; otherwise CL_PRECONDITION_FAILED with the reference's message
 * ("missing required environment variables", or "missing per-workspace required environment variables") and the
 * report filled. `globals` are the names of the global secrets. */
cl_err orgenv_check(arena_t *a, const org_template *t, const char *const *globals, size_t nglobals,
                    orgenv_report *out, cl_error *err);

#endif
