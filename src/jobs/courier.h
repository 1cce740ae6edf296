/* courier.h - the thread that carries chat channels' messages (model/channel.h): its own database connection and
 * event loop, on every node. Each turn (at least every `interval_ms`, at once when this node accepted a webhook or
 * queued a send) it relays incoming messages to their workspaces (through `relay`: the A2A path lives in the api
 * layer, wired by main.c), looks for the replies of agents that were busy, and posts outgoing messages through each
 * provider's API with the client's brief calls - one send at a time per destination, at the provider's pace,
 * retried with back-off or the provider's Retry-After. Claims are guarded UPDATEs, so any number of nodes share the
 * work; what a dead node held is taken back after a lease. */
#ifndef COLONY_JOBS_COURIER_H
#define COLONY_JOBS_COURIER_H

#include <stdint.h>

#include "base/error.h"
#include "http/client.h"
#include "model/channel.h"
#include "store/db.h"

typedef struct courier courier_t;

/* Relay `r` (borrowed: copy what outlives the call) with this thread's connection and client, settle it
 * (chan_inbound_settle), then call finished(arg) exactly once - before returning or later from the client's
 * callbacks. */
typedef void (*courier_relay_fn)(db_t *db, http_client *cl, const chan_inbound_row *r, void (*finished)(void *),
                                 void *arg);

typedef struct {
    const char *db_url;
    int64_t interval_ms;     /* the longest sleep between looks */
    int64_t send_timeout_ms; /* a send silent this long is retried (the client's brief idle timeout) */
    int64_t max_inflight;    /* relays, and apart sends, of this node in flight; past it, due rows wait */
    courier_relay_fn relay;
} courier_config;

courier_t *courier_start(const courier_config *cfg, cl_error *err);
/* Stop: calls in flight are cancelled (a send is retried later by whichever node reaps it). NULL is a no-op. */
void courier_stop(courier_t *c);

#endif
