/* schedule_fire.h - a schedule's occurrence sent as an A2A message (schedules-mcp.md §4, Fire): `message/send` from
 * no workspace (as the canvas sends) with the occurrence's messageId, through the A2A path (a2a_send_background:
 * inbox, push, busy queue), and the run recorded from how it went. The scheduler (jobs/scheduler.h) calls it. */
#ifndef COLONY_API_SCHEDULE_FIRE_H
#define COLONY_API_SCHEDULE_FIRE_H

#include "http/client.h"
#include "model/schedule.h"
#include "store/db.h"

/* A scheduler_fire_fn (jobs/scheduler.h). */
void api_schedule_fire(db_t *db, http_client *cl, const sched_fire *f, void (*finished)(void *), void *arg);

#endif
