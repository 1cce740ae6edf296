/* memadmin.h - the operators' memory routes (shared/api/data.md §2.11; model/memadmin.h):
 *   GET  /admin/memories/export ?limit=&cursor= → [{id, content, scope, namespace, created_at, workspace_name, kind,
 *                                                  source, pin, expires_at?}] (every memory, pages of 10,000)
 *   POST /admin/memories/import [{content, scope, namespace?, created_at?, workspace_name?, id?, kind?, source?,
 *                                 pin?, expires_at?}] → {imported, skipped, errors, total} */
#ifndef COLONY_API_MEMADMIN_H
#define COLONY_API_MEMADMIN_H

#include "http/request.h"

void api_memories_export(http_req *rq);
void api_memories_import(http_req *rq);

#endif
