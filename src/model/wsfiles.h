/* wsfiles.h - a workspace's files, kept in the database: what a container's /configs (config.yaml,
 * system-prompt.md, skills/<id>/...) and the other roots the reference serves hold, for a platform that runs no
 * containers (surface.md §7, data.md §5). Text only, bounded per file, per workspace and in count.
 *
 * What a workspace shows under /configs: its stored files; while it stores none there, the files of its workspace
 * template (model/wstemplate.h, read-only); and config.yaml, when neither gives one, generated from its row. The
 * first write (or delete) under /configs of a workspace that stores nothing copies its template's files in first,
 * as provisioning a container would have. Every change is one transaction with a WORKSPACE_CONFIG_UPDATED event
 * {"kind":"files","root","paths":[…],"deleted":bool}, so a runtime subscribed to /ws (or the SSE stream) learns
 * what to read again. */
#ifndef COLONY_MODEL_WSFILES_H
#define COLONY_MODEL_WSFILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "model/workspace.h"
#include "store/db.h"

enum {
    WSFILES_PATH_MAX = 255,       /* bytes of a relative path */
    WSFILES_FILE_MAX = 1 << 20,   /* bytes of one file (413 past it) */
    WSFILES_MAX_FILES = 500,      /* files of one workspace, every root */
    WSFILES_TOTAL_MAX = 16 << 20, /* bytes of one workspace's files */
    WSFILES_BULK_MAX = 200,       /* files in one bulk write (the reference's limit) */
    WSFILES_DEPTH_MAX = 5,        /* levels a listing descends */
};

#define WSFILES_CONFIGS "/configs"

/* A file: path relative to its root, content (NUL-terminated, `size` bytes; NULL when only listed). */
typedef struct {
    const char *path, *content;
    size_t size;
} ws_file;

/* A listing entry (data.md §5). */
typedef struct {
    const char *path;
    int64_t size;
    bool dir;
} ws_entry;

/* A root the API serves from storage: /configs, /workspace, /home, /plugins. */
bool wsfiles_root_valid(const char *root);
/* Relative, non-empty, at most WSFILES_PATH_MAX bytes of UTF-8 without control characters or '\', no empty, "."
 * or ".." part, no trailing '/'. CL_INVALID "invalid path". */
cl_err wsfiles_path_check(const char *path, cl_error *err);
/* A file content colony stores: valid UTF-8 without NUL, at most WSFILES_FILE_MAX bytes (CL_TOO_LARGE). */
cl_err wsfiles_content_check(const char *content, size_t size, cl_error *err);
/* A path that names a file and, with files beneath it, a directory too ("a" and "a/b"), arena-owned; NULL when
 * there is none. A tree on disk cannot hold both, so no set of stored or imported files may. */
const char *wsfiles_shape_conflict(arena_t *a, const ws_file *files, size_t n);
/* A name a listing leaves out (.git, __pycache__, node_modules, .DS_Store), at any level of `path`. */
bool wsfiles_ignored(const char *path);
/* A path that is hidden (a part starting with '.'): never exported, never read from a template (.env, tokens). */
bool wsfiles_hidden(const char *path);

/* The files workspace `w` shows under `root`, sorted by path, with their content when `with_content` (see above;
 * `tpl_dir` is its template's directory or NULL). *stored tells whether they are the workspace's own. */
cl_err wsfiles_view(db_t *db, arena_t *a, const ws_row *w, const char *tpl_dir, const char *root, bool with_content,
                    ws_file **files, size_t *n, bool *stored, cl_error *err);
/* One file of that view. CL_NOT_FOUND "file not found", or "file not found (container offline, no template)"
 * when the workspace stores nothing there and has no template. */
cl_err wsfiles_read(db_t *db, arena_t *a, const ws_row *w, const char *tpl_dir, const char *root, const char *path,
                    ws_file *out, cl_error *err);
/* The entries of a view under directory `dir` ("" for the root), `depth` levels down: files and the directories
 * their paths imply, by path, ignored names left out. */
void wsfiles_entries(arena_t *a, const ws_file *files, size_t n, const char *dir, int depth, ws_entry **out,
                     size_t *count);
/* config.yaml as colony generates it for `w` whose files are `files` (prompt files and skills named from them). */
const char *wsfiles_default_config(arena_t *a, const ws_row *w, const ws_file *files, size_t n);

/* Write `files` (checked by the caller) under `root` of live workspace `ws_id` in one transaction, with the
 * template's files copied in first when it stores nothing there, and (with `default_config`) a generated
 * config.yaml when none is stored after. CL_NOT_FOUND for a missing or removed workspace; CL_TOO_LARGE past
 * WSFILES_MAX_FILES or WSFILES_TOTAL_MAX; CL_INVALID when a path would be a file and a directory. */
cl_err wsfiles_write(db_t *db, arena_t *a, const ws_row *w, const char *tpl_dir, const char *root, const ws_file *files,
                     size_t n, bool default_config, cl_error *err);
/* Delete file `path`, or every file under directory `path`. CL_NOT_FOUND when there is none. *deleted: how many. */
cl_err wsfiles_delete(db_t *db, arena_t *a, const ws_row *w, const char *tpl_dir, const char *root, const char *path,
                      int64_t *deleted, cl_error *err);
/* Store the files of a workspace being created (org and bundle imports), inside the caller's transaction, without
 * an event (its creation was announced): the template's first, `files` over them. */
cl_err wsfiles_seed(db_t *db, arena_t *a, const char *ws_id, const char *tpl_dir, const ws_file *files, size_t n,
                    cl_error *err);

#endif
