/* diagnostics.h - what a platform without containers, a terminal, a tracing backend or a rescue store answers
 * (surface.md §4, §6, §13): traces, the terminal and its diagnosis, the rescue bundle, and the operators' view of
 * this node's background subsystems (GET /admin/liveness). */
#ifndef COLONY_API_DIAGNOSTICS_H
#define COLONY_API_DIAGNOSTICS_H

#include <stdbool.h>

#include "http/request.h"

/* Whether MOLECULE_ORG_ID is set (the rescue route's first question). Set once at start-up. */
void api_diagnostics_init(bool org_id_set);

void api_ws_traces(http_req *rq);
void api_ws_terminal(http_req *rq);
void api_ws_terminal_diagnose(http_req *rq);
void api_ws_rescue(http_req *rq);
void api_admin_liveness(http_req *rq);

#endif
