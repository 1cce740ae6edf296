/* audit.h - the audit ledger (workspaces.md §7, surface.md §3): records of agent operations (hashes of their input
 * and output, never the content), one HMAC-SHA256 chain per (workspace, agent), append-only in the schema (an
 * UPDATE is refused, a DELETE too unless the workspace itself is purged).
 *
 * The key is PBKDF2-HMAC-SHA256 of the ledger passphrase (AUDIT_LEDGER_SALT, or a key file) with the reference's
 * salt and iterations, so entries a runtime signs with the same passphrase verify here. It lives only in this
 * process: never in the database, the log or a response. Without it nothing can be appended and nothing verified.
 *
 * Verification is incremental: the first broken entry, and how far the ledger has been verified, are kept per
 * workspace (audit_verified, itself MACed with the key so nobody without it can move the mark); a request hashes
 * only the entries appended since. Entries already verified are not hashed again unless a full verification is
 * asked for (they cannot change through SQL without dropping the schema's triggers). */
#ifndef COLONY_MODEL_AUDIT_H
#define COLONY_MODEL_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/mac.h"
#include "store/db.h"

enum {
    AUDIT_KDF_ITERATIONS = 210000,
    AUDIT_PASSPHRASE_MAX = 4096,    /* bytes of a passphrase (key file) */
    AUDIT_TEXT_MAX = 256,           /* agent_id, session_id, model_used, an entry id */
    AUDIT_OPERATION_MAX = 64,
    AUDIT_LIST_MAX = 500,           /* entries of one page */
    AUDIT_VERIFY_MAX = 200000,      /* entries one request may hash; the rest is verified by the next */
};
#define AUDIT_KDF_SALT "molecule-audit-ledger-v1"

/* Derive the ledger key from a passphrase (len bytes, 1…AUDIT_PASSPHRASE_MAX); false when it cannot be. Called once
 * at start-up, before any other function here. */
bool audit_key_init(const char *passphrase, size_t len);
bool audit_key_configured(void);

/* One entry (arena-owned strings; NULL where the column is NULL). timestamp: ms since the epoch, whole seconds. */
typedef struct {
    int64_t seq, timestamp;
    const char *id, *workspace_id, *agent_id, *session_id, *operation, *input_hash, *output_hash, *model_used,
        *prev_hmac, *hmac;
    bool human_oversight_flag, risk_flag;
} audit_event;

/* The text an entry's hmac covers: compact JSON of {agent_id, human_oversight_flag, id, input_hash, model_used,
 * operation, output_hash, prev_hmac, risk_flag, session_id, timestamp} with keys sorted, nulls as null, the
 * timestamp as UTC "YYYY-MM-DDTHH:MM:SSZ", strings escaped as Go's encoding/json does (<, >, & and U+2028/U+2029
 * as \u escapes). Arena-owned. */
char *audit_canonical(arena_t *a, const audit_event *ev);
/* Hex HMAC-SHA256 of the canonical text under `key`. */
void audit_hmac(const uint8_t key[MAC_LEN], arena_t *a, const audit_event *ev, char out[MAC_HEX_LEN + 1]);

/* What a writer sends. `prev_hmac`/`hmac` are optional claims: given, they must be what the ledger computes. */
typedef struct {
    const char *id, *agent_id, *session_id, *operation, *input_hash, *output_hash, *model_used, *prev_hmac, *hmac;
    int64_t timestamp; /* when has_timestamp; else now */
    bool has_timestamp, has_prev_hmac, human_oversight_flag, risk_flag;
} audit_input;

/* Append an entry to the agent's chain in a live workspace; *out receives it as stored. CL_INVALID for a field out
 * of its rules or an hmac that is not the one computed; CL_CONFLICT for an id already used, or a prev_hmac that is
 * not the chain's head; CL_NOT_FOUND for a missing or removed workspace; CL_UNAVAILABLE (code
 * platform_misconfigured) without a key. Appends of one workspace are serialised. */
cl_err audit_append(db_t *db, arena_t *a, const char *workspace_id, const audit_input *in, audit_event *out,
                    cl_error *err);

/* The state of a workspace's ledger. */
typedef struct {
    bool complete;   /* every entry has been verified (false: more than AUDIT_VERIFY_MAX were new) */
    bool valid;      /* no broken entry found */
    const char *broken_id, *broken_agent, *broken_reason;
    int64_t hashed;  /* entries this call hashed */
} audit_verdict;

/* Verify the entries appended since the last verification (all of them with `full`), record how far, and say
 * whether the ledger is intact. Needs the key (CL_UNAVAILABLE otherwise). */
cl_err audit_verify(db_t *db, arena_t *a, const char *workspace_id, bool full, audit_verdict *v, cl_error *err);

typedef struct {
    const char *agent_id, *session_id; /* exact; NULL: any */
    int64_t from, to;                  /* from inclusive, to exclusive */
    bool has_from, has_to;
} audit_filter;

/* A position in the list's order (timestamp, seq). */
typedef struct {
    int64_t timestamp, seq;
} audit_key;

/* Entries of a workspace that pass `f`, oldest first, after `after` (NULL: from the first) or past `offset` rows,
 * at most `limit`; *total counts every entry that passes `f`. */
cl_err audit_list(db_t *db, arena_t *a, const char *workspace_id, const audit_filter *f, const audit_key *after,
                  int64_t offset, int64_t limit, audit_event **rows, size_t *count, int64_t *total, cl_error *err);

#endif
