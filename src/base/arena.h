/* arena.h - a region allocator: one per request (or per job run), freed at once at the end, running the cleanup
 * callbacks registered on it (statements, JSON values, files) in reverse order. */
#ifndef COLONY_BASE_ARENA_H
#define COLONY_BASE_ARENA_H

#include <stdarg.h>
#include <stddef.h>

typedef struct arena arena_t;

/* A new, empty arena (caller frees with arena_free). Never NULL: out of memory aborts the process. */
arena_t *arena_new(void);
/* Run the cleanups (last registered first) and release every byte. NULL is a no-op. */
void arena_free(arena_t *a);

/* `n` bytes aligned for any type, owned by the arena. n == 0 returns a valid unique pointer. */
void *arena_alloc(arena_t *a, size_t n);
void *arena_calloc(arena_t *a, size_t count, size_t size);
/* NUL-terminated copies owned by the arena. */
char *arena_strdup(arena_t *a, const char *s);
char *arena_strndup(arena_t *a, const char *s, size_t n);
char *arena_sprintf(arena_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *arena_vsprintf(arena_t *a, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* For arrays built in an arena: when n == *cap, return a copy of p (n elements of `elem` bytes) with twice the
 * room and update *cap; otherwise return p. Start with *cap = 0 and p = NULL. */
void *arena_grow(arena_t *a, void *p, size_t n, size_t *cap, size_t elem);

/* Call fn(ptr) when the arena is freed. */
void arena_defer(arena_t *a, void (*fn)(void *), void *ptr);

/* Bytes handed out so far (for tests and metrics). */
size_t arena_used(const arena_t *a);

/* The process-wide allocation helpers of base/: abort on out-of-memory instead of returning NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

#endif
