/* memories.h - the memory routes of shared/api/data.md §2.3, §2.6 (model/memory.h does the work):
 *   POST /workspaces/:id/memories           {content, scope LOCAL|TEAM|GLOBAL, namespace?} → 201 {id, scope, namespace}
 *   GET  /workspaces/:id/memories           ?scope=&q=&limit=&cursor= → [{id, content, scope, created_at}]
 *   GET  /workspaces/:id/v2/namespaces      → {readable: [{name, kind, label}], writable: […]}
 *   GET  /workspaces/:id/v2/memories        ?namespace=&q=&kind=&limit=&cursor= → {memories: […]}
 *   DELETE /workspaces/:id/v2/memories/:memoryId → {status: "deleted"}
 * colony is the store the reference's plugin was, so these answer as if MEMORY_PLUGIN_URL were set. */
#ifndef COLONY_API_MEMORIES_H
#define COLONY_API_MEMORIES_H

#include "http/request.h"

/* The group commit of POST /memories: at most `flushers` groups written at once (1 on SQLite, which has one
 * writer; the fast workers on PostgreSQL). fini after the server has stopped. */
void api_memories_init(int flushers);
void api_memories_fini(void);

void api_memories_commit(http_req *rq);
void api_memories_list(http_req *rq);
void api_memory_namespaces(http_req *rq);
void api_memories_search(http_req *rq);
void api_memory_forget(http_req *rq);

#endif
