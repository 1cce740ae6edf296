/* checkpoints.h - workflow checkpoints over HTTP (surface.md §2, data.md §4.5): write a step, the latest step, a
 * workflow's steps, delete a workflow's steps. */
#ifndef COLONY_API_CHECKPOINTS_H
#define COLONY_API_CHECKPOINTS_H

#include "http/request.h"

void api_checkpoint_put(http_req *rq);
void api_checkpoint_latest(http_req *rq);
void api_checkpoint_steps(http_req *rq);
void api_checkpoint_delete(http_req *rq);

#endif
