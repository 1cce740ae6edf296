/* hub.h - cross-thread event fan-out. Events live in the `events` table; the hub carries only the newest
 * committed event id and wakes every registered listener (the node's event feed, http/feed.c) without blocking the
 * publisher. Listeners then read the rows themselves. */
#ifndef COLONY_BUS_HUB_H
#define COLONY_BUS_HUB_H

#include <stdint.h>

typedef struct hub_listener hub_listener;

/* A listener: wake(arg) is called from the publishing thread and must only schedule work (it must not block). */
hub_listener *hub_listen(void (*wake)(void *arg), void *arg);
void hub_unlisten(hub_listener *l);

/* An event with this id (or lower) is committed: raise the high-water mark and wake every listener. */
void hub_publish(int64_t id);
/* The highest id published so far in this process (0 before any). */
int64_t hub_latest(void);

#endif
