/* delegations.h - the delegation endpoints (runtime.md §5.1): a workspace hands a task to another, records one it
 * dispatched itself, reports an outcome; operators list and count them. */
#ifndef COLONY_API_DELEGATIONS_H
#define COLONY_API_DELEGATIONS_H

#include "http/request.h"

void api_delegate(http_req *rq);
void api_delegations_list(http_req *rq);
void api_delegation_record(http_req *rq);
void api_delegation_update(http_req *rq);
void api_admin_delegations(http_req *rq);
void api_admin_delegation_stats(http_req *rq);

#endif
