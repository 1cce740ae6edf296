/* jsonw.h - a streaming JSON writer: values are appended one by one to a growable buffer with a hard maximum, so a
 * list of 10,000 rows is written row by row instead of as one jansson tree per row.
 *
 * The output is what jansson's compact dump (JSON_COMPACT | JSON_ENCODE_ANY, as json_dump_arena writes it) gives
 * for the same value, byte for byte: strings escaped the same way (", \, \b \f \n \r \t, other control characters
 * as \u00XX, everything else as is), integers in decimal, reals with 17 significant digits and always a '.' or an
 * exponent. A string is never emitted as invalid UTF-8: bad sequences become U+FFFD.
 *
 * Commas and colons are the writer's business: callers open and close containers, write keys and values. */
#ifndef COLONY_BASE_JSONW_H
#define COLONY_BASE_JSONW_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"

enum { JSONW_MAX_DEPTH = 64 }; /* containers open at once; deeper opens mark the writer as failed */

typedef struct {
    char *data; /* heap, NUL-terminated when not NULL; the writer's until jsonw_finish */
    size_t len, cap, max;
    int depth;
    bool failed;    /* an append did not fit under `max` (or nesting went too deep): the text is incomplete */
    bool after_key; /* a key was written and its value is due */
    uint64_t more;  /* bit d-1: the container at depth d already holds a value (a comma comes first) */
    uint64_t objs;  /* bit d-1: the container at depth d is an object */
} jsonw;

/* Where a writer stood; jsonw_rewind drops everything written after it (a row that did not fit), as long as the
 * containers open at the mark are still open. */
typedef struct {
    size_t len;
    int depth;
    bool failed, after_key;
    uint64_t more, objs;
} jsonw_mark;

/* An empty writer whose text may grow to `max` bytes. */
void jsonw_init(jsonw *w, size_t max);
/* Release the buffer (not needed after jsonw_finish). */
void jsonw_free(jsonw *w);

void jsonw_obj_open(jsonw *w);
void jsonw_obj_close(jsonw *w);
void jsonw_arr_open(jsonw *w);
void jsonw_arr_close(jsonw *w);
/* The key of the next value in the open object (NUL-terminated). */
void jsonw_key(jsonw *w, const char *key);

/* Values. A NULL string is written as null. */
void jsonw_str(jsonw *w, const char *s);
void jsonw_strn(jsonw *w, const char *s, size_t n);
void jsonw_int(jsonw *w, int64_t v);
/* A non-finite real (which JSON cannot carry) is written as null. */
void jsonw_real(jsonw *w, double v);
void jsonw_bool(jsonw *w, bool v);
void jsonw_null(jsonw *w);
/* `v` as jansson dumps it (NULL: null). Borrowed. */
void jsonw_json(jsonw *w, const json_t *v);
/* JSON text stored earlier (a column holding an agent card, a request body…), written as jansson would re-dump it
 * after json_loadb (flags: JSON_DECODE_ANY when `any`, else only an object or array): text already in that form
 * is copied as it is, anything else is parsed and dumped. False, with nothing written, when the text is not such
 * JSON (NULL included): the caller writes its default (null, {}). */
bool jsonw_stored(jsonw *w, const char *text, bool any);

/* Key-and-value shorthands. */
void jsonw_kstr(jsonw *w, const char *key, const char *s);
void jsonw_kint(jsonw *w, const char *key, int64_t v);
void jsonw_kbool(jsonw *w, const char *key, bool v);
void jsonw_knull(jsonw *w, const char *key);

jsonw_mark jsonw_save(const jsonw *w);
void jsonw_rewind(jsonw *w, const jsonw_mark *m);

/* The text, handed to arena `a` (freed with it), and its length; NULL when the writer failed or a container is
 * still open. The writer is empty afterwards, either way. */
char *jsonw_finish(jsonw *w, arena_t *a, size_t *len);

#endif
