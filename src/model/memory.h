/* memory.h - agents' memories (shared/api/data.md §2): records in namespaces that follow the org tree (memns.h),
 * full-text search that answers the same on SQLite and PostgreSQL (memtext.h), secret redaction of everything
 * stored (redact.h), bounds per record and per namespace. colony is the store the reference reached through its
 * memory plugin; these functions are what its routes and MCP tools do, one per operation, and check every input
 * themselves (the MCP bridge calls them as the REST handlers do).
 *
 * Every write goes through mem_commit: the namespace is re-derived from the tree and must be writable by the
 * acting workspace (an operator's write - admin import, org templates - needs only a namespace of the tree), the
 * content is redacted, its delimiter escaped ("[MEMORY " → "[_MEMORY ", so stored text can never pose as the
 * wrapper agents are shown org memories in) and its search terms worked out - before the transaction, so no lock
 * waits on a scan of the content - then, in one transaction, the namespace row is upserted, the record inserted,
 * and the namespace's figures (kept by triggers) checked against its bounds. */
#ifndef COLONY_MODEL_MEMORY_H
#define COLONY_MODEL_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "model/memns.h"
#include "store/db.h"

enum {
    MEM_CONTENT_MAX_DEFAULT = 64 * 1024,    /* bytes of one memory as written */
    MEM_NS_RECORDS_DEFAULT = 100000,        /* memories in one namespace */
    MEM_NS_BYTES_DEFAULT = 256 * 1024 * 1024, /* bytes of content in one namespace */
    MEM_QUERY_MAX = 1024,                   /* bytes of a search query */
    MEM_SEARCH_DEFAULT = 50,
    MEM_SEARCH_MAX = 100,
    MEM_IMPORT_MAX = 10000,                 /* entries of one import */
};

/* The bounds (process-wide; set once at start, before any request). */
typedef struct {
    int64_t content_max, ns_max_records, ns_max_bytes;
} mem_limits;
void mem_configure(const mem_limits *l);
const mem_limits *mem_config(void);

/* One memory as read (arena-owned strings; NULL where absent). */
typedef struct {
    const char *id, *namespace, *content, *kind, *source, *source_workspace_id;
    bool pin;
    int64_t expires_at, created_at; /* ms; 0 = none */
    bool has_score;
    int64_t score; /* search rank in millionths (see mem_search) */
} mem_record;

/* The MCP tools log their writes and forgets in the activity log with ACTIVITY_LOGGED (schedules-mcp.md §8). */
typedef enum { MEM_LOG_NONE, MEM_LOG_WRITE, MEM_LOG_SUMMARY } mem_log;

/* A write. */
typedef struct {
    const char *workspace_id; /* who writes (recorded as the memory's source workspace) */
    const char *namespace;
    const char *content;      /* as given: redacted and escaped here */
    const char *kind;         /* fact (NULL), summary, checkpoint */
    const char *source;       /* agent (NULL), runtime, user */
    bool pin;
    int64_t expires_at;       /* ms, 0: never */
    const char *id;           /* a UUID that makes the write idempotent (NULL: a fresh one) */
    int64_t created_at;       /* ms, 0: now (an import keeps the exported time) */
    bool operator_write;      /* an operator writes into any namespace of the tree (owner must exist) */
    mem_log log;
} mem_write;

/* What a write stored. */
typedef struct {
    const char *id; /* arena-owned */
    bool created;   /* false: that id was stored already (the same write again) */
    bool redacted;  /* secrets were taken out of the content */
} mem_written;

/* Count a write in /metrics once its transaction has committed. The write functions count their own writes when
 * they own the transaction; a caller that writes inside a transaction of its own counts after its commit. */
void mem_count(const mem_written *w);

/* Store a memory. CL_INVALID for a bad namespace name, kind, source, id, blank or non-UTF-8 content;
 * CL_TOO_LARGE "content is longer than N bytes" (as sent, or "... once secrets are redacted" as stored);
 * CL_NOT_FOUND "workspace not found" (unknown, removed when it writes for itself, or purged while it writes);
 * CL_FORBIDDEN "namespace <ns> is not writable by this workspace"; CL_CONFLICT with code
 * "namespace_full" past the namespace's bounds, or "memory id already in use" when `id` names a memory of another
 * namespace. An `id` already stored in this namespace changes nothing (out->created is false). */
cl_err mem_commit(db_t *db, arena_t *a, const mem_write *w, mem_written *out, cl_error *err);

