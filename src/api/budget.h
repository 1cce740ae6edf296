/* budget.h - budgets, spend and token usage over HTTP (surface.md §1): GET/PATCH /workspaces/:id/budget and
 * GET /workspaces/:id/metrics (today's token usage). The A2A 402 is admission's (api/a2a.c, model/budget.h). */
#ifndef COLONY_API_BUDGET_H
#define COLONY_API_BUDGET_H

#include "http/request.h"

void api_budget_get(http_req *rq);
void api_budget_patch(http_req *rq);
void api_ws_usage_metrics(http_req *rq);

#endif
