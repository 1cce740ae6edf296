/* stream.c - see stream.h. Everything about one subscriber happens on the I/O thread that owns it, except the
 * credential registry (any thread, under its mutex) and the reads of a backlog page (a pool job that touches no
 * subscriber: its result is posted back to the loop). */
#include "http/stream.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "base/log.h"
#include "base/metrics.h"
#include "base/time.h"
#include "http/engine.h"
#include "http/feed.h"
#include "http/wsproto.h"

#include <h2o/http1.h>

enum {
    SUB_BATCH = 64,           /* events in one write */
    PAGE_EVENTS = 64,         /* events read per backlog page */
    WS_IN_MAX = 64 << 10,     /* payload of a frame a client may send us (we read and drop it) */
    KEY_BUCKETS = 1024,
    LINGER_MS = 10000,        /* a closing subscriber's last write and close handshake, at most */
};

static stream_config cfg = {
    .max_lag = 20000, .stall_ms = 60000, .max_queued = 64 << 10, .memory_max = 64 << 20, .max_streams = 20000,
    .max_per_key = 200, .keepalive_ms = 30000,
};

void stream_configure(const stream_config *c) { cfg = *c; }
const stream_config *stream_config_get(void) { return &cfg; }

/* ---- credentials: caps per key and in total, and revocation ------------------------------------------------ */

/* A subscriber's filter: immutable, reference-counted. Streams that follow the tree (an agent's: the workspaces
 * it may talk to) share their credential's filter, which the feed thread replaces when the tree changes; a fixed
 * filter (SSE of one workspace) is the stream's own. */
typedef struct {
    atomic_int refs;
    feed_filter f;
} filter_set;

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static filter_set *filter_new(bool all, const char *const *ids, size_t count)
{
    filter_set *fs = xcalloc(1, sizeof(*fs));
    atomic_init(&fs->refs, 1);
    fs->f.all = all;
    if (!all) {
        fs->f.nids = count < STREAM_MAX_FILTER_IDS ? count : STREAM_MAX_FILTER_IDS;
        fs->f.ids = xcalloc(fs->f.nids ? fs->f.nids : 1, sizeof(char *));
        for (size_t i = 0; i < fs->f.nids; i++)
            fs->f.ids[i] = xstrdup(ids[i]);
        qsort(fs->f.ids, fs->f.nids, sizeof(char *), cmp_str);
    }
    return fs;
}

static filter_set *filter_ref(filter_set *fs)
{
    atomic_fetch_add(&fs->refs, 1);
    return fs;
}

static void filter_unref(filter_set *fs)
{
    if (fs == NULL || atomic_fetch_sub(&fs->refs, 1) != 1)
        return;
    for (size_t i = 0; i < fs->f.nids; i++)
        free(fs->f.ids[i]);
    free(fs->f.ids);
    free(fs);
}

static bool filter_equal(const feed_filter *x, const feed_filter *y)
{
    if (x->all != y->all || x->nids != y->nids)
        return false;
    for (size_t i = 0; i < x->nids; i++)
        if (strcmp(x->ids[i], y->ids[i]) != 0)
            return false;
    return true;
}

/* A cap group: the streams of one workspace (whatever tokens it mints), or of one credential. */
typedef struct cap_group {
    struct cap_group *next;
    int count;
    char name[];
} cap_group;

typedef struct stream_key {
    struct stream_key *next;
    int count;
    atomic_bool revoked;
    atomic_uint gen;    /* bumped when `filter` is replaced */
    filter_set *filter; /* shared by streams that follow the tree (under keys_mu); NULL when none does */
    char *follow;       /* what the filter follows (stream_config.refilter), or NULL */
    cap_group *group;
    char key[];
} stream_key;

static pthread_mutex_t keys_mu = PTHREAD_MUTEX_INITIALIZER;
static stream_key *keys[KEY_BUCKETS];
static cap_group *groups[KEY_BUCKETS];
static int streams_open;

static unsigned key_hash(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % KEY_BUCKETS;
}

static stream_key *find_key(const char *key)
{
    stream_key *k = keys[key_hash(key)];
    while (k != NULL && strcmp(k->key, key) != 0)
        k = k->next;
    return k;
}

static cap_group *find_group(const char *name)
{
    cap_group *g = groups[key_hash(name)];
    while (g != NULL && strcmp(g->name, name) != 0)
        g = g->next;
    return g;
}

