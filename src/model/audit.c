/* audit.c - see audit.h. */
#include "model/audit.h"

#include <jansson.h>
#include <string.h>

#include "base/buf.h"
#include "base/id.h"
#include "base/json.h"
#include "base/time.h"
#include "model/workspace.h"

enum {
    VERIFY_BATCH = 2000,   /* entries read at a time */
    HEAD_BUCKETS = 1024,   /* of the per-agent chain heads of one verification */
    CANONICAL_MAX = 64 * 1024,
};
#define TIMESTAMP_MAX 253402300799999LL /* 9999-12-31T23:59:59.999Z */

static uint8_t ledger_key[MAC_LEN];
static bool have_key;

bool audit_key_init(const char *passphrase, size_t len)
{
    have_key = false;
    if (passphrase == NULL || len == 0 || len > AUDIT_PASSPHRASE_MAX)
        return false;
    have_key = mac_pbkdf2_sha256(passphrase, len, AUDIT_KDF_SALT, strlen(AUDIT_KDF_SALT), AUDIT_KDF_ITERATIONS,
                                 ledger_key, sizeof(ledger_key));
    return have_key;
}

bool audit_key_configured(void) { return have_key; }

static cl_err no_key(cl_error *err)
{
    return cl_fail_code(err, CL_UNAVAILABLE, "platform_misconfigured",
                        "audit ledger key not configured (set AUDIT_LEDGER_SALT or --audit-key-file)");
}

/* ---- the canonical text ------------------------------------------------------------------------------------- */

/* A JSON string as Go's encoding/json writes it (HTML-safe): \" \\ \b \f \n \r \t, other control characters as
 * \u00xx, <, >, & and U+2028/U+2029 as \u escapes, everything else (valid UTF-8) as is. */
static void go_string(buf_t *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\b' ? "\\b" : c == '\f' ? "\\f"
                        : c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
        if (esc != NULL) {
            buf_puts(b, esc);
        } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            buf_printf(b, "\\u00%c%c", hex[c >> 4], hex[c & 0xF]);
        } else if (c == 0xE2 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9)) {
            buf_puts(b, p[2] == 0xA8 ? "\\u2028" : "\\u2029");
            p += 2;
        } else {
            buf_putc(b, (char)c);
        }
    }
    buf_putc(b, '"');
}

static void field(buf_t *b, const char *key, const char *s, bool first)
{
    buf_printf(b, "%s\"%s\":", first ? "" : ",", key);
    if (s == NULL)
        buf_puts(b, "null");
    else
        go_string(b, s);
}

char *audit_canonical(arena_t *a, const audit_event *ev)
{
    char ts[TIME_RFC3339_MAX];
    time_format_rfc3339(ev->timestamp - ((ev->timestamp % 1000) + 1000) % 1000, ts);
    char *dot = strchr(ts, '.'); /* whole seconds: "…:SS.000Z" → "…:SSZ" */
    if (dot != NULL)
        memcpy(dot, "Z", 2);
    buf_t b;
    buf_init(&b, CANONICAL_MAX);
    buf_putc(&b, '{');
    field(&b, "agent_id", ev->agent_id, true);
    buf_printf(&b, ",\"human_oversight_flag\":%s", ev->human_oversight_flag ? "true" : "false");
    field(&b, "id", ev->id, false);
    field(&b, "input_hash", ev->input_hash, false);
    field(&b, "model_used", ev->model_used, false);
    field(&b, "operation", ev->operation, false);
    field(&b, "output_hash", ev->output_hash, false);
    field(&b, "prev_hmac", ev->prev_hmac, false);
    buf_printf(&b, ",\"risk_flag\":%s", ev->risk_flag ? "true" : "false");
    field(&b, "session_id", ev->session_id, false);
    field(&b, "timestamp", ts, false);
    buf_putc(&b, '}');
    char *out = arena_strndup(a, b.data, b.len);
    buf_free(&b);
    return out;
}

