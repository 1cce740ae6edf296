/* activity.h - the activity log, agent→user chat and event history over HTTP (runtime.md §6, §7.5). */
#ifndef COLONY_API_ACTIVITY_H
#define COLONY_API_ACTIVITY_H

#include "http/request.h"

/* The group commit of reports and notifies: set up before serving (with how many groups may be written at once),
 * released after. */
void api_activity_init(int flushers);
void api_activity_fini(void);

void api_activity_list(http_req *rq);
void api_activity_report(http_req *rq);
void api_notify(http_req *rq);
void api_chat_history(http_req *rq);
void api_chat_session_new(http_req *rq);
void api_session_search(http_req *rq);
void api_events_list(http_req *rq);

#endif
