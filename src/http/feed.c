/* feed.c - see feed.h. The ring is a circular array of references under one mutex: the feed thread appends, I/O
 * threads collect (taking references, so an entry evicted while a write still sends it stays alive). */
#include "http/feed.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/thread.h"
#include "base/time.h"
#include "bus/hub.h"
#include "http/wsproto.h"

/* ---- events ------------------------------------------------------------------------------------------------- */

/* Bytes of every live feed_event (ring, pinned by writes, pages) are the gauge colony_event_memory_bytes. */
int64_t feed_retained_bytes(void) { return metric_get(METRIC_EVENT_MEMORY); }

static size_t size_of(const feed_event *e) { return e->ws_len + e->sse_len; }

feed_event *feed_event_new(const stream_event *ev)
{
    char ts[TIME_RFC3339_MAX];
    time_format_rfc3339(ev->created_at, ts);
    const char *wsid = ev->workspace_id;
    size_t plen = strlen(ev->payload), tlen = strlen(ev->type), wlen = wsid ? strlen(wsid) : 0;
    /* {"id":N,"event":"T","workspace_id":"W"|null,"timestamp":"TS","payload":P} */
    size_t json_max = 96 + 20 + tlen + wlen + strlen(ts) + plen;
    /* id: N\ndata: {"type":"T","timestamp":MS,"data":P}\n\n */
    size_t sse_max = 64 + 40 + tlen + plen;
    feed_event *e = xmalloc(sizeof(*e) + WS_HEADER_MAX + json_max + sse_max + wlen + 1);
    char *p = (char *)(e + 1);
    atomic_init(&e->refs, 1);
    e->id = ev->id;
    char *json = p + WS_HEADER_MAX;
    int jn = snprintf(json, json_max, "{\"id\":%lld,\"event\":\"%s\",\"workspace_id\":%s%s%s,\"timestamp\":\"%s\",\"payload\":",
                      (long long)ev->id, ev->type, wsid ? "\"" : "", wsid ? wsid : "null", wsid ? "\"" : "", ts);
    memcpy(json + jn, ev->payload, plen);
    json[jn + plen] = '}';
    size_t jlen = (size_t)jn + plen + 1;
    unsigned char h[WS_HEADER_MAX];
    size_t hl = ws_frame_header(h, WS_OP_TEXT, jlen);
    memcpy(json - hl, h, hl); /* the header sits right before the JSON */
    e->ws = json - hl;
    e->ws_len = hl + jlen;
    char *sse = json + json_max;
    int sn = snprintf(sse, sse_max, "id: %lld\ndata: {\"type\":\"%s\",\"timestamp\":%lld,\"data\":", (long long)ev->id,
                      ev->type, (long long)ev->created_at);
    memcpy(sse + sn, ev->payload, plen);
    memcpy(sse + sn + plen, "}\n\n", 3);
    e->sse = sse;
    e->sse_len = (size_t)sn + plen + 3;
    char *w = sse + sse_max;
    if (wsid != NULL)
        memcpy(w, wsid, wlen + 1);
    e->workspace_id = wsid ? w : NULL;
    metric_add(METRIC_EVENT_MEMORY, (int64_t)size_of(e));
    return e;
}

void feed_event_ref(feed_event *e) { atomic_fetch_add(&e->refs, 1); }

