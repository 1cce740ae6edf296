/* schedule.h - cron schedules of a workspace (schedules-mcp.md, runtime.md §9): their rows, the writes every path
 * shares (the API, a template's import), and the engine's side in the database: which occurrences are due, the
 * claim that makes one node fire an occurrence, and the record of how a run went.
 *
 * Exactly once: an occurrence is claimed by one UPDATE guarded on the next_run_at (and the expression) that was
 * read, which also moves next_run_at past it; a second node reading the same row changes nothing and fires
 * nothing. The occurrence's messageId (`cron-<schedule id>-<UTC time>`) keys what the fire writes downstream (the
 * message's activity row, a busy-queue row, the run's history row), so a repeated write of one occurrence is
 * refused by the database too.
 *
 * Missed occurrences (downtime, or every node too busy): coalesced, as the reference does. The claim fires the
 * latest occurrence at or before now, once; the earlier ones are counted as skipped, and next_run_at moves to the
 * first occurrence after now. */
#ifndef COLONY_MODEL_SCHEDULE_H
#define COLONY_MODEL_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/cron.h"
#include "base/error.h"
#include "store/db.h"

enum {
    SCHED_NAME_MAX = 255,
    SCHED_PROMPT_MAX = 16 * 1024,   /* the reference's template limit, on every path here */
    SCHED_PER_WORKSPACE_DEFAULT = 100,
    SCHED_PER_WORKSPACE_MAX = 10000,
    SCHED_LIST_MAX = 1000,          /* a page of GET …/schedules */
    SCHED_HISTORY_DEFAULT = 20,     /* the reference's page of history */
    SCHED_HISTORY_MAX = 200,
    SCHED_DUE_BATCH = 50,           /* due rows read per tick */
    SCHED_PROMPT_PREVIEW = 200,     /* bytes of the prompt kept in a run's history row */
    SCHED_ERROR_MAX = 4096,         /* bytes of last_error / a history row's error_detail */
    SCHED_STREAK = 3,               /* empty replies that make a run stale; SDK errors that disable a schedule */
};

/* Process-wide settings (main.c, before serving): schedules per workspace, and whether new expressions may have a
 * seconds field (stored ones are always read with it allowed). */
void sched_configure(int64_t max_per_workspace, bool seconds);
bool sched_seconds_allowed(void);
int64_t sched_max_per_workspace(void);

/* One schedule. Times are ms since the epoch, 0 for NULL. Strings are arena-owned. */
typedef struct {
    const char *id, *workspace_id, *name, *cron_expr, *timezone, *prompt, *last_status, *last_error, *source;
    bool enabled;
    int64_t last_run_at, next_run_at, run_count, created_at, updated_at;
} sched_row;

/* Which input was refused, and where (1-based byte position inside it; 0 when the whole value is). */
typedef struct {
    const char *field; /* "cron_expr" or "timezone" */
    size_t position;
} sched_bad;

/* Check an expression in a zone (the zone "" is UTC), and compute its first run strictly after now_ms (*next 0 when
 * it never runs within five years). Refusals are CL_INVALID with err->code "invalid_cron_expr" or
 * "invalid_timezone" and *bad saying where; the zone's message is the reference's "invalid timezone: <tz>". */
cl_err sched_check(const char *cron_expr, const char *timezone, int64_t now_ms, int64_t *next, sched_bad *bad,
                   cl_error *err);

/* A new schedule. source "runtime" (the API: a name held by another schedule is CL_CONFLICT, *conflict_id its id)
 * or "template" (an import: a template row of that name is refreshed, a runtime one is left alone and *skipped
 * set). The workspace must be live (CL_NOT_FOUND); a workspace at its limit refuses a new row (CL_CONFLICT, code
 * "schedule_limit_reached"), exactly, whatever runs at the same time on other nodes. */
typedef struct {
    const char *name, *cron_expr, *timezone, *prompt, *source;
    bool enabled;
} sched_spec;
cl_err sched_create(db_t *db, arena_t *a, const char *workspace_id, const sched_spec *s, sched_row *out,
                    const char **conflict_id, bool *skipped, sched_bad *bad, cl_error *err);

/* A partial update; `has_*` says what is set. Changing the expression or the zone recomputes next_run_at (guarded:
 * a concurrent change of either is read again); toggling `enabled` does not, so a schedule enabled again with a
 * next run in the past fires at once (its missed occurrences coalesced). Counters and last_* are kept. CL_NOT_FOUND
 * for a schedule that is not this workspace's. */
