/* uploads.c - see uploads.h. Difference 10: limits answer 413 naming the limit; a zero-byte file is an empty
 * file. A batch is staged all or nothing (poll mode) or forwarded to the workspace as it came (push mode). */
#include "api/uploads.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/errors.h"
#include "api/input.h"
#include "base/json.h"
#include "base/metrics.h"
#include "http/client.h"
#include "http/multipart.h"
#include "model/secret.h"
#include "model/upload.h"
#include "model/urlcheck.h"
#include "model/workspace.h"

static size_t file_cap = UPLOAD_FILE_CAP, request_cap = UPLOAD_FILE_CAP;
static int max_downloads = 8;
static atomic_int downloads; /* relays holding a slot: from before the dial until their request is done */

void api_uploads_init(size_t max_file, size_t max_body, int max_relays)
{
    max_downloads = max_relays;
    request_cap = max_body < UPLOAD_FILE_CAP ? max_body : UPLOAD_FILE_CAP;
    file_cap = max_file < request_cap ? max_file : request_cap;
}

void api_upload_limits(http_req *rq)
{
    api_reply_json(rq, 200, json_pack("{s:I, s:I, s:i}", "per_file_bytes", (json_int_t)file_cap, "per_request_bytes",
                                      (json_int_t)request_cap, "max_attachments_per_message", UPLOAD_MAX_ATTACHMENTS));
}

/* Answer with the agent's status, Content-Type (octet-stream when it gave none usable) and body - the client's
 * buffer itself, handed over to rq's arena rather than copied. */
static void relay(http_req *rq, const http_call_result *r)
{
    const char *type = r->content_type && r->content_type[0] && !strpbrk(r->content_type, "\r\n")
                           ? arena_strdup(rq->arena, r->content_type)
                           : "application/octet-stream";
    char *body = http_call_take_body(r);
    arena_defer(rq->arena, free, body);
    http_respond(rq, r->status, type, body, r->body_len);
}

/* The workspace's answer to a forwarded upload, relayed (rq was held for it). */
static void on_forwarded(void *arg, void *ctx, const http_call_result *r)
{
    (void)ctx;
    http_req *rq = arg;
    if (r->outcome == HTTP_CALL_CANCELLED) {
        api_fail(rq, CL_UNAVAILABLE, "colony is shutting down; retry");
    } else if (r->outcome != HTTP_CALL_OK && r->outcome != HTTP_CALL_TOO_LARGE) {
        api_fail_with(rq, CL_BAD_GATEWAY, NULL, json_pack("{s:s?}", "detail", r->error), "workspace unreachable");
    } else {
        relay(rq, r);
    }
    http_req_drop(rq);
}

/* data.md §1.3: where a push-mode workspace is reached and the secret it knows colony by. False after answering:
 * no URL yet (503), a URL colony does not dial (400), a secret minted just now that the agent has not picked up
 * (503, retry). `what` names the operation in the poll-mode refusal (422). */
