/* usage.h - token usage that A2A replies report (surface.md §1, data.md §4.3): `result.usage`, else a top-level
 * `usage`, `{input_tokens, output_tokens}`; counted per UTC day with the reference's estimated cost (3 micro-USD per
 * input token, 15 per output token), and that cost is spend on the workspace's budget ledger (budget.h). */
#ifndef COLONY_MODEL_USAGE_H
#define COLONY_MODEL_USAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "store/db.h"

enum {
    USAGE_TOKENS_MAX = 10000000,   /* each count is clamped to 0…this */
    USAGE_INPUT_MICRO_USD = 3,     /* $0.000003 per input token */
    USAGE_OUTPUT_MICRO_USD = 15,   /* $0.000015 per output token */
    USAGE_DAY_MS = 86400000,
};

/* The usage a reply body reports (clamped); false when it reports none (no usage object, or both counts 0). */
bool usage_from_reply(const char *body, size_t len, int64_t *input_tokens, int64_t *output_tokens);
/* Estimated cost in micro-USD. */
int64_t usage_cost_micro(int64_t input_tokens, int64_t output_tokens);
/* UTC midnight at or before `ms`. */
int64_t usage_day_start(int64_t ms);

/* Add one call's usage to today's row of the workspace, and its cost to the spend ledger, in the caller's
 * transaction (if any). */
cl_err usage_record(db_t *db, arena_t *a, const char *workspace_id, int64_t input_tokens, int64_t output_tokens,
                    cl_error *err);

typedef struct {
    int64_t input_tokens, output_tokens, calls, cost_micro_usd, period_start;
} usage_day;

/* Today's (UTC) usage of a workspace, zeros when none. CL_NOT_FOUND when no such workspace exists (a removed one
 * counts, as in the reference). */
cl_err usage_today(db_t *db, arena_t *a, const char *workspace_id, usage_day *out, cl_error *err);

#endif
