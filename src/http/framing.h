/* framing.h - private to http/: the request-smuggling guard. h2o 2.2 frames a request body by the first
 * Content-Length, by Transfer-Encoding when both are present, and by the last of several Transfer-Encodings; a
 * proxy in front of colony may pick another, and the rest of the body would then be read as a second request. Such
 * a request is refused before routing. */
#ifndef COLONY_HTTP_FRAMING_H
#define COLONY_HTTP_FRAMING_H

#include <stdbool.h>

#include "http/request.h"

/* True when the request's framing is ambiguous - Content-Length headers that disagree, Content-Length together with
 * Transfer-Encoding, or more than one Transfer-Encoding - after answering 400 and marking the connection to close
 * (whatever follows on it is never parsed). Counted in colony_http_framing_refused_total. */
bool http_framing_refused(http_req *rq);

#endif
