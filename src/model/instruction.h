/* instruction.h - platform instructions (surface.md §10): rules for agents, global or for one workspace, that a
 * runtime reads as markdown before it works. */
#ifndef COLONY_MODEL_INSTRUCTION_H
#define COLONY_MODEL_INSTRUCTION_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "store/db.h"

enum { INSTRUCTION_TITLE_MAX = 200, INSTRUCTION_CONTENT_MAX = 8192 };

typedef struct {
    const char *id, *scope, *scope_target, *title, *content;
    int64_t priority, created_at, updated_at;
    bool enabled;
} instruction_row;

/* A position in a list: scope rank (global, team, workspace), priority (higher first), creation, id. */
typedef struct {
    int64_t rank, priority, created_at;
    const char *id;
} instruction_key;

/* Rows in the reference's order (by scope, priority first, then oldest; the id breaks ties, §17 item 13), after
 * `after` (NULL: from the first), at most `limit`: every row of `scope` (NULL: all scopes), or with `workspace_id`
 * the enabled global rows and that workspace's enabled rows. */
cl_err instruction_list(db_t *db, arena_t *a, const char *scope, const char *workspace_id, const instruction_key *after,
                        int64_t limit, instruction_row **rows, size_t *n, cl_error *err);
/* The key of a row (for the next page). */
instruction_key instruction_key_of(const instruction_row *r);
/* Insert one (fields checked by the caller); *id receives its id. */
cl_err instruction_create(db_t *db, arena_t *a, const instruction_row *r, const char **id, cl_error *err);
/* Change the fields given (NULL / has_* false: unchanged). CL_NOT_FOUND "instruction not found". */
cl_err instruction_update(db_t *db, arena_t *a, const char *id, const char *title, const char *content,
                          const int64_t *priority, const bool *enabled, cl_error *err);
cl_err instruction_delete(db_t *db, arena_t *a, const char *id, cl_error *err);

/* The markdown a workspace's runtime reads: its enabled global rules, then its own, each scope under its heading
 * ("\n## Platform-Wide Rules\n\n", "\n## Role-Specific Rules\n\n"), each rule "### <title>\n<content>\n\n"; ""
 * when there is none. At most INSTRUCTION_RESOLVE_MAX rules. */
enum { INSTRUCTION_RESOLVE_MAX = 1000 };
cl_err instruction_resolve(db_t *db, arena_t *a, const char *workspace_id, const char **markdown, cl_error *err);

#endif
