/* jsonw.c - see jsonw.h. */
#include "base/jsonw.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"

enum {
    FIRST_CAP = 4096,
    NUMBER_MAX = 64,      /* a stored number longer than this is re-dumped by jansson, not checked here */
    CANON_MAX_DEPTH = 32, /* deeper stored JSON is re-dumped by jansson */
    CANON_MAX_KEYS = 256, /* keys of the objects open at once, for the duplicate check */
};

static const size_t DUMP_FLAGS = JSON_COMPACT | JSON_ENCODE_ANY; /* what json_dump_arena uses */

void jsonw_init(jsonw *w, size_t max)
{
    assert(max < ((size_t)-1) / 4);
    *w = (jsonw){.max = max};
}

void jsonw_free(jsonw *w)
{
    free(w->data);
    jsonw_init(w, w->max);
}

/* Room for n more bytes and a NUL; false (the writer has failed) past the maximum. */
static bool reserve(jsonw *w, size_t n)
{
    if (w->failed)
        return false;
    if (n > w->max - w->len) {
        w->failed = true;
        return false;
    }
    size_t need = w->len + n + 1;
    if (need <= w->cap)
        return true;
    size_t cap = w->cap ? w->cap : FIRST_CAP;
    while (cap < need)
        cap *= 2;
    if (cap > w->max + 1)
        cap = w->max + 1;
    w->data = xrealloc(w->data, cap);
    w->cap = cap;
    return true;
}

/* Whether n more bytes (and the NUL) fit in the buffer as it is: the fast path of every append. */
static inline bool room(const jsonw *w, size_t n)
{
    return w->data != NULL && n < w->cap - w->len;
}

static inline void put(jsonw *w, const char *p, size_t n)
{
    if (room(w, n) || reserve(w, n)) {
        memcpy(w->data + w->len, p, n);
        w->len += n;
    }
}

static inline void putch(jsonw *w, char c)
{
    if (room(w, 1) || reserve(w, 1))
        w->data[w->len++] = c;
}

static inline bool in_object(const jsonw *w)
{
    return w->depth > 0 && (w->objs >> (w->depth - 1)) & 1;
}

/* What comes before a value or a key: nothing after a key or at the top, a comma after a sibling. A value in an
 * object without its key is a caller's bug: the writer fails rather than emit broken JSON. */
static inline bool sep_for(jsonw *w, bool key)
{
    if (w->failed)
        return false;
    if (w->after_key) {
        w->after_key = false;
        return true;
    }
    if (w->depth == 0) { /* one value at the top */
        if (w->len > 0)
            w->failed = true;
        return !w->failed;
    }
    if (in_object(w) != key) {
        w->failed = true;
        return false;
    }
    uint64_t bit = (uint64_t)1 << (w->depth - 1);
    if (w->more & bit)
        putch(w, ',');
    w->more |= bit;
    return !w->failed;
}

static inline bool sep(jsonw *w)
{
    return sep_for(w, false);
}

static void open_container(jsonw *w, char c)
{
    if (!sep(w))
        return;
    if (w->depth == JSONW_MAX_DEPTH) {
        w->failed = true;
        return;
    }
    putch(w, c);
    w->depth++;
    uint64_t bit = (uint64_t)1 << (w->depth - 1);
    w->more &= ~bit;
    w->objs = c == '{' ? w->objs | bit : w->objs & ~bit;
}

static void close_container(jsonw *w, char c)
{
    if (w->depth == 0 || w->after_key || in_object(w) != (c == '}')) {
        w->failed = true;
        return;
    }
    putch(w, c);
    w->depth--;
}

void jsonw_obj_open(jsonw *w)
{
    open_container(w, '{');
}
void jsonw_obj_close(jsonw *w)
{
    close_container(w, '}');
}
void jsonw_arr_open(jsonw *w)
{
    open_container(w, '[');
}
void jsonw_arr_close(jsonw *w)
{
    close_container(w, ']');
}

/* ---- strings ------------------------------------------------------------------------------------------------ */

/* What a byte means inside a string: copied as is, escaped (control characters, the quote, the backslash), or the
 * start of a multi-byte sequence to check. */
enum { PLAIN, ESCAPE, MULTI };
static const unsigned char BYTE_CLASS[256] = {
    [0x00 ... 0x1F] = ESCAPE,
    ['"'] = ESCAPE,
    ['\\'] = ESCAPE,
    [0x80 ... 0xFF] = MULTI,
};

/* Whether the 8 bytes at p hold none that a string must escape (below 0x20, the quote, the backslash), nor, with
 * `ascii`, any from 0x80: a word at a time. A "has a byte below n" test can only err towards yes, and then the
 * byte loop decides. */