void audit_hmac(const uint8_t key[MAC_LEN], arena_t *a, const audit_event *ev, char out[MAC_HEX_LEN + 1])
{
    const char *text = audit_canonical(a, ev);
    mac_hmac_sha256_hex(key, MAC_LEN, text, strlen(text), out);
}

/* ---- append ------------------------------------------------------------------------------------------------- */

static const char SQL_HEAD[] =
    "SELECT (SELECT e.hmac FROM audit_events e WHERE e.workspace_id = w.id AND e.agent_id = $2"
    " ORDER BY e.seq DESC LIMIT 1) FROM workspaces w WHERE w.id = $1 AND w.status <> 'removed'";
static const char SQL_ID_USED[] = "SELECT 1 FROM audit_events WHERE id = $1";
static const char SQL_INSERT[] =
    "INSERT INTO audit_events (id, workspace_id, timestamp, agent_id, session_id, operation, input_hash,"
    " output_hash, model_used, human_oversight_flag, risk_flag, prev_hmac, hmac)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT DO NOTHING RETURNING seq";

static bool chars_in(const char *s, const char *extra)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || strchr(extra, *s)))
            return false;
    return true;
}

static bool is_sha256_hex(const char *s)
{
    if (strlen(s) != MAC_HEX_LEN)
        return false;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return false;
    return true;
}

static bool has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7F)
            return true;
    return false;
}

static cl_err validate(const audit_input *in, cl_error *err)
{
    if (in->id != NULL && (in->id[0] == '\0' || strlen(in->id) > AUDIT_TEXT_MAX || !chars_in(in->id, "._:-")))
        return cl_fail(err, CL_INVALID, "id must be 1 to %d characters of A-Z a-z 0-9 . _ : -", AUDIT_TEXT_MAX);
    if (in->agent_id == NULL || in->agent_id[0] == '\0')
        return cl_fail(err, CL_INVALID, "agent_id is required");
    if (in->session_id == NULL)
        return cl_fail(err, CL_INVALID, "session_id is required");
    if (in->operation == NULL || in->operation[0] == '\0')
        return cl_fail(err, CL_INVALID, "operation is required");
    const char *texts[] = {in->agent_id, in->session_id, in->model_used};
    const char *names[] = {"agent_id", "session_id", "model_used"};
    for (int i = 0; i < 3; i++)
        if (texts[i] != NULL && (strlen(texts[i]) > AUDIT_TEXT_MAX || has_control(texts[i])))
            return cl_fail(err, CL_INVALID, "%s must be at most %d bytes without control characters", names[i],
                           AUDIT_TEXT_MAX);
    if (strlen(in->operation) > AUDIT_OPERATION_MAX || !chars_in(in->operation, "._:-"))
        return cl_fail(err, CL_INVALID, "operation must be 1 to %d characters of A-Z a-z 0-9 . _ : -",
                       AUDIT_OPERATION_MAX);
    if ((in->input_hash && !is_sha256_hex(in->input_hash)) || (in->output_hash && !is_sha256_hex(in->output_hash)))
        return cl_fail(err, CL_INVALID, "input_hash and output_hash must be SHA-256 digests in lower-case hex");
    if (in->timestamp < 0 || in->timestamp > TIMESTAMP_MAX)
        return cl_fail(err, CL_INVALID, "timestamp must be between 1970 and 9999");
    return CL_OK;
}

/* Appends of one workspace take turns (a PostgreSQL transaction advisory lock; SQLite's writer lock already
 * serialises them): its entries then become visible in seq order, which the incremental verifier relies on. */
static int64_t append_lock(const char *workspace_id) { return db_lock_key(0x6175, workspace_id); /* "au" */ }

