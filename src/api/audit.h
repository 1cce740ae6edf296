/* audit.h - the audit ledger over HTTP (surface.md §3, workspaces.md §7): GET /workspaces/:id/audit (filters, pages,
 * and whether the ledger's HMAC chains are intact) and POST /workspaces/:id/audit, where runtimes append entries
 * (the reference's runtimes write to its database directly; colony's do not reach the database). */
#ifndef COLONY_API_AUDIT_H
#define COLONY_API_AUDIT_H

#include "http/request.h"

void api_audit_list(http_req *rq);
void api_audit_append(http_req *rq);

#endif