/* The credential's entry with one more stream, or NULL (and *why) when a cap refuses it. */
static stream_key *key_acquire(const stream_filter *f, const char **why)
{
    const char *key = f->key ? f->key : "-", *group = f->group ? f->group : key;
    pthread_mutex_lock(&keys_mu);
    stream_key *k = find_key(key);
    cap_group *g = find_group(group);
    if (streams_open >= cfg.max_streams) {
        *why = "too many event streams on this server";
        metric_inc(METRIC_STREAMS_REFUSED_TOTAL);
        pthread_mutex_unlock(&keys_mu);
        return NULL;
    }
    if (g != NULL && g->count >= cfg.max_per_key) {
        *why = "too many event streams for this credential";
        metric_inc(METRIC_STREAMS_REFUSED_KEY);
        pthread_mutex_unlock(&keys_mu);
        return NULL;
    }
    if (g == NULL) {
        size_t n = strlen(group);
        g = xcalloc(1, sizeof(*g) + n + 1);
        memcpy(g->name, group, n + 1);
        g->next = groups[key_hash(group)];
        groups[key_hash(group)] = g;
    }
    if (k == NULL) {
        size_t n = strlen(key);
        k = xcalloc(1, sizeof(*k) + n + 1);
        memcpy(k->key, key, n + 1);
        atomic_init(&k->revoked, false);
        atomic_init(&k->gen, 0);
        k->group = g;
        k->next = keys[key_hash(key)];
        keys[key_hash(key)] = k;
    }
    if (f->follow != NULL) { /* the newcomer's filter was just computed: the freshest there is */
        filter_unref(k->filter);
        k->filter = filter_new(f->all, f->workspace_ids, f->count);
        if (k->follow == NULL)
            k->follow = xstrdup(f->follow);
        atomic_fetch_add(&k->gen, 1);
    }
    k->count++;
    g->count++;
    streams_open++;
    pthread_mutex_unlock(&keys_mu);
    return k;
}

static void key_release(stream_key *k)
{
    pthread_mutex_lock(&keys_mu);
    streams_open--;
    cap_group *g = k->group;
    if (--g->count == 0) {
        cap_group **p = &groups[key_hash(g->name)];
        while (*p != g)
            p = &(*p)->next;
        *p = g->next;
        free(g);
    }
    if (--k->count == 0) {
        stream_key **p = &keys[key_hash(k->key)];
        while (*p != k)
            p = &(*p)->next;
        *p = k->next;
        filter_unref(k->filter);
        free(k->follow);
        free(k);
    }
    pthread_mutex_unlock(&keys_mu);
}

/* Workspaces that already asked for a refresh and are in no follower's filter (outside every streaming agent's
 * family): they do not ask again until the next timed refresh. Feed thread only. */
enum { UNKNOWN_MAX = 4096 };
static char *unknown[UNKNOWN_MAX];
static size_t nunknown;

static void forget_unknown(void)
{
    for (size_t i = 0; i < nunknown; i++)
        free(unknown[i]);
    nunknown = 0;
}

void stream_refilter_done(void) { forget_unknown(); }

bool stream_moves_filters(const char *type, const char *workspace_id)
{
    if (strcmp(type, "AGENT_MOVED") == 0 || strcmp(type, "WORKSPACE_REMOVED") == 0)
        return true;
    if (workspace_id == NULL)
        return false;
    bool followers = false, known = false;
    pthread_mutex_lock(&keys_mu);
    for (int b = 0; b < KEY_BUCKETS && !known; b++)
        for (stream_key *k = keys[b]; k != NULL && !known; k = k->next)
            if (k->follow != NULL && k->filter != NULL) {
                followers = true;
                known = feed_filter_admits(&k->filter->f, workspace_id);
            }
    pthread_mutex_unlock(&keys_mu);
    if (!followers || known)
        return false;
    for (size_t i = 0; i < nunknown; i++)
        if (strcmp(unknown[i], workspace_id) == 0)
            return false;
    if (nunknown == UNKNOWN_MAX)
        forget_unknown();
    unknown[nunknown++] = xstrdup(workspace_id); /* a new workspace, perhaps in some agent's family: look once */
    return true;
}

bool stream_refilter(void *ctx)
{
    if (cfg.refilter == NULL)
        return false;
    arena_t *a = arena_new();
    const char **names = NULL, **follows = NULL;
    size_t n = 0, cap = 0, fcap = 0;
    pthread_mutex_lock(&keys_mu);
    for (int b = 0; b < KEY_BUCKETS; b++)
        for (stream_key *k = keys[b]; k != NULL; k = k->next)
            if (k->follow != NULL && !atomic_load(&k->revoked)) {
                names = arena_grow(a, names, n, &cap, sizeof(*names));
                follows = arena_grow(a, follows, n, &fcap, sizeof(*follows));
                names[n] = arena_strdup(a, k->key);
                follows[n++] = arena_strdup(a, k->follow);
            }
    pthread_mutex_unlock(&keys_mu);
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        const char **ids;
        size_t count;
        cl_error e;
        if (cfg.refilter(ctx, a, follows[i], &ids, &count, &e) != CL_OK) {
            log_warn("cannot refresh an event subscriber's filter; keeping it", "error=\"%s\"", e.msg);
            break;
        }
        filter_set *fresh = filter_new(false, ids, count);
        pthread_mutex_lock(&keys_mu);
        stream_key *k = find_key(names[i]);
        if (k != NULL && k->filter != NULL && !filter_equal(&k->filter->f, &fresh->f)) {
            filter_unref(k->filter);
            k->filter = fresh;
            fresh = NULL;
            atomic_fetch_add(&k->gen, 1);
            any = true;
        }
        pthread_mutex_unlock(&keys_mu);
        filter_unref(fresh);
    }
    arena_free(a);
    return any;
}