void feed_event_unref(feed_event *e)
{
    if (e != NULL && atomic_fetch_sub(&e->refs, 1) == 1) {
        metric_add(METRIC_EVENT_MEMORY, -(int64_t)size_of(e));
        free(e);
    }
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

bool feed_filter_admits(const feed_filter *f, const char *workspace_id)
{
    if (f->all)
        return true;
    if (workspace_id == NULL)
        return false;
    return bsearch(&workspace_id, f->ids, f->nids, sizeof(char *), cmp_str) != NULL;
}

/* ---- the ring ----------------------------------------------------------------------------------------------- */

struct feed {
    pthread_mutex_t mu;
    feed_event *ring[FEED_RING_EVENTS];
    size_t start, count, bytes;
    int64_t base;          /* the ring holds (base, head] */
    _Atomic int64_t head;  /* highest final id read */
    /* the thread */
    feed_config cfg;
    pthread_t tid;
    bool running;
    pthread_cond_t cv;
    bool stop, kicked, ready;
    cl_error start_err;
    hub_listener *hub;
};

feed_t *feed_new(int64_t head)
{
    feed_t *f = xcalloc(1, sizeof(*f));
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    f->base = head;
    atomic_init(&f->head, head);
    return f;
}

void feed_free(feed_t *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->count; i++)
        feed_event_unref(f->ring[(f->start + i) % FEED_RING_EVENTS]);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
    free(f);
}

int64_t feed_head(feed_t *f) { return atomic_load(&f->head); }

int64_t feed_base(feed_t *f)
{
    pthread_mutex_lock(&f->mu);
    int64_t b = f->base;
    pthread_mutex_unlock(&f->mu);
    return b;
}

void feed_append(feed_t *f, feed_event *e)
{
    size_t cap = stream_config_get()->memory_max / 2; /* the ring never takes the whole budget */
    if (cap > FEED_RING_BYTES)
        cap = FEED_RING_BYTES;
    pthread_mutex_lock(&f->mu);
    while (f->count > 0 && (f->count == FEED_RING_EVENTS || f->bytes + size_of(e) > cap)) {
        feed_event *old = f->ring[f->start];
        f->start = (f->start + 1) % FEED_RING_EVENTS;
        f->count--;
        f->bytes -= size_of(old);
        f->base = old->id;
        feed_event_unref(old);
    }
    f->ring[(f->start + f->count) % FEED_RING_EVENTS] = e;
    f->count++;
    f->bytes += size_of(e);
    atomic_store(&f->head, e->id);
    pthread_mutex_unlock(&f->mu);
}

