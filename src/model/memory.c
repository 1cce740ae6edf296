/* memory.c - see memory.h. */
#include "model/memory.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/id.h"
#include "base/json.h"
#include "base/metrics.h"
#include "base/time.h"
#include "base/utf8.h"
#include "model/activity.h"
#include "model/memtext.h"
#include "model/redact.h"

static mem_limits limits = {MEM_CONTENT_MAX_DEFAULT, MEM_NS_RECORDS_DEFAULT, MEM_NS_BYTES_DEFAULT};

void mem_configure(const mem_limits *l) { limits = *l; }
const mem_limits *mem_config(void) { return &limits; }

static const char SQL_NS_UPSERT[] = "INSERT INTO memory_namespaces (name, kind, owner_id, created_at)"
                                    " VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING";
static const char SQL_INSERT[] =
    "INSERT INTO memory_records (id, namespace, content, kind, source, pin, expires_at, source_workspace_id, terms,"
    " term_count, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    " ON CONFLICT (id) DO NOTHING RETURNING seq";
static const char SQL_HOLDER[] = "SELECT namespace FROM memory_records WHERE id = $1";
/* kept by the triggers of migration 0025; read after the insert, so they include it (and, on PostgreSQL, every
 * concurrent insert into this namespace that committed first: its trigger's UPDATE waited for their row lock) */
static const char SQL_FIGURES[] = "SELECT record_count, content_bytes FROM memory_namespaces WHERE name = $1";
static const char SQL_OWNER[] = "SELECT 1 FROM workspaces WHERE id = $1";
static const char SQL_FORGET[] = "DELETE FROM memory_records WHERE id = $1 AND namespace = $2";

static const char *const KINDS[] = {"fact", "summary", "checkpoint"};
static const char *const SOURCES[] = {"agent", "runtime", "user"};

static bool one_of(const char *s, const char *const *set, size_t n)
{
    for (size_t i = 0; s != NULL && i < n; i++)
        if (strcmp(s, set[i]) == 0)
            return true;
    return false;
}

/* White space as the reference's strings.TrimSpace reads it (Go's unicode.IsSpace): ASCII's, U+0085, U+00A0 and
 * the Unicode space separators. */
static bool space_at(const char *s, size_t len, size_t *step)
{
    *step = utf8_seq_len(s, len);
    const unsigned char *p = (const unsigned char *)s;
    if (*step == 1)
        return strchr(" \t\n\r\f\v", s[0]) != NULL;
    uint32_t c = *step == 2   ? (uint32_t)(p[0] & 0x1F) << 6 | (p[1] & 0x3F)
                 : *step == 3 ? (uint32_t)(p[0] & 0x0F) << 12 | (uint32_t)(p[1] & 0x3F) << 6 | (p[2] & 0x3F)
                              : 0;
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000;
}

static bool blank(const char *s)
{
    size_t len = strlen(s), step;
    for (size_t i = 0; i < len; i += step)
        if (!space_at(s + i, len - i, &step))
            return false;
    return true;
}

/* The owner a namespace is named after: the text after its prefix. */
static const char *owner_of(const char *ns) { return strchr(ns, ':') + 1; }

/* "[MEMORY " (any case) becomes "[_MEMORY ": stored text never starts the wrapper of mem_wrap_org. */
static const char *escape_delimiter(arena_t *a, const char *s, size_t n, size_t *out_len)
{
    size_t hits = 0;
    for (size_t i = 0; i + 8 <= n; i++)
        hits += s[i] == '[' && strncasecmp(s + i + 1, "MEMORY ", 7) == 0;
    *out_len = n + hits;
    if (hits == 0)
        return s;
    char *out = arena_alloc(a, n + hits + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        *o++ = s[i];
        if (s[i] == '[' && i + 8 <= n && strncasecmp(s + i + 1, "MEMORY ", 7) == 0)
            *o++ = '_';
    }
    *o = '\0';
    return out;
}