bool stream_revalidate(void *ctx)
{
    enum { CHUNK = 256 };
    if (cfg.check == NULL)
        return false;
    arena_t *a = arena_new();
    const char **list = NULL;
    size_t n = 0, cap = 0;
    pthread_mutex_lock(&keys_mu);
    for (int b = 0; b < KEY_BUCKETS; b++)
        for (stream_key *k = keys[b]; k != NULL; k = k->next)
            if (!atomic_load(&k->revoked)) {
                list = arena_grow(a, list, n, &cap, sizeof(*list));
                list[n++] = arena_strdup(a, k->key);
            }
    pthread_mutex_unlock(&keys_mu);
    bool any = false;
    bool *valid = arena_calloc(a, n + 1, sizeof(bool));
    for (size_t i = 0; i < n; i += CHUNK) {
        cl_error e;
        size_t m = n - i < CHUNK ? n - i : CHUNK;
        if (cfg.check(ctx, a, list + i, m, valid + i, &e) != CL_OK) {
            log_warn("cannot check event subscribers' credentials; keeping them", "error=\"%s\"", e.msg);
            arena_free(a);
            return false;
        }
    }
    pthread_mutex_lock(&keys_mu);
    for (size_t i = 0; i < n; i++) {
        if (valid[i])
            continue;
        for (stream_key *k = keys[key_hash(list[i])]; k != NULL; k = k->next)
            if (strcmp(k->key, list[i]) == 0) {
                atomic_store(&k->revoked, true);
                any = true;
            }
    }
    pthread_mutex_unlock(&keys_mu);
    arena_free(a);
    return any;
}

/* ---- subscribers -------------------------------------------------------------------------------------------- */

typedef enum { SUB_WS, SUB_SSE } sub_kind;

typedef struct stream_sub {
    stream_link link; /* first: the worker's list is of stream_link */
    worker_t *w;
    sub_kind kind;
    int refs;         /* the list's, and one per page being read (loop only) */
    bool linked, dead;
    stream_key *key;
    filter_set *fs;   /* what this subscriber sees (the key's, when it follows the tree) */
    unsigned fs_gen;  /* the key's generation of `fs` */
    int64_t cursor;   /* the last event id taken into `pending` (or passed by the filter) */
    int64_t sent;     /* the last event id handed to the socket: a resume from here neither skips nor repeats */
    /* what waits to be written, oldest first (references), and what is being written */
    feed_event *pending[PAGE_EVENTS > SUB_BATCH ? PAGE_EVENTS : SUB_BATCH];
    size_t npending;
    int64_t pending_last;  /* cursor once `pending` is written */
    feed_event *inflight[SUB_BATCH];
    size_t ninflight;
    h2o_iovec_t iov[SUB_BATCH + 1];
    bool writing, paging;
    int64_t blocked_since; /* ms: a write in flight and more waiting */
    /* closing: a reason to send after what is in flight, then the end */
    bool closing, close_sent;
    uint16_t close_code;
    char close_reason[120];
    /* WebSocket */
    h2o_socket_t *sock;
    unsigned char ctrl[2 + WS_CONTROL_MAX]; /* a pong or our close, waiting for the write in flight */
    size_t ctrl_len;
    unsigned char ctrl_out[2 + WS_CONTROL_MAX];
    h2o_timeout_entry_t linger;
    /* SSE */
    engine_req *ereq;
    h2o_req_t *req;
    h2o_generator_t gen;
    /* a keep-alive stream: no events, its first records, then pings */
    bool quiet;
    char *first;
    h2o_timeout_entry_t ping;
} stream_sub;

#define SUB(l) ((stream_sub *)(l))

static stream_sub *new_sub(sub_kind kind, int64_t since, const stream_filter *f, stream_key *k)
{
    stream_sub *s = xcalloc(1, sizeof(*s));
    s->kind = kind;
    s->refs = 1;
    s->key = k;
    s->cursor = s->sent = since; /* -1: from the feed's head, settled on the loop */
    if (f->follow != NULL) {
        pthread_mutex_lock(&keys_mu);
        s->fs = filter_ref(k->filter);
        s->fs_gen = atomic_load(&k->gen);
        pthread_mutex_unlock(&keys_mu);
    } else {
        s->fs = filter_new(f->all, f->workspace_ids, f->count);
    }
    return s;
}

/* The credential's filter changed (the tree moved): take the new one. */
static void refresh_filter(stream_sub *s)
{
    pthread_mutex_lock(&keys_mu);
    if (s->key->filter != NULL && s->key->filter != s->fs) {
        filter_unref(s->fs);
        s->fs = filter_ref(s->key->filter);
    }
    s->fs_gen = atomic_load(&s->key->gen);
    pthread_mutex_unlock(&keys_mu);
}

