/* health.h - the database prober behind /health: a thread with its own connection checks the database every
 * second (node_check_db), so that /health answers at once from the last outcome (node_db_healthy) even while the
 * database hangs, instead of hanging with it. On SQLite it also checkpoints the write-ahead log each second
 * (db_checkpoint), so that no request's commit pays for it. */
#ifndef COLONY_JOBS_HEALTH_H
#define COLONY_JOBS_HEALTH_H

#include <stdint.h>

#include "base/error.h"

enum { HEALTH_PROBE_MS = 1000 };

typedef struct health health_t;

/* Check once now (so /health is right from the first request), then every HEALTH_PROBE_MS on a thread. */
health_t *health_start(const char *db_url, cl_error *err);
void health_stop(health_t *h);

#endif