/* Input rules of every write, before anything is read or written. */
static cl_err check_write(const mem_write *w, cl_error *err)
{
    if (w->namespace == NULL || !memns_name_valid(w->namespace))
        return cl_fail(err, CL_INVALID, "invalid namespace name");
    if (w->kind && !one_of(w->kind, KINDS, 3))
        return cl_fail(err, CL_INVALID, "kind must be fact, summary or checkpoint");
    if (w->source && !one_of(w->source, SOURCES, 3))
        return cl_fail(err, CL_INVALID, "source must be agent, runtime or user");
    if (w->id && !id_is_uuid(w->id, strlen(w->id)))
        return cl_fail(err, CL_INVALID, "memory id must be a UUID");
    if (w->content == NULL || blank(w->content))
        return cl_fail(err, CL_INVALID, "content is required");
    size_t n = strlen(w->content);
    if ((int64_t)n > limits.content_max) {
        metric_inc(METRIC_MEMORY_REFUSED_TOO_LARGE);
        return cl_fail(err, CL_TOO_LARGE, "content is longer than %lld bytes", (long long)limits.content_max);
    }
    if (!utf8_valid(w->content, n))
        return cl_fail(err, CL_INVALID, "content must be valid UTF-8");
    return CL_OK;
}

/* May `w` write its namespace? An agent: only what the tree lets it (and never as a removed workspace); an
 * operator: any workspace, team or org namespace whose owner exists. */
static cl_err check_target(db_t *db, arena_t *a, const mem_write *w, const memns_set *set, cl_error *err)
{
    memns_kind kind = memns_kind_of(w->namespace);
    if (!w->operator_write) {
        if (set->removed)
            return cl_fail(err, CL_NOT_FOUND, "workspace not found");
        if (!memns_can_write(set, w->namespace))
            return cl_fail(err, CL_FORBIDDEN, "namespace %s is not writable by this workspace", w->namespace);
        return CL_OK;
    }
    if (kind == MEMNS_CUSTOM)
        return cl_fail(err, CL_INVALID, "namespace %s is not one of the org tree", w->namespace);
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_OWNER, "s", owner_of(w->namespace));
    if (e == CL_OK)
        e = db_one(st, err);
    db_finish(st);
    return e == CL_NOT_FOUND ? cl_fail(err, CL_NOT_FOUND, "namespace owner %s not found", owner_of(w->namespace)) : e;
}

/* The namespace's figures, with this write in them, against its bounds. */
static cl_err check_figures(db_t *db, arena_t *a, const char *ns, cl_error *err)
{
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_FIGURES, "s", ns);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK) {
        int64_t records = db_col_int64(st, 0), bytes = db_col_int64(st, 1);
        if (records > limits.ns_max_records || bytes > limits.ns_max_bytes) {
            metric_inc(METRIC_MEMORY_REFUSED_FULL);
            e = cl_fail_code(err, CL_CONFLICT, "namespace_full",
                             "memory namespace %s is full (at most %lld memories and %lld bytes); forget some first",
                             ns, (long long)limits.ns_max_records, (long long)limits.ns_max_bytes);
        }
    }
    db_finish(st);
    return e;
}

static cl_err log_activity(db_t *db, arena_t *a, const char *ws, const char *type, const char *id, const char *ns,
                           const char *summary, cl_error *err)
{
    activity_row r = {.workspace_id = ws, .activity_type = type, .source_id = ws, .target_id = id, .method = ns,
                      .summary = summary};
    return activity_report(db, a, &r, err);
}

/* A write's content as it will be stored, and its search terms: worked out before its transaction, so that no
 * lock is held (SQLite's write lock, for a whole group) while a megabyte is scanned. */
typedef struct {
    const char *text, *terms;
    size_t len;
    int64_t count;
    bool redacted;
} prepared;

static cl_err prepare(arena_t *a, const char *content, prepared *c, cl_error *err)
{
    c->text = redact_secrets(a, content, strlen(content), &c->len, &c->redacted);
    c->text = escape_delimiter(a, c->text, c->len, &c->len);
    if ((int64_t)c->len > limits.content_max) { /* the bound is on what is stored, which redaction lengthens */
        metric_inc(METRIC_MEMORY_REFUSED_TOO_LARGE);
        return cl_fail(err, CL_TOO_LARGE, "content is longer than %lld bytes once secrets are redacted",
                       (long long)limits.content_max);
    }
    c->terms = memtext_terms(a, c->text, c->len, &c->count);
    return CL_OK;
}

