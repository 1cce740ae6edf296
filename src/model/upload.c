/* upload.c - see upload.h. */
#include "model/upload.h"

#include <jansson.h>
#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "base/time.h"
#include "model/activity.h"
#include "model/event.h"

static const char SQL_INSERT[] = "INSERT INTO pending_uploads (file_id, workspace_id, content, size_bytes, filename,"
                                 " mimetype, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
static const char SQL_GET[] = "SELECT file_id, workspace_id, filename, mimetype, content, size_bytes, created_at,"
                              " acked_at FROM pending_uploads WHERE file_id = $1 AND expires_at > $2";
static const char SQL_FETCHED[] = "UPDATE pending_uploads SET fetched_at = $2 WHERE file_id = $1 AND expires_at > $2";
static const char SQL_ACK[] = "UPDATE pending_uploads SET acked_at = $2"
                              " WHERE file_id = $1 AND acked_at IS NULL AND expires_at > $2";
static const char SQL_EXISTS[] = "SELECT 1 FROM pending_uploads WHERE file_id = $1 AND expires_at > $2";
static const char SQL_SWEEP[] = "DELETE FROM pending_uploads WHERE (acked_at IS NOT NULL AND acked_at < $1)"
                                " OR (acked_at IS NULL AND expires_at < $2) RETURNING acked_at IS NOT NULL";

/* Length of the UTF-8 sequence at s (1 for an invalid byte: it becomes one '_', as the workspace side does). */
static size_t seq(const unsigned char *s)
{
    if (s[0] >= 0xF0 && s[0] <= 0xF4 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80 && (s[3] & 0xC0) == 0x80)
        return 4;
    if (s[0] >= 0xE0 && s[0] <= 0xEF && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80)
        return 3;
    if (s[0] >= 0xC2 && s[0] <= 0xDF && (s[1] & 0xC0) == 0x80)
        return 2;
    return 1;
}

void upload_sanitize_name(const char *in, char out[UPLOAD_NAME_MAX + 1])
{
    /* 1. the last path element (trailing slashes dropped; "" and all-slashes have none) */
    size_t len = strlen(in);
    while (len > 1 && in[len - 1] == '/')
        len--;
    const char *base = in;
    for (size_t i = 0; i < len; i++)
        if (in[i] == '/' && i + 1 < len)
            base = in + i + 1;
    size_t blen = (size_t)(in + len - base);
    /* 2-3. spaces and every code point outside [A-Za-z0-9._-] become one '_' each */
    char buf[4096];
    size_t o = 0;
    for (size_t i = 0; i < blen && o < sizeof(buf) - 1;) {
        unsigned char c = (unsigned char)base[i];
        bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
        buf[o++] = keep ? (char)c : '_';
        i += keep ? 1 : seq((const unsigned char *)base + i);
    }
    buf[o] = '\0';
    if (blen == 1 && base[0] == '/')
        o = 0; /* "/" names nothing */
    /* 4. longer than 100: keep a short extension (the last dot within 16 characters of the end) */
    if (o > UPLOAD_NAME_MAX) {
        const char *dot = strrchr(buf, '.');
        size_t ext = dot && (size_t)(buf + o - dot) <= 16 ? (size_t)(buf + o - dot) : 0;
        memmove(buf + UPLOAD_NAME_MAX - ext, buf + o - ext, ext);
        o = UPLOAD_NAME_MAX;
        buf[o] = '\0';
    }
    /* 5. nothing left, "." or ".." → "file" */
    if (o == 0 || strcmp(buf, ".") == 0 || strcmp(buf, "..") == 0)
        memcpy(buf, "file", 5), o = 4;
    memcpy(out, buf, o + 1);
}

const char *upload_sanitize_type(arena_t *a, const char *in)
{
    if (in == NULL)
        return "";
    size_t n = strcspn(in, ";");
    while (n > 0 && (in[n - 1] == ' ' || in[n - 1] == '\t'))
        n--;
    while (n > 0 && (*in == ' ' || *in == '\t'))
        in++, n--;
    if (n == 0)
        return "";
    const char *slash = memchr(in, '/', n);
    bool ok = slash != NULL && slash != in && slash != in + n - 1 && memchr(slash + 1, '/', (size_t)(in + n - slash - 1)) == NULL;
    for (size_t i = 0; ok && i < n; i++)
        ok = (unsigned char)in[i] >= 0x21 && (unsigned char)in[i] <= 0x7E;
    return ok ? arena_strndup(a, in, n) : "application/octet-stream";
}