static void release_events(feed_event **evs, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        feed_event_unref(evs[i]);
    *n = 0;
}

static void sub_unref(stream_sub *s)
{
    if (--s->refs > 0)
        return;
    release_events(s->pending, &s->npending);
    release_events(s->inflight, &s->ninflight);
    filter_unref(s->fs);
    key_release(s->key);
    free(s->first);
    free(s);
}

static void link_sub(worker_t *w, stream_sub *s)
{
    s->w = w;
    s->linked = true;
    s->link.next = w->subs.next;
    s->link.prev = &w->subs;
    w->subs.next->prev = &s->link;
    w->subs.next = &s->link;
    atomic_fetch_add(&w->nsubs, 1);
    metric_inc(s->kind == SUB_WS ? METRIC_WS_CONNECTIONS : METRIC_SSE_CONNECTIONS);
    if (s->cursor < 0)
        s->cursor = s->sent = feed_head(w->srv->feed);
}

/* The subscriber is gone for good (its connection closed): off the list; freed once no page is being read. */
static void kill_sub(stream_sub *s)
{
    if (s->dead)
        return;
    s->dead = true;
    if (s->linked) {
        s->link.prev->next = s->link.next;
        s->link.next->prev = s->link.prev;
        atomic_fetch_sub(&s->w->nsubs, 1);
        metric_add(s->kind == SUB_WS ? METRIC_WS_CONNECTIONS : METRIC_SSE_CONNECTIONS, -1);
    }
    if (h2o_timeout_is_linked(&s->linger))
        h2o_timeout_unlink(&s->linger);
    if (h2o_timeout_is_linked(&s->ping))
        h2o_timeout_unlink(&s->ping);
    sub_unref(s);
}

static void pump_one(stream_sub *s);

/* ---- writing ------------------------------------------------------------------------------------------------ */

static void on_written(stream_sub *s)
{
    s->writing = false;
    s->blocked_since = 0;
    release_events(s->inflight, &s->ninflight);
}

static void ws_close_now(stream_sub *s)
{
    h2o_socket_t *sock = s->sock;
    s->sock = NULL;
    kill_sub(s);
    if (sock != NULL)
        h2o_socket_close(sock);
}

static void on_linger_timeout(h2o_timeout_entry_t *entry)
{
    ws_close_now(H2O_STRUCT_FROM_MEMBER(stream_sub, linger, entry));
}

static void on_ws_write(h2o_socket_t *sock, const char *err)
{
    stream_sub *s = sock->data;
    on_written(s);
    if (err != NULL) {
        ws_close_now(s);
        return;
    }
    if (s->close_sent) { /* our close frame is out: the client answers with its own, or we stop waiting */
        shutdown(h2o_socket_get_fd(sock), SHUT_WR);
        if (!h2o_timeout_is_linked(&s->linger)) {
            s->linger.cb = on_linger_timeout;
            h2o_timeout_link(s->w->loop, &s->w->stream_linger, &s->linger);
        }
        return;
    }
    pump_one(s);
}

static void on_sse_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
    (void)req;
    stream_sub *s = H2O_STRUCT_FROM_MEMBER(stream_sub, gen, gen);
    on_written(s);
    pump_one(s);
}

static void on_sse_stop(h2o_generator_t *gen, h2o_req_t *req)
{
    (void)req;
    stream_sub *s = H2O_STRUCT_FROM_MEMBER(stream_sub, gen, gen);
    on_written(s);
    engine_finish(s->ereq, 200, 0); /* the client went away */
    s->req = NULL;
    kill_sub(s);
}

/* The end of an SSE stream: `last` (a comment naming the reason) copied into the request's pool, because after a
 * final send h2o calls neither proceed nor stop. */
static void sse_end(stream_sub *s, const char *last)
{
    h2o_req_t *req = s->req;
    s->req = NULL;
    engine_finish(s->ereq, 200, 0);
    h2o_iovec_t iov = h2o_strdup(&req->pool, last, strlen(last));
    kill_sub(s);
    h2o_send(req, &iov, iov.len ? 1 : 0, H2O_SEND_STATE_FINAL);
}

/* Send the close (a WebSocket close frame, or the end of the event stream) now; nothing is in flight. */
static void send_close(stream_sub *s)
{
    s->close_sent = true;
    if (s->kind == SUB_SSE) {
        char line[200];
        snprintf(line, sizeof(line), ": closed: %s\n\n", s->close_reason);
        sse_end(s, line);
        return;
    }
    size_t n = ws_close_frame(s->ctrl_out, s->close_code, s->close_reason);
    s->iov[0] = h2o_iovec_init(s->ctrl_out, n);
    s->writing = true;
    h2o_socket_write(s->sock, s->iov, 1, on_ws_write);
}

