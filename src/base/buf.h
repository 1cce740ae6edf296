/* buf.h - a growable byte buffer with a hard maximum; every append says whether it fit. Heap-backed: the owner
 * calls buf_free (or hands the bytes over with buf_steal). */
#ifndef COLONY_BASE_BUF_H
#define COLONY_BASE_BUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char *data; /* always NUL-terminated when non-NULL */
    size_t len, cap, max;
} buf_t;

#define BUF_INIT(max_) {NULL, 0, 0, (max_)}

void buf_init(buf_t *b, size_t max);
void buf_free(buf_t *b);
void buf_reset(buf_t *b);
/* Append; false (and nothing appended) when the result would exceed b->max. */
bool buf_append(buf_t *b, const void *p, size_t n);
bool buf_puts(buf_t *b, const char *s);
bool buf_putc(buf_t *b, char c);
bool buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The bytes as a NUL-terminated heap string the caller frees; the buffer is left empty. */
char *buf_steal(buf_t *b, size_t *len);

#endif
