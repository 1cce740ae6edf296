/* redact.c - see redact.h. Each rule is a matcher: the length of its match starting exactly at s[i] (leftmost-
 * first, greedy where the rule is, lazy where it says so), or 0. A pass replaces the leftmost match, goes on after
 * it, and so on, as RE2's ReplaceAll does.
 *
 * Linear by construction: a pass tries every position, and a matcher reads ahead only through runs of one class
 * of characters (run) or, for a PEM block, to the first end line or else the end of the text (NEVER stops the
 * pass). A run's end does not depend on where in the run it starts, so each pass remembers, per class, the last
 * run it read [from, to): a later run starting inside it ends at `to` without reading a byte, and one starting
 * before it stops reading where it reaches it. The starts a matcher asks about only move forward within a pass
 * (a later candidate's run begins past an earlier one's: the classes exclude the delimiters that precede a run),
 * so every byte is read at most once per class and pass, whatever the text: "redis://:" repeated, whose passwords
 * each run to the end of the text, costs one read of it, not one per URL. */
#include "model/redact.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"

typedef bool (*cclass)(unsigned char);

/* The last run of one class read in this pass. */
typedef struct {
    cclass ok;
    size_t from, to;
} run_memo;

enum { MEMO_MAX = 8 }; /* more than the distinct classes of any one rule */

/* The text of one pass, with what its runs have read so far. */
typedef struct {
    const char *s;
    size_t n;
    run_memo memo[MEMO_MAX];
    size_t nmemo;
} text;

/* A matcher's answer: no match here, nor anywhere further on. */
#define NEVER SIZE_MAX