static inline bool quiet8(const char *p, bool ascii)
{
    const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
    uint64_t v, q, b;
    memcpy(&v, p, 8);
    q = v ^ ('"' * ones), b = v ^ ('\\' * ones);
    return (((ascii ? v : 0) | (((v - 0x20 * ones) | (q - ones) | (b - ones)) & ~v)) & high) == 0;
}

static void put_escape(jsonw *w, unsigned char c)
{
    static const char hex[] = "0123456789ABCDEF";
    char e[6] = {'\\', (char)c};
    size_t k = 2;
    switch (c) {
    case '"':
    case '\\': break;
    case '\b': e[1] = 'b'; break;
    case '\f': e[1] = 'f'; break;
    case '\n': e[1] = 'n'; break;
    case '\r': e[1] = 'r'; break;
    case '\t': e[1] = 't'; break;
    default: memcpy(e, (char[6]){'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]}, 6); k = 6;
    }
    put(w, e, k);
}

/* The quoted, escaped string; false (the writer's length unchanged) at the first invalid UTF-8 sequence. One pass:
 * runs of plain bytes are copied whole. */
static bool put_quoted(jsonw *w, const char *s, size_t n)
{
    size_t start = w->len;
    if (!room(w, n + 2) && !reserve(w, n + 2))
        return true;
    w->data[w->len++] = '"';
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        for (;;) {
            while (run + 8 <= n && quiet8(s + run, true))
                run += 8;
            while (run < n && BYTE_CLASS[(unsigned char)s[run]] == PLAIN)
                run++;
            if (run == n || BYTE_CLASS[(unsigned char)s[run]] != MULTI)
                break;
            size_t k = utf8_seq_len(s + run, n - run);
            if (k == 0) {
                w->len = start;
                return false;
            }
            run += k;
        }
        put(w, s + i, run - i);
        if (run == n)
            break;
        put_escape(w, (unsigned char)s[run]);
        i = run + 1;
    }
    putch(w, '"');
    return true;
}

/* Invalid UTF-8 never leaves: each bad sequence becomes U+FFFD. */
static void put_string(jsonw *w, const char *s, size_t n)
{
    if (put_quoted(w, s, n))
        return;
    char *clean = xmalloc(3 * n + 1);
    put_quoted(w, clean, utf8_sanitize(s, n, clean));
    free(clean);
}

void jsonw_key(jsonw *w, const char *key)
{
    if (w->after_key || !in_object(w)) {
        w->failed = true;
        return;
    }
    if (!sep_for(w, true))
        return;
    put_string(w, key, strlen(key));
    putch(w, ':');
    w->after_key = true;
}

void jsonw_strn(jsonw *w, const char *s, size_t n)
{
    if (sep(w))
        put_string(w, s, n);
}

void jsonw_str(jsonw *w, const char *s)
{
    if (s == NULL)
        jsonw_null(w);
    else
        jsonw_strn(w, s, strlen(s));
}

/* ---- numbers and literals ----------------------------------------------------------------------------------- */

/* The decimal digits of v, ending just before `end`; returns where they start. */
static char *format_int(int64_t v, char *end)
{
    uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
    do {
        *--end = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        *--end = '-';
    return end;
}

void jsonw_int(jsonw *w, int64_t v)
{
    char buf[24], *p = format_int(v, buf + sizeof(buf));
    if (sep(w))
        put(w, p, (size_t)(buf + sizeof(buf) - p));
}

/* A finite real as jansson prints it (jsonp_dtostr with precision 17): "%.17g", ".0" appended when it would read
 * as an integer, and the exponent without '+' or leading zeros. Returns the length (out holds NUMBER_MAX). */
static size_t format_real(double v, char *out)
{
    size_t n = (size_t)snprintf(out, NUMBER_MAX, "%.17g", v);
    if (strchr(out, '.') == NULL && strchr(out, 'e') == NULL) {
        memcpy(out + n, ".0", 3);
        n += 2;
    }
    char *start = strchr(out, 'e');
    if (start != NULL) {
        start++;
        char *end = start + 1;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, n + 1 - (size_t)(end - out));
            n -= (size_t)(end - start);
        }
    }
    return n;
}

