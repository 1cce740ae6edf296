/* memtext.h - the search form of memory text. One tokenizer, written here, decides what the terms of a memory and
 * of a query are, so that SQLite (FTS5) and PostgreSQL (tsvector) index the very same terms and a query matches
 * the very same memories on both: neither database's own parser or dictionary is used.
 *
 * A term is a maximal run of letters and digits: ASCII letters lower-cased; Latin-1 and Latin Extended-A letters
 * folded to their ASCII base letters (é → e, ß → ss); Greek and Cyrillic lower-cased; each CJK ideograph, kana or
 * hangul syllable a term of its own (those scripts put no spaces between words). English stop words are dropped
 * and a plural "s" is taken off (an S-stemmer: policies → policy, deploys → deploy, classes → classe), so a query
 * and a memory meet on the same stem.
 *
 * Terms are written in an alphabet of [a-z0-9] only, which both databases split identically: a literal 'z' is
 * "zz", any other character outside [a-z0-9] is 'z' and its code point in five hex digits. The encoding keeps
 * prefixes: the prefix of a word is the prefix of its term. A term is at most MEMTEXT_TERM_MAX characters (longer
 * ones are cut, the same way in memories and queries). */
#ifndef COLONY_MODEL_MEMTEXT_H
#define COLONY_MODEL_MEMTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"

enum {
    MEMTEXT_TERM_MAX = 64,   /* characters of one encoded term */
    MEMTEXT_QUERY_MAX = 16,  /* terms of one query; more are ignored */
    MEMTEXT_PREFIX_MIN = 3,  /* a query term this long or longer also matches the terms it begins */
    /* bytes of a memory's search form: its terms up to the first that would not fit are indexed, the rest not,
     * alike on both databases (PostgreSQL's tsvector holds at most 1 MiB of lexemes; Greek or Cyrillic text takes
     * three times its bytes in the search form) */
    MEMTEXT_DOC_MAX = 1000000,
};

/* The search form of `text` (valid UTF-8; invalid bytes are separators): every term with one space before and
 * one after it (" deploy  staging "), "" when there is none, cut before the first term that would take it past
 * MEMTEXT_DOC_MAX bytes. *count receives the number of terms. Arena-owned. */
char *memtext_terms(arena_t *a, const char *text, size_t len, int64_t *count);

/* One term of a query. */
typedef struct {
    const char *term; /* encoded, arena-owned */
    bool prefix;      /* also matches longer terms that begin with it (MEMTEXT_PREFIX_MIN and longer) */
} memtext_term;

/* The terms of query `q`, stop words dropped and duplicates removed, in their order, at most MEMTEXT_QUERY_MAX
 * into out[]. Returns how many (0: nothing searchable, e.g. only stop words or punctuation). */
size_t memtext_query(arena_t *a, const char *q, size_t len, memtext_term out[MEMTEXT_QUERY_MAX]);

#endif