static cl_err do_append(db_t *db, arena_t *a, const char *ws, audit_event *ev, const audit_input *in, cl_error *err)
{
    db_stmt_t *st = NULL;
    cl_err e = db_tx_lock_shared(db, WS_TREE_LOCK, err);
    if (e == CL_OK)
        e = db_tx_lock(db, append_lock(ws), err);
    if (e == CL_OK && (e = db_query(db, a, &st, err, SQL_HEAD, "ss", ws, ev->agent_id)) == CL_OK &&
        (e = db_one(st, err)) == CL_OK)
        ev->prev_hmac = db_col_dup(st, a, 0);
    db_finish(st);
    if (e == CL_NOT_FOUND)
        return cl_fail(err, CL_NOT_FOUND, "workspace not found");
    if (e != CL_OK)
        return e;
    if (in->has_prev_hmac && !(in->prev_hmac == NULL ? ev->prev_hmac == NULL
                                                     : ev->prev_hmac && strcmp(in->prev_hmac, ev->prev_hmac) == 0))
        return cl_fail(err, CL_CONFLICT, "prev_hmac is not the head of the agent's chain");
    if ((e = db_query(db, a, &st, err, SQL_ID_USED, "s", ev->id)) == CL_OK && (e = db_one(st, err)) == CL_OK)
        e = cl_fail(err, CL_CONFLICT, "audit event id already exists");
    db_finish(st);
    if (e != CL_NOT_FOUND)
        return e;
    char mac[MAC_HEX_LEN + 1];
    audit_hmac(ledger_key, a, ev, mac);
    if (in->hmac != NULL && strcmp(in->hmac, mac) != 0)
        return cl_fail(err, CL_INVALID, "hmac does not match the entry (is the ledger passphrase the same?)");
    ev->hmac = arena_strdup(a, mac);
    e = db_query(db, a, &st, err, SQL_INSERT, "ssissssssiiss", ev->id, ws, ev->timestamp, ev->agent_id,
                 ev->session_id, ev->operation, ev->input_hash, ev->output_hash, ev->model_used,
                 (int64_t)ev->human_oversight_flag, (int64_t)ev->risk_flag, ev->prev_hmac, ev->hmac);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK) {
        ev->seq = db_col_int64(st, 0);
        e = db_exec(st, err);
    }
    db_finish(st);
    /* the id was taken meanwhile (by another workspace: appends take turns per workspace), or the chain index
     * refused a fork */
    return e == CL_NOT_FOUND ? cl_fail(err, CL_CONFLICT, "audit event id already exists") : e;
}

cl_err audit_append(db_t *db, arena_t *a, const char *workspace_id, const audit_input *in, audit_event *out,
                    cl_error *err)
{
    if (!have_key)
        return no_key(err);
    cl_err e = validate(in, err);
    if (e != CL_OK)
        return e;
    char fresh[ID_UUID_LEN + 1];
    id_uuid4(fresh);
    int64_t ts = in->has_timestamp ? in->timestamp : time_now_ms();
    *out = (audit_event){.timestamp = ts - ts % 1000, /* the chain signs whole seconds: keep what is signed */
                         .id = in->id ? in->id : arena_strdup(a, fresh),
                         .workspace_id = workspace_id,
                         .agent_id = in->agent_id,
                         .session_id = in->session_id,
                         .operation = in->operation,
                         .input_hash = in->input_hash,
                         .output_hash = in->output_hash,
                         .model_used = in->model_used,
                         .human_oversight_flag = in->human_oversight_flag,
                         .risk_flag = in->risk_flag};
    if ((e = db_tx_begin(db, err)) != CL_OK)
        return e;
    return db_tx_end(db, do_append(db, a, workspace_id, out, in, err), err);
}

/* ---- verification ------------------------------------------------------------------------------------------- */

#define EV_COLUMNS                                                                                                 \
    "seq, id, workspace_id, timestamp, agent_id, session_id, operation, input_hash, output_hash, model_used,"      \
    " human_oversight_flag, risk_flag, prev_hmac, hmac"

static const char SQL_MARK[] = "SELECT verified_seq, broken_seq, broken_id, broken_agent, broken_reason, mac"
                               " FROM audit_verified WHERE workspace_id = $1";