/* Close with a reason; what is already in flight goes first, so the reason is the last thing the client reads. */
static void close_sub(stream_sub *s, uint16_t code, const char *why, bool resume_hint)
{
    if (s->closing || s->dead)
        return;
    s->closing = true;
    s->close_code = code;
    if (resume_hint)
        snprintf(s->close_reason, sizeof(s->close_reason), "%s; resume with since=%lld", why, (long long)s->sent);
    else
        snprintf(s->close_reason, sizeof(s->close_reason), "%s", why);
    release_events(s->pending, &s->npending);
    if (s->kind == SUB_WS && s->sock == NULL)
        return; /* the 101 is still on its way: the close follows it (on_ws_upgraded pumps) */
    if (!s->writing)
        send_close(s);
    else if (s->kind == SUB_WS && !h2o_timeout_is_linked(&s->linger)) { /* a client that never reads again */
        s->linger.cb = on_linger_timeout;
        h2o_timeout_link(s->w->loop, &s->w->stream_linger, &s->linger);
    }
}

static void drop(stream_sub *s, const char *why)
{
    metric_inc(METRIC_SUBSCRIBERS_DROPPED);
    log_info("event subscriber dropped", "reason=\"%s\" sent=%lld", why, (long long)s->sent);
    close_sub(s, STREAM_WS_CLOSE_TOO_SLOW, why, true);
}

/* Write what is pending, up to max_queued bytes (at least one event). */
static void write_pending(stream_sub *s)
{
    size_t n = 0, bytes = 0, ctrl = 0;
    if (s->kind == SUB_WS && s->ctrl_len > 0) { /* a pong waiting for its turn */
        memcpy(s->ctrl_out, s->ctrl, s->ctrl_len);
        s->iov[ctrl++] = h2o_iovec_init(s->ctrl_out, s->ctrl_len);
        s->ctrl_len = 0;
    }
    while (n < s->npending && n < SUB_BATCH) {
        feed_event *e = s->pending[n];
        size_t sz = s->kind == SUB_WS ? e->ws_len : e->sse_len;
        if (n > 0 && bytes + sz > cfg.max_queued)
            break;
        s->iov[ctrl + n] = s->kind == SUB_WS ? h2o_iovec_init(e->ws, e->ws_len) : h2o_iovec_init(e->sse, e->sse_len);
        s->inflight[n] = e;
        bytes += sz;
        n++;
    }
    if (n + ctrl == 0)
        return;
    s->ninflight = n;
    if (n > 0) {
        s->sent = s->inflight[n - 1]->id;
        memmove(s->pending, s->pending + n, (s->npending - n) * sizeof(*s->pending));
        s->npending -= n;
        if (s->npending == 0)
            s->sent = s->pending_last; /* what the filter passed after them is behind the client too */
        metric_add(METRIC_EVENTS_DELIVERED, (int64_t)n);
    }
    s->writing = true;
    if (s->kind == SUB_WS)
        h2o_socket_write(s->sock, s->iov, n + ctrl, on_ws_write);
    else
        h2o_send(s->req, s->iov, n, H2O_SEND_STATE_IN_PROGRESS);
}

/* ---- backlog pages ------------------------------------------------------------------------------------------ */

typedef struct {
    pool_job job;
    stream_sub *s;
    worker_t *w;
    int64_t after, upto, last;
    feed_event *evs[PAGE_EVENTS];
    size_t n;
    bool failed;
} page;

static void page_arrived(void *arg)
{
    page *p = arg;
    stream_sub *s = p->s;
    s->paging = false;
    if (s->dead || s->closing || p->failed) {
        release_events(p->evs, &p->n);
    } else {
        for (size_t i = 0; i < p->n; i++) {
            if (feed_filter_admits(&s->fs->f, p->evs[i]->workspace_id))
                s->pending[s->npending++] = p->evs[i];
            else
                feed_event_unref(p->evs[i]);
        }
        s->cursor = s->pending_last = p->last;
        if (s->npending == 0 && !s->writing)
            s->sent = s->cursor;
    }
    bool retry = p->failed;
    free(p);
    if (!s->dead && !retry)
        pump_one(s);
    sub_unref(s);
}

static void page_read(void *ctx, pool_job *job)
{
    page *p = H2O_STRUCT_FROM_MEMBER(page, job, job);
    arena_t *a = arena_new();
    stream_event *evs = NULL;
    size_t n = 0;
    bool settling = false;
    cl_error e;
    if (cfg.read(ctx, a, p->after, p->upto, PAGE_EVENTS, &evs, &n, &settling, &e) != CL_OK) {
        log_warn("cannot read an event backlog page", "error=\"%s\"", e.msg);
        p->failed = true; /* the next wake asks again */
    }
    p->last = n == PAGE_EVENTS ? evs[n - 1].id : p->upto; /* a short page read everything up to upto */
    for (size_t i = 0; i < n; i++)
        p->evs[i] = feed_event_new(&evs[i]);
    p->n = n;
    arena_free(a);
    engine_post(p->w, page_arrived, p);
}

static void page_cancelled(pool_job *job)
{
    page *p = H2O_STRUCT_FROM_MEMBER(page, job, job);
    p->failed = true;
    engine_post(p->w, page_arrived, p);
}

