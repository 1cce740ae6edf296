/* memadmin.c - see memadmin.h. */
#include "model/memadmin.h"

#include <stdio.h>
#include <string.h>

#include "base/id.h"
#include "base/time.h"
#include "model/memory.h"
#include "model/redact.h"
#include "model/seq_horizon.h"

/* A team below the root is named after the parent its members share: the workspace whose TEAM scope names it is
 * one of those members (the oldest live one), so an import by name lands in the same team. */
static const char SQL_EXPORT[] =
    "SELECT r.seq, r.id, r.content, r.namespace, n.kind, r.kind, r.source, r.pin, r.expires_at, r.created_at,"
    " CASE WHEN n.kind = 'team' AND o.parent_id IS NOT NULL THEN COALESCE((SELECT c.name FROM workspaces c"
    " WHERE c.parent_id = o.id AND c.status <> 'removed' ORDER BY c.created_at, c.id LIMIT 1), o.name)"
    " ELSE o.name END"
    " FROM memory_records r JOIN memory_namespaces n ON n.name = r.namespace"
    " LEFT JOIN workspaces o ON o.id = n.owner_id"
    " WHERE r.seq > CAST($1 AS BIGINT) AND r.seq <= CAST($4 AS BIGINT) AND (r.expires_at IS NULL OR r.expires_at > CAST($2 AS BIGINT))"
    " ORDER BY r.seq LIMIT $3";
static seq_horizon horizon = SEQ_HORIZON_INIT("memory_records");
static const char SQL_BY_NAME[] =
    "SELECT id FROM workspaces WHERE name = $1 AND status <> 'removed' ORDER BY created_at, id LIMIT 1";
static const char SQL_EXISTS[] = "SELECT 1 FROM workspaces WHERE id = $1";
static const char SQL_SWEEP_RECORDS[] =
    "DELETE FROM memory_records WHERE seq IN (SELECT seq FROM memory_records"
    " WHERE expires_at IS NOT NULL AND expires_at <= CAST($1 AS BIGINT) LIMIT $2)";
static const char SQL_SWEEP_VALUES[] =
    "DELETE FROM workspace_memory WHERE id IN (SELECT id FROM workspace_memory"
    " WHERE expires_at IS NOT NULL AND expires_at <= CAST($1 AS BIGINT) LIMIT $2)";

cl_err mem_export(db_t *db, arena_t *a, int64_t after_seq, int64_t limit, mem_export_row **rows, size_t *count,
                  cl_error *err)
{
    db_stmt_t *st;
    mem_export_row *out = NULL;
    size_t n = 0, cap = 0;
    bool row;
    /* the export is paged by seq (X-Next-Cursor): a page stops where every smaller seq is final, so a cursor never
     * passes a record that commits later */
    int64_t upto;
    cl_err e = seq_settled_upto(db, a, &horizon, SEQ_SETTLE_WAIT_MS, &upto, err);
    if (e != CL_OK)
        return e;
    e = db_query(db, a, &st, err, SQL_EXPORT, "iiii", after_seq, time_now_ms(), limit, upto);
    while (e == CL_OK && (e = db_step(st, &row, err)) == CL_OK && row) {
        out = arena_grow(a, out, n, &cap, sizeof(*out));
        mem_export_row *r = &out[n++];
        r->seq = db_col_int64(st, 0);
        r->id = db_col_dup(st, a, 1);
        const char *content = db_col_text(st, 2);
        r->content = redact_secrets(a, content, strlen(content), NULL, NULL);
        r->namespace = db_col_dup(st, a, 3);
        r->scope = mem_scope_of(memns_kind_of(r->namespace));
        r->kind = db_col_dup(st, a, 5);
        r->source = db_col_dup(st, a, 6);
        r->pin = db_col_int64(st, 7) != 0;
        r->expires_at = db_col_is_null(st, 8) ? 0 : db_col_int64(st, 8);
        r->created_at = db_col_int64(st, 9);
        r->workspace_name = db_col_dup(st, a, 10);
    }
    db_finish(st);
    *rows = out;
    *count = n;
    return e;
}

/* The first row's column 0 of `sql` with $1 = `arg`, or NULL when there is none. */
static cl_err lookup(db_t *db, arena_t *a, const char *sql, const char *arg, const char **out, cl_error *err)
{
    db_stmt_t *st;
    *out = NULL;
    cl_err e = db_query(db, a, &st, err, sql, "s", arg);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK)
        *out = db_col_dup(st, a, 0);
    db_finish(st);
    return e == CL_NOT_FOUND ? CL_OK : e;
}

/* Where an entry goes, and who writes it: its own namespace when that is of the tree here and of its scope (a
 * restore), else the namespace of its scope of the workspace it names. *ns NULL: nowhere (skipped). */
static cl_err target(db_t *db, arena_t *a, const mem_import_entry *in, memns_kind kind, const char **ns,
                     const char **writer, cl_error *err)
{
    *ns = *writer = NULL;
    const char *found;
    cl_err e;
    if (in->namespace && memns_name_valid(in->namespace) && memns_kind_of(in->namespace) == kind) {
        const char *owner = strchr(in->namespace, ':') + 1;
        if ((e = lookup(db, a, SQL_EXISTS, owner, &found, err)) != CL_OK)
            return e;
        if (found) {
            *ns = in->namespace;
            *writer = owner;
            return CL_OK;
        }
    }
    if (in->workspace_name == NULL)
        return CL_OK;
    if ((e = lookup(db, a, SQL_BY_NAME, in->workspace_name, &found, err)) != CL_OK || found == NULL)
        return e;
    memns_set set;
    if ((e = memns_resolve(db, a, found, &set, err)) == CL_OK) {
        *ns = set.ns[kind].name;
        *writer = found;
    }
    return e;
}