static const char SQL_BATCH[] = "SELECT " EV_COLUMNS " FROM audit_events WHERE workspace_id = $1 AND seq > $2"
                                " ORDER BY seq LIMIT $3";
static const char SQL_PREV[] = "SELECT hmac FROM audit_events WHERE workspace_id = $1 AND agent_id = $2"
                               " AND seq <= $3 ORDER BY seq DESC LIMIT 1";
/* An incremental verification moves the mark only from where it read it (compare-and-set on its mac): a full one
 * that recorded a break meanwhile is never overwritten by a verification that started before it. */
#define MARK_UPSERT                                                                                                \
    "INSERT INTO audit_verified (workspace_id, verified_seq, broken_seq, broken_id, broken_agent, broken_reason,"  \
    " verified_at, mac) VALUES ($1, $2, CAST($3 AS BIGINT), $4, $5, $6, $7, $8) ON CONFLICT (workspace_id) DO UPDATE"  \
    " SET verified_seq = excluded.verified_seq, broken_seq = excluded.broken_seq, broken_id = excluded.broken_id,"  \
    " broken_agent = excluded.broken_agent, broken_reason = excluded.broken_reason,"                               \
    " verified_at = excluded.verified_at, mac = excluded.mac"
static const char SQL_MARK_SET[] = MARK_UPSERT;
static const char SQL_MARK_CAS[] = MARK_UPSERT " WHERE audit_verified.mac = $9";

typedef struct {
    bool found, trusted;
    int64_t seq, broken_seq;
    const char *broken_id, *broken_agent, *broken_reason, *mac;
} mark;

/* The mark's own MAC: the ledger key over its fields, so that it cannot be moved by anyone without the key. */
static const char *mark_mac(arena_t *a, const char *ws, const mark *m)
{
    json_t *v = json_own(a, json_pack("[s, s, I, I, s?, s?, s?]", "colony-audit-verified-v1", ws, (json_int_t)m->seq,
                                      (json_int_t)m->broken_seq, m->broken_id, m->broken_agent, m->broken_reason));
    size_t len;
    const char *text = json_dump_arena(a, v, &len);
    char *out = arena_alloc(a, MAC_HEX_LEN + 1);
    mac_hmac_sha256_hex(ledger_key, MAC_LEN, text, len, out);
    return out;
}

static cl_err read_mark(db_t *db, arena_t *a, const char *ws, mark *m, cl_error *err)
{
    db_stmt_t *st;
    memset(m, 0, sizeof(*m));
    cl_err e = db_query(db, a, &st, err, SQL_MARK, "s", ws);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK) {
        m->found = true;
        m->seq = db_col_int64(st, 0);
        m->broken_seq = db_col_is_null(st, 1) ? 0 : db_col_int64(st, 1);
        m->broken_id = db_col_dup(st, a, 2);
        m->broken_agent = db_col_dup(st, a, 3);
        m->broken_reason = db_col_dup(st, a, 4);
        m->mac = db_col_dup(st, a, 5);
        m->trusted = m->mac && strcmp(m->mac, mark_mac(a, ws, m)) == 0;
    }
    db_finish(st);
    return e == CL_NOT_FOUND ? CL_OK : e;
}

static void read_event(db_stmt_t *st, arena_t *a, audit_event *ev)
{
    ev->seq = db_col_int64(st, 0);
    ev->id = db_col_dup(st, a, 1);
    ev->workspace_id = db_col_dup(st, a, 2);
    ev->timestamp = db_col_int64(st, 3);
    ev->agent_id = db_col_dup(st, a, 4);
    ev->session_id = db_col_dup(st, a, 5);
    ev->operation = db_col_dup(st, a, 6);
    ev->input_hash = db_col_dup(st, a, 7);
    ev->output_hash = db_col_dup(st, a, 8);
    ev->model_used = db_col_dup(st, a, 9);
    ev->human_oversight_flag = db_col_int64(st, 10) != 0;
    ev->risk_flag = db_col_int64(st, 11) != 0;
    ev->prev_hmac = db_col_dup(st, a, 12);
    ev->hmac = db_col_dup(st, a, 13);
}

