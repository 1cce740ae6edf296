/* arena.c - see arena.h. Chunks grow geometrically; a large request gets a chunk of its own. */
#include "base/arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ARENA_FIRST_CHUNK = 4096, ARENA_MAX_CHUNK = 1 << 20, ARENA_ALIGN = 16 };

struct chunk {
    struct chunk *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
};

struct cleanup {
    struct cleanup *next;
    void (*fn)(void *);
    void *ptr;
};

struct arena {
    struct chunk *head;
    struct cleanup *cleanups;
    size_t next_size, total;
};

static void oom(size_t n)
{
    fprintf(stderr, "level=fatal msg=\"out of memory\" bytes=%zu\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        oom(n);
    return p;
}

void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (p == NULL)
        oom(count * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        oom(n);
    return q;
}

char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xmalloc(n), s, n);
}

arena_t *arena_new(void)
{
    arena_t *a = xcalloc(1, sizeof(*a));
    a->next_size = ARENA_FIRST_CHUNK;
    return a;
}

void arena_free(arena_t *a)
{
    if (a == NULL)
        return;
    for (struct cleanup *c = a->cleanups; c != NULL; c = c->next)
        c->fn(c->ptr);
    struct chunk *ch = a->head;
    while (ch != NULL) {
        struct chunk *next = ch->next;
        free(ch);
        ch = next;
    }
    free(a);
}

static struct chunk *new_chunk(arena_t *a, size_t need)
{
    size_t size = a->next_size;
    if (need > size)
        size = need;
    else if (a->next_size < ARENA_MAX_CHUNK)
        a->next_size *= 2;
    if (size > SIZE_MAX - sizeof(struct chunk))
        oom(size);
    struct chunk *ch = xmalloc(sizeof(*ch) + size);
    ch->size = size;
    ch->used = 0;
    return ch;
}

void *arena_alloc(arena_t *a, size_t n)
{
    if (n > SIZE_MAX - ARENA_ALIGN)
        oom(n);
    size_t want = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (want == 0)
        want = ARENA_ALIGN;
    struct chunk *ch = a->head;
    if (ch == NULL || ch->size - ch->used < want) {
        struct chunk *fresh = new_chunk(a, want);
        if (ch != NULL && want > ch->size / 2) {
            /* a big one-off block: keep using the current chunk for small allocations */
            fresh->next = ch->next;
            ch->next = fresh;
        } else {
            fresh->next = ch;
            a->head = fresh;
        }
        ch = fresh;
    }
    void *p = ch->data + ch->used;
    ch->used += want;
    a->total += want;
    return p;
}

void *arena_calloc(arena_t *a, size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size)
        oom(SIZE_MAX);
    void *p = arena_alloc(a, count * size);
    memset(p, 0, count * size);
    return p;
}

char *arena_strndup(arena_t *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(arena_t *a, const char *s) { return arena_strndup(a, s, strlen(s)); }

char *arena_vsprintf(arena_t *a, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return arena_strdup(a, "");
    char *p = arena_alloc(a, (size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *arena_sprintf(arena_t *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = arena_vsprintf(a, fmt, ap);
    va_end(ap);
    return p;
}

void *arena_grow(arena_t *a, void *p, size_t n, size_t *cap, size_t elem)
{
    if (n < *cap)
        return p;
    size_t bigger = *cap ? *cap * 2 : 16;
    void *q = arena_calloc(a, bigger, elem);
    if (n != 0)
        memcpy(q, p, n * elem);
    *cap = bigger;
    return q;
}

void arena_defer(arena_t *a, void (*fn)(void *), void *ptr)
{
    struct cleanup *c = arena_alloc(a, sizeof(*c));
    c->fn = fn;
    c->ptr = ptr;
    c->next = a->cleanups;
    a->cleanups = c;
}

size_t arena_used(const arena_t *a) { return a->total; }