/* What was stored, with the content as stored. */
typedef struct {
    mem_written w;
    const char *content;
} stored;

/* A constraint failed where the input was checked already: only the foreign keys are left (the namespace's owner,
 * the record's namespace), so a purge that committed after the plan step read the tree took the owner away. */
static cl_err owner_gone(const mem_write *w, cl_error *err)
{
    if (w->operator_write)
        return cl_fail(err, CL_NOT_FOUND, "namespace owner %s not found", owner_of(w->namespace));
    return cl_fail(err, CL_NOT_FOUND, "workspace not found");
}

/* Upsert the namespace, insert the record (or find it stored already), check the bounds; inside a transaction. */
static cl_err store(db_t *db, arena_t *a, const mem_write *w, const prepared *c, stored *out, cl_error *err)
{
    int64_t now = time_now_ms();
    out->w.redacted = c->redacted;
    char fresh[ID_UUID_LEN + 1];
    if (w->id) {
        snprintf(fresh, sizeof(fresh), "%s", w->id);
        id_lower(fresh);
    } else {
        id_uuid4(fresh);
    }
    memns_kind kind = memns_kind_of(w->namespace);
    cl_err e = db_run(db, a, NULL, err, SQL_NS_UPSERT, "sssi", w->namespace, memns_kind_name(kind),
                      kind == MEMNS_CUSTOM ? NULL : owner_of(w->namespace), now);
    if (e == CL_INVALID)
        return owner_gone(w, err);
    db_stmt_t *st;
    if (e == CL_OK && (e = db_prepare(db, a, SQL_INSERT, &st, err)) == CL_OK) {
        db_bind_str(st, 1, fresh);
        db_bind_str(st, 2, w->namespace);
        db_bind_text(st, 3, c->text, c->len);
        db_bind_str(st, 4, w->kind ? w->kind : "fact");
        db_bind_str(st, 5, w->source ? w->source : "agent");
        db_bind_int64(st, 6, w->pin ? 1 : 0);
        if (w->expires_at > 0)
            db_bind_int64(st, 7, w->expires_at);
        else
            db_bind_null(st, 7);
        db_bind_str(st, 8, w->workspace_id);
        db_bind_str(st, 9, c->terms);
        db_bind_int64(st, 10, c->count);
        db_bind_int64(st, 11, w->created_at > 0 ? w->created_at : now);
        bool row;
        if ((e = db_step(st, &row, err)) == CL_OK) {
            out->w.created = row;
            if (row)
                e = db_exec(st, err);
        }
        db_finish(st);
        if (e == CL_INVALID)
            return owner_gone(w, err);
    }
    out->w.id = arena_strdup(a, fresh);
    out->content = c->text;
    if (e == CL_OK && !out->w.created) { /* the id is stored already: the same write again, or another memory's */
        if ((e = db_query(db, a, &st, err, SQL_HOLDER, "s", fresh)) == CL_OK && (e = db_one(st, err)) == CL_OK &&
            strcmp(db_col_text(st, 0), w->namespace) != 0)
            e = cl_fail(err, CL_CONFLICT, "memory id already in use");
        db_finish(st);
        if (e == CL_NOT_FOUND) /* gone again between the two statements: a forget won */
            e = cl_fail(err, CL_CONFLICT, "memory id already in use");
        return e;
    }
    if (e == CL_OK)
        e = check_figures(db, a, w->namespace, err);
    if (e == CL_OK && w->log != MEM_LOG_NONE) {
        bool summary = w->log == MEM_LOG_SUMMARY;
        e = log_activity(db, a, w->workspace_id, summary ? "memory_summary_write" : "memory_write", out->w.id,
                         w->namespace,
                         arena_sprintf(a, "%s to %s", summary ? "commit_summary" : "commit_memory", w->namespace),
                         err);
    }
    return e;
}

void mem_count(const mem_written *w)
{
    if (w->created)
        metric_inc(METRIC_MEMORY_WRITTEN);
    if (w->created && w->redacted)
        metric_inc(METRIC_MEMORY_REDACTED);
}

