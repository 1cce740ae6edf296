/* usertasks.h - user tasks over HTTP (shared/api/inbox.md §4): a workspace asks its user, lists, updates, resolves
 * and deletes its own tasks; operators list the pending ones of every workspace. */
#ifndef COLONY_API_USERTASKS_H
#define COLONY_API_USERTASKS_H

#include "http/request.h"

void api_user_tasks_create(http_req *rq);
void api_user_tasks_list(http_req *rq);
void api_user_task_resolve(http_req *rq);
void api_user_task_patch(http_req *rq);
void api_user_task_delete(http_req *rq);
void api_user_tasks_pending(http_req *rq);

#endif
