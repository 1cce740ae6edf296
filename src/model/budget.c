/* budget.c - see budget.h. */
#include "model/budget.h"

#include <string.h>

#include "base/id.h"
#include "base/time.h"
#include "model/usage.h"

const char *const BUDGET_PERIOD_NAMES[BUDGET_PERIODS] = {"hourly", "daily", "weekly", "monthly"};
const int64_t BUDGET_PERIOD_MS[BUDGET_PERIODS] = {3600000LL, 86400000LL, 7 * 86400000LL, 30 * 86400000LL};

static int64_t lease_ms = 1860000; /* the default A2A idle timeout plus the connect timeout */

void budget_set_lease_ms(int64_t ms) { lease_ms = ms > 0 ? ms : lease_ms; }

/* The monthly ceiling is the reference's legacy budget_limit column. */
static const char SQL_LIMITS[] = "SELECT budget_hourly, budget_daily, budget_weekly, budget_limit FROM workspaces"
                                 " WHERE id = $1 AND status <> 'removed'";
/* Sums as doubles: exact far past any real budget, and a sum never overflows (SQLite's integer SUM would fail). */
#define WINDOW(n) "COALESCE(SUM(CASE WHEN occurred_at > $" #n " THEN CAST(delta_micro_usd AS DOUBLE PRECISION) END), 0)"
static const char SQL_SPEND[] = "SELECT " WINDOW(2) ", " WINDOW(3) ", " WINDOW(4) ", " WINDOW(5)
                                " FROM workspace_spend_events WHERE workspace_id = $1 AND occurred_at > $5";
static const char SQL_SET[] =
    "UPDATE workspaces SET budget_hourly = CASE WHEN $2 = 1 THEN CAST($3 AS BIGINT) ELSE budget_hourly END,"
    " budget_daily = CASE WHEN $4 = 1 THEN CAST($5 AS BIGINT) ELSE budget_daily END,"
    " budget_weekly = CASE WHEN $6 = 1 THEN CAST($7 AS BIGINT) ELSE budget_weekly END,"
    " budget_limit = CASE WHEN $8 = 1 THEN CAST($9 AS BIGINT) ELSE budget_limit END, updated_at = $10"
    " WHERE id = $1 AND status <> 'removed'";
static const char SQL_SPEND_ADD[] = "INSERT INTO workspace_spend_events (workspace_id, delta_micro_usd, source,"
                                    " occurred_at) VALUES ($1, $2, $3, $4)";
static const char SQL_PRUNE[] = "DELETE FROM workspace_spend_events WHERE workspace_id = $1 AND occurred_at < $2";
/* Take the lease unless a live one is held. On PostgreSQL the row lock makes a second admission wait for the first
 * to commit, and then re-read the lease: the budget reads that follow see the spend of every settled delivery. */
static const char SQL_LEASE[] = "UPDATE workspaces SET budget_lease = $2, budget_lease_until = $3"
                                " WHERE id = $1 AND (budget_lease_until IS NULL OR budget_lease_until <= $4)";
static const char SQL_RELEASE[] = "UPDATE workspaces SET budget_lease = NULL, budget_lease_until = NULL"
                                  " WHERE id = $1 AND budget_lease = $2";

int budget_exceeded(const budget_limits *l, const double spend_micro[BUDGET_PERIODS], const char **out)
{
    int n = 0;
    for (int p = 0; p < BUDGET_PERIODS; p++)
        if (l->set[p] && spend_micro[p] >= (double)l->cents[p] * BUDGET_MICRO_PER_CENT)
            out[n++] = BUDGET_PERIOD_NAMES[p];
    return n;
}

static cl_err read_limits(db_t *db, arena_t *a, const char *ws, budget_limits *l, cl_error *err)
{
    db_stmt_t *st;
    memset(l, 0, sizeof(*l));
    cl_err e = db_query(db, a, &st, err, SQL_LIMITS, "s", ws);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK) {
        for (int p = 0; p < BUDGET_PERIODS; p++) {
            l->set[p] = !db_col_is_null(st, p);
            l->cents[p] = l->set[p] ? db_col_int64(st, p) : 0;
        }
    }
    db_finish(st);
    return e == CL_NOT_FOUND ? cl_fail(err, CL_NOT_FOUND, "workspace not found") : e;
}

static cl_err read_spend(db_t *db, arena_t *a, const char *ws, double micro[BUDGET_PERIODS], cl_error *err)
{
    int64_t now = time_now_ms();
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_SPEND, "siiii", ws, now - BUDGET_PERIOD_MS[0], now - BUDGET_PERIOD_MS[1],
                        now - BUDGET_PERIOD_MS[2], now - BUDGET_PERIOD_MS[3]);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK)
        for (int p = 0; p < BUDGET_PERIODS; p++)
            micro[p] = db_col_double(st, p);
    db_finish(st);
    return e;
}