/* A write in its own transaction (a savepoint inside the caller's), counted once it is durable. */
static cl_err write_tx(db_t *db, arena_t *a, const mem_write *w, const prepared *c, stored *out, cl_error *err)
{
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    e = db_tx_end(db, store(db, a, w, c, out, err), err);
    if (e == CL_OK && !db_in_tx(db))
        mem_count(&out->w);
    return e;
}

cl_err mem_commit(db_t *db, arena_t *a, const mem_write *w, mem_written *out, cl_error *err)
{
    cl_err e = check_write(w, err);
    memns_set set = {0};
    if (e == CL_OK && !w->operator_write)
        e = memns_resolve(db, a, w->workspace_id, &set, err);
    if (e == CL_OK)
        e = check_target(db, a, w, &set, err);
    prepared c;
    if (e == CL_OK)
        e = prepare(a, w->content, &c, err);
    stored s = {0};
    if (e == CL_OK)
        e = write_tx(db, a, w, &c, &s, err);
    if (e == CL_OK)
        *out = s.w;
    return e;
}

/* ---- legacy scopes --------------------------------------------------------------------------------------------- */

static const char *const SCOPES[] = {"LOCAL", "TEAM", "GLOBAL"};

bool mem_scope_parse(const char *s, mem_scope *out)
{
    for (int i = 0; s != NULL && i < 3; i++)
        if (strcmp(s, SCOPES[i]) == 0) {
            *out = (mem_scope)i;
            return true;
        }
    return false;
}

const char *mem_scope_name(mem_scope s) { return SCOPES[s]; }

const char *mem_scope_of(memns_kind k) { return k == MEMNS_CUSTOM ? "" : SCOPES[k]; }

static cl_err audit_global(db_t *db, arena_t *a, const char *ws, const stored *s, const char *ns, cl_error *err)
{
    uint8_t digest[ID_SHA256_LEN];
    id_sha256(s->content, strlen(s->content), digest);
    char hex[2 * ID_SHA256_LEN + 1];
    for (int i = 0; i < ID_SHA256_LEN; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    json_t *body = json_own(a, json_pack("{s:s, s:s, s:s}", "memory_id", s->w.id, "namespace", ns, "content_sha256",
                                         hex));
    activity_row r = {.workspace_id = ws, .activity_type = "memory_write_global", .source_id = ws,
                      .request_body = json_dump_arena(a, body, NULL)};
    return activity_record(db, a, &r, err);
}

/* Where a scoped write goes and whether it may, read before its transaction: *mw receives the write, *c its
 * content as stored. */
static cl_err plan_scoped(db_t *db, arena_t *a, const mem_scoped *w, mem_write *mw, prepared *c, cl_error *err)
{
    memns_set set;
    cl_err e = memns_resolve(db, a, w->workspace_id, &set, err);
    if (e != CL_OK)
        return e;
    const memns *ns = &set.ns[w->scope]; /* the scopes are in the order of the kinds */
    if (w->scope == MEM_SCOPE_GLOBAL && !ns->writable && !w->operator_write)
        return cl_fail(err, CL_FORBIDDEN, "only root workspaces can write GLOBAL memories");
    *mw = (mem_write){.workspace_id = w->workspace_id, .namespace = ns->name, .content = w->content,
                      .source = w->source, .operator_write = w->operator_write, .log = w->log};
    if ((e = check_write(mw, err)) != CL_OK || (e = check_target(db, a, mw, &set, err)) != CL_OK)
        return e;
    return prepare(a, mw->content, c, err);
}

/* A planned scoped write in a savepoint of the caller's transaction (the GLOBAL audit row with it). */
static cl_err write_scoped(db_t *db, arena_t *a, mem_scoped *w, const mem_write *mw, const prepared *c,
                           cl_error *err)
{
    stored s = {0};
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    e = store(db, a, mw, c, &s, err);
    if (e == CL_OK && w->scope == MEM_SCOPE_GLOBAL)
        e = audit_global(db, a, w->workspace_id, &s, mw->namespace, err);
    if ((e = db_tx_end(db, e, err)) == CL_OK) {
        w->out = s.w;
        w->namespace = mw->namespace;
    }
    return e;
}

typedef struct {
    mem_scoped *item;
    mem_write w;
    prepared c;
} planned;

/* The database itself failed (not the write): the group is lost. */
static bool database_failed(cl_err e) { return e == CL_UNAVAILABLE || e == CL_INTERNAL; }

/* By namespace, then writer: every group takes the rows it locks on PostgreSQL (a namespace's figures, and with
 * the org namespace its root's row for the GLOBAL audit) in one global order, so groups written at once never wait
 * on each other in a cycle (siblings share their team namespace: an order by writer alone would not do). */
static int by_namespace(const void *x, const void *y)
{
    const planned *a = x, *b = y;
    int c = strcmp(a->w.namespace, b->w.namespace);
    return c ? c : strcmp(a->w.workspace_id, b->w.workspace_id);
}

/* One transaction for `n` planned writes, each in its savepoint (a refused write leaves the others). When the
 * database fails the group, every write of it has that outcome, and it is returned. */
static cl_err write_group(db_t *db, arena_t *a, planned *p, size_t n)
{
    cl_error err;
    cl_err e = db_tx_begin(db, &err);
    for (size_t i = 0; e == CL_OK && i < n; i++) {
        mem_scoped *w = p[i].item;
        if (database_failed(w->result = write_scoped(db, a, w, &p[i].w, &p[i].c, &w->err))) {
            e = w->result;
            err = w->err;
        }
    }
    if (e == CL_OK)
        e = db_tx_commit(db, &err);
    else if (db_in_tx(db))
        db_tx_rollback(db);
    for (size_t i = 0; e != CL_OK && i < n; i++) {
        p[i].item->result = e;
        p[i].item->err = err;
    }
    return e;
}

void mem_commit_group(db_t *db, arena_t *a, mem_scoped *items, size_t n)
{
    planned *p = arena_calloc(a, n ? n : 1, sizeof(*p));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        p[k].item = &items[i];
        if ((items[i].result = plan_scoped(db, a, &items[i], &p[k].w, &p[k].c, &items[i].err)) == CL_OK)
            k++;
    }
    qsort(p, k, sizeof(*p), by_namespace);
    if (write_group(db, a, p, k) != CL_OK && k > 1)
        for (size_t i = 0; i < k; i++) /* each alone: what failed the group fails only itself */
            write_group(db, a, &p[i], 1);
    for (size_t i = 0; i < n; i++)
        if (items[i].result == CL_OK && !db_in_tx(db))
            mem_count(&items[i].out);
}

