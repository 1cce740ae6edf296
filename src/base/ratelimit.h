/* ratelimit.h - bounded per-key limits (e.g. per client address, per token): a token bucket (each key may take
 * `per_minute` tokens in a burst, refilled continuously at that rate), or a fixed window (each key may make `limit`
 * requests in a window that starts at its first request). The table has a fixed number of slots, so no set of keys
 * can grow it: a key that finds its neighbourhood full evicts the least recently seen entry there (which then
 * starts over with a full bucket or a new window - a forgetful limit, never an unbounded one). Thread-safe. */
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

/* A fixed-window limiter: `limit` (>= 1) requests per `window_ms`, counted from each key's first request. */
ratelimit *ratelimit_new_window(size_t slots, long limit, int64_t window_ms);
/* Where a key stands in its window: requests left, and how long until the window ends. */
typedef struct {
    long remaining;
    int64_t reset_ms;
} ratelimit_window;
/* Take `cost` (>= 1) requests of `key`'s window at monotonic time now_ms: all or none. False (nothing taken) when
 * fewer remain. *out (may be NULL) says where the key stands afterwards. */
bool ratelimit_take_window(ratelimit *r, const uint8_t key[RATELIMIT_KEY_LEN], int64_t now_ms, long cost,
                           ratelimit_window *out);

#endif
