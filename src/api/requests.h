/* requests.h - the requests inbox over HTTP (shared/api/inbox.md §5). The same handlers serve two surfaces: the
 * workspace's own (/workspaces/:id/requests…), where the caller acts as agent :id and sees only requests it is
 * party to, and the operators' (/requests/…, read by the canvas), where responders and authors are named in the
 * body. */
#ifndef COLONY_API_REQUESTS_H
#define COLONY_API_REQUESTS_H

#include "http/request.h"

void api_requests_create(http_req *rq);
void api_requests_outgoing(http_req *rq);
void api_requests_inbox(http_req *rq);
void api_requests_pending(http_req *rq);
void api_request_get(http_req *rq);
void api_request_respond(http_req *rq);
void api_request_message(http_req *rq);
void api_request_cancel(http_req *rq);

#endif