typedef struct {
    bool has_name, has_cron, has_timezone, has_prompt, has_enabled;
    const char *name, *cron_expr, *timezone, *prompt;
    bool enabled;
} sched_patch;
cl_err sched_update(db_t *db, arena_t *a, const char *workspace_id, const char *id, const sched_patch *p,
                    const char **conflict_id, sched_bad *bad, cl_error *err);

cl_err sched_delete(db_t *db, arena_t *a, const char *workspace_id, const char *id, cl_error *err);
/* Enabled schedules of a workspace (what deleting it would stop). */
cl_err sched_count_enabled(db_t *db, arena_t *a, const char *workspace_id, int64_t *count, cl_error *err);
cl_err sched_get(db_t *db, arena_t *a, const char *workspace_id, const char *id, sched_row *out, cl_error *err);

/* A workspace's schedules in creation order: those after (after_created, after_id) (after_id NULL: from the
 * first), at most `limit`. */
cl_err sched_list(db_t *db, arena_t *a, const char *workspace_id, int64_t after_created, const char *after_id,
                  int64_t limit, sched_row **rows, size_t *count, cl_error *err);

/* A run's history row. */
typedef struct {
    int64_t seq, created_at, duration_ms; /* duration_ms < 0: none */
    const char *status, *error_detail, *request;
} sched_run;
/* Runs of schedule `id` in `workspace_id`, newest first: those with a seq below `before_seq` (0: from the newest),
 * at most `limit`. An unknown schedule has none. */
cl_err sched_history(db_t *db, arena_t *a, const char *workspace_id, const char *id, int64_t before_seq,
                     int64_t limit, sched_run **rows, size_t *count, cl_error *err);

/* ---- the engine ---------------------------------------------------------------------------------------------- */

/* Ids of enabled schedules of live workspaces whose next run is at or before now_ms, soonest first, at most
 * `limit`; *soonest_later receives the earliest next run after now_ms (0: none), for a scheduler to sleep until. */
cl_err sched_due(db_t *db, arena_t *a, int64_t now_ms, int64_t limit, const char ***ids, size_t *count,
                 int64_t *soonest_later, cl_error *err);

/* An occurrence this node claimed. */
typedef struct {
    const char *schedule_id, *workspace_id, *name, *cron_expr, *prompt;
    const char *message_id; /* cron-<schedule id>-<YYYYMMDDTHHMMSSZ of scheduled_at> */
    int64_t scheduled_at;   /* ms: the occurrence fired (the latest one due) */
    int64_t fired_at;       /* ms: when it was claimed (the row's last_run_at) */
    int64_t next_run_at;    /* ms: the occurrence after it (0: none) */
    int64_t missed;         /* earlier occurrences coalesced into this one */
} sched_fire;

typedef enum {
    SCHED_CLAIMED,  /* *out is this node's to fire */
    SCHED_NOT_DUE,  /* another node claimed it first, or it changed, or it is no longer due */
    SCHED_BROKEN,   /* its expression or zone no longer reads (e.g. a zone dropped from the database): it stops,
                       with last_status "error" */
} sched_claim_result;
cl_err sched_claim(db_t *db, arena_t *a, const char *id, int64_t now_ms, sched_fire *out, sched_claim_result *result,
                   cl_error *err);

/* How a run went (schedules-mcp.md §4, steps 5-7). */
typedef struct {
    const char *status;  /* ok, error, stale, queued, skipped, or the agent's result kind/state */
    const char *error;   /* "" when none */
    bool empty;          /* an ok reply with nothing in it (counts toward stale) */
    bool sdk_kind;       /* status is a result kind/state (counts toward disabling) */
    bool queued;         /* buffered in the busy queue */
    bool skipped;        /* the target was busy and could not be queued */
    const char *queue_id;
    int64_t queue_depth, active_tasks;
    int64_t duration_ms; /* < 0: none */
} sched_outcome;

/* Classify an agent's 2xx reply: error objects, result kinds, empty replies (into *o; strings in `a`). */
void sched_classify_reply(arena_t *a, const char *body, size_t len, sched_outcome *o);

/* Record a run in one transaction: the schedule's last_status/last_error and streaks (only when no later
 * occurrence was claimed meanwhile; three empty replies make it "stale", three SDK kinds disable it), the history
 * row (activity_type cron_run, keyed by the messageId: a second record of one occurrence writes nothing) and its
 * event, CRON_EXECUTED {schedule_id, schedule_name, status} or, busy, CRON_SKIPPED {schedule_id, schedule_name,
 * reason[, queued: true]}. *disabled tells whether this run disabled the schedule. */
cl_err sched_record(db_t *db, arena_t *a, const sched_fire *f, const sched_outcome *o, bool *disabled, cl_error *err);

#endif
