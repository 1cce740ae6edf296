/* batch.c - see batch.h. */
#include "base/batch.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"

struct batch {
    pthread_mutex_t mu;
    batch_flush_fn flush;
    size_t max;
    void **items; /* waiting */
    size_t n, cap;
    int flushing, max_flushing; /* flushes running, and how many may */
};

batch_t *batch_new(size_t max_items, batch_flush_fn flush, int flushers)
{
    batch_t *b = xcalloc(1, sizeof(*b));
    pthread_mutex_init(&b->mu, NULL);
    b->flush = flush;
    b->max = max_items ? max_items : 1;
    b->max_flushing = flushers > 0 ? flushers : 1;
    return b;
}

void batch_free(batch_t *b)
{
    if (b == NULL)
        return;
    pthread_mutex_destroy(&b->mu);
    free(b->items);
    free(b);
}

/* Append under the lock; true when the caller must start a flush (fewer run than may). */
static bool append(batch_t *b, void *item)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 64;
        b->items = xrealloc(b->items, b->cap * sizeof(void *));
    }
    b->items[b->n++] = item;
    if (b->flushing == b->max_flushing) /* a flusher takes it in its next round */
        return false;
    b->flushing++;
    return true;
}

/* Called with the lock held, counted in `flushing`; returns with the lock held, no longer counted. */
static void flush_all(batch_t *b, void *ctx)
{
    void **group = xmalloc(b->max * sizeof(void *));
    while (b->n > 0) {
        size_t k = b->n < b->max ? b->n : b->max;
        memcpy(group, b->items, k * sizeof(void *));
        memmove(b->items, b->items + k, (b->n - k) * sizeof(void *));
        b->n -= k;
        pthread_mutex_unlock(&b->mu);
        b->flush(ctx, group, k);
        pthread_mutex_lock(&b->mu);
    }
    b->flushing--;
    free(group);
}

void batch_add(batch_t *b, void *ctx, void *item)
{
    pthread_mutex_lock(&b->mu);
    if (append(b, item))
        flush_all(b, ctx);
    pthread_mutex_unlock(&b->mu);
}

void batch_add_elsewhere(batch_t *b, void *item, void (*schedule)(void *arg), void *arg)
{
    pthread_mutex_lock(&b->mu);
    bool start = append(b, item);
    pthread_mutex_unlock(&b->mu);
    if (start)
        schedule(arg);
}

void batch_drain(batch_t *b, void *ctx)
{
    pthread_mutex_lock(&b->mu);
    flush_all(b, ctx);
    pthread_mutex_unlock(&b->mu);
}
