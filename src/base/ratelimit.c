/* ratelimit.c - see ratelimit.h. Open addressing over a small probe window keeps a lookup to a few compares. */
#include "base/ratelimit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"

enum { PROBE = 8 };

typedef struct {
    uint8_t key[RATELIMIT_KEY_LEN];
    bool used;
    double tokens;  /* bucket: what is left */
    int64_t at;     /* when tokens was last brought up to date (bucket), or the key last seen (window) */
    int64_t window; /* window: when the key's window started */
    long taken;     /* window: requests taken in it */
} slot;

struct ratelimit {
    pthread_mutex_t lock;
    slot *slots;
    size_t mask;
    double burst, per_ms;
    long limit;        /* window: requests per window */
    int64_t window_ms; /* 0: a token bucket */
};

ratelimit *ratelimit_new(size_t slots, long per_minute)
{
    return ratelimit_new_window(slots, per_minute, 0);
}

ratelimit *ratelimit_new_window(size_t slots, long limit, int64_t window_ms)
{
    long per_minute = limit;
    size_t n = PROBE;
    while (n < slots)
        n <<= 1;
    ratelimit *r = xcalloc(1, sizeof(*r));
    pthread_mutex_init(&r->lock, NULL);
    r->slots = xcalloc(n, sizeof(slot));
    r->mask = n - 1;
    r->burst = (double)(per_minute < 1 ? 1 : per_minute);
    r->per_ms = r->burst / 60000.0;
    r->limit = per_minute < 1 ? 1 : per_minute;
    r->window_ms = window_ms;
    return r;
}

void ratelimit_free(ratelimit *r)
{
    if (r == NULL)
        return;
    pthread_mutex_destroy(&r->lock);
    free(r->slots);
    free(r);
}

static uint64_t hash(const uint8_t *k)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < RATELIMIT_KEY_LEN; i++)
        h = (h ^ k[i]) * 1099511628211ull;
    return h;
}

/* The key's slot: its own, else a free one, else the stalest of the window (reset for the new key). */
static slot *find(ratelimit *r, const uint8_t *key, int64_t now)
{
    size_t start = (size_t)hash(key);
    slot *free_slot = NULL, *stalest = NULL;
    for (size_t i = 0; i < PROBE; i++) {
        slot *s = &r->slots[(start + i) & r->mask];
        if (s->used && memcmp(s->key, key, RATELIMIT_KEY_LEN) == 0)
            return s;
        if (!s->used && free_slot == NULL)
            free_slot = s;
        if (s->used && (stalest == NULL || s->at < stalest->at))
            stalest = s;
    }
    slot *s = free_slot ? free_slot : stalest;
    memcpy(s->key, key, RATELIMIT_KEY_LEN);
    s->used = true;
    s->tokens = r->burst;
    s->at = now;
    s->window = now;
    s->taken = 0;
    return s;
}

bool ratelimit_take(ratelimit *r, const uint8_t key[RATELIMIT_KEY_LEN], int64_t now_ms, int64_t *retry_after_ms)
{
    pthread_mutex_lock(&r->lock);
    slot *s = find(r, key, now_ms);
    if (now_ms > s->at) {
        s->tokens += (double)(now_ms - s->at) * r->per_ms;
        if (s->tokens > r->burst)
            s->tokens = r->burst;
        s->at = now_ms;
    }
    bool ok = s->tokens >= 1.0;
    if (ok)
        s->tokens -= 1.0;
    else if (retry_after_ms != NULL)
        *retry_after_ms = (int64_t)((1.0 - s->tokens) / r->per_ms) + 1;
    pthread_mutex_unlock(&r->lock);
    return ok;
}

bool ratelimit_take_window(ratelimit *r, const uint8_t key[RATELIMIT_KEY_LEN], int64_t now_ms, long cost,
                           ratelimit_window *out)
{
    pthread_mutex_lock(&r->lock);
    slot *s = find(r, key, now_ms);
    if (now_ms >= s->window + r->window_ms || now_ms < s->window) { /* the window is over (or the clock went back) */
        s->window = now_ms;
        s->taken = 0;
    }
    s->at = now_ms;
    bool ok = cost >= 1 && cost <= r->limit - s->taken;
    if (ok)
        s->taken += cost;
    if (out != NULL)
        *out = (ratelimit_window){r->limit - s->taken, s->window + r->window_ms - now_ms};
    pthread_mutex_unlock(&r->lock);
    return ok;
}