static void request_page(stream_sub *s, int64_t upto)
{
    if (s->paging || feed_retained_bytes() >= (int64_t)cfg.memory_max)
        return; /* one page at a time; over the node's budget, wait until memory is handed back */
    page *p = xcalloc(1, sizeof(*p));
    p->s = s;
    p->w = s->w;
    p->after = s->cursor;
    p->upto = upto;
    p->job.fn = page_read;
    p->job.cancel = page_cancelled;
    s->paging = true;
    s->refs++;
    pool_submit(s->w->srv->pool, POOL_FAST, &p->job);
}

/* ---- the pump ----------------------------------------------------------------------------------------------- */

/* Move this subscriber forward as far as one write goes. */
static void pump_one(stream_sub *s)
{
    if (s->dead || s->w == NULL || (s->kind == SUB_WS && s->sock == NULL)) /* the 101 is still on its way */
        return;
    if (s->closing) {
        if (!s->writing && !s->close_sent)
            send_close(s);
        return;
    }
    if (atomic_load(&s->key->gen) != s->fs_gen)
        refresh_filter(s);
    if (atomic_load(&s->key->revoked)) {
        close_sub(s, STREAM_WS_CLOSE_REVOKED, "credential revoked or workspace removed", false);
        metric_inc(METRIC_STREAMS_REVOKED);
        return;
    }
    if (s->quiet)
        return; /* no events: its pings keep it going */
    feed_t *f = s->w->srv->feed;
    int64_t head = feed_head(f);
    if (s->writing) {
        if (head > s->sent) {
            int64_t now = time_mono_ms();
            if (s->blocked_since == 0)
                s->blocked_since = now;
            if (head - s->sent > cfg.max_lag)
                drop(s, "subscriber fell too far behind");
            else if (now - s->blocked_since > cfg.stall_ms)
                drop(s, "subscriber stopped reading");
        }
        return;
    }
    if (s->npending == 0 && s->cursor < head && !s->paging) {
        int64_t next, base;
        size_t n = 0;
        if (feed_collect(f, s->cursor, &s->fs->f, s->kind == SUB_SSE, SUB_BATCH, cfg.max_queued, s->pending, &n,
                         &next, &base)) {
            s->npending = n;
            s->cursor = s->pending_last = next;
            if (n == 0) {
                s->sent = next;
                if (next < head) /* the filter passed a long run: continue after other work */
                    stream_worker_wake(s->w);
            }
        } else {
            request_page(s, base);
        }
    }
    write_pending(s);
}

/* Over the node's event memory budget: subscribers that stopped reading while their write holds events the ring
 * has already let go of are cut off now (no close frame: they read nothing). Their memory comes back as the
 * socket closes. */
static void enforce_budget(worker_t *w)
{
    if (feed_retained_bytes() <= (int64_t)cfg.memory_max)
        return;
    int64_t base = feed_base(w->srv->feed);
    for (stream_link *l = w->subs.next; l != &w->subs; l = l->next) {
        stream_sub *s = SUB(l);
        if (s->dead || !s->writing || s->ninflight == 0 || s->inflight[0]->id > base)
            continue;
        h2o_socket_t *sock = s->kind == SUB_WS ? s->sock : s->ereq->conn ? s->ereq->conn->sock : NULL;
        if (sock == NULL)
            continue;
        metric_inc(METRIC_SUBSCRIBERS_DROPPED);
        log_info("event subscriber cut off: over the memory budget", "sent=%lld", (long long)s->sent);
        shutdown(h2o_socket_get_fd(sock), SHUT_RDWR); /* the write in flight fails; h2o closes and we free */
    }
}

static void pump(worker_t *w)
{
    enforce_budget(w);
    for (stream_link *l = w->subs.next, *next; l != &w->subs; l = next) {
        next = l->next;
        pump_one(SUB(l)); /* may unlink and free it */
    }
}

static void on_wake_message(h2o_multithread_receiver_t *rx, h2o_linklist_t *messages)
{
    worker_t *w = H2O_STRUCT_FROM_MEMBER(worker_t, stream_rx, rx);
    while (!h2o_linklist_is_empty(messages))
        h2o_linklist_unlink(messages->next);
    atomic_store(&w->stream_pending, 0);
    pump(w);
}

void stream_worker_wake(void *arg)
{
    worker_t *w = arg;
    if (atomic_load(&w->nsubs) == 0)
        return;
    if (atomic_exchange(&w->stream_pending, 1) == 0)
        h2o_multithread_send_message(&w->stream_rx, &w->stream_msg);
}

void stream_worker_init(worker_t *w)
{
    w->subs.next = w->subs.prev = &w->subs;
    h2o_multithread_register_receiver(w->ctx.queue, &w->stream_rx, on_wake_message);
    h2o_timeout_init(w->loop, &w->stream_linger, LINGER_MS);
    h2o_timeout_init(w->loop, &w->stream_ping, (uint64_t)cfg.keepalive_ms);
}

