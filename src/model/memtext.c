/* memtext.c - see memtext.h. */
#include "model/memtext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"

/* Common English function words (a search for "how do we deploy" means "deploy"). Sorted: bsearch. */
static const char *const STOP_WORDS[] = {
    "a",       "about",  "above",   "after",      "again", "against", "all",      "am",      "an",     "and",
    "any",     "are",    "as",      "at",         "be",    "because", "been",     "before",  "being",  "below",
    "between", "both",   "but",     "by",         "can",   "could",   "did",      "do",      "does",   "doing",
    "down",    "during", "each",    "few",        "for",   "from",    "further",  "had",     "has",    "have",
    "having",  "he",     "her",     "here",       "hers",  "herself", "him",      "himself", "his",    "how",
    "i",       "if",     "in",      "into",       "is",    "it",      "its",      "itself",  "just",   "me",
    "more",    "most",   "my",      "myself",     "no",    "nor",     "not",      "now",     "of",     "off",
    "on",      "once",   "only",    "or",         "other", "our",     "ours",     "ourselves", "out",  "over",
    "own",     "same",   "she",     "should",     "so",    "some",    "such",     "than",    "that",   "the",
    "their",   "theirs", "them",    "themselves", "then",  "there",   "these",    "they",    "this",   "those",
    "through", "to",     "too",     "under",      "until", "up",      "very",     "was",     "we",     "were",
    "what",    "when",   "where",   "which",      "while", "who",     "whom",     "why",     "will",   "with",
    "would",   "you",    "your",    "yours",      "yourself", "yourselves"};

static int by_text(const void *k, const void *e) { return strcmp(k, *(const char *const *)e); }

static bool stop_word(const char *w)
{
    return bsearch(w, STOP_WORDS, sizeof(STOP_WORDS) / sizeof(STOP_WORDS[0]), sizeof(STOP_WORDS[0]), by_text) != NULL;
}

/* Base letters of U+00C0..U+00FF and U+0100..U+017F; a digit stands for two letters, '-' for a separator. */
static const char LATIN1[] = "aaaaaa1ceeeeiiiidnooooo-ouuuuy23aaaaaa1ceeeeiiiidnooooo-ouuuuy2y";
static const char LATIN_EXT_A[] = "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiii44jjkkklllllll"
                                  "lllnnnnnnnnnoooooo55rrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzs";
static const char *const PAIRS[] = {"ae", "th", "ss", "ij", "oe"}; /* digits 1..5 above */

typedef enum { C_SEP, C_WORD, C_SOLO } char_class;

/* Characters that are not parts of words: punctuation, symbols, spaces, emoji, private use. */
static bool separator(uint32_t c)
{
    return (c >= 0x80 && c <= 0xBF && c != 0xAA && c != 0xB5 && c != 0xBA) || c == 0xD7 || c == 0xF7 ||
           (c >= 0x2000 && c <= 0x206F) || (c >= 0x20A0 && c <= 0x2BFF) || (c >= 0x3000 && c <= 0x303F) ||
           (c >= 0xE000 && c <= 0xF8FF) || (c >= 0xFE00 && c <= 0xFE0F) || c == 0xFEFF ||
           (c >= 0xFF01 && c <= 0xFF0F) || (c >= 0xFF1A && c <= 0xFF20) || (c >= 0xFF3B && c <= 0xFF40) ||
           (c >= 0xFF5B && c <= 0xFF65) || (c >= 0x1F000 && c <= 0x1FAFF) || c >= 0x100000;
}

/* Scripts written without spaces between words: every character is a term. */
static bool solo(uint32_t c)
{
    return (c >= 0x3040 && c <= 0x30FF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) ||
           (c >= 0xAC00 && c <= 0xD7AF) || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x2FFFF);
}

static char_class classify(uint32_t c)
{
    if (c < 0x80)
        return ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || (c >= '0' && c <= '9') ? C_WORD : C_SEP;
    if (separator(c))
        return C_SEP;
    return solo(c) ? C_SOLO : C_WORD;
}

/* A term being read: its characters (ASCII after folding, or code points), at most MEMTEXT_TERM_MAX (each
 * encodes to at least one character, so more could never be written). */
typedef struct {
    uint32_t u[MEMTEXT_TERM_MAX];
    size_t n;
} units;

static void push(units *t, uint32_t c)
{
    if (t->n < MEMTEXT_TERM_MAX)
        t->u[t->n++] = c;
}

/* Append character `c` of a word, folded. */
static void fold(units *t, uint32_t c)
{
    const char *base = NULL;
    char one[2] = {0, 0};
    if (c < 0x80) {
        push(t, c >= 'A' && c <= 'Z' ? c + 32 : c);
        return;
    }
    if (c == 0xAA || c == 0xBA) {
        one[0] = c == 0xAA ? 'a' : 'o';
    } else if (c == 0xB5) {
        c = 0x3BC; /* micro sign: the Greek letter */
    } else if (c >= 0xC0 && c <= 0xFF) {
        one[0] = LATIN1[c - 0xC0];
    } else if (c >= 0x100 && c <= 0x17F) {
        one[0] = LATIN_EXT_A[c - 0x100];
    } else if ((c >= 0x391 && c <= 0x3A9) || (c >= 0x410 && c <= 0x42F)) {
        c += 0x20; /* Greek, Cyrillic capitals */
    } else if (c >= 0x400 && c <= 0x40F) {
        c += 0x50;
    }
    if (one[0] >= '1' && one[0] <= '5')
        base = PAIRS[one[0] - '1'];
    else if (one[0])
        base = one;
    if (base == NULL) {
        push(t, c);
        return;
    }
    for (; *base; base++)
        push(t, (uint32_t)(unsigned char)*base);
}

