/* budget.c - see budget.h. Shapes and error strings are the sheet's (surface.md §1). */
#include "api/budget.h"

#include <stdio.h>
#include <string.h>

#include "api/errors.h"
#include "api/input.h"
#include "base/json.h"
#include "base/time.h"
#include "model/budget.h"
#include "model/usage.h"

static json_t *cents_or_null(bool set, int64_t v) { return set ? json_integer(v) : json_null(); }

/* {"periods": {period: {limit, spend, remaining}}, "budget_limit", "monthly_spend", "budget_remaining"}: every
 * period always present; the last three mirror the monthly one. */
static json_t *budget_json(const budget_view *v)
{
    json_t *periods = json_object();
    int64_t remaining[BUDGET_PERIODS];
    for (int p = 0; p < BUDGET_PERIODS; p++) {
        bool set = v->limits.set[p];
        remaining[p] = set && v->limits.cents[p] > v->spend_cents[p] ? v->limits.cents[p] - v->spend_cents[p] : 0;
        json_object_set_new(periods, BUDGET_PERIOD_NAMES[p],
                            json_pack("{s:o, s:I, s:o}", "limit", cents_or_null(set, v->limits.cents[p]), "spend",
                                      (json_int_t)v->spend_cents[p], "remaining", cents_or_null(set, remaining[p])));
    }
    bool monthly = v->limits.set[BUDGET_MONTHLY];
    return json_pack("{s:o, s:o, s:I, s:o}", "periods", periods, "budget_limit",
                     cents_or_null(monthly, v->limits.cents[BUDGET_MONTHLY]), "monthly_spend",
                     (json_int_t)v->spend_cents[BUDGET_MONTHLY], "budget_remaining",
                     cents_or_null(monthly, remaining[BUDGET_MONTHLY]));
}

void api_budget_get(http_req *rq)
{
    const char *id;
    budget_view v;
    cl_error e;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &id))
        return;
    if (budget_get(rq->db, rq->arena, id, &v, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, budget_json(&v));
}

static int period_index(const char *name)
{
    for (int p = 0; p < BUDGET_PERIODS; p++)
        if (strcmp(name, BUDGET_PERIOD_NAMES[p]) == 0)
            return p;
    return -1;
}

/* `budget_limits`: an object of period → integer cents or null, replacing every limit. */
static bool parse_limits(http_req *rq, const json_t *map, budget_limits *l)
{
    const char *key;
    const json_t *v;
    bool typed = json_is_object(map);
    json_object_foreach((json_t *)map, key, v) typed = typed && (json_is_integer(v) || json_is_null(v));
    if (!typed) {
        api_fail(rq, CL_INVALID, "budget_limits must be an object of period\xE2\x86\x92int|null");
        return false;
    }
    json_object_foreach((json_t *)map, key, v)
    {
        int p = period_index(key);
        if (p < 0) {
            api_fail(rq, CL_INVALID, "unknown budget period: %s (allowed: hourly, daily, weekly, monthly)", key);
            return false;
        }
        if (json_is_null(v))
            continue;
        l->cents[p] = json_integer_value(v);
        l->set[p] = true;
        if (l->cents[p] < 0 || l->cents[p] > BUDGET_LIMIT_MAX) {
            api_fail(rq, CL_INVALID, "budget limit for %s must be %s (USD cents)", key,
                     l->cents[p] < 0 ? ">= 0" : "<= 1000000000000");
            return false;
        }
    }
    return true;
}

/* Legacy `budget_limit`: a number sets the monthly limit only; null clears every period (as the reference). */
static bool parse_legacy(http_req *rq, const json_t *v, budget_limits *l, bool which[BUDGET_PERIODS])
{
    if (!json_is_integer(v) && !json_is_null(v)) {
        api_fail(rq, CL_INVALID, "budget_limit must be an integer (USD cents) or null");
        return false;
    }
    if (json_is_null(v))
        return true;
    int64_t cents = json_integer_value(v);
    if (cents < 0 || cents > BUDGET_LIMIT_MAX) {
        api_fail(rq, CL_INVALID, "budget_limit must be %s (USD cents)", cents < 0 ? ">= 0" : "<= 1000000000000");
        return false;
    }
    memset(which, 0, BUDGET_PERIODS * sizeof(bool));
    which[BUDGET_MONTHLY] = l->set[BUDGET_MONTHLY] = true;
    l->cents[BUDGET_MONTHLY] = cents;
    return true;
}

void api_budget_patch(http_req *rq)
{
    const char *id;
    json_t *body;
    cl_error e;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &id))
        return;
    if (json_parse_object(rq->arena, rq->body ? rq->body : "", rq->body_len, &body, &e) != CL_OK) {
        api_fail(rq, CL_INVALID_JSON, "invalid request body");
        return;
    }
    const json_t *map = json_object_get(body, "budget_limits"), *legacy = json_object_get(body, "budget_limit");
    if (map == NULL && legacy == NULL) {
        api_fail(rq, CL_INVALID, "budget_limits or budget_limit field is required");
        return;
    }
    budget_limits l = {0};
    bool which[BUDGET_PERIODS] = {true, true, true, true};
    if (map != NULL ? !parse_limits(rq, map, &l) : !parse_legacy(rq, legacy, &l, which))
        return; /* budget_limits wins: budget_limit is not even looked at then */
    budget_view v;
    if (budget_set(rq->db, rq->arena, id, &l, which, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    if (budget_get(rq->db, rq->arena, id, &v, &e) != CL_OK) {
        api_reply_json(rq, 200, json_pack("{s:s}", "status", "updated"));
        return;
    }
    api_reply_json(rq, 200, budget_json(&v));
}

/* "YYYY-MM-DDTHH:MM:SSZ" (the sheet's period bounds have no fraction). */
static json_t *time_seconds(int64_t ms)
{
    char buf[TIME_RFC3339_MAX];
    time_format_rfc3339(ms, buf);
    char *dot = strchr(buf, '.');
    if (dot != NULL)
        memcpy(dot, "Z", 2);
    return json_string(buf);
}

void api_ws_usage_metrics(http_req *rq)
{
    const char *id;
    usage_day d;
    cl_error e;
    if (!api_uuid_param_or_reply(rq, "id", "workspace", &id))
        return;
    if (usage_today(rq->db, rq->arena, id, &d, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    char cost[48];
    snprintf(cost, sizeof(cost), "%lld.%06lld", (long long)(d.cost_micro_usd / 1000000),
             (long long)(d.cost_micro_usd % 1000000));
    api_reply_json(rq, 200, json_pack("{s:I, s:I, s:I, s:s, s:o, s:o}", "input_tokens", (json_int_t)d.input_tokens,
                                      "output_tokens", (json_int_t)d.output_tokens, "total_calls",
                                      (json_int_t)d.calls, "estimated_cost_usd", cost, "period_start",
                                      time_seconds(d.period_start), "period_end",
                                      time_seconds(d.period_start + USAGE_DAY_MS)));
}
