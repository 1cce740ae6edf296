/* upload.h - chat files staged for poll-mode workspaces (data.md §1): sanitised names and types, the staging of a
 * whole batch with its activity rows in one transaction, fetch, acknowledgement, and the sweeper's deletion. */
#ifndef COLONY_MODEL_UPLOAD_H
#define COLONY_MODEL_UPLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "store/db.h"

enum {
    UPLOAD_NAME_MAX = 100,
    UPLOAD_MAX_FILES = 64,
    UPLOAD_MAX_ATTACHMENTS = 10,
    UPLOAD_FILE_CAP = 104857600, /* 100 MiB, the schema's CHECK; the request body limit may be lower */
    UPLOAD_TTL_MS = 24 * 3600 * 1000,
    UPLOAD_ACK_RETENTION_MS = 3600 * 1000,
};

/* The stored name of an uploaded file (vectors.md §3.1); out holds UPLOAD_NAME_MAX + 1 bytes. */
void upload_sanitize_name(const char *in, char out[UPLOAD_NAME_MAX + 1]);
/* The stored type: parameters cut, "" when empty, application/octet-stream when malformed (data.md §1.6). */
const char *upload_sanitize_type(arena_t *a, const char *in);

typedef struct {
    const char *file_id, *workspace_id, *filename, *mimetype;
    const void *content;
    size_t size;
    int64_t created_at, acked_at;
} upload_file;

/* Stage every file of `files` (name/type already sanitised) and one a2a_receive/chat_upload_receive activity row
 * (plus its ACTIVITY_LOGGED event) per file, in ONE transaction: all or nothing. file_id is filled in. */
cl_err upload_stage(db_t *db, arena_t *a, const char *workspace_id, upload_file *files, size_t n, cl_error *err);
/* An unexpired staged file (content copied into `a`); CL_NOT_FOUND when there is none. */
cl_err upload_get(db_t *db, arena_t *a, const char *file_id, upload_file *out, cl_error *err);
cl_err upload_mark_fetched(db_t *db, arena_t *a, const char *file_id, cl_error *err);
/* Acknowledge (idempotent). *raced is true when the row went away (expiry, sweep) between the check and the ack. */
cl_err upload_ack(db_t *db, arena_t *a, const char *file_id, bool *raced, cl_error *err);
/* Delete acked rows older than `retention_ms` and unacked rows past expiry, in one statement. */
cl_err upload_sweep(db_t *db, arena_t *a, int64_t retention_ms, int64_t *acked, int64_t *expired, cl_error *err);

#endif