/* The legacy scopes of POST /memories and the MCP commit_memory/recall_memory tools. */
typedef enum { MEM_SCOPE_LOCAL, MEM_SCOPE_TEAM, MEM_SCOPE_GLOBAL } mem_scope;
/* "LOCAL", "TEAM", "GLOBAL" (exactly). */
bool mem_scope_parse(const char *s, mem_scope *out);
const char *mem_scope_name(mem_scope s);
/* The scope of a namespace kind (workspace LOCAL, team TEAM, org GLOBAL; custom ""). */
const char *mem_scope_of(memns_kind k);

/* A write of a legacy scope: what it asks, and (filled by mem_commit_group) what came of it. */
typedef struct {
    const char *workspace_id, *content, *source;
    mem_scope scope;
    bool operator_write;
    mem_log log;
    cl_err result;
    cl_error err;
    mem_written out;
    const char *namespace; /* where it went (arena-owned) */
} mem_scoped;

/* Write a group of scoped writes (as mem_commit_scope, each with its own outcome) in one transaction, each in a
 * savepoint of its own, so that one refused write (full namespace, forbidden scope) leaves the others; when the
 * database refuses the group, each is written again alone. The ACL is checked before the transaction and the
 * writes are made in the order of their namespaces, so concurrent groups lock shared namespaces in one order. A
 * group costs one commit, and on SQLite one segment of the full-text index, whatever its size (group commit of
 * POST /memories, api/memories.c). */
void mem_commit_group(db_t *db, arena_t *a, mem_scoped *items, size_t n);

/* POST /workspaces/:id/memories (data.md §2.3), MCP commit_memory and org template seeds: `content` into the
 * workspace's namespace of the scope's kind. GLOBAL is refused to a workspace that is not its chain's root
 * (CL_FORBIDDEN "only root workspaces can write GLOBAL memories") unless an operator writes; a GLOBAL write adds
 * the audit row `memory_write_global` {memory_id, namespace, content_sha256} in the same transaction. Errors as
 * mem_commit. *namespace receives where it went. */
cl_err mem_commit_scope(db_t *db, arena_t *a, const char *workspace_id, mem_scope scope, const char *content,
                        const char *source, bool operator_write, mem_log log, mem_written *out, const char **namespace,
                        cl_error *err);

/* A position in a result list: (score or pin, created_at, id) of the last row, descending. */
typedef struct {
    int64_t rank, created_at;
    const char *id;
} mem_cursor;

/* A search of what a workspace may read. */
typedef struct {
    const char *workspace_id;
    const char *const *namespaces; /* requested names (NULL or 0: every readable one); kept in request order */
    size_t nnamespaces;
    unsigned scopes;               /* bit (1 << memns_kind) per namespace kind to read (0: all) */
    const char *query;             /* NULL or blank: every memory, pinned first, newest first */
    const char *const *kinds;      /* fact/summary/checkpoint filter (NULL or 0: any), at most 3 */
    size_t nkinds;
    int64_t limit;
    const mem_cursor *after;       /* NULL: from the first */
} mem_query;

/* Search: the requested namespaces that are readable (none: no rows), memories not expired, of those kinds.
 * With a query, the memories holding every term of it (a term of MEMTEXT_PREFIX_MIN characters or more also
 * matches the words it begins), best first: score = Σ over terms of w·2.2 / (w + 1.2·(0.25 + 0.75·L/32)), where w
 * counts the memory's words equal to the term twice and those it only begins once, and L is the memory's length
 * in words (BM25's saturation and length norm without document frequencies, in integers, so both databases
 * compute the very same number); then newest first, then id. Without one, pinned first, then newest first.
 * CL_INVALID for an over-long query, a malformed namespace name or an unknown kind; CL_NOT_FOUND for an unknown
 * workspace. At most limit rows (ask for one more to know whether a next page exists). */
cl_err mem_search(db_t *db, arena_t *a, const mem_query *q, mem_record **rows, size_t *count, cl_error *err);

/* Forget memory `id` of `namespace` (NULL: the workspace's own, as DELETE …/v2/memories/:id): CanWrite, then
 * delete. CL_NOT_FOUND "memory not found" when that namespace has no such memory; CL_FORBIDDEN when the namespace
 * is not writable. `log` writes the MCP tool's memory_delete activity row. */
cl_err mem_forget(db_t *db, arena_t *a, const char *workspace_id, const char *id, const char *namespace, bool log,
                  cl_error *err);

/* Text shown to agents for an org memory (data.md §2.7): "[MEMORY id=<id> scope=ORG ns=<ns>]: <content>" (v2
 * tools) or "[MEMORY id=<id> scope=GLOBAL from=<source workspace>]: <content>" (legacy recall). */
const char *mem_wrap_org(arena_t *a, const mem_record *r, bool legacy);

#endif
