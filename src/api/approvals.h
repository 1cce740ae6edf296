/* approvals.h - approvals over HTTP (shared/api/inbox.md §2): a workspace asks, lists its own, withdraws; an
 * operator (the canvas banner) lists the pending ones and decides — never the asking workspace or credential
 * (README difference 11). */
#ifndef COLONY_API_APPROVALS_H
#define COLONY_API_APPROVALS_H

#include "http/request.h"

void api_approvals_create(http_req *rq);
void api_approvals_list(http_req *rq);
void api_approval_decide(http_req *rq);
void api_approval_withdraw(http_req *rq);
void api_approvals_pending(http_req *rq);

#endif