static bool any_limit(const budget_limits *l)
{
    for (int p = 0; p < BUDGET_PERIODS; p++)
        if (l->set[p])
            return true;
    return false;
}

cl_err budget_get(db_t *db, arena_t *a, const char *workspace_id, budget_view *out, cl_error *err)
{
    double micro[BUDGET_PERIODS];
    cl_err e = read_limits(db, a, workspace_id, &out->limits, err);
    if (e == CL_OK)
        e = read_spend(db, a, workspace_id, micro, err);
    for (int p = 0; e == CL_OK && p < BUDGET_PERIODS; p++) {
        double cents = micro[p] / BUDGET_MICRO_PER_CENT;
        out->spend_cents[p] = cents >= 9e18 ? INT64_MAX : (int64_t)cents;
    }
    return e;
}

cl_err budget_set(db_t *db, arena_t *a, const char *workspace_id, const budget_limits *l,
                  const bool which[BUDGET_PERIODS], cl_error *err)
{
    for (int p = 0; p < BUDGET_PERIODS; p++)
        if (which[p] && l->set[p] && (l->cents[p] < 0 || l->cents[p] > BUDGET_LIMIT_MAX))
            return cl_fail(err, CL_INVALID, "budget limit for %s must be from 0 to %lld (USD cents)",
                           BUDGET_PERIOD_NAMES[p], BUDGET_LIMIT_MAX);
    db_stmt_t *st;
    cl_err e = db_prepare(db, a, SQL_SET, &st, err);
    if (e != CL_OK)
        return e;
    db_bind_str(st, 1, workspace_id);
    for (int p = 0; p < BUDGET_PERIODS; p++) {
        db_bind_int64(st, 2 + 2 * p, which[p]);
        if (which[p] && l->set[p])
            db_bind_int64(st, 3 + 2 * p, l->cents[p]);
        else
            db_bind_null(st, 3 + 2 * p);
    }
    db_bind_int64(st, 10, time_now_ms());
    e = db_exec(st, err);
    int64_t changed = db_changes(st);
    db_finish(st);
    if (e == CL_OK && changed == 0)
        e = cl_fail(err, CL_NOT_FOUND, "workspace not found");
    return e;
}

cl_err budget_spend_add(db_t *db, arena_t *a, const char *workspace_id, int64_t micro, const char *source,
                        cl_error *err)
{
    if (micro <= 0)
        return CL_OK;
    int64_t now = time_now_ms();
    cl_err e = db_run(db, a, NULL, err, SQL_SPEND_ADD, "sisi", workspace_id, micro, source, now);
    if (e == CL_OK)
        e = db_run(db, a, NULL, err, SQL_PRUNE, "si", workspace_id, now - BUDGET_PRUNE_AFTER_MS);
    return e;
}

cl_err budget_admit(db_t *db, arena_t *a, const char *workspace_id, bool meter, const char **lease,
                    budget_refusal *over, bool *held, cl_error *err)
{
    *lease = NULL;
    *held = false;
    over->count = 0;
    budget_limits l;
    cl_err e = db_tx_begin(db, err);
    if (e != CL_OK)
        return e;
    if ((e = read_limits(db, a, workspace_id, &l, err)) == CL_NOT_FOUND || (e == CL_OK && !any_limit(&l)))
        return db_tx_end(db, CL_OK, err); /* nothing to gate (a missing target is the caller's 404) */
    char fresh[ID_UUID_LEN + 1];
    if (e == CL_OK && meter) {
        int64_t now = time_now_ms(), taken = 0;
        id_uuid4(fresh);
        e = db_run(db, a, &taken, err, SQL_LEASE, "ssii", workspace_id, fresh, now + lease_ms, now);
        *held = e == CL_OK && taken == 0;
    }
    double micro[BUDGET_PERIODS];
    if (e == CL_OK && (e = read_spend(db, a, workspace_id, micro, err)) == CL_OK &&
        (over->count = budget_exceeded(&l, micro, over->periods)) > 0)
        e = cl_fail(err, CL_PAYMENT_REQUIRED, "workspace budget limit exceeded");
    if ((e = db_tx_end(db, e, err)) == CL_OK && meter && !*held)
        *lease = arena_strdup(a, fresh);
    return e;
}

cl_err budget_settle(db_t *db, arena_t *a, const char *workspace_id, const char *lease, const char *reply,
                     cl_error *err)
{
    int64_t in, out;
    cl_err e = CL_OK;
    if (reply != NULL && usage_from_reply(reply, strlen(reply), &in, &out))
        e = usage_record(db, a, workspace_id, in, out, err);
    if (e == CL_OK && lease != NULL)
        e = db_run(db, a, NULL, err, SQL_RELEASE, "ss", workspace_id, lease);
    return e;
}