static bool agent_target_or_reply(http_req *rq, const ws_row *w, const char *what, const char **base,
                                  const char **secret)
{
    cl_error e;
    bool push = w->delivery_mode == NULL || strcmp(w->delivery_mode, "poll") != 0;
    if (!push) {
        api_fail_with(rq, CL_UNPROCESSABLE, NULL,
                      json_pack("{s:s}", "detail", "the workspace polls colony; colony never dials its URL"),
                      "workspace has no callback URL — %s requires push-mode + public URL", what);
        return false;
    }
    if (w->url == NULL || w->url[0] == '\0') {
        api_fail(rq, CL_UNAVAILABLE, "workspace url not registered yet");
        return false;
    }
    if (url_check_agent(w->url, &e) != CL_OK) {
        api_fail(rq, CL_INVALID, "workspace URL not allowed");
        return false;
    }
    bool minted;
    if (secret_inbound(rq->db, rq->arena, w->id, secret, &minted, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return false;
    }
    if (minted) { /* the agent learns it at its next register */
        api_fail_with(rq, CL_UNAVAILABLE, NULL,
                      json_pack("{s:s, s:i}", "detail",
                                "the workspace has not picked up its inbound secret yet; it gets it when it registers",
                                "retry_after_seconds", 30),
                      "workspace re-registering — please retry in 30 seconds");
        return false;
    }
    size_t n = strlen(w->url);
    while (n > 0 && w->url[n - 1] == '/')
        n--;
    *base = arena_strndup(rq->arena, w->url, n);
    return true;
}

/* data.md §1.3: the body goes to the workspace as it came, with colony's inbound secret. */
static void push_mode(http_req *rq, const ws_row *w)
{
    const char *base, *secret;
    if (!agent_target_or_reply(rq, w, "chat upload", &base, &secret))
        return;
    const char *ct = http_header(rq, "content-type");
    http_call c = {.url = arena_sprintf(rq->arena, "%s/internal/chat/uploads/ingest", base),
                   .content_type = ct && !strpbrk(ct, "\r\n") ? ct : "application/octet-stream",
                   .authorization = arena_sprintf(rq->arena, "Bearer %s", secret),
                   .body = rq->body ? rq->body : "",
                   .body_len = rq->body_len,
                   .max_response = 1 << 20};
    http_defer(rq);
    http_client_post(http_req_client(rq), &c, on_forwarded, http_req_hold(rq));
}

void api_chat_upload(http_req *rq)
{
    const char *id;
    ws_row w;
    if (!api_workspace_or_reply(rq, &id, &w))
        return;
    cl_error e;
    if (strcmp(w.delivery_mode, "poll") != 0) {
        push_mode(rq, &w);
        return;
    }
    const char *boundary = multipart_boundary(rq->arena, http_header(rq, "content-type"));
    multipart_part *parts;
    size_t nparts;
    if (boundary == NULL ||
        multipart_parse(rq->arena, boundary, rq->body ? rq->body : "", rq->body_len, &parts, &nparts, &e) != CL_OK) {
        api_fail(rq, CL_INVALID, "malformed multipart body");
        return;
    }
    upload_file *files = arena_calloc(rq->arena, nparts + 1, sizeof(*files));
    size_t n = 0;
    for (size_t i = 0; i < nparts; i++) {
        const multipart_part *p = &parts[i];
        if (strcmp(p->name, "files") != 0)
            continue;
        if (n == UPLOAD_MAX_FILES) {
            api_fail(rq, CL_INVALID, "too many files (limit %d)", UPLOAD_MAX_FILES);
            return;
        }
        if (p->len > file_cap) { /* refused before anything is written */
            api_fail_with(rq, CL_TOO_LARGE, NULL,
                          json_pack("{s:s?, s:I, s:I}", "filename", p->filename, "size", (json_int_t)p->len, "max",
                                    (json_int_t)file_cap),
                          "file exceeds per-file cap");
            return;
        }
        char *name = arena_alloc(rq->arena, UPLOAD_NAME_MAX + 1);
        upload_sanitize_name(p->filename ? p->filename : "", name);
        files[n++] = (upload_file){.filename = name, .mimetype = upload_sanitize_type(rq->arena, p->content_type),
                                   .content = p->data, .size = p->len};
    }
    if (n == 0) {
        api_fail(rq, CL_INVALID, "no files field in request");
        return;
    }
    if (upload_stage(rq->db, rq->arena, id, files, n, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:I}", "uri",
                                             arena_sprintf(rq->arena, "platform-pending:%s/%s", id, files[i].file_id),
                                             "name", files[i].filename, "mimeType", files[i].mimetype, "size",
                                             (json_int_t)files[i].size));
    api_reply_json(rq, 200, json_pack("{s:o}", "files", out));
}

/* Resolve :id and :file_id to a staged file of that workspace; false after answering. */
static bool own_file(http_req *rq, const char *missing, upload_file *f, const char **id)
{
    const char *file_id;
    cl_error e;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", id) ||
        !api_uuid_param_or_reply(rq, "file_id", "file", &file_id))
        return false;
    cl_err r = upload_get(rq->db, rq->arena, file_id, f, &e);
    if (r == CL_NOT_FOUND) {
        api_fail(rq, CL_NOT_FOUND, "%s", missing);
        return false;
    }
    if (r != CL_OK) {
        api_reply_error(rq, &e);
        return false;
    }
    if (strcmp(f->workspace_id, *id) != 0) { /* another workspace's file: as if it did not exist */
        api_fail(rq, CL_NOT_FOUND, "pending upload not found");
        return false;
    }
    return true;
}

