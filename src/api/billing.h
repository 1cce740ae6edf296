/* billing.h - GET/PUT /admin/workspaces/:id/llm-billing-mode (surface.md §5): the resolved LLM billing mode of a
 * workspace and its override. */
#ifndef COLONY_API_BILLING_H
#define COLONY_API_BILLING_H

#include "http/request.h"

void api_billing_mode_get(http_req *rq);
void api_billing_mode_put(http_req *rq);

#endif
