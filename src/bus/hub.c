/* hub.c - see hub.h. A small fixed registry under a mutex (listeners change only at start-up and shutdown);
 * publishing takes the mutex briefly to walk it. */
#include "bus/hub.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "base/arena.h"
#include "base/metrics.h"

enum { HUB_MAX_LISTENERS = 512 };

struct hub_listener {
    void (*wake)(void *arg);
    void *arg;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static hub_listener *listeners[HUB_MAX_LISTENERS];
static int nlisteners;
static _Atomic int64_t latest;

hub_listener *hub_listen(void (*wake)(void *arg), void *arg)
{
    hub_listener *l = xcalloc(1, sizeof(*l));
    l->wake = wake;
    l->arg = arg;
    pthread_mutex_lock(&mu);
    if (nlisteners < HUB_MAX_LISTENERS)
        listeners[nlisteners++] = l;
    pthread_mutex_unlock(&mu);
    return l;
}

void hub_unlisten(hub_listener *l)
{
    pthread_mutex_lock(&mu);
    for (int i = 0; i < nlisteners; i++) {
        if (listeners[i] == l) {
            listeners[i] = listeners[--nlisteners];
            break;
        }
    }
    pthread_mutex_unlock(&mu);
    free(l);
}

static void raise_to(int64_t id)
{
    int64_t cur = atomic_load(&latest);
    while (id > cur && !atomic_compare_exchange_weak(&latest, &cur, id)) {
    }
}

int64_t hub_latest(void) { return atomic_load(&latest); }

void hub_publish(int64_t id)
{
    raise_to(id);
    metric_inc(METRIC_HUB_PUBLISHES);
    pthread_mutex_lock(&mu);
    for (int i = 0; i < nlisteners; i++)
        listeners[i]->wake(listeners[i]->arg);
    pthread_mutex_unlock(&mu);
}
