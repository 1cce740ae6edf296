/* orgimport.h - importing an org template: the whole tree in one transaction, every node through ws_resolve (so
 * concurrent imports, on one node or many, converge on one copy), existing nodes skipped but walked. Reconcile also
 * removes live workspaces under the nodes this import resolved that the template no longer names - scoped to those
 * subtrees, never a same-named workspace elsewhere, never the platform root. */
#ifndef COLONY_MODEL_ORGIMPORT_H
#define COLONY_MODEL_ORGIMPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "model/orgenv.h"
#include "model/template.h"
#include "store/db.h"

enum { ORG_TEMPLATES_DIR_MAX = 10000 }; /* directory entries a template listing reads */

/* A template channel of a created node that was not created, and why (never a credential). */
typedef struct {
    const char *type, *reason;
} import_channel_skip;

typedef struct {
    const char *id, *name, *parent_id;
    int64_t tier;
    int depth;
    bool skipped;
    const char **channels; /* created node: the types of the channels created for it */
    size_t nchannels;
    import_channel_skip *channels_skipped; /* and those skipped */
    size_t nchannels_skipped;
} import_item;

typedef struct {
    import_item *items; /* pre-order, as created/skipped */
    size_t count, created, skipped;
    int64_t removed; /* reconcile: workspaces removed, descendants included */
    orgenv_report env; /* what required_env misses, when the import failed for it */
} import_result;

/* Import `t`. All or nothing: on failure nothing of this import stays. The required_env checks run first, inside
 * the import's transaction (CL_PRECONDITION_FAILED with out->env); a created node stores its .env values as its
 * secrets (model/secret.h: without a secrets key that fails the import rather than skip them), and gets its
 * template channels through chan_create, their config's ${VAR} taken from the secrets it sees (its .env values
 * over the global secrets); a channel with an empty or unknown type, an unresolved ${VAR} or a config the API would
 * refuse is skipped (import_item.channels_skipped), not an error. A node that exists gets nothing. */
cl_err org_import(db_t *db, arena_t *a, const org_template *t, bool reconcile, import_result *out, cl_error *err);

/* Append an org-level telemetry row to structure_events; never fails the caller (a failure is logged). */
void org_event(db_t *db, const char *type, const char *payload_json);

/* The import telemetry pair (difference 2). started records {name, dir, mode} and returns the start time to hand
 * to completed, which records the counts, the duration and `error` ("" on success). Every caller that writes the
 * first must write the second, on every path. */
int64_t org_import_started(db_t *db, arena_t *a, const char *name, const char *dir, const char *mode);
void org_import_completed(db_t *db, arena_t *a, const char *name, const char *dir, const char *mode,
                          const import_result *r, int64_t started, const char *error);

/* The templates of `dir` (sub-directories holding org.yaml or org.yml) as a JSON array of
 * {dir, name, description, workspaces, required_env, recommended_env}, by directory name: the `limit` entries after
 * `after` (NULL: from the first) are read, unreadable ones skipped. *last is the last entry read (the next page
 * starts after it), *more whether entries remain. At most ORG_TEMPLATES_DIR_MAX entries of a directory count. */
json_t *org_template_list(arena_t *a, const char *dir, const char *after, size_t limit, const char **last, bool *more);
/* Resolve template directory `name` inside `dir` to its org.yaml path; CL_INVALID for a name that is not one plain
 * path component, CL_NOT_FOUND when there is no such template. */
cl_err org_template_path(arena_t *a, const char *dir, const char *name, const char **path, cl_error *err);

#endif