void jsonw_real(jsonw *w, double v)
{
    if (!isfinite(v)) {
        jsonw_null(w);
        return;
    }
    /* whole numbers (canvas coordinates, most rates) print as "%.17g" does them, digits and ".0", without printf */
    if (fabs(v) < 1e15 && v == (double)(int64_t)v && !(v == 0 && signbit(v))) {
        char buf[24], *p = format_int((int64_t)v, buf + sizeof(buf) - 2);
        memcpy(buf + sizeof(buf) - 2, ".0", 2);
        if (sep(w))
            put(w, p, (size_t)(buf + sizeof(buf) - p));
        return;
    }
    char buf[NUMBER_MAX];
    size_t n = format_real(v, buf);
    if (sep(w))
        put(w, buf, n);
}

static void literal(jsonw *w, const char *s, size_t n)
{
    if (sep(w))
        put(w, s, n);
}

void jsonw_bool(jsonw *w, bool v)
{
    v ? literal(w, "true", 4) : literal(w, "false", 5);
}
void jsonw_null(jsonw *w)
{
    literal(w, "null", 4);
}

void jsonw_kstr(jsonw *w, const char *key, const char *s)
{
    jsonw_key(w, key);
    jsonw_str(w, s);
}

void jsonw_kint(jsonw *w, const char *key, int64_t v)
{
    jsonw_key(w, key);
    jsonw_int(w, v);
}

void jsonw_kbool(jsonw *w, const char *key, bool v)
{
    jsonw_key(w, key);
    jsonw_bool(w, v);
}

void jsonw_knull(jsonw *w, const char *key)
{
    jsonw_key(w, key);
    jsonw_null(w);
}

/* ---- jansson values and stored JSON text -------------------------------------------------------------------- */

void jsonw_json(jsonw *w, const json_t *v)
{
    size_t n = v ? json_dumpb(v, NULL, 0, DUMP_FLAGS) : 0;
    if (n == 0) {
        jsonw_null(w);
        return;
    }
    if (sep(w) && reserve(w, n)) {
        json_dumpb(v, w->data + w->len, n, DUMP_FLAGS);
        w->len += n;
    }
}

/* Is a stored text exactly what jansson's compact dump of its own parse would print? Then it can be copied as it
 * is. Whatever this cannot vouch for (whitespace, escapes jansson writes otherwise, numbers it prints otherwise,
 * duplicate keys, deep nesting) goes the slow way, through jansson, so the answer never changes the output. */
typedef struct {
    const char *p, *end;
    int depth;
    struct {
        const char *s;
        size_t n;
    } keys[CANON_MAX_KEYS];
    size_t nkeys;
} canon;

static bool canon_value(canon *c);

static bool is_digit(const canon *c, const char *p)
{
    return p < c->end && *p >= '0' && *p <= '9';
}

/* A string whose escapes are the ones jansson writes (the text is valid UTF-8). */
static bool canon_string(canon *c)
{
    const char *p = c->p + 1;
    while (p < c->end) {
        while (c->end - p >= 8 && quiet8(p, false)) /* the text is valid UTF-8: only these bytes matter */
            p += 8;
        if (p == c->end)
            break;
        unsigned char ch = (unsigned char)*p;
        if (ch == '"') {
            c->p = p + 1;
            return true;
        }
        if (ch < 0x20)
            return false;
        if (ch != '\\') {
            p++;
            continue;
        }
        if (c->end - p < 2)
            return false;
        if (strchr("\"\\bfnrt", p[1]) != NULL && p[1] != '\0') {
            p += 2;
            continue;
        }
        /* \u00XX, uppercase, for the control characters without a short form (not NUL, which jansson refuses) */
        if (c->end - p < 6 || p[1] != 'u' || p[2] != '0' || p[3] != '0' || (p[4] != '0' && p[4] != '1'))
            return false;
        const char *hex = "0123456789ABCDEF", *d = memchr(hex, p[5], 16);
        if (d == NULL || p[5] == '\0')
            return false;
        int v = (p[4] - '0') * 16 + (int)(d - hex);
        if (v == 0 || v == '\b' || v == '\t' || v == '\n' || v == '\f' || v == '\r')
            return false;
        p += 6;
    }
    return false;
}