/* The newest hmac of each agent met so far in one verification (NULL: the agent's chain has not started). */
typedef struct head {
    struct head *next;
    const char *agent, *hmac;
} head;

static head **find_head(head **buckets, const char *agent)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = agent; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    head **slot = &buckets[h % HEAD_BUCKETS];
    while (*slot != NULL && strcmp((*slot)->agent, agent) != 0)
        slot = &(*slot)->next;
    return slot;
}

/* The chain head an agent's first entry after `start` must follow: its newest entry at or before `start`. */
static cl_err head_at(db_t *db, arena_t *a, const char *ws, const char *agent, int64_t start, const char **hmac,
                      cl_error *err)
{
    *hmac = NULL;
    if (start == 0)
        return CL_OK;
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_PREV, "ssi", ws, agent, start);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK)
        *hmac = db_col_dup(st, a, 0);
    db_finish(st);
    return e == CL_NOT_FOUND ? CL_OK : e;
}

/* Check one entry against its recomputed hmac and the agent's previous one; the reason it is broken, or NULL. */
static const char *check(arena_t *scratch, const audit_event *ev, const char *expected_prev)
{
    char mac[MAC_HEX_LEN + 1];
    audit_hmac(ledger_key, scratch, ev, mac);
    if (strcmp(mac, ev->hmac) != 0)
        return "hmac does not match the entry";
    if (expected_prev == NULL && ev->prev_hmac != NULL)
        return "first entry of the agent's chain has a prev_hmac";
    if (expected_prev != NULL && (ev->prev_hmac == NULL || strcmp(expected_prev, ev->prev_hmac) != 0))
        return "prev_hmac does not link to the agent's previous entry";
    return NULL;
}

/* Verify entries after m->seq, in seq order, up to AUDIT_VERIFY_MAX; m moves to the last one and records the first
 * break. */
static cl_err walk(db_t *db, arena_t *a, const char *ws, mark *m, audit_verdict *v, cl_error *err)
{
    head **buckets = arena_calloc(a, HEAD_BUCKETS, sizeof(*buckets));
    int64_t start = m->seq;
    cl_err e = CL_OK;
    for (bool more = true; e == CL_OK && more;) {
        arena_t *scratch = arena_new();
        audit_event *batch = arena_alloc(scratch, VERIFY_BATCH * sizeof(*batch));
        size_t n = 0;
        db_stmt_t *st;
        bool row = true;
        e = db_query(db, scratch, &st, err, SQL_BATCH, "sii", ws, m->seq, (int64_t)VERIFY_BATCH);
        while (e == CL_OK && (e = db_step(st, &row, err)) == CL_OK && row)
            read_event(st, scratch, &batch[n++]);
        db_finish(st);
        more = n == VERIFY_BATCH;
        for (size_t i = 0; e == CL_OK && i < n; i++) {
            if (v->hashed >= AUDIT_VERIFY_MAX) {
                v->complete = more = false;
                break;
            }
            const audit_event *ev = &batch[i];
            head **slot = find_head(buckets, ev->agent_id);
            if (*slot == NULL) {
                *slot = arena_calloc(a, 1, sizeof(**slot));
                (*slot)->agent = arena_strdup(a, ev->agent_id);
                e = head_at(db, a, ws, ev->agent_id, start, &(*slot)->hmac, err);
            }
            const char *why = e == CL_OK ? check(scratch, ev, (*slot)->hmac) : NULL;
            if (why != NULL && m->broken_seq == 0) {
                m->broken_seq = ev->seq;
                m->broken_id = arena_strdup(a, ev->id);
                m->broken_agent = arena_strdup(a, ev->agent_id);
                m->broken_reason = why;
            }
            (*slot)->hmac = arena_strdup(a, ev->hmac); /* the chain goes on from what is stored */
            m->seq = ev->seq;
            v->hashed++;
        }
        arena_free(scratch);
    }
    return e;
}