/* attachment; filename="<quoted>"; filename*=UTF-8''<percent-encoded> - never a CR or LF. */
static const char *disposition(arena_t *a, const char *name)
{
    size_t n = strlen(name);
    char *q = arena_alloc(a, 2 * n + 1), *pct = arena_alloc(a, 3 * n + 1);
    size_t qo = 0, po = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c >= 0x20 && c != 0x7F) {
            if (c == '"' || c == '\\')
                q[qo++] = '\\';
            q[qo++] = (char)c;
        }
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("-._~", c))
            pct[po++] = (char)c;
        else
            po += (size_t)snprintf(pct + po, 4, "%%%02X", c);
    }
    q[qo] = pct[po] = '\0';
    return arena_sprintf(a, "attachment; filename=\"%s\"; filename*=UTF-8''%s", q, pct);
}

void api_pending_upload_content(http_req *rq)
{
    upload_file f;
    const char *id;
    if (!own_file(rq, "pending upload not found or expired", &f, &id))
        return;
    http_add_header(rq, "content-disposition", disposition(rq->arena, f.filename));
    http_respond(rq, 200, f.mimetype[0] ? f.mimetype : "application/octet-stream", f.content, f.size);
    cl_error e;
    upload_mark_fetched(rq->db, rq->arena, f.file_id, &e); /* bookkeeping only: the bytes are already on their way */
}

void api_pending_upload_ack(http_req *rq)
{
    upload_file f;
    const char *id;
    if (!own_file(rq, "pending upload not found, expired, or already acked", &f, &id))
        return;
    bool raced;
    cl_error e;
    if (upload_ack(rq->db, rq->arena, f.file_id, &raced, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, raced ? json_pack("{s:b, s:b}", "acked", 1, "raced", 1) : json_pack("{s:b}", "acked", 1));
}

/* ---- chat download (data.md §1.11, surface.md §15) ----------------------------------------------------------- */

static const char *const DOWNLOAD_ROOTS[] = {"/configs", "/workspace", "/home", "/plugins", "/agent-home"};

/* Absolute and already clean (what Go's path.Clean leaves as it is): no empty, "." or ".." part, no trailing '/'. */
static bool clean_path(const char *p)
{
    size_t n = strlen(p);
    if (n < 2 || p[n - 1] == '/')
        return false;
    for (const char *s = p + 1;;) {
        size_t k = strcspn(s, "/");
        if (k == 0 || (k == 1 && s[0] == '.') || (k == 2 && s[0] == '.' && s[1] == '.'))
            return false;
        if (s[k] == '\0')
            return true;
        s += k + 1;
    }
}

static bool under_root(const char *p)
{
    for (size_t i = 0; i < sizeof(DOWNLOAD_ROOTS) / sizeof(DOWNLOAD_ROOTS[0]); i++) {
        size_t n = strlen(DOWNLOAD_ROOTS[i]);
        if (strncmp(p, DOWNLOAD_ROOTS[i], n) == 0 && (p[n] == '\0' || p[n] == '/'))
            return true;
    }
    return false;
}

/* A slot is held until the request's arena goes, i.e. until the relayed bytes are written or the caller is gone,
 * so memory held by relays is bounded by max_downloads x file_cap however slowly callers read. */
static void download_slot_free(void *unused)
{
    (void)unused;
    atomic_fetch_sub(&downloads, 1);
    metric_add(METRIC_CHAT_DOWNLOADS_INFLIGHT, -1);
}

static bool download_slot_or_reply(http_req *rq)
{
    if (atomic_fetch_add(&downloads, 1) >= max_downloads) {
        atomic_fetch_sub(&downloads, 1);
        metric_inc(METRIC_CHAT_DOWNLOADS_REFUSED);
        http_add_header(rq, "retry-after", "5");
        api_fail_with(rq, CL_UNAVAILABLE, NULL, json_pack("{s:i}", "retry_after", 5),
                      "too many chat downloads in flight; retry");
        return false;
    }
    metric_inc(METRIC_CHAT_DOWNLOADS_INFLIGHT);
    arena_defer(rq->arena, download_slot_free, NULL);
    return true;
}

/* The file name a Content-Disposition gives (`filename="…"` with its escapes, or a bare token), its last path part;
 * NULL when there is none. */
static const char *given_filename(arena_t *a, const char *cd)
{
    const char *p = cd;
    while (*p != '\0' && !(strncasecmp(p, "filename=", 9) == 0 && (p == cd || strchr("; \t", p[-1]) != NULL)))
        p++;
    if (*p == '\0')
        return NULL;
    p += strlen("filename=");
    char *name = arena_alloc(a, strlen(p) + 1);
    size_t n = 0;
    if (*p == '"') {
        for (p++; *p != '\0' && *p != '"'; p++)
            name[n++] = *p == '\\' && p[1] != '\0' ? *++p : *p;
    } else {
        while (*p != '\0' && *p != ';' && *p != ' ' && *p != '\t')
            name[n++] = *p++;
    }
    name[n] = '\0';
    const char *base = name;
    for (const char *s = name; *s != '\0'; s++)
        if (*s == '/' || *s == '\\')
            base = s + 1;
    return base[0] != '\0' ? base : NULL;
}

/* The workspace's answer, relayed (relay()): its status, body and Content-Type, nothing else of its headers. The
 * bytes come from an agent but are served from colony's origin, so they are always an attachment
 * (the agent's file name kept, else the path's) and never sniffed: a text/html answer is saved, never rendered. */
static void on_downloaded(void *arg, void *ctx, const http_call_result *r)
{
    (void)ctx;
    http_req *rq = arg;
    if (r->outcome == HTTP_CALL_CANCELLED) {
        api_fail(rq, CL_UNAVAILABLE, "colony is shutting down; retry");
    } else if (r->outcome == HTTP_CALL_TOO_LARGE) {
        api_fail(rq, CL_BAD_GATEWAY, "file larger than %zu bytes: colony does not relay it", file_cap);
    } else if (r->outcome != HTTP_CALL_OK) {
        api_fail_with(rq, CL_BAD_GATEWAY, NULL, json_pack("{s:s?}", "detail", r->error), "workspace unreachable");
    } else {
        const char *name = r->content_disposition ? given_filename(rq->arena, r->content_disposition) : NULL;
        if (name == NULL) {
            const char *path = http_query(rq, "path"); /* checked before the dial */
            name = strrchr(path, '/') + 1; /* an absolute clean path: never ends in '/' */
        }
        http_add_header(rq, "content-disposition", disposition(rq->arena, name));
        http_add_header(rq, "x-content-type-options", "nosniff");
        relay(rq, r);
    }
    http_req_drop(rq);
}

/* The path as a query value: everything but unreserved characters and '/' percent-encoded. */
static const char *query_escape(arena_t *a, const char *s)
{
    size_t n = strlen(s), o = 0;
    char *out = arena_alloc(a, 3 * n + 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("-._~/", c))
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, 4, "%%%02X", c);
    }
    out[o] = '\0';
    return out;
}