static bool alnum(unsigned char c) { return ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || (c >= '0' && c <= '9'); }
static bool word(unsigned char c) { return alnum(c) || c == '_'; }
static bool upper_or_digit(unsigned char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
static bool space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'; }
static bool not_space(unsigned char c) { return !space(c); }
static bool base64(unsigned char c) { return alnum(c) || c == '+' || c == '/'; }

/* Characters of class `ok` from i on, reading no byte a run of that class has read already in this pass. */
static size_t run(text *t, size_t i, cclass ok)
{
    run_memo *m = NULL;
    for (size_t k = 0; k < t->nmemo && m == NULL; k++)
        if (t->memo[k].ok == ok)
            m = &t->memo[k];
    if (m == NULL) { /* the first run of this class; a full table (never, see MEMO_MAX) just reads */
        if (t->nmemo == MEMO_MAX) {
            size_t j = i;
            while (j < t->n && ok((unsigned char)t->s[j]))
                j++;
            return j - i;
        }
        m = &t->memo[t->nmemo++];
        *m = (run_memo){ok, SIZE_MAX, SIZE_MAX};
    }
    if (m->from != SIZE_MAX && m->from <= i && i <= m->to)
        return m->to - i;
    size_t j = i;
    while (j < t->n && ok((unsigned char)t->s[j])) {
        if (j == m->from) { /* reached the run read before: it ends where that one did */
            j = m->to;
            break;
        }
        j++;
    }
    m->from = i, m->to = j;
    return j - i;
}

/* \b before a word character at i. */
static bool boundary(text *t, size_t i) { return i == 0 || !word((unsigned char)t->s[i - 1]); }

static bool has(text *t, size_t i, const char *lit)
{
    size_t k = strlen(lit);
    return i + k <= t->n && memcmp(t->s + i, lit, k) == 0;
}

static bool has_nocase(text *t, size_t i, const char *lit)
{
    size_t k = strlen(lit);
    return i + k <= t->n && strncasecmp(t->s + i, lit, k) == 0;
}

/* (?i)\b[A-Z][A-Z0-9_]*<suffix>\s*=\s*\S+ : the word must end with the suffix (\s and = are not word characters,
 * so nothing of it can follow), have a letter first and something before the suffix. */
static size_t assignment(text *t, size_t i, const char *suffix)
{
    unsigned char c = (unsigned char)t->s[i];
    if (!boundary(t, i) || (c | 0x20) < 'a' || (c | 0x20) > 'z')
        return 0;
    size_t w = run(t, i, word), k = strlen(suffix);
    if (w <= k || !has_nocase(t, i + w - k, suffix))
        return 0;
    size_t j = i + w + run(t, i + w, space);
    if (j >= t->n || t->s[j] != '=')
        return 0;
    j++;
    j += run(t, j, space);
    size_t v = run(t, j, not_space);
    return v ? j + v - i : 0;
}
static size_t m_api_key(text *t, size_t i) { return assignment(t, i, "_API_KEY"); }
static size_t m_token(text *t, size_t i) { return assignment(t, i, "_TOKEN"); }
static size_t m_secret(text *t, size_t i) { return assignment(t, i, "_SECRET"); }

static size_t m_bearer(text *t, size_t i)
{
    if (!has(t, i, "Bearer"))
        return 0;
    size_t j = i + 6, sp = run(t, j, space);
    if (sp == 0)
        return 0;
    j += sp;
    size_t v = run(t, j, not_space);
    return v ? j + v - i : 0;
}

static bool upper_or_space(unsigned char c) { return (c >= 'A' && c <= 'Z') || c == ' '; }

/* <lead>[ A-Z]+PRIVATE KEY----- at i: the class run ends where "PRIVATE KEY" must end (it is of the class). */
static size_t pem_line(text *t, size_t i, const char *lead)
{
    if (!has(t, i, lead))
        return 0;
    size_t j = i + strlen(lead), r = run(t, j, upper_or_space);
    if (r <= 11 || memcmp(t->s + j + r - 11, "PRIVATE KEY", 11) != 0 || !has(t, j + r, "-----"))
        return 0;
    return j + r + 5 - i;
}

/* A begin line, then the shortest body up to the first end line. Without an end line after this begin there is
 * none after any later one either: NEVER, so that a text of many begin lines is scanned once, not once each. */
static size_t pem_block(text *t, size_t i, size_t (*begin)(text *, size_t), size_t (*end)(text *, size_t))
{
    size_t b = begin(t, i);
    if (b == 0)
        return 0;
    for (size_t j = i + b; j < t->n; j++) {
        if (t->s[j] != '-')
            continue;
        size_t e = end(t, j);
        if (e > 0)
            return j + e - i;
    }
    return NEVER;
}
static size_t openssh_begin(text *t, size_t i)
{
    return has(t, i, "-----BEGIN OPENSSH PRIVATE KEY-----") ? 35 : 0;
}
static size_t openssh_end(text *t, size_t i) { return has(t, i, "-----END OPENSSH PRIVATE KEY-----") ? 33 : 0; }
static size_t m_openssh(text *t, size_t i) { return pem_block(t, i, openssh_begin, openssh_end); }
static size_t any_begin(text *t, size_t i) { return pem_line(t, i, "-----BEGIN"); }
static size_t any_end(text *t, size_t i) { return pem_line(t, i, "-----END"); }
static size_t m_private_key(text *t, size_t i) { return pem_block(t, i, any_begin, any_end); }

static bool userinfo(unsigned char c) { return c != ':' && c != '@' && c != '/' && !space(c); }
static bool password(unsigned char c) { return c != '@' && !space(c); }
static bool host(unsigned char c) { return c != '/' && c != '?' && c != '#' && c != '@' && !space(c); }

static size_t m_db_url(text *t, size_t i)
{
    static const char *const schemes[] = {"postgres", "postgresql", "mysql", "mongodb", "mongodb+srv",
                                          "redis",    "amqp",       "amqps"};
    if (!boundary(t, i) || !word((unsigned char)t->s[i]))
        return 0;
    for (size_t k = 0; k < sizeof(schemes) / sizeof(schemes[0]); k++) {
        size_t j = i + strlen(schemes[k]);
        if (!has_nocase(t, i, schemes[k]) || !has(t, j, "://"))
            continue;
        j += 3;
        j += run(t, j, userinfo);
        if (j >= t->n || t->s[j] != ':')
            return 0;
        size_t p = run(t, j + 1, password);
        if (p == 0 || !has(t, j + 1 + p, "@"))
            return 0;
        j += 1 + p + 1;
        size_t h = run(t, j, host);
        return h ? j + h - i : 0;
    }
    return 0;
}

/* \b<prefix><class>{min,} (greedy), or exactly `min` when `exact`. */
static size_t prefixed(text *t, size_t i, const char *prefix, bool (*ok)(unsigned char), size_t min, bool exact,
                       bool bound)
{
    if ((bound && !boundary(t, i)) || !has(t, i, prefix))
        return 0;
    size_t j = i + strlen(prefix), r = run(t, j, ok);
    if (r < min)
        return 0;
    return j + (exact ? min : r) - i;
}
static bool alnum_us(unsigned char c) { return alnum(c) || c == '_'; }
static bool alnum_us_dash(unsigned char c) { return alnum(c) || c == '_' || c == '-'; }
static size_t m_ghp(text *t, size_t i) { return prefixed(t, i, "ghp_", alnum, 16, false, true); }
static size_t m_gho(text *t, size_t i) { return prefixed(t, i, "gho_", alnum, 16, false, true); }
static size_t m_ghs(text *t, size_t i) { return prefixed(t, i, "ghs_", alnum, 16, false, true); }
static size_t m_ghu(text *t, size_t i) { return prefixed(t, i, "ghu_", alnum, 16, false, true); }
static size_t m_ghr(text *t, size_t i) { return prefixed(t, i, "ghr_", alnum, 16, false, true); }
static size_t m_github_pat(text *t, size_t i) { return prefixed(t, i, "github_pat_", alnum_us, 16, false, true); }
static size_t m_vercel(text *t, size_t i) { return prefixed(t, i, "vc_", alnum, 16, false, true); }
static size_t m_aws(text *t, size_t i) { return prefixed(t, i, "AKIA", upper_or_digit, 16, true, true); }
static size_t m_pplx(text *t, size_t i) { return prefixed(t, i, "pplx-", alnum, 20, false, true); }
static size_t m_sk(text *t, size_t i) { return prefixed(t, i, "sk-", alnum_us_dash, 16, false, false); }
static size_t m_ctx7(text *t, size_t i) { return prefixed(t, i, "ctx7_", alnum, 1, false, false); }

static size_t m_base64(text *t, size_t i)
{
    size_t r = run(t, i, base64);
    if (r < 33)
        return 0;
    size_t pad = 0;
    while (pad < 2 && i + r + pad < t->n && t->s[i + r + pad] == '=')
        pad++;
    return r + pad;
}

typedef struct {
    size_t (*match)(text *, size_t);
    const char *replacement;
    char first; /* every match starts with this byte; 0: any */
} rule;

static const rule RULES[] = {
    {m_api_key, "[REDACTED:API_KEY]", 0},
    {m_token, "[REDACTED:TOKEN]", 0},
    {m_secret, "[REDACTED:SECRET]", 0},
    {m_bearer, "[REDACTED:BEARER_TOKEN]", 'B'},
    {m_openssh, "[REDACTED:OPENSSH_PRIVATE_KEY]", '-'},
    {m_private_key, "[REDACTED:PRIVATE_KEY]", '-'},
    {m_db_url, "[REDACTED:DB_URL_WITH_CREDENTIALS]", 0},
    {m_ghp, "[REDACTED:GITHUB_PAT]", 'g'},
    {m_gho, "[REDACTED:GITHUB_OAUTH]", 'g'},
    {m_ghs, "[REDACTED:GITHUB_APP_SERVER_TOKEN]", 'g'},
    {m_ghu, "[REDACTED:GITHUB_USER_TOKEN]", 'g'},
    {m_ghr, "[REDACTED:GITHUB_REFRESH_TOKEN]", 'g'},
    {m_github_pat, "[REDACTED:GITHUB_FINEGRAINED_PAT]", 'g'},
    {m_vercel, "[REDACTED:VERCEL_TOKEN]", 'v'},
    {m_aws, "[REDACTED:AWS_ACCESS_KEY_ID]", 'A'},
    {m_pplx, "[REDACTED:PERPLEXITY_API_KEY]", 'p'},
    {m_sk, "[REDACTED:SK_TOKEN]", 's'},
    {m_ctx7, "[REDACTED:CTX7_TOKEN]", 'c'},
    {m_base64, "[REDACTED:BASE64_BLOB]", 0},
};

/* One rule over `in` into `out` (emptied first); false, with `out` untouched, when nothing matched. */
static bool apply(const rule *r, const char *s, size_t n, buf_t *out)
{
    text in = {.s = s, .n = n};
    size_t copied = 0;
    bool any = false;
    for (size_t i = 0; i < in.n;) {
        size_t m = 0;
        if (r->first == 0 || in.s[i] == r->first)
            m = r->match(&in, i);
        if (m == NEVER)
            break;
        if (m == 0) {
            i++;
            continue;
        }
        if (!any)
            buf_reset(out);
        any = true;
        buf_append(out, in.s + copied, i - copied);
        buf_puts(out, r->replacement);
        i += m;
        copied = i;
    }
    if (any)
        buf_append(out, in.s + copied, in.n - copied);
    return any;
}

char *redact_secrets(arena_t *a, const char *s, size_t len, size_t *out_len, bool *changed)
{
    /* no replacement is more than 3.5 times as long as the shortest text it replaces ("ctx7_x"), and a rule that
     * matches over an earlier replacement replaces it whole: the text stays well under eight times its length */
    buf_t bufs[2] = {BUF_INIT(8 * len + 256), BUF_INIT(8 * len + 256)};
    const char *cur = s;
    size_t n = len;
    int next = 0;
    bool any = false;
    for (size_t k = 0; k < sizeof(RULES) / sizeof(RULES[0]); k++) {
        if (!apply(&RULES[k], cur, n, &bufs[next]))
            continue;
        any = true;
        cur = bufs[next].data, n = bufs[next].len;
        next ^= 1;
    }
    char *out = arena_strndup(a, cur, n);
    buf_free(&bufs[0]);
    buf_free(&bufs[1]);
    if (out_len)
        *out_len = n;
    if (changed)
        *changed = any;
    return out;
}
