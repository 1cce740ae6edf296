/* feed.h - private to http/: this node's in-memory tail of the durable event log.
 *
 * One thread per node reads newly committed events once (with its own context: the database connection the
 * application opens for it), renders each event once into its WebSocket frame and its server-sent-event record,
 * appends them to a bounded ring, and wakes the I/O threads, which write ring entries to their subscribers by
 * reference (no copy per subscriber). A subscriber whose cursor is older than the ring pages through the log
 * instead (stream.c), up to the ring's base, so nothing is skipped and nothing is read twice.
 *
 * The feed advances only to the source's safe horizon (see stream_read_fn): every id at or below its head is
 * final, committed or never to appear. */
#ifndef COLONY_HTTP_FEED_H
#define COLONY_HTTP_FEED_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "http/stream.h"

enum {
    FEED_RING_EVENTS = 8192,       /* entries the ring keeps at most */
    FEED_RING_BYTES = 16 << 20,    /* and bytes */
    FEED_READ_BATCH = 500,         /* events read per query */
    FEED_SETTLE_MS = 50,           /* re-read this often while the horizon waits on older transactions */
    FEED_REVALIDATE_MS = 1000,     /* how often live subscribers' credentials are checked again */
    FEED_REFILTER_ROUNDS = 5,      /* and, every this many checks, the filters that follow the tree */
    FEED_SCAN_MAX = 4096,          /* ring entries one collect looks at (a narrow filter skips many) */
};

/* One event, rendered for both kinds of subscriber; shared by reference. */
typedef struct feed_event {
    atomic_int refs;
    int64_t id;
    const char *workspace_id; /* NULL for an event of no workspace */
    const char *ws;           /* the whole WebSocket text frame (header included) */
    size_t ws_len;
    const char *sse; /* "id: N\ndata: {...}\n\n" */
    size_t sse_len;
} feed_event;

/* Render ev into one allocation (refs 1). */
feed_event *feed_event_new(const stream_event *ev);
void feed_event_ref(feed_event *e);
void feed_event_unref(feed_event *e);

typedef struct feed feed_t;

/* Which events a subscriber sees: all, or those of a sorted list of workspace ids. */
typedef struct {
    bool all;
    char **ids;
    size_t nids;
} feed_filter;

bool feed_filter_admits(const feed_filter *f, const char *workspace_id);

/* A ring without a thread (unit tests; the feed thread owns one). */
feed_t *feed_new(int64_t head);
void feed_free(feed_t *f);
/* Append (takes the reference); ids must grow. Evicts past FEED_RING_EVENTS or FEED_RING_BYTES. */
void feed_append(feed_t *f, feed_event *e);
/* The highest final id the feed has read (its cursor), and the id the ring starts after. */
int64_t feed_head(feed_t *f);
int64_t feed_base(feed_t *f);
/* Bytes held by every rendered event alive now (in the ring, pinned by a write, in a backlog page). */
int64_t feed_retained_bytes(void);

/* Events with id > after that `flt` admits, oldest first, at most max_events and (past the first) max_bytes of
 * the chosen rendering, references taken (the caller unrefs). *next receives the cursor once they are sent:
 * events the filter skipped count as passed. False when `after` is older than the ring: the caller must read the
 * log itself, up to *base (the ring covers (base, head]). */
bool feed_collect(feed_t *f, int64_t after, const feed_filter *flt, bool sse, size_t max_events, size_t max_bytes,
                  feed_event **out, size_t *n, int64_t *next, int64_t *base);

/* The feed thread: reads with `ctx_open`'s context through stream_read_fn, wakes `wake(arg)` per worker after
 * appending, calls stream_revalidate every FEED_REVALIDATE_MS. Blocks until the first read settled the start. */
typedef struct {
    void *(*ctx_open)(void *arg, cl_error *err);
    void (*ctx_close)(void *ctx);
    void (*ctx_reset)(void *ctx);
    void *ctx_arg;
    void (*wake)(void *arg, int index);
    void *wake_arg;
} feed_config;
feed_t *feed_start(const feed_config *c, cl_error *err);
void feed_stop(feed_t *f);

/* stream.c: check the credentials of this node's live subscribers again, with the feed thread's context; true when
 * some lost their validity (the I/O threads then close their streams). */
bool stream_revalidate(void *ctx);
/* stream.c: recompute the filters of streams that follow the tree; true when one changed. */
bool stream_refilter(void *ctx);
/* stream.c: may this event change what followers see (the tree moved, or a workspace no follower knows appeared)?
 * Then the feed refilters before it wakes the loops, so the event's neighbours reach the agents it concerns. */
bool stream_moves_filters(const char *type, const char *workspace_id);
/* stream.c: a timed refresh ran; workspaces that asked before may ask again. */
void stream_refilter_done(void);

#endif