cl_err mem_commit_scope(db_t *db, arena_t *a, const char *workspace_id, mem_scope scope, const char *content,
                        const char *source, bool operator_write, mem_log log, mem_written *out, const char **namespace,
                        cl_error *err)
{
    mem_scoped w = {.workspace_id = workspace_id, .scope = scope, .content = content, .source = source,
                    .operator_write = operator_write, .log = log};
    if (db_in_tx(db)) { /* inside the caller's transaction (an import): counted when that one commits, not here */
        mem_write mw;
        prepared c;
        if ((w.result = plan_scoped(db, a, &w, &mw, &c, &w.err)) == CL_OK)
            w.result = write_scoped(db, a, &w, &mw, &c, &w.err);
    } else {
        mem_commit_group(db, a, &w, 1);
    }
    if (w.result != CL_OK) {
        *err = w.err;
        return w.result;
    }
    *out = w.out;
    *namespace = w.namespace;
    return CL_OK;
}

/* ---- search ---------------------------------------------------------------------------------------------------- */

#define R_COLUMNS                                                                                                  \
    "r.id, r.namespace, r.content, r.kind, r.source, r.pin, r.expires_at, r.source_workspace_id, r.created_at"
#define M_COLUMNS                                                                                                  \
    "m.id, m.namespace, m.content, m.kind, m.source, m.pin, m.expires_at, m.source_workspace_id, m.created_at, "   \
    "m.score"

/* Without a query: each namespace read through its index from the cursor, newest first, at most a page, then the
 * pages merged. $1..$3 namespaces (NULL: none), $4 now, $5..$7 kinds, $8..$10 the cursor, $11 the limit. */
