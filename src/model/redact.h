/* redact.h - secret redaction of memory text (shared/api/data.md §2.10), applied to everything a memory write
 * stores and to what an admin export hands out. The reference's rules, in its order, each on the output of the
 * one before, each match replaced by "[REDACTED:<LABEL>]" (RE2 semantics: ASCII \b, \s = [\t\n\f\r ]):
 *
 *   (?i)\b[A-Z][A-Z0-9_]*_API_KEY\s*=\s*\S+      API_KEY        (and _TOKEN → TOKEN, _SECRET → SECRET)
 *   Bearer\s+\S+                                 BEARER_TOKEN
 *   -----BEGIN OPENSSH PRIVATE KEY-----…(lazy)…-----END OPENSSH PRIVATE KEY-----   OPENSSH_PRIVATE_KEY
 *   -----BEGIN[ A-Z]+PRIVATE KEY-----…(lazy)…-----END[ A-Z]+PRIVATE KEY-----       PRIVATE_KEY
 *   (?i)\b(postgres|postgresql|mysql|mongodb|mongodb+srv|redis|amqp|amqps)://[^:@\s/]*:[^@\s]+@[^\s/?#@]+
 *                                                DB_URL_WITH_CREDENTIALS (the user may be empty; the path stays)
 *   \bghp_ gho_ ghs_ ghu_ ghr_ + [A-Za-z0-9]{16,} GITHUB_PAT, GITHUB_OAUTH, GITHUB_APP_SERVER_TOKEN,
 *                                                GITHUB_USER_TOKEN, GITHUB_REFRESH_TOKEN
 *   \bgithub_pat_[A-Za-z0-9_]{16,}               GITHUB_FINEGRAINED_PAT
 *   \bvc_[A-Za-z0-9]{16,}                        VERCEL_TOKEN
 *   \bAKIA[A-Z0-9]{16}                           AWS_ACCESS_KEY_ID
 *   \bpplx-[A-Za-z0-9]{20,}                      PERPLEXITY_API_KEY
 *   sk-[A-Za-z0-9_-]{16,}                        SK_TOKEN
 *   ctx7_[A-Za-z0-9]+                            CTX7_TOKEN
 *   [A-Za-z0-9+/]{33,}={0,2}                     BASE64_BLOB (also any 33-character run of letters and digits,
 *                                                hex digests and long paths included, as the reference)
 *
 * Hand-written scanners, linear in the text (no backtracking engine). The output is valid UTF-8 when the input is:
 * every match starts and ends on an ASCII character or at the end of the text. */
#ifndef COLONY_MODEL_REDACT_H
#define COLONY_MODEL_REDACT_H

#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"

/* `text` (len bytes) with every secret replaced, as an arena-owned NUL-terminated copy; *changed (may be NULL)
 * tells whether anything was replaced, *out_len (may be NULL) receives the length. */
char *redact_secrets(arena_t *a, const char *text, size_t len, size_t *out_len, bool *changed);

#endif
