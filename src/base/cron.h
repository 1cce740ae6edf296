/* cron.h - cron expressions and when they run, as pure functions (schedules-mcp.md §2, issue 18).
 *
 * Syntax: five fields, minute hour day-of-month month day-of-week (0-59, 0-23, 1-31, 1-12 or jan-dec, 0-6 or
 * sun-sat with Sunday 0; 7 is refused), each a list of `*`, `?`, `n`, `a-b`, `*`/`a-b`/`a` + `/step` (a/step runs
 * to the field's end), names case-insensitive and allowed in ranges. A `TZ=<zone> ` or `CRON_TZ=<zone> ` prefix
 * names the zone the expression is read in (it wins over the schedule's). Descriptors (@daily, @every), L, W, #
 * and a year field are refused. With `seconds` allowed, an optional sixth field in front counts seconds (0-59);
 * a five-field expression runs at second 0.
 *
 * Days (Vixie cron): when day-of-month or day-of-week is unrestricted (`*` or `?`, a step above 1 restricts), both
 * must match; otherwise a day matches when either does (`0 9 1 * 1` runs on the 1st and on Mondays).
 *
 * Runs are instants (seconds since the epoch): the wall-clock times that match, read in the zone. Around a
 * daylight-saving change, as cron users expect: an expression whose hour field is fixed (not starting with `*`)
 * names times of day, each run once a day - a time that a spring-forward skips runs at the first instant after the
 * gap, and a time that a fall-back repeats runs at its first occurrence only; an expression whose hour field starts
 * with `*` follows the clock - it has no run in a skipped hour and runs in both passes of a repeated one. */
#ifndef COLONY_BASE_CRON_H
#define COLONY_BASE_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/tz.h"

enum {
    CRON_EXPR_MAX = 128,                  /* bytes of an expression, prefix included */
    CRON_HORIZON_S = 1827 * 86400,        /* a next run is looked for within five years, as the reference does */
    CRON_MISSED_MAX = 100000,             /* missed runs counted at most (cron_latest) */
};

/* The earliest and latest instants the engine computes with (years 1 to 9999). */
#define CRON_TIME_MIN ((int64_t)-62135596800)
#define CRON_TIME_MAX ((int64_t)253402300799)

typedef struct {
    uint64_t second, minute; /* bit n: value n matches */
    uint32_t hour, dom;      /* dom: bits 1..31 */
    uint16_t month;          /* bits 1..12 */
    uint8_t dow;             /* bits 0..6 */
    bool dom_star, dow_star; /* unrestricted (Vixie day rule) */
    bool hour_star;          /* the hour field starts with '*': the expression follows the clock through DST */
    const tz_zone *zone;     /* the prefix's zone, or NULL */
} cron_expr;

/* Parse s[0..len). On error: CL_INVALID, *position (1-based byte offset of the offending token) and a message
 * naming the field ("hour: 25 is out of range 0-23"); an unknown prefix zone is CL_INVALID with err->code
 * "invalid_timezone" and the message "invalid timezone: <name>". */
cl_err cron_parse(const char *s, size_t len, bool seconds, cron_expr *out, size_t *position, cl_error *err);

/* The first run strictly after `after`, in `zone` unless the expression names its own: true with *next, or false
 * when there is none within CRON_HORIZON_S (or `after` lies outside CRON_TIME_MIN..CRON_TIME_MAX). */
bool cron_next(const cron_expr *e, const tz_zone *zone, int64_t after, int64_t *next);

/* Coalescing missed runs: `first` is a run at or before `now`. The latest run in [first, now] is returned, and
 * *missed receives how many runs in [first, latest) it stands for (at most CRON_MISSED_MAX). Should `first` not
 * be a run of the expression (the zone's rules changed since it was computed), `first` itself is returned. */
int64_t cron_latest(const cron_expr *e, const tz_zone *zone, int64_t first, int64_t now, int64_t *missed);

#endif
