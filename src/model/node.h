/* node.h - this colony process as one node of a deployment: its row in `nodes`, and the database check behind
 * /health. */
#ifndef COLONY_MODEL_NODE_H
#define COLONY_MODEL_NODE_H

#include "base/error.h"
#include "store/db.h"

enum { NODE_ID_LEN = 36 };

/* Does the database answer? CL_UNAVAILABLE with a client-safe message when not. */
cl_err node_check_db(db_t *db, cl_error *err);
/* Record this process as a started node (fresh id into id_out, NUL-terminated). */
cl_err node_register(db_t *db, const char *version, char id_out[NODE_ID_LEN + 1], cl_error *err);
/* Mark a node stopped (graceful shutdown). */
cl_err node_stopped(db_t *db, const char *id, cl_error *err);

#endif