/* A name-based UUID (the version and variant bits of v5) of the namespace and the content: the same entry
 * imported twice is the same memory. */
static const char *derived_id(arena_t *a, const char *ns, const char *content)
{
    size_t n = strlen(ns), m = strlen(content);
    char *both = arena_alloc(a, n + m + 1);
    memcpy(both, ns, n);
    both[n] = '\n';
    memcpy(both + n + 1, content, m);
    uint8_t d[ID_SHA256_LEN];
    id_sha256(both, n + 1 + m, d);
    d[6] = (uint8_t)((d[6] & 0x0F) | 0x50);
    d[8] = (uint8_t)((d[8] & 0x3F) | 0x80);
    return arena_sprintf(a, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", d[0], d[1], d[2],
                         d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13], d[14], d[15]);
}

static cl_err import_one(db_t *db, arena_t *a, const mem_import_entry *in, mem_import_result *out,
                         mem_written *written, cl_error *err)
{
    mem_scope scope = MEM_SCOPE_LOCAL;
    if (in->scope && in->scope[0] && !mem_scope_parse(in->scope, &scope)) {
        out->skipped++;
        return CL_OK;
    }
    const char *ns, *writer;
    cl_err e = target(db, a, in, (memns_kind)scope, &ns, &writer, err);
    if (e != CL_OK)
        return e;
    if (ns == NULL) {
        out->skipped++;
        return CL_OK;
    }
    bool own_id = in->id && id_is_uuid(in->id, strlen(in->id));
    mem_write w = {.workspace_id = writer, .namespace = ns, .content = in->content, .kind = in->kind,
                   .source = in->source, .pin = in->pin, .expires_at = in->expires_at, .created_at = in->created_at,
                   .operator_write = true,
                   .id = own_id ? in->id : derived_id(a, ns, in->content ? in->content : "")};
    cl_error why;
    e = mem_commit(db, a, &w, written, &why);
    if (e == CL_UNAVAILABLE || e == CL_INTERNAL) { /* the database, not the entry: the import stops */
        *err = why;
        return e;
    }
    if (e != CL_OK)
        out->errors++;
    else if (written->created)
        out->imported++;
    else
        out->skipped++;
    return CL_OK;
}

/* Entries per transaction. One transaction for a whole import made it quadratic on PostgreSQL: every write updates
 * its namespace's figures row, and each update of a row this transaction updated already walks the versions it
 * left (4,000 entries into one namespace took 28 s, 500 took 0.5 s). Chunks keep it linear, stay under the 64
 * subtransactions (one savepoint per entry) a PostgreSQL backend tracks without overflow, and let other writers
 * in between on SQLite. */
enum { MEM_IMPORT_CHUNK = 50, MEM_IMPORT_ANALYZE_MIN = 1000 };

cl_err mem_import(db_t *db, arena_t *a, const mem_import_entry *entries, size_t n, mem_import_result *out,
                  cl_error *err)
{
    memset(out, 0, sizeof(*out));
    mem_written written[MEM_IMPORT_CHUNK];
    cl_err e = CL_OK;
    for (size_t at = 0; e == CL_OK && at < n; at += MEM_IMPORT_CHUNK) {
        size_t k = n - at < MEM_IMPORT_CHUNK ? n - at : MEM_IMPORT_CHUNK;
        mem_import_result part = {0};
        memset(written, 0, sizeof(written));
        if ((e = db_tx_begin(db, err)) != CL_OK)
            break;
        for (size_t i = 0; e == CL_OK && i < k; i++) {
            part.total++;
            e = import_one(db, a, &entries[at + i], &part, &written[i], err);
        }
        if ((e = db_tx_end(db, e, err)) != CL_OK)
            break;
        out->imported += part.imported;
        out->skipped += part.skipped;
        out->errors += part.errors;
        out->total += part.total;
        for (size_t i = 0; i < k && !db_in_tx(db); i++)
            mem_count(&written[i]);
    }
    if (e != CL_OK) { /* the chunks before stay: importing the same entries again skips them */
        memset(out, 0, sizeof(*out));
        return e;
    }
    /* A bulk restore changes the table faster than PostgreSQL's autovacuum refreshes its statistics; planned on
     * stale ones, a search reads every record of its namespaces through their index before the full-text hits. */
    if (db_kind(db) == DB_POSTGRES && out->imported >= MEM_IMPORT_ANALYZE_MIN)
        db_run(db, a, NULL, err, "ANALYZE memory_records", ""); /* best effort: the import stands */
    return CL_OK;
}

cl_err mem_sweep_expired(db_t *db, arena_t *a, int64_t *records, int64_t *values, cl_error *err)
{
    int64_t now = time_now_ms();
    *records = *values = 0;
    cl_err e = db_run(db, a, records, err, SQL_SWEEP_RECORDS, "ii", now, (int64_t)MEM_SWEEP_BATCH);
    if (e == CL_OK)
        e = db_run(db, a, values, err, SQL_SWEEP_VALUES, "ii", now, (int64_t)MEM_SWEEP_BATCH);
    return e;
}