cl_err upload_stage(db_t *db, arena_t *a, const char *workspace_id, upload_file *files, size_t n, cl_error *err)
{
    int64_t now = time_now_ms();
    cl_err e = db_tx_begin(db, err);
    for (size_t i = 0; e == CL_OK && i < n; i++) {
        char id[ID_UUID_LEN + 1];
        id_uuid4(id);
        files[i].file_id = arena_strdup(a, id);
        files[i].workspace_id = workspace_id;
        db_stmt_t *st;
        if ((e = db_prepare(db, a, SQL_INSERT, &st, err)) != CL_OK)
            break;
        db_bind_str(st, 1, files[i].file_id);
        db_bind_str(st, 2, workspace_id);
        db_bind_blob(st, 3, files[i].size ? files[i].content : "", files[i].size);
        db_bind_int64(st, 4, (int64_t)files[i].size);
        db_bind_str(st, 5, files[i].filename);
        db_bind_str(st, 6, files[i].mimetype);
        db_bind_int64(st, 7, now);
        db_bind_int64(st, 8, now + UPLOAD_TTL_MS);
        e = db_exec(st, err);
        db_finish(st);
        if (e != CL_OK)
            break;
        const char *uri = arena_sprintf(a, "platform-pending:%s/%s", workspace_id, files[i].file_id);
        json_t *req = json_own(a, json_pack("{s:s, s:s, s:s, s:I, s:s}", "file_id", files[i].file_id, "name",
                                            files[i].filename, "mimeType", files[i].mimetype, "size",
                                            (json_int_t)files[i].size, "uri", uri));
        activity_row r = {.workspace_id = workspace_id, .activity_type = "a2a_receive", .target_id = workspace_id,
                          .method = "chat_upload_receive",
                          .summary = arena_sprintf(a, "chat_upload_receive: %s", files[i].filename),
                          .request_body = json_dump_arena(a, req, NULL)};
        if ((e = activity_record(db, a, &r, err)) != CL_OK)
            break;
        json_t *ev = json_own(a, json_pack("{s:s, s:s, s:s, s:O}", "activity_type", "a2a_receive", "method",
                                           "chat_upload_receive", "summary", r.summary, "request_body", req));
        e = event_record(db, a, EV_ACTIVITY_LOGGED, workspace_id, json_dump_arena(a, ev, NULL), NULL, err);
    }
    return db_tx_end(db, e, err);
}

cl_err upload_get(db_t *db, arena_t *a, const char *file_id, upload_file *out, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_GET, "si", file_id, time_now_ms());
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK) {
        memset(out, 0, sizeof(*out));
        out->file_id = db_col_dup(st, a, 0);
        out->workspace_id = db_col_dup(st, a, 1);
        out->filename = db_col_dup(st, a, 2);
        out->mimetype = db_col_dup(st, a, 3);
        size_t len = 0;
        out->content = db_col_blob(st, a, 4, &len);
        out->size = (size_t)db_col_int64(st, 5);
        if (out->content == NULL)
            out->content = "";
        out->created_at = db_col_int64(st, 6);
        out->acked_at = db_col_is_null(st, 7) ? 0 : db_col_int64(st, 7);
    }
    db_finish(st);
    return e == CL_NOT_FOUND ? cl_fail(err, e, "pending upload not found or expired") : e;
}

cl_err upload_mark_fetched(db_t *db, arena_t *a, const char *file_id, cl_error *err)
{
    return db_run(db, a, NULL, err, SQL_FETCHED, "si", file_id, time_now_ms());
}

cl_err upload_ack(db_t *db, arena_t *a, const char *file_id, bool *raced, cl_error *err)
{
    int64_t now = time_now_ms(), changed = 0;
    *raced = false;
    cl_err e = db_run(db, a, &changed, err, SQL_ACK, "si", file_id, now);
    if (e != CL_OK || changed == 1)
        return e;
    db_stmt_t *st; /* nothing changed: acked already (fine) or gone meanwhile (raced) */
    if ((e = db_query(db, a, &st, err, SQL_EXISTS, "si", file_id, now)) == CL_OK)
        e = db_one(st, err);
    db_finish(st);
    if (e == CL_NOT_FOUND) {
        *raced = true;
        return CL_OK;
    }
    return e;
}

cl_err upload_sweep(db_t *db, arena_t *a, int64_t retention_ms, int64_t *acked, int64_t *expired, cl_error *err)
{
    int64_t now = time_now_ms();
    *acked = *expired = 0;
    if (retention_ms < 0)
        retention_ms = 0;
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_SWEEP, "ii", now - retention_ms, now);
    bool row = true;
    while (e == CL_OK && (e = db_step(st, &row, err)) == CL_OK && row)
        (*(db_col_bool(st, 0) ? acked : expired))++;
    db_finish(st);
    return e;
}
