/* memadmin.h - what operators do with memories as a whole (shared/api/data.md §2.11): export every memory, import
 * an export (or a hand-written list) idempotently, and the sweep that deletes what has expired. */
#ifndef COLONY_MODEL_MEMADMIN_H
#define COLONY_MODEL_MEMADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "store/db.h"

enum {
    MEM_EXPORT_DEFAULT = 10000, /* memories of one export page */
    MEM_EXPORT_MAX = 10000,
    MEM_SWEEP_BATCH = 1000, /* expired rows deleted per statement */
};

typedef struct {
    int64_t seq;
    const char *id, *content, *scope, *namespace, *workspace_name, *kind, *source;
    bool pin;
    int64_t expires_at, created_at;
} mem_export_row;

/* Every unexpired memory after position `after_seq` (0: from the first), in the order they were written, at most
 * `limit`: content redacted again (rules may have grown since it was stored), scope from the namespace kind,
 * workspace_name the namespace's owner (for a team below the root, its first child: the workspace whose TEAM scope
 * names it). Only records whose every smaller seq is final (seq_horizon.h: on PostgreSQL it may wait up to a
 * second for writers, so a worker runs it), so that a page never passes a record that commits later. */
cl_err mem_export(db_t *db, arena_t *a, int64_t after_seq, int64_t limit, mem_export_row **rows, size_t *count,
                  cl_error *err);

/* One entry of an import: the export's fields (NULL/0 where absent). */
typedef struct {
    const char *id, *content, *scope, *namespace, *workspace_name, *kind, *source;
    bool pin;
    int64_t expires_at, created_at;
} mem_import_entry;

typedef struct {
    int64_t imported, skipped, errors, total;
} mem_import_result;

/* Import entries into the tree, each through mem_commit as an operator: into `namespace` when its owner is a
 * workspace here (a restore), else into the namespace of `scope` of the first live workspace called
 * `workspace_name`; no such workspace, or a scope that is not "", LOCAL, TEAM or GLOBAL: skipped. The id is the
 * entry's when it is a UUID, else one derived from the namespace and the content, so importing the same entries
 * twice changes nothing (the second time they are counted as skipped). An entry that cannot be stored (blank,
 * too long, namespace full) counts as an error and the rest go on. */
cl_err mem_import(db_t *db, arena_t *a, const mem_import_entry *entries, size_t n, mem_import_result *out,
                  cl_error *err);

/* Delete memories and key/value entries past their expiry, at most MEM_SWEEP_BATCH of each per call. */
cl_err mem_sweep_expired(db_t *db, arena_t *a, int64_t *records, int64_t *values, cl_error *err);

#endif