#define LIST_BRANCH(ns, alias)                                                                                     \
    "SELECT * FROM (SELECT " R_COLUMNS ", CAST(NULL AS BIGINT) AS score FROM memory_records r"                      \
    " WHERE r.namespace = " ns " AND (r.expires_at IS NULL OR r.expires_at > CAST($4 AS BIGINT))"                  \
    " AND (CAST($5 AS TEXT) IS NULL OR r.kind IN ($5, $6, $7))"                                                    \
    " AND (r.pin, r.created_at, r.id) < (CAST($8 AS BIGINT), CAST($9 AS BIGINT), CAST($10 AS TEXT))"               \
    " ORDER BY r.pin DESC, r.created_at DESC, r.id DESC LIMIT $11) " alias
static const char SQL_LIST[] = "SELECT " M_COLUMNS " FROM (" LIST_BRANCH("$1", "a") " UNION ALL " LIST_BRANCH(
    "$2", "b") " UNION ALL " LIST_BRANCH("$3", "c") ") m ORDER BY m.pin DESC, m.created_at DESC, m.id DESC LIMIT $11";

/* With a query: the memories the full-text index finds ($1), filtered as above ($2..$4 namespaces, $5 now, $6..$8
 * kinds), ranked by the score of memory.h from the terms column (term i: $13+2i the term alone, $14+2i the term
 * as a word start; the same text for a term matched whole), past the cursor ($9..$11), $12 the limit. */
/* The index leads: SQLite's planner would otherwise walk a namespace's whole index and test each row against the
 * hits (a CROSS JOIN keeps the FTS5 table outside); PostgreSQL plans the GIN index on its own. */
static const char SQL_MATCH_SQLITE[] = "(SELECT rowid AS hit FROM memory_fts WHERE memory_fts MATCH $1) f"
                                       " CROSS JOIN memory_records r WHERE r.seq = f.hit";
static const char SQL_MATCH_PG[] = "memory_records r WHERE r.search @@ CAST($1 AS tsquery)";
#define SEARCH_FILTERS                                                                                             \
    " AND r.namespace IN ($2, $3, $4) AND (r.expires_at IS NULL OR r.expires_at > CAST($5 AS BIGINT))"             \
    " AND (CAST($6 AS TEXT) IS NULL OR r.kind IN ($6, $7, $8))"

static const char *search_sql(db_t *db, arena_t *a, size_t nterms)
{
    char *w = arena_strdup(a, ""), *score = arena_strdup(a, "0");
    for (size_t i = 0; i < nterms; i++) {
        char e[8], p[8];
        snprintf(e, sizeof(e), "$%zu", 13 + 2 * i);
        snprintf(p, sizeof(p), "$%zu", 14 + 2 * i);
        w = arena_sprintf(a, "%s, colony_count(r.terms, CAST(%s AS TEXT)) + colony_count(r.terms, CAST(%s AS TEXT))"
                             " AS w%zu",
                          w, e, p, i);
        score = arena_sprintf(a, "%s + (CAST(c.w%zu AS BIGINT) * 70400000000) / (32000 * CAST(c.w%zu AS BIGINT)"
                                 " + 9600 + 900 * CAST(c.term_count AS BIGINT))",
                              score, i, i);
    }
    /* The occurrences are counted once per hit (a materialized CTE: a flattened subquery would count them again
     * wherever the score is used), the page is cut on the ranked hits, and only its rows are read whole. */
    return arena_sprintf(
        a,
        "WITH c AS MATERIALIZED (SELECT r.seq, r.id, r.created_at, r.term_count%s FROM %s" SEARCH_FILTERS ")"
        " SELECT " R_COLUMNS ", t.score FROM (SELECT m.seq, m.score, m.created_at, m.id FROM"
        " (SELECT c.seq, c.id, c.created_at, %s AS score FROM c) m"
        " WHERE (m.score, m.created_at, m.id) < (CAST($9 AS BIGINT), CAST($10 AS BIGINT), CAST($11 AS TEXT))"
        " ORDER BY m.score DESC, m.created_at DESC, m.id DESC LIMIT $12) t JOIN memory_records r ON r.seq = t.seq"
        " ORDER BY t.score DESC, t.created_at DESC, t.id DESC",
        w, db_kind(db) == DB_POSTGRES ? SQL_MATCH_PG : SQL_MATCH_SQLITE, score);
}

