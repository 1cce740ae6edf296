/* uploads.h - chat uploads and the staging area of poll-mode workspaces (data.md §1). */
#ifndef COLONY_API_UPLOADS_H
#define COLONY_API_UPLOADS_H

#include <stddef.h>

#include "http/request.h"

/* The per-file cap (an operator's choice) and the request body limit the server enforces; the effective caps are
 * the smaller of the two. A chat download holds up to the per-file cap until its caller has read it: at most
 * `max_relays` run at once. */
void api_uploads_init(size_t max_file, size_t max_body, int max_relays);

void api_upload_limits(http_req *rq);
void api_chat_upload(http_req *rq);
void api_pending_upload_content(http_req *rq);
void api_pending_upload_ack(http_req *rq);
/* GET /workspaces/:id/chat/download?path=: a file of a push-mode workspace, fetched from the agent and relayed. */
void api_chat_download(http_req *rq);

#endif