cl_err audit_verify(db_t *db, arena_t *a, const char *workspace_id, bool full, audit_verdict *v, cl_error *err)
{
    *v = (audit_verdict){.complete = true, .valid = true};
    if (!have_key)
        return no_key(err);
    mark m, was;
    cl_err e = read_mark(db, a, workspace_id, &was, err);
    if (e != CL_OK)
        return e;
    m = was;
    if (full || !was.trusted) /* start over: asked to, or the mark is not one this key wrote */
        m = (mark){0};
    if ((e = walk(db, a, workspace_id, &m, v, err)) != CL_OK)
        return e;
    if (full || !was.trusted || m.seq != was.seq) {
        db_stmt_t *st;
        if ((e = db_prepare(db, a, full ? SQL_MARK_SET : SQL_MARK_CAS, &st, err)) == CL_OK) {
            db_bind_str(st, 1, workspace_id);
            db_bind_int64(st, 2, m.seq);
            if (m.broken_seq)
                db_bind_int64(st, 3, m.broken_seq);
            else
                db_bind_null(st, 3);
            db_bind_str(st, 4, m.broken_id);
            db_bind_str(st, 5, m.broken_agent);
            db_bind_str(st, 6, m.broken_reason);
            db_bind_int64(st, 7, time_now_ms());
            db_bind_str(st, 8, mark_mac(a, workspace_id, &m));
            if (!full)
                db_bind_str(st, 9, was.mac);
            e = db_exec(st, err);
        }
        db_finish(st);
    }
    v->valid = m.broken_seq == 0;
    v->broken_id = m.broken_id;
    v->broken_agent = m.broken_agent;
    v->broken_reason = m.broken_reason;
    return e;
}

/* ---- list --------------------------------------------------------------------------------------------------- */

#define LIST_WHERE                                                                                                 \
    " FROM audit_events WHERE workspace_id = $1 AND (CAST($2 AS TEXT) IS NULL OR agent_id = $2)"                   \
    " AND (CAST($3 AS TEXT) IS NULL OR session_id = $3) AND timestamp >= $4 AND timestamp < $5"
static const char SQL_COUNT[] = "SELECT count(*)" LIST_WHERE;
static const char SQL_LIST[] = "SELECT " EV_COLUMNS LIST_WHERE
                               " AND (timestamp, seq) > (CAST($6 AS BIGINT), CAST($7 AS BIGINT))"
                               " ORDER BY timestamp, seq LIMIT $8 OFFSET $9";

cl_err audit_list(db_t *db, arena_t *a, const char *workspace_id, const audit_filter *f, const audit_key *after,
                  int64_t offset, int64_t limit, audit_event **rows, size_t *count, int64_t *total, cl_error *err)
{
    int64_t from = f->has_from ? f->from : INT64_MIN, to = f->has_to ? f->to : INT64_MAX;
    db_stmt_t *st;
    *rows = NULL;
    *count = 0;
    cl_err e = db_query(db, a, &st, err, SQL_COUNT, "sssii", workspace_id, f->agent_id, f->session_id, from, to);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK)
        *total = db_col_int64(st, 0);
    db_finish(st);
    if (e != CL_OK)
        return e;
    *rows = arena_alloc(a, (size_t)(limit > 0 ? limit : 1) * sizeof(**rows));
    e = db_query(db, a, &st, err, SQL_LIST, "sssiiiiii", workspace_id, f->agent_id, f->session_id, from, to,
                 after ? after->timestamp : INT64_MIN, after ? after->seq : (int64_t)0, limit, offset);
    bool row = true;
    while (e == CL_OK && (e = db_step(st, &row, err)) == CL_OK && row && (int64_t)*count < limit)
        read_event(st, a, &(*rows)[(*count)++]);
    db_finish(st);
    return e;
}
