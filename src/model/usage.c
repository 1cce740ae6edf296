/* usage.c - see usage.h. */
#include "model/usage.h"

#include <jansson.h>

#include "base/json.h"
#include "base/time.h"
#include "model/budget.h"

static const char SQL_UPSERT[] =
    "INSERT INTO workspace_token_usage (workspace_id, period_start, input_tokens, output_tokens, call_count,"
    " cost_micro_usd, updated_at) VALUES ($1, $2, $3, $4, 1, $5, $6)"
    " ON CONFLICT (workspace_id, period_start) DO UPDATE SET"
    " input_tokens = workspace_token_usage.input_tokens + excluded.input_tokens,"
    " output_tokens = workspace_token_usage.output_tokens + excluded.output_tokens,"
    " call_count = workspace_token_usage.call_count + 1,"
    " cost_micro_usd = workspace_token_usage.cost_micro_usd + excluded.cost_micro_usd,"
    " updated_at = excluded.updated_at";
static const char SQL_TODAY[] =
    "SELECT u.input_tokens, u.output_tokens, u.call_count, u.cost_micro_usd FROM workspaces w"
    " LEFT JOIN workspace_token_usage u ON u.workspace_id = w.id AND u.period_start = $2 WHERE w.id = $1";

static int64_t clamp_count(const json_t *v)
{
    double d = json_is_integer(v) ? (double)json_integer_value(v) : json_is_real(v) ? json_real_value(v) : 0;
    return d <= 0 ? 0 : d >= USAGE_TOKENS_MAX ? USAGE_TOKENS_MAX : (int64_t)d;
}

bool usage_from_reply(const char *body, size_t len, int64_t *input_tokens, int64_t *output_tokens)
{
    *input_tokens = *output_tokens = 0;
    if (body == NULL || len == 0)
        return false;
    arena_t *a = arena_new();
    json_t *root;
    cl_error ignore;
    bool found = false;
    if (json_parse(a, body, len, &root, &ignore) == CL_OK && json_is_object(root)) {
        json_t *usage = json_object_get(json_object_get(root, "result"), "usage");
        if (!json_is_object(usage))
            usage = json_object_get(root, "usage");
        if (json_is_object(usage)) {
            *input_tokens = clamp_count(json_object_get(usage, "input_tokens"));
            *output_tokens = clamp_count(json_object_get(usage, "output_tokens"));
            found = *input_tokens > 0 || *output_tokens > 0;
        }
    }
    arena_free(a);
    return found;
}

int64_t usage_cost_micro(int64_t input_tokens, int64_t output_tokens)
{
    return input_tokens * USAGE_INPUT_MICRO_USD + output_tokens * USAGE_OUTPUT_MICRO_USD;
}

int64_t usage_day_start(int64_t ms) { return ms - ((ms % USAGE_DAY_MS) + USAGE_DAY_MS) % USAGE_DAY_MS; }

cl_err usage_record(db_t *db, arena_t *a, const char *workspace_id, int64_t input_tokens, int64_t output_tokens,
                    cl_error *err)
{
    int64_t now = time_now_ms(), cost = usage_cost_micro(input_tokens, output_tokens);
    cl_err e = db_run(db, a, NULL, err, SQL_UPSERT, "siiiii", workspace_id, usage_day_start(now), input_tokens,
                      output_tokens, cost, now);
    if (e == CL_OK && cost > 0)
        e = budget_spend_add(db, a, workspace_id, cost, BUDGET_SOURCE_USAGE, err);
    return e;
}

cl_err usage_today(db_t *db, arena_t *a, const char *workspace_id, usage_day *out, cl_error *err)
{
    *out = (usage_day){.period_start = usage_day_start(time_now_ms())};
    db_stmt_t *st;
    cl_err e = db_query(db, a, &st, err, SQL_TODAY, "si", workspace_id, out->period_start);
    if (e == CL_OK && (e = db_one(st, err)) == CL_OK && !db_col_is_null(st, 0)) {
        out->input_tokens = db_col_int64(st, 0);
        out->output_tokens = db_col_int64(st, 1);
        out->calls = db_col_int64(st, 2);
        out->cost_micro_usd = db_col_int64(st, 3);
    }
    db_finish(st);
    return e == CL_NOT_FOUND ? cl_fail(err, CL_NOT_FOUND, "workspace not found") : e;
}