/* The S-stemmer (Harman 1991) on a plain lower-case word of four letters or more. */
static void stem(char *w, size_t *n)
{
    size_t k = *n;
    if (k < 4 || w[k - 1] != 's')
        return;
    for (size_t i = 0; i < k; i++)
        if (w[i] < 'a' || w[i] > 'z')
            return;
    if (k >= 3 && memcmp(w + k - 3, "ies", 3) == 0) {
        if (w[k - 4] != 'e' && w[k - 4] != 'a') {
            w[k - 3] = 'y';
            *n = k - 2;
        }
    } else if (memcmp(w + k - 2, "es", 2) == 0) {
        if (w[k - 3] != 'a' && w[k - 3] != 'e' && w[k - 3] != 'o')
            *n = k - 1;
    } else if (w[k - 2] != 'u' && w[k - 2] != 's' && w[k - 2] != 'i') {
        *n = k - 1;
    }
}

/* Encode a finished term into out (MEMTEXT_TERM_MAX + 1 bytes); its length, 0 when it is dropped. */
static size_t finish(units *t, char out[MEMTEXT_TERM_MAX + 1])
{
    size_t n = 0;
    bool plain = true;
    for (size_t i = 0; i < t->n; i++)
        plain = plain && t->u[i] < 0x80;
    if (plain) { /* stop words and stemming speak English: ASCII words only */
        char w[MEMTEXT_TERM_MAX + 1];
        size_t k = t->n;
        for (size_t i = 0; i < k; i++)
            w[i] = (char)t->u[i];
        w[k] = '\0';
        if (stop_word(w)) {
            t->n = 0;
            return 0;
        }
        stem(w, &k);
        t->n = k;
        for (size_t i = 0; i < k; i++)
            t->u[i] = (unsigned char)w[i];
    }
    for (size_t i = 0; i < t->n; i++) {
        uint32_t c = t->u[i];
        size_t need = c == 'z' ? 2 : (c < 0x80 ? 1 : 6);
        if (n + need > MEMTEXT_TERM_MAX)
            break;
        if (c == 'z')
            out[n++] = 'z', out[n++] = 'z';
        else if (c < 0x80)
            out[n++] = (char)c;
        else
            n += (size_t)snprintf(out + n, 7, "z%05x", (unsigned)c);
    }
    out[n] = '\0';
    t->n = 0;
    return n;
}

typedef void (*term_fn)(void *arg, const char *term, size_t n);

/* Split valid UTF-8 `s` into terms, each handed to fn. */
static void scan(const char *s, size_t len, term_fn fn, void *arg)
{
    units t = {.n = 0};
    char enc[MEMTEXT_TERM_MAX + 1];
    size_t i = 0;
    while (i <= len) {
        uint32_t c = ' '; /* the end of the text ends the last term */
        size_t step = 1;
        if (i < len) {
            step = utf8_seq_len(s + i, len - i);
            if (step == 0) { /* not UTF-8: a separator */
                step = 1;
            } else if (step == 1) {
                c = (unsigned char)s[i];
            } else {
                const unsigned char *p = (const unsigned char *)s + i;
                c = step == 2 ? (uint32_t)(p[0] & 0x1F) << 6 | (p[1] & 0x3F)
                    : step == 3 ? (uint32_t)(p[0] & 0x0F) << 12 | (uint32_t)(p[1] & 0x3F) << 6 | (p[2] & 0x3F)
                                : (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3F) << 12 |
                                      (uint32_t)(p[2] & 0x3F) << 6 | (p[3] & 0x3F);
            }
        }
        char_class k = classify(c);
        if (k == C_WORD) {
            fold(&t, c);
        } else {
            size_t n;
            if (t.n > 0 && (n = finish(&t, enc)) > 0)
                fn(arg, enc, n);
            if (k == C_SOLO) {
                push(&t, c);
                if ((n = finish(&t, enc)) > 0)
                    fn(arg, enc, n);
            }
        }
        i += step;
    }
}

typedef struct {
    char *out;
    size_t len;
    int64_t count;
    bool full; /* a term did not fit: none after it is taken either */
} doc_ctx;

static void add_doc_term(void *arg, const char *term, size_t n)
{
    doc_ctx *d = arg;
    if (d->full || (d->full = d->len + n + 2 > MEMTEXT_DOC_MAX))
        return;
    d->out[d->len++] = ' ';
    memcpy(d->out + d->len, term, n);
    d->len += n;
    d->out[d->len++] = ' ';
    d->count++;
}

char *memtext_terms(arena_t *a, const char *text, size_t len, int64_t *count)
{
    /* at worst a character of one byte becomes three ("z" between separators: " zz "), of two bytes eight */
    doc_ctx d = {arena_alloc(a, 4 * len + 8), 0, 0, false};
    scan(text, len, add_doc_term, &d);
    d.out[d.len] = '\0';
    *count = d.count;
    return d.out;
}

typedef struct {
    arena_t *a;
    memtext_term *out;
    size_t n;
} query_ctx;

static void add_query_term(void *arg, const char *term, size_t n)
{
    query_ctx *q = arg;
    if (q->n == MEMTEXT_QUERY_MAX)
        return;
    for (size_t i = 0; i < q->n; i++)
        if (strcmp(q->out[i].term, term) == 0)
            return;
    q->out[q->n].term = arena_strndup(q->a, term, n);
    q->out[q->n].prefix = n >= MEMTEXT_PREFIX_MIN;
    q->n++;
}

size_t memtext_query(arena_t *a, const char *q, size_t len, memtext_term out[MEMTEXT_QUERY_MAX])
{
    query_ctx c = {a, out, 0};
    scan(q, len, add_query_term, &c);
    return c.n;
}