/* Position of the first entry with id > after (count when none); entries are in id order. */
static size_t first_after(feed_t *f, int64_t after)
{
    size_t lo = 0, hi = f->count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (f->ring[(f->start + mid) % FEED_RING_EVENTS]->id <= after)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

bool feed_collect(feed_t *f, int64_t after, const feed_filter *flt, bool sse, size_t max_events, size_t max_bytes,
                  feed_event **out, size_t *n, int64_t *next, int64_t *base)
{
    *n = 0;
    *next = after;
    pthread_mutex_lock(&f->mu);
    *base = f->base;
    if (after < f->base) {
        pthread_mutex_unlock(&f->mu);
        return false;
    }
    size_t bytes = 0, scanned = 0;
    for (size_t i = first_after(f, after); i < f->count && *n < max_events && scanned < FEED_SCAN_MAX;
         i++, scanned++) {
        feed_event *e = f->ring[(f->start + i) % FEED_RING_EVENTS];
        if (feed_filter_admits(flt, e->workspace_id)) {
            size_t sz = sse ? e->sse_len : e->ws_len;
            if (*n > 0 && bytes + sz > max_bytes)
                break;
            feed_event_ref(e);
            out[(*n)++] = e;
            bytes += sz;
        }
        *next = e->id;
    }
    pthread_mutex_unlock(&f->mu);
    return true;
}

/* ---- the thread --------------------------------------------------------------------------------------------- */

static void kick(void *arg)
{
    feed_t *f = arg;
    pthread_mutex_lock(&f->mu);
    f->kicked = true;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

/* Read everything committed past the head, up to the horizon; true when the horizon held something back. */
static bool read_new(feed_t *f, void *ctx, bool *appended)
{
    const stream_config *sc = stream_config_get();
    bool settling = false;
    for (int round = 0; round < 64; round++) { /* bounded: a steady flood still lets the thread revalidate */
        arena_t *a = arena_new();
        stream_event *evs = NULL;
        size_t n = 0;
        cl_error e;
        cl_err rc = sc->read(ctx, a, feed_head(f), -1, FEED_READ_BATCH, &evs, &n, &settling, &e);
        if (rc != CL_OK) {
            log_warn("event feed cannot read the log; retrying", "error=\"%s\"", e.msg);
            settling = true;
            n = 0;
        }
        bool moved = false;
        for (size_t i = 0; i < n; i++)
            moved |= stream_moves_filters(evs[i].type, evs[i].workspace_id);
        if (moved) /* before these events are written anywhere */
            stream_refilter(ctx);
        for (size_t i = 0; i < n; i++)
            feed_append(f, feed_event_new(&evs[i]));
        *appended |= n > 0;
        arena_free(a);
        if (f->cfg.ctx_reset)
            f->cfg.ctx_reset(ctx);
        if (n < FEED_READ_BATCH)
            break;
    }
    return settling;
}

static void *feed_main(void *arg)
{
    feed_t *f = arg;
    const stream_config *sc = stream_config_get();
    void *ctx = f->cfg.ctx_open(f->cfg.ctx_arg, &f->start_err);
    int64_t start = 0;
    if (ctx != NULL) {
        arena_t *a = arena_new();
        if (sc->start(ctx, a, &start, &f->start_err) != CL_OK) {
            f->cfg.ctx_close(ctx);
            ctx = NULL;
        }
        arena_free(a);
    }
    pthread_mutex_lock(&f->mu);
    f->base = start;
    atomic_store(&f->head, start);
    f->ready = true;
    f->running = ctx != NULL;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    if (ctx == NULL)
        return NULL;
    int64_t next_check = time_mono_ms() + FEED_REVALIDATE_MS;
    unsigned rounds = 0;
    bool settling = true; /* read once at start: what committed while we started */
    for (;;) {
        pthread_mutex_lock(&f->mu);
        int64_t now = time_mono_ms();
        int64_t until = settling ? now + FEED_SETTLE_MS : next_check;
        while (!f->stop && !f->kicked && now < until) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            int64_t wait_ms = until - now;
            ts.tv_sec += wait_ms / 1000;
            ts.tv_nsec += (wait_ms % 1000) * 1000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&f->cv, &f->mu, &ts);
            now = time_mono_ms();
        }
        bool stop = f->stop;
        f->kicked = false;
        pthread_mutex_unlock(&f->mu);
        if (stop)
            break;
        bool appended = false;
        settling = read_new(f, ctx, &appended);
        if (appended)
            f->cfg.wake(f->cfg.wake_arg, -1);
        if (time_mono_ms() >= next_check) {
            bool changed = stream_revalidate(ctx);
            if (++rounds % FEED_REFILTER_ROUNDS == 0) {
                changed |= stream_refilter(ctx);
                stream_refilter_done();
            }
            if (changed)
                f->cfg.wake(f->cfg.wake_arg, -1);
            if (f->cfg.ctx_reset)
                f->cfg.ctx_reset(ctx);
            next_check = time_mono_ms() + FEED_REVALIDATE_MS;
        }
    }
    f->cfg.ctx_close(ctx);
    return NULL;
}

feed_t *feed_start(const feed_config *c, cl_error *err)
{
    feed_t *f = feed_new(0);
    f->cfg = *c;
    if (thread_start_quiet(&f->tid, feed_main, f) != 0) {
        cl_fail(err, CL_INTERNAL, "cannot start the event feed thread");
        feed_free(f);
        return NULL;
    }
    pthread_mutex_lock(&f->mu);
    while (!f->ready)
        pthread_cond_wait(&f->cv, &f->mu);
    bool ok = f->running;
    pthread_mutex_unlock(&f->mu);
    if (!ok) {
        pthread_join(f->tid, NULL);
        *err = f->start_err;
        feed_free(f);
        return NULL;
    }
    f->hub = hub_listen(kick, f);
    return f;
}

void feed_stop(feed_t *f)
{
    if (f == NULL)
        return;
    hub_unlisten(f->hub);
    pthread_mutex_lock(&f->mu);
    f->stop = true;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->tid, NULL);
    feed_free(f);
}
