/* thread.h - background threads that never take the process's stop signals (SIGINT/SIGTERM belong to the
 * server's sigwait; a thread that took one would kill the process instead of draining it). */
#ifndef COLONY_BASE_THREAD_H
#define COLONY_BASE_THREAD_H

#include <pthread.h>

/* pthread_create with every signal blocked in the new thread; returns pthread_create's result. */
int thread_start_quiet(pthread_t *tid, void *(*fn)(void *), void *arg);

#endif