/* The full-text query in the database's own syntax: every term, a prefix where it is one. The terms are of
 * [a-z0-9] only (memtext.h), so they need no escaping in either. */
static const char *match_text(db_t *db, arena_t *a, const memtext_term *t, size_t n)
{
    bool pg = db_kind(db) == DB_POSTGRES;
    char *out = arena_strdup(a, "");
    for (size_t i = 0; i < n; i++)
        out = pg ? arena_sprintf(a, "%s%s'%s'%s", out, i ? " & " : "", t[i].term, t[i].prefix ? ":*" : "")
                 : arena_sprintf(a, "%s%s\"%s\"%s", out, i ? " " : "", t[i].term, t[i].prefix ? "*" : "");
    return out;
}

static void read_record(db_stmt_t *st, arena_t *a, mem_record *r)
{
    memset(r, 0, sizeof(*r));
    r->id = db_col_dup(st, a, 0);
    r->namespace = db_col_dup(st, a, 1);
    r->content = db_col_dup(st, a, 2);
    r->kind = db_col_dup(st, a, 3);
    r->source = db_col_dup(st, a, 4);
    r->pin = db_col_int64(st, 5) != 0;
    r->expires_at = db_col_is_null(st, 6) ? 0 : db_col_int64(st, 6);
    r->source_workspace_id = db_col_dup(st, a, 7);
    r->created_at = db_col_int64(st, 8);
    r->has_score = !db_col_is_null(st, 9);
    r->score = r->has_score ? db_col_int64(st, 9) : 0;
}

/* The namespaces a query reads: requested ∩ readable (request order, each once), of the asked kinds. */
static size_t pick_namespaces(const mem_query *q, const memns_set *set, const char *out[MEMNS_COUNT])
{
    size_t n = 0;
    size_t asked = q->nnamespaces ? q->nnamespaces : MEMNS_COUNT;
    for (size_t i = 0; i < asked && n < MEMNS_COUNT; i++) {
        const memns *ns = q->nnamespaces ? memns_find(set, q->namespaces[i]) : &set->ns[i];
        if (ns == NULL || (q->scopes && !(q->scopes & (1u << ns->kind))))
            continue;
        bool seen = false;
        for (size_t k = 0; k < n; k++)
            seen = seen || strcmp(out[k], ns->name) == 0;
        if (!seen)
            out[n++] = ns->name;
    }
    return n;
}

static cl_err check_query(const mem_query *q, cl_error *err)
{
    if (q->query && strlen(q->query) > MEM_QUERY_MAX)
        return cl_fail(err, CL_INVALID, "query is longer than %d bytes", MEM_QUERY_MAX);
    if (q->nkinds > 3)
        return cl_fail(err, CL_INVALID, "at most 3 kinds");
    for (size_t i = 0; i < q->nkinds; i++)
        if (!one_of(q->kinds[i], KINDS, 3))
            return cl_fail(err, CL_INVALID, "kind must be fact, summary or checkpoint");
    for (size_t i = 0; i < q->nnamespaces; i++)
        if (!memns_name_valid(q->namespaces[i]))
            return cl_fail(err, CL_INVALID, "invalid namespace name");
    return CL_OK;
}

