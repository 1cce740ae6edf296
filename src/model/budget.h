/* budget.h - spending ceilings of a workspace (surface.md §1, data.md §4.3): a limit in USD cents per rolling
 * period (hourly, daily, weekly, monthly = the last 1 h, 24 h, 7 d, 30 d), measured against a spend ledger fed by
 * the agent's heartbeats (increments of its cumulative monthly_spend) and by the token usage A2A replies report
 * (usage.h). A workspace that has reached any of its limits gets no A2A message: 402.
 *
 * One authority decides, in the transaction that admits a message (budget_admit, called by a2a.h). A reply's cost
 * is known only when it arrives, so a push delivery to a budgeted workspace holds the workspace's metering lease
 * until its outcome is recorded (budget_settle); while one is in flight another is held back (the busy queue
 * delivers it later, and checks the budget again then). Spend can therefore pass a limit by at most the cost of
 * the one message that was in flight when it crossed, whatever the number of concurrent senders or nodes. */
#ifndef COLONY_MODEL_BUDGET_H
#define COLONY_MODEL_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "store/db.h"

enum {
    BUDGET_PERIODS = 4,                /* hourly, daily, weekly, monthly, in that order everywhere */
    BUDGET_MONTHLY = 3,
    BUDGET_MICRO_PER_CENT = 10000,     /* the ledger counts micro-USD */
    BUDGET_PRUNE_AFTER_MS = 35LL * 86400000, /* ledger rows older than this go */
};
#define BUDGET_LIMIT_MAX 1000000000000LL /* cents: $10 billion, also the largest monthly_spend a heartbeat reports */
#define BUDGET_SOURCE_HEARTBEAT "heartbeat"
#define BUDGET_SOURCE_USAGE "a2a_usage"

/* "hourly", "daily", "weekly", "monthly". */
extern const char *const BUDGET_PERIOD_NAMES[BUDGET_PERIODS];
/* Window lengths in ms, same order. */
extern const int64_t BUDGET_PERIOD_MS[BUDGET_PERIODS];

typedef struct {
    bool set[BUDGET_PERIODS];       /* a limit is configured */
    int64_t cents[BUDGET_PERIODS];
} budget_limits;

typedef struct {
    budget_limits limits;
    int64_t spend_cents[BUDGET_PERIODS]; /* whole cents spent in each window (rounded down) */
} budget_view;

/* The periods whose spend (micro-USD) has reached their limit, in period order; returns how many. A limit of 0
 * is reached at once. */
int budget_exceeded(const budget_limits *l, const double spend_micro[BUDGET_PERIODS], const char **out);

/* The limits and spend of a live workspace (CL_NOT_FOUND for a missing or removed one). */
cl_err budget_get(db_t *db, arena_t *a, const char *workspace_id, budget_view *out, cl_error *err);
/* Write the periods named by `which` (the others keep their limits): l->set false clears one. Limits must be in
 * 0…BUDGET_LIMIT_MAX (CL_INVALID otherwise; the schema refuses negatives too). CL_NOT_FOUND as above. */
cl_err budget_set(db_t *db, arena_t *a, const char *workspace_id, const budget_limits *l,
                  const bool which[BUDGET_PERIODS], cl_error *err);

/* Add `micro` (> 0) micro-USD to the workspace's ledger now, and prune its rows past BUDGET_PRUNE_AFTER_MS. */
cl_err budget_spend_add(db_t *db, arena_t *a, const char *workspace_id, int64_t micro, const char *source,
                        cl_error *err);

/* How long a metering lease holds when its holder never settles it (a node died mid-delivery): set once at
 * start-up to the longest a delivery can take. */
void budget_set_lease_ms(int64_t ms);

/* The periods a refusal names. */
typedef struct {
    int count;
    const char *periods[BUDGET_PERIODS];
} budget_refusal;

/* The budget gate of one message to a workspace, in its own transaction (a savepoint inside the caller's, which
 * should be the one that admits the message). CL_PAYMENT_REQUIRED ("workspace budget limit exceeded", `over`
 * naming the periods) when a limit is reached; nothing is kept then. Otherwise CL_OK, and for a `meter`ed delivery
 * to a workspace with a budget, *lease receives the metering lease (arena-owned; NULL without a budget), or *held
 * is set when another metered delivery holds it. A missing workspace passes (the caller finds out). */
cl_err budget_admit(db_t *db, arena_t *a, const char *workspace_id, bool meter, const char **lease,
                    budget_refusal *over, bool *held, cl_error *err);
/* The end of a delivery: the reply's token usage is recorded (usage.h; `reply` may be NULL) and the lease, if
 * any, released — in the caller's transaction. */
cl_err budget_settle(db_t *db, arena_t *a, const char *workspace_id, const char *lease, const char *reply,
                     cl_error *err);

#endif