void stream_worker_stop(worker_t *w)
{
    for (stream_link *l = w->subs.next, *next; l != &w->subs; l = next) {
        next = l->next;
        close_sub(SUB(l), STREAM_WS_CLOSE_GOING_AWAY, "server shutting down", false);
    }
}

void stream_worker_dispose(worker_t *w)
{
    while (w->subs.next != &w->subs) { /* past the shutdown deadline: let go of what is left */
        stream_sub *s = SUB(w->subs.next);
        if (s->kind == SUB_WS) {
            ws_close_now(s);
        } else {
            h2o_req_t *req = s->req;
            kill_sub(s);
            (void)req;
        }
    }
    while (!h2o_linklist_is_empty(&w->stream_rx._messages))
        h2o_linklist_unlink(w->stream_rx._messages.next);
    h2o_multithread_unregister_receiver(w->ctx.queue, &w->stream_rx);
    h2o_timeout_dispose(w->loop, &w->stream_linger);
    h2o_timeout_dispose(w->loop, &w->stream_ping);
}

/* ---- WebSocket input ---------------------------------------------------------------------------------------- */

static void on_ws_read(h2o_socket_t *sock, const char *err)
{
    stream_sub *s = sock->data;
    if (err != NULL) { /* the client closed (or broke) the connection */
        ws_close_now(s);
        return;
    }
    for (;;) {
        ws_frame fr;
        size_t used = 0;
        ws_parse_result r = ws_parse((const unsigned char *)sock->input->bytes, sock->input->size, WS_IN_MAX, &fr,
                                     &used);
        if (r == WS_PARSE_MORE)
            return;
        if (r != WS_PARSE_FRAME) {
            close_sub(s, r == WS_PARSE_TOO_BIG ? WS_CLOSE_TOO_BIG : WS_CLOSE_PROTOCOL, "protocol error", false);
            h2o_socket_read_stop(sock);
            return;
        }
        h2o_buffer_consume(&sock->input, used); /* an empty input buffer goes back to h2o: idle costs nothing */
        if (fr.opcode == WS_OP_CLOSE) {
            if (s->close_sent) { /* the answer to ours */
                ws_close_now(s);
                return;
            }
            uint16_t code = fr.payload_len >= 2 ? (uint16_t)(fr.control[0] << 8 | fr.control[1]) : WS_CLOSE_NORMAL;
            close_sub(s, code, "", false);
            return;
        }
        if (fr.opcode == WS_OP_PING && !s->closing) {
            unsigned char h[WS_HEADER_MAX];
            size_t hl = ws_frame_header(h, WS_OP_PONG, fr.payload_len);
            memcpy(s->ctrl, h, hl);
            memcpy(s->ctrl + hl, fr.control, fr.payload_len);
            s->ctrl_len = hl + fr.payload_len;
            if (!s->writing)
                write_pending(s);
        }
        /* text, binary and pongs from clients carry nothing colony acts on */
    }
}

/* ---- subscribing -------------------------------------------------------------------------------------------- */