cl_err mem_search(db_t *db, arena_t *a, const mem_query *q, mem_record **rows, size_t *count, cl_error *err)
{
    *rows = NULL;
    *count = 0;
    memns_set set;
    cl_err e = check_query(q, err);
    if (e != CL_OK || (e = memns_resolve(db, a, q->workspace_id, &set, err)) != CL_OK)
        return e;
    const char *ns[MEMNS_COUNT] = {NULL, NULL, NULL};
    if (pick_namespaces(q, &set, ns) == 0)
        return CL_OK;
    memtext_term terms[MEMTEXT_QUERY_MAX];
    size_t nterms = 0;
    bool listing = q->query == NULL || blank(q->query);
    if (!listing && (nterms = memtext_query(a, q->query, strlen(q->query), terms)) == 0)
        return CL_OK; /* words, but none that is searched for (stop words, punctuation) */
    const char *kind[3] = {NULL, NULL, NULL};
    for (size_t i = 0; i < q->nkinds; i++)
        kind[i] = q->kinds[i];
    int64_t now = time_now_ms();
    db_stmt_t *st;
    e = db_prepare(db, a, listing ? SQL_LIST : search_sql(db, a, nterms), &st, err);
    if (e == CL_OK && listing) {
        for (int i = 0; i < 3; i++)
            db_bind_str(st, 1 + i, ns[i]);
        db_bind_int64(st, 4, now);
        for (int i = 0; i < 3; i++)
            db_bind_str(st, 5 + i, kind[i]);
        db_bind_int64(st, 8, q->after ? q->after->rank : INT64_MAX);
        db_bind_int64(st, 9, q->after ? q->after->created_at : INT64_MAX);
        db_bind_str(st, 10, q->after ? q->after->id : "");
        db_bind_int64(st, 11, q->limit);
    } else if (e == CL_OK) {
        db_bind_str(st, 1, match_text(db, a, terms, nterms));
        for (int i = 0; i < 3; i++)
            db_bind_str(st, 2 + i, ns[i]);
        db_bind_int64(st, 5, now);
        for (int i = 0; i < 3; i++)
            db_bind_str(st, 6 + i, kind[i]);
        db_bind_int64(st, 9, q->after ? q->after->rank : INT64_MAX);
        db_bind_int64(st, 10, q->after ? q->after->created_at : INT64_MAX);
        db_bind_str(st, 11, q->after ? q->after->id : "");
        db_bind_int64(st, 12, q->limit);
        for (size_t i = 0; i < nterms; i++) {
            db_bind_str(st, (int)(13 + 2 * i), arena_sprintf(a, " %s ", terms[i].term));
            db_bind_str(st, (int)(14 + 2 * i), arena_sprintf(a, terms[i].prefix ? " %s" : " %s ", terms[i].term));
        }
    }
    mem_record *out = NULL;
    size_t n = 0, cap = 0;
    bool row;
    while (e == CL_OK && (e = db_step(st, &row, err)) == CL_OK && row) {
        out = arena_grow(a, out, n, &cap, sizeof(*out));
        read_record(st, a, &out[n++]);
    }
    db_finish(st);
    *rows = out;
    *count = n;
    return e;
}

/* ---- forget, wrap ---------------------------------------------------------------------------------------------- */

cl_err mem_forget(db_t *db, arena_t *a, const char *workspace_id, const char *id, const char *namespace, bool log,
                  cl_error *err)
{
    if (namespace != NULL && !memns_name_valid(namespace)) /* as every write and search: never echoed back */
        return cl_fail(err, CL_INVALID, "invalid namespace name");
    memns_set set;
    cl_err e = memns_resolve(db, a, workspace_id, &set, err);
    if (e != CL_OK)
        return e;
    const char *ns = namespace ? namespace : set.ns[MEMNS_WORKSPACE].name;
    if (!memns_can_write(&set, ns))
        return cl_fail(err, CL_FORBIDDEN, "namespace %s is not writable by this workspace", ns);
    int64_t changed = 0;
    if ((e = db_tx_begin(db, err)) != CL_OK)
        return e;
    e = db_run(db, a, &changed, err, SQL_FORGET, "ss", id, ns);
    if (e == CL_OK && changed == 0)
        e = cl_fail(err, CL_NOT_FOUND, "memory not found");
    if (e == CL_OK && log)
        e = log_activity(db, a, workspace_id, "memory_delete", id, ns,
                         arena_sprintf(a, "forget_memory %s from %s", id, ns), err);
    return db_tx_end(db, e, err);
}

const char *mem_wrap_org(arena_t *a, const mem_record *r, bool legacy)
{
    if (legacy)
        return arena_sprintf(a, "[MEMORY id=%s scope=GLOBAL from=%s]: %s", r->id,
                             r->source_workspace_id ? r->source_workspace_id : "", r->content);
    return arena_sprintf(a, "[MEMORY id=%s scope=ORG ns=%s]: %s", r->id, r->namespace, r->content);
}
