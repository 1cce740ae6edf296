/* kvmemory.h - a workspace's key/value memory (shared/api/data.md §2.4; model/kvmem.h):
 *   GET    /workspaces/:id/memory         → [{key, value, version, expires_at?, updated_at}] (by key, pages)
 *   GET    /workspaces/:id/memory/:key    → {key, value, version, expires_at?, updated_at} or 404 "key not found"
 *   POST   /workspaces/:id/memory         {key, value, ttl_seconds?, if_match_version?} → {status: "ok", key, version}
 *   DELETE /workspaces/:id/memory/:key    → {status: "deleted"} */
#ifndef COLONY_API_KVMEMORY_H
#define COLONY_API_KVMEMORY_H

#include "http/request.h"

void api_kv_list(http_req *rq);
void api_kv_get(http_req *rq);
void api_kv_set(http_req *rq);
void api_kv_delete(http_req *rq);

#endif