static bool header_has_token(const char *v, const char *token)
{
    size_t n = strlen(token);
    for (const char *p = v; p != NULL && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        if (strncasecmp(p, token, n) == 0 && (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
            return true;
        p = strchr(p, ',');
    }
    return false;
}

/* The credential's stream, or NULL after answering 429. */
static stream_key *admit(http_req *rq, const stream_filter *f)
{
    const char *why = NULL;
    stream_key *k = key_acquire(f, &why);
    if (k == NULL) {
        cl_error e;
        cl_fail(&e, CL_RATE_LIMITED, "%s", why);
        ((engine_req *)rq)->w->srv->cfg->reply_error(rq, &e);
    }
    return k;
}

static void on_ws_upgraded(void *data, h2o_socket_t *sock, size_t reqsize)
{
    stream_sub *s = data;
    if (sock == NULL) { /* the 101 could not be written */
        kill_sub(s);
        return;
    }
    s->sock = sock;
    sock->data = s;
    h2o_buffer_consume(&sock->input, reqsize);
    h2o_socket_read_start(sock, on_ws_read);
    if (sock->input->size > 0)
        on_ws_read(sock, NULL);
    else
        pump_one(s);
}

/* A stream that arrives on a loop that is already draining is refused: it would only hold the drain open. */
static bool refuse_if_stopping(http_req *rq, stream_sub *s)
{
    engine_req *e = (engine_req *)rq;
    if (!e->w->stopping)
        return false;
    s->dead = true;
    sub_unref(s);
    if (e->req != NULL) {
        cl_error err;
        cl_fail(&err, CL_UNAVAILABLE, "server is shutting down; retry");
        e->w->srv->cfg->reply_error(rq, &err);
    }
    return true;
}

static void ws_start(http_req *rq, void *arg)
{
    stream_sub *s = arg;
    engine_req *e = (engine_req *)rq;
    char accept[WS_ACCEPT_LEN + 1];
    if (refuse_if_stopping(rq, s))
        return;
    if (e->req == NULL || !ws_accept_key(http_header(rq, "sec-websocket-key"), accept)) {
        s->dead = true;
        sub_unref(s);
        if (e->req != NULL) { /* error bodies are the api's (server_config.reply_error) */
            cl_error bad;
            cl_fail(&bad, CL_INVALID, "bad Sec-WebSocket-Key");
            e->w->srv->cfg->reply_error(rq, &bad);
        }
        return;
    }
    link_sub(e->w, s);
    if (e->conn != NULL)
        e->conn->upgraded = true;
    h2o_req_t *req = e->req;
    req->res.status = 101;
    req->res.reason = "Switching Protocols";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_UPGRADE, NULL, H2O_STRLIT("websocket"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("sec-websocket-accept"), 0, NULL, accept,
                          WS_ACCEPT_LEN);
    atomic_store(&rq->responded, true);
    engine_finish(e, 101, 0);
    h2o_http1_upgrade(req, NULL, 0, on_ws_upgraded, s);
}

bool stream_ws_subscribe(http_req *rq, int64_t since, const stream_filter *f)
{
    const char *upgrade = http_header(rq, "upgrade"), *conn = http_header(rq, "connection");
    const char *key = http_header(rq, "sec-websocket-key"), *version = http_header(rq, "sec-websocket-version");
    if (strcmp(rq->method, "GET") != 0 || upgrade == NULL || strcasecmp(upgrade, "websocket") != 0 || conn == NULL ||
        !header_has_token(conn, "upgrade") || key == NULL || version == NULL || strcmp(version, "13") != 0)
        return false;
    stream_key *k = admit(rq, f);
    if (k != NULL)
        http_on_loop(rq, ws_start, new_sub(SUB_WS, since, f, k));
    return true;
}

static char PING[] = ": ping\n\n";

/* A keep-alive stream's ping; skipped while the previous write is still on its way. */
static void on_ping(h2o_timeout_entry_t *entry)
{
    stream_sub *s = H2O_STRUCT_FROM_MEMBER(stream_sub, ping, entry);
    if (s->dead || s->closing || s->req == NULL)
        return;
    h2o_timeout_link(s->w->loop, &s->w->stream_ping, &s->ping);
    if (s->writing)
        return;
    s->iov[0] = h2o_iovec_init(PING, sizeof(PING) - 1);
    s->writing = true;
    h2o_send(s->req, s->iov, 1, H2O_SEND_STATE_IN_PROGRESS);
}

static void sse_start(http_req *rq, void *arg)
{
    stream_sub *s = arg;
    engine_req *e = (engine_req *)rq;
    if (refuse_if_stopping(rq, s))
        return;
    if (e->req == NULL) {
        s->dead = true;
        sub_unref(s);
        return;
    }
    h2o_req_t *req = e->req;
    s->req = req;
    s->ereq = e;
    s->gen.proceed = on_sse_proceed;
    s->gen.stop = on_sse_stop;
    link_sub(e->w, s);
    atomic_store(&rq->responded, true);
    req->res.status = 200;
    req->res.reason = "OK";
    static const struct {
        const char *name, *value;
    } headers[] = {{"content-type", "text/event-stream"}, {"cache-control", "no-cache"}, {"x-accel-buffering", "no"}};
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++)
        h2o_add_header_by_str(&req->pool, &req->res.headers, headers[i].name, strlen(headers[i].name), 1, NULL,
                              headers[i].value, strlen(headers[i].value));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-request-id"), 1, NULL, rq->request_id,
                          strlen(rq->request_id));
    for (int i = 0; i < e->nheaders; i++) /* what the handler added (http_add_header) */
        h2o_add_header_by_str(&req->pool, &req->res.headers, e->headers[i].name, strlen(e->headers[i].name), 1, NULL,
                              e->headers[i].value, strlen(e->headers[i].value));
    h2o_start_response(req, &s->gen);
    if (s->quiet) {
        s->ping.cb = on_ping;
        h2o_timeout_link(s->w->loop, &s->w->stream_ping, &s->ping);
    }
    s->iov[0] = s->first ? h2o_iovec_init(s->first, strlen(s->first)) : h2o_iovec_init(PING, sizeof(PING) - 1);
    s->writing = true;
    h2o_send(req, s->iov, 1, H2O_SEND_STATE_IN_PROGRESS);
}

void stream_sse_subscribe(http_req *rq, int64_t since, const stream_filter *f)
{
    stream_key *k = admit(rq, f);
    if (k != NULL)
        http_on_loop(rq, sse_start, new_sub(SUB_SSE, since, f, k));
}

void stream_sse_keepalive(http_req *rq, const char *first, const stream_filter *f)
{
    stream_filter none = {.key = f->key, .group = f->group}; /* admits no event */
    stream_key *k = admit(rq, &none);
    if (k == NULL)
        return;
    stream_sub *s = new_sub(SUB_SSE, -1, &none, k);
    s->quiet = true;
    s->first = xstrdup(first);
    http_on_loop(rq, sse_start, s);
}
