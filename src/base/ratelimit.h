/* ratelimit.h - a bounded per-key token bucket (e.g. per client address): each key may take `per_minute` tokens in
 * a burst, refilled continuously at that rate. The table has a fixed number of slots, so no set of keys can grow
 * it: a key that finds its neighbourhood full evicts the least recently seen entry there (which then starts over
 * with a full bucket - a forgetful limit, never an unbounded one). Thread-safe. */
#ifndef COLONY_BASE_RATELIMIT_H
#define COLONY_BASE_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { RATELIMIT_KEY_LEN = 17 };

typedef struct ratelimit ratelimit;

/* `slots` is rounded up to a power of two; per_minute >= 1. Caller frees with ratelimit_free. */
ratelimit *ratelimit_new(size_t slots, long per_minute);
void ratelimit_free(ratelimit *r);

/* Take one token for `key` at monotonic time now_ms. False when the bucket is empty; *retry_after_ms (may be NULL)
 * then says how long until the next token. */
bool ratelimit_take(ratelimit *r, const uint8_t key[RATELIMIT_KEY_LEN], int64_t now_ms, int64_t *retry_after_ms);

#endif
