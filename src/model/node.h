/* node.h - this colony process as one node of a deployment: its row in `nodes`, and the database check behind
 * /health. */
#ifndef COLONY_MODEL_NODE_H
#define COLONY_MODEL_NODE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "store/db.h"

enum { NODE_ID_LEN = 36 };

/* Does the database answer? CL_UNAVAILABLE with a client-safe message when not. The outcome is remembered for
 * node_db_healthy. */
cl_err node_check_db(db_t *db, cl_error *err);
/* Did the last check succeed, within the last `max_age_ms`? Any thread, never blocks: /health answers from this
 * while a prober thread (jobs/health.c) checks every second, so a hung database cannot hang /health. */
bool node_db_healthy(int64_t max_age_ms);
/* Record a failed check that could not even reach the database (no connection). */
void node_note_db_down(void);
/* Record this process as a started node (fresh id into id_out, NUL-terminated). */
cl_err node_register(db_t *db, const char *version, char id_out[NODE_ID_LEN + 1], cl_error *err);
/* Mark a node stopped (graceful shutdown). */
cl_err node_stopped(db_t *db, const char *id, cl_error *err);

#endif