void api_chat_download(http_req *rq)
{
    const char *id, *path = http_query(rq, "path"), *base, *secret;
    ws_row w;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &id))
        return;
    if (path == NULL || path[0] == '\0') {
        api_fail(rq, CL_INVALID, "path query required");
        return;
    }
    if (path[0] != '/') {
        api_fail(rq, CL_INVALID, "path must be absolute");
        return;
    }
    if (!under_root(path)) {
        api_fail(rq, CL_INVALID, "path must be under /configs, /workspace, /home, or /plugins");
        return;
    }
    if (!clean_path(path) || strstr(path, "..") != NULL) {
        api_fail(rq, CL_INVALID, "invalid path");
        return;
    }
    if (!api_workspace_or_reply(rq, &id, &w))
        return;
    if (strcmp(w.status, "removed") == 0) {
        api_fail(rq, CL_NOT_FOUND, "workspace not found");
        return;
    }
    if (!agent_target_or_reply(rq, &w, "chat download", &base, &secret) || !download_slot_or_reply(rq))
        return;
    http_call c = {.method = "GET",
                   .url = arena_sprintf(rq->arena, "%s/internal/file/read?path=%s", base, query_escape(rq->arena, path)),
                   .authorization = arena_sprintf(rq->arena, "Bearer %s", secret),
                   .max_response = file_cap};
    http_defer(rq);
    http_client_post(http_req_client(rq), &c, on_downloaded, http_req_hold(rq));
}
