/* batch.h - group commit for work that arrives on many threads: the first thread to add an item when no flush is
 * running becomes the flusher and writes everything that accumulated, round after round, until nothing is left;
 * the others only add and go back to their work. A bounded number of flushes at a time, so a slow commit makes the
 * next group bigger instead of making writers queue on a lock. */
#ifndef COLONY_BASE_BATCH_H
#define COLONY_BASE_BATCH_H

#include <stddef.h>

typedef struct batch batch_t;

/* flush(ctx, items, n) writes one group (n >= 1, at most max_items) with the flushing thread's context. */
typedef void (*batch_flush_fn)(void *ctx, void **items, size_t n);

/* At most `flushers` flushes run at once (1: a single writer, as SQLite has; more where writes run in parallel and
 * each costs round trips, as on PostgreSQL). */
batch_t *batch_new(size_t max_items, batch_flush_fn flush, int flushers);
/* Every item added must have been flushed (no thread inside batch_add). */
void batch_free(batch_t *b);
/* Queue `item`; when no flush is running, flush with `ctx` until the queue is empty. */
void batch_add(batch_t *b, void *ctx, void *item);
/* Queue `item` from a thread without a context: when fewer flushes run than allowed, schedule(arg) is called
 * (outside the lock) and must arrange for batch_drain(b, ctx) to run on a thread with one. */
void batch_add_elsewhere(batch_t *b, void *item, void (*schedule)(void *arg), void *arg);
/* Flush with `ctx` until the queue is empty (the scheduled half of batch_add_elsewhere). */
void batch_drain(batch_t *b, void *ctx);

#endif