/* A number jansson parses and prints back the same: an integer in range (not "-0"), or a real in its own form. */
static bool canon_number(canon *c)
{
    const char *p = c->p, *s = p;
    bool real = false;
    if (p < c->end && *p == '-')
        p++;
    if (p < c->end && *p == '0')
        p++;
    else if (is_digit(c, p))
        while (is_digit(c, p))
            p++;
    else
        return false;
    if (p < c->end && *p == '.') {
        real = true;
        if (!is_digit(c, ++p))
            return false;
        while (is_digit(c, p))
            p++;
    }
    if (p < c->end && (*p == 'e' || *p == 'E')) {
        real = true;
        p++;
        if (p < c->end && (*p == '+' || *p == '-'))
            p++;
        if (!is_digit(c, p))
            return false;
        while (is_digit(c, p))
            p++;
    }
    size_t n = (size_t)(p - s);
    char num[NUMBER_MAX], back[NUMBER_MAX];
    if (n >= NUMBER_MAX)
        return false;
    memcpy(num, s, n);
    num[n] = '\0';
    errno = 0;
    if (!real) {
        (void)strtoll(num, NULL, 10);
        if (errno == ERANGE || strcmp(num, "-0") == 0)
            return false;
    } else {
        double d = strtod(num, NULL);
        if (!isfinite(d) || format_real(d, back) != n || memcmp(back, num, n) != 0)
            return false;
    }
    c->p = p;
    return true;
}

static bool canon_literal(canon *c, const char *lit, size_t n)
{
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
        return false;
    c->p += n;
    return true;
}

/* Keys are compared as written: with one spelling per character, equal text means equal keys. */
static bool canon_object(canon *c)
{
    size_t first = c->nkeys;
    c->p++;
    if (c->p < c->end && *c->p == '}') {
        c->p++;
        return true;
    }
    for (;;) {
        const char *k = c->p;
        if (k >= c->end || *k != '"' || !canon_string(c) || c->nkeys == CANON_MAX_KEYS)
            return false;
        size_t kn = (size_t)(c->p - k);
        for (size_t i = first; i < c->nkeys; i++)
            if (c->keys[i].n == kn && memcmp(c->keys[i].s, k, kn) == 0)
                return false;
        c->keys[c->nkeys].s = k;
        c->keys[c->nkeys++].n = kn;
        if (c->p >= c->end || *c->p != ':')
            return false;
        c->p++;
        if (!canon_value(c) || c->p >= c->end)
            return false;
        if (*c->p == '}') {
            c->p++;
            c->nkeys = first;
            return true;
        }
        if (*c->p++ != ',')
            return false;
    }
}

static bool canon_array(canon *c)
{
    c->p++;
    if (c->p < c->end && *c->p == ']') {
        c->p++;
        return true;
    }
    for (;;) {
        if (!canon_value(c) || c->p >= c->end)
            return false;
        if (*c->p == ']') {
            c->p++;
            return true;
        }
        if (*c->p++ != ',')
            return false;
    }
}

static bool canon_value(canon *c)
{
    if (c->p >= c->end)
        return false;
    switch (*c->p) {
    case '{':
    case '[': {
        if (c->depth == CANON_MAX_DEPTH)
            return false;
        c->depth++;
        bool ok = *c->p == '{' ? canon_object(c) : canon_array(c);
        c->depth--;
        return ok;
    }
    case '"': return canon_string(c);
    case 't': return canon_literal(c, "true", 4);
    case 'f': return canon_literal(c, "false", 5);
    case 'n': return canon_literal(c, "null", 4);
    default: return canon_number(c);
    }
}

bool jsonw_stored(jsonw *w, const char *text, bool any)
{
    if (text == NULL)
        return false;
    size_t n = strlen(text);
    if (n > 0 && (any || text[0] == '{' || text[0] == '[') && utf8_valid(text, n)) {
        canon c;
        c.p = text, c.end = text + n, c.depth = 0, c.nkeys = 0;
        if (canon_value(&c) && c.p == c.end) {
            if (sep(w))
                put(w, text, n);
            return true;
        }
    }
    json_t *v = json_loadb(text, n, any ? JSON_DECODE_ANY : 0, NULL);
    if (v == NULL)
        return false;
    jsonw_json(w, v);
    json_decref(v);
    return true;
}

/* ---- marks and the end -------------------------------------------------------------------------------------- */

jsonw_mark jsonw_save(const jsonw *w)
{
    return (jsonw_mark){.len = w->len,
                        .depth = w->depth,
                        .failed = w->failed,
                        .after_key = w->after_key,
                        .more = w->more,
                        .objs = w->objs};
}

void jsonw_rewind(jsonw *w, const jsonw_mark *m)
{
    w->len = m->len;
    w->depth = m->depth;
    w->failed = m->failed;
    w->after_key = m->after_key;
    w->more = m->more;
    w->objs = m->objs;
}

char *jsonw_finish(jsonw *w, arena_t *a, size_t *len)
{
    char *out = NULL;
    if (!w->failed && w->depth == 0 && !w->after_key && w->len > 0) {
        w->data[w->len] = '\0';
        out = w->data;
        *len = w->len;
        arena_defer(a, free, out);
        w->data = NULL;
    }
    jsonw_free(w);
    return out;
}
