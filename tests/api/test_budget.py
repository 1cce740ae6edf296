"""Budgets, spend and token usage (surface.md §1, data.md §4.3): GET/PATCH …/budget with exact shapes and errors, the
spend ledger fed by heartbeats and by the usage A2A replies report, GET …/metrics, and the A2A 402 — decided in the
transaction that admits a message, so concurrent senders cannot push spend past a limit by more than one message."""
import json

import pytest

from conftest import ADMIN, metric, wait_for
from inbox_util import bearer, create_ws, error, race, remove
from ops_util import heartbeat, msg, pair, queue_settled, register, send

SERVER_ARGS = ("--a2a-dispatch-interval-ms", "100", "--sweep-interval-ms", "200")

NO_LIMIT = {"limit": None, "spend": 0, "remaining": None}
FRESH = {"periods": {"hourly": NO_LIMIT, "daily": NO_LIMIT, "weekly": NO_LIMIT, "monthly": NO_LIMIT},
         "budget_limit": None, "monthly_spend": 0, "budget_remaining": None}


def budget(c, w, headers=None):
    r = c.get(f"/workspaces/{w['id']}/budget", headers=headers or bearer(w["auth_token"]))
    assert r.status_code == 200, r.text
    return r.json()


def patch(c, w, body, headers=None):
    return c.patch(f"/workspaces/{w['id']}/budget", headers=headers or ADMIN,
                   data=body if isinstance(body, str) else json.dumps(body))


def limits_row(c, w):
    return c.db.query(f"SELECT budget_hourly, budget_daily, budget_weekly, budget_limit FROM workspaces"
                      f" WHERE id = '{w['id']}'")[0]


def period(limit, spend):
    return {"limit": limit, "spend": spend, "remaining": None if limit is None else max(limit - spend, 0)}


def test_a_fresh_workspace_has_no_limits_and_no_spend(server):
    w = create_ws(server)
    assert budget(server, w) == FRESH
    assert budget(server, w, headers=ADMIN) == FRESH


def test_budget_limits_replace_every_limit_and_the_answer_is_the_get_shape(server):
    w = create_ws(server)
    r = patch(server, w, {"budget_limits": {"hourly": 100, "daily": 0, "monthly": 5000}})
    assert r.status_code == 200, r.text
    assert r.json() == {"periods": {"hourly": period(100, 0), "daily": period(0, 0), "weekly": period(None, 0),
                                    "monthly": period(5000, 0)},
                        "budget_limit": 5000, "monthly_spend": 0, "budget_remaining": 5000}
    assert budget(server, w) == r.json()
    # the map replaces the whole set: what it leaves out (or sets null) is cleared
    r = patch(server, w, {"budget_limits": {"weekly": 7, "hourly": None}})
    assert r.status_code == 200
    assert r.json()["periods"] == {"hourly": period(None, 0), "daily": period(None, 0), "weekly": period(7, 0),
                                   "monthly": period(None, 0)}
    assert r.json()["budget_limit"] is None
    assert limits_row(server, w) == ["", "", "7", ""]
    # the workspace object mirrors the monthly limit, as the legacy field
    patch(server, w, {"budget_limits": {"monthly": 42}})
    listed = [x for x in server.get("/workspaces", headers=ADMIN).json() if x["id"] == w["id"]][0]
    assert listed["budget_limit"] == 42


def test_legacy_budget_limit_sets_the_monthly_limit_and_null_clears_every_period(server):
    w = create_ws(server)
    patch(server, w, {"budget_limits": {"hourly": 10, "daily": 20}})
    r = patch(server, w, {"budget_limit": 500})
    assert r.status_code == 200
    assert r.json()["periods"]["monthly"] == period(500, 0) and r.json()["budget_limit"] == 500
    assert r.json()["periods"]["hourly"] == period(10, 0)  # the others are kept
    r = patch(server, w, {"budget_limit": None})
    assert r.status_code == 200 and r.json() == FRESH
    # budget_limits wins when both are present: budget_limit is not even read
    r = patch(server, w, {"budget_limits": {"daily": 3}, "budget_limit": "not a number"})
    assert r.status_code == 200 and r.json()["periods"]["daily"] == period(3, 0)
    assert r.json()["budget_limit"] is None


@pytest.mark.parametrize("body,message,code", [
    ("{not json", "invalid request body", "invalid_json"),
    ("", "invalid request body", "invalid_json"),
    ({}, "budget_limits or budget_limit field is required", "invalid_request"),
    ({"other": 1}, "budget_limits or budget_limit field is required", "invalid_request"),
    ({"budget_limits": [1]}, "budget_limits must be an object of period\u2192int|null", "invalid_request"),
    ({"budget_limits": None}, "budget_limits must be an object of period\u2192int|null", "invalid_request"),
    ({"budget_limits": {"hourly": 1.5}}, "budget_limits must be an object of period\u2192int|null",
     "invalid_request"),
    ({"budget_limits": {"daily": "10"}}, "budget_limits must be an object of period\u2192int|null",
     "invalid_request"),
    ({"budget_limits": {"yearly": 1}}, "unknown budget period: yearly (allowed: hourly, daily, weekly, monthly)",
     "invalid_request"),
    ({"budget_limits": {"Hourly": 1}}, "unknown budget period: Hourly (allowed: hourly, daily, weekly, monthly)",
     "invalid_request"),
    ({"budget_limits": {"daily": -1}}, "budget limit for daily must be >= 0 (USD cents)", "invalid_request"),
    ({"budget_limits": {"weekly": 10 ** 13}}, "budget limit for weekly must be <= 1000000000000 (USD cents)",
     "invalid_request"),
    ({"budget_limit": "100"}, "budget_limit must be an integer (USD cents) or null", "invalid_request"),
    ({"budget_limit": 2.5}, "budget_limit must be an integer (USD cents) or null", "invalid_request"),
    ({"budget_limit": -5}, "budget_limit must be >= 0 (USD cents)", "invalid_request"),
])
def test_bad_patches_are_refused_and_change_nothing(server, body, message, code):
    w = create_ws(server)
    patch(server, w, {"budget_limits": {"hourly": 9, "monthly": 99}})
    before = limits_row(server, w)
    error(patch(server, w, body), 400, message, code)
    assert limits_row(server, w) == before


def test_who_may_read_and_set_a_budget(server):
    w, other = create_ws(server), create_ws(server)
    path = f"/workspaces/{w['id']}/budget"
    error(server.get(path), 401, "missing workspace auth token")
    error(server.get(path, headers=bearer(other["auth_token"])), 401, "invalid workspace auth token")
    error(server.get(path, headers=bearer("not-a-token")), 401, "invalid workspace auth token")
    error(server.patch(path, json={"budget_limit": 1}), 401, "admin auth required")
    # setting a budget is an operator's act: not even the workspace's own token
    error(server.patch(path, json={"budget_limit": 1}, headers=bearer(w["auth_token"])), 403, "admin access required")
    error(server.patch(path, json={"budget_limit": 1}, headers=bearer(other["auth_token"])), 403,
          "admin access required")
    assert limits_row(server, w) == ["", "", "", ""]
    error(server.get("/workspaces/not-a-uuid/budget", headers=ADMIN), 400, "invalid workspace ID")
    error(server.get("/workspaces/00000000-0000-4000-8000-000000000000/budget", headers=ADMIN), 404,
          "workspace not found")
    error(patch(server, {"id": "00000000-0000-4000-8000-000000000000"}, {"budget_limit": 1}), 404,
          "workspace not found")
    remove(server, w)
    error(server.get(path, headers=ADMIN), 404, "workspace not found")
    error(patch(server, w, {"budget_limit": 1}), 404, "workspace not found")


def spend_rows(c, w):
    return [tuple(r) for r in c.db.query(f"SELECT source, delta_micro_usd FROM workspace_spend_events"
                                         f" WHERE workspace_id = '{w['id']}' ORDER BY id")]


def test_heartbeat_monthly_spend_feeds_the_ledger_with_its_increments(server):
    w = create_ws(server)
    register(server, w)
    heartbeat(server, w, monthly_spend=250)
    heartbeat(server, w, monthly_spend=400)      # +150
    heartbeat(server, w, monthly_spend=400)      # nothing new
    heartbeat(server, w)                         # not reported
    heartbeat(server, w, monthly_spend=0)        # 0 reports nothing
    heartbeat(server, w, monthly_spend=100)      # a decrease is a new month: the whole value counts
    assert spend_rows(server, w) == [("heartbeat", "2500000"), ("heartbeat", "1500000"), ("heartbeat", "1000000")]
    b = budget(server, w)
    assert [b["periods"][p]["spend"] for p in ("hourly", "daily", "weekly", "monthly")] == [500, 500, 500, 500]
    assert b["monthly_spend"] == 500
    # the workspace keeps the agent's own cumulative figure
    listed = [x for x in server.get("/workspaces", headers=ADMIN).json() if x["id"] == w["id"]][0]
    assert listed["monthly_spend"] == 100
    # clamped to the reference's ceiling; not a number is a 400
    heartbeat(server, w, monthly_spend=10 ** 15)
    assert spend_rows(server, w)[-1] == ("heartbeat", str((10 ** 12 - 100) * 10000))
    r = server.post("/registry/heartbeat", headers=bearer(w["auth_token"]),
                    json={"workspace_id": w["id"], "monthly_spend": "lots"})
    assert r.status_code == 400 and r.json()["error"] == "invalid request body: monthly_spend must be an integer"


def test_concurrent_heartbeats_never_count_an_increment_twice(server):
    w = create_ws(server)
    register(server, w)
    heartbeat(server, w, monthly_spend=100)
    race(16, lambda i: heartbeat(server, w, monthly_spend=300))
    assert sum(int(d) for _, d in spend_rows(server, w)) == 300 * 10000
    assert budget(server, w)["monthly_spend"] == 300


def usage_today(c, w):
    r = c.get(f"/workspaces/{w['id']}/metrics", headers=bearer(w["auth_token"]))
    assert r.status_code == 200, r.text
    return r.json()


def test_a2a_replies_that_report_usage_are_counted_and_cost_spend(server, agent):
    boss, child = pair(server, agent)
    fresh = usage_today(server, child)
    day = fresh["period_start"]
    assert len(day) == 20 and day.endswith("T00:00:00Z") and fresh["period_end"].endswith("T00:00:00Z")
    assert fresh == {"input_tokens": 0, "output_tokens": 0, "total_calls": 0, "estimated_cost_usd": "0.000000",
                     "period_start": day, "period_end": fresh["period_end"]}
    assert send(server, boss, child, msg("no usage")).status_code == 200   # no usage: not a call
    agent.usage = {"input_tokens": 1000, "output_tokens": 2000}             # 3,000 + 30,000 micro-USD
    assert send(server, boss, child, msg("one")).status_code == 200
    assert send(server, None, child, msg("two")).status_code == 200        # an operator's message counts too
    agent.usage = {"input_tokens": 0, "output_tokens": 0}                  # both 0: nothing
    assert send(server, boss, child, msg("zero")).status_code == 200
    agent.usage = {"input_tokens": -5, "output_tokens": 10 ** 9}           # clamped to 0…10,000,000
    assert send(server, boss, child, msg("big")).status_code == 200
    got = usage_today(server, child)
    assert got == {"input_tokens": 2000, "output_tokens": 4000 + 10 ** 7, "total_calls": 3,
                   "estimated_cost_usd": "150.066000", "period_start": day, "period_end": fresh["period_end"]}
    assert [d for _, d in spend_rows(server, child)] == ["33000", "33000", "150000000"]
    assert budget(server, child)["periods"]["hourly"]["spend"] == 15006  # 150.066 USD in whole cents
    assert usage_today(server, boss)["total_calls"] == 0                 # usage is the target's


def test_workspace_metrics_routes_answer_like_the_reference(server):
    w, other = create_ws(server), create_ws(server)
    path = f"/workspaces/{w['id']}/metrics"
    error(server.get(path), 401, "missing workspace auth token")
    error(server.get(path, headers=bearer(other["auth_token"])), 401, "invalid workspace auth token")
    error(server.get("/workspaces/00000000-0000-4000-8000-000000000000/metrics", headers=ADMIN), 404,
          "workspace not found")
    error(server.get("/workspaces/x/metrics", headers=ADMIN), 400, "invalid workspace ID")
    remove(server, w)
    assert server.get(path, headers=ADMIN).status_code == 200  # a removed row still counts, as in the reference


def test_a_workspace_at_its_limit_refuses_messages_with_402_and_nothing_is_written(server, agent):
    boss, child = pair(server, agent)
    poll = create_ws(server, parent=boss, delivery_mode="poll")
    for w in (child, poll):
        patch(server, w, {"budget_limits": {"hourly": 0}})  # 0 blocks at once
    activity_before = server.db.query(f"SELECT count(*) FROM activity_logs WHERE workspace_id IN"
                                      f" ('{child['id']}', '{poll['id']}')")
    refused = metric(server, "colony_a2a_messages_total", 'outcome="budget_exceeded"')
    for frm, to in ((boss, child), (None, child), (boss, poll)):
        r = send(server, frm, to, msg("hello", message_id=f"m-{to['id']}"))
        assert r.status_code == 402, r.text
        assert r.json() == {"error": "workspace budget limit exceeded", "code": "budget_exceeded",
                            "exceeded_periods": ["hourly"]}
    assert agent.seen == []
    assert server.db.query(f"SELECT count(*) FROM activity_logs WHERE workspace_id IN"
                           f" ('{child['id']}', '{poll['id']}')") == activity_before
    assert metric(server, "colony_a2a_messages_total", 'outcome="budget_exceeded"') == refused + 3
    # every period at or over its limit is named, in period order
    heartbeat(server, child, monthly_spend=500)
    patch(server, child, {"budget_limits": {"weekly": 1000, "monthly": 300, "daily": 400}})
    r = send(server, boss, child, msg("again"))
    assert r.status_code == 402 and r.json()["exceeded_periods"] == ["daily", "monthly"]
    # raised above the spend: the message goes through
    patch(server, child, {"budget_limits": {"daily": 501}})
    assert send(server, boss, child, msg("now")).status_code == 200
    assert len(agent.delivered) == 1
    # the 402 is on the target: an over-budget workspace still sends
    patch(server, boss, {"budget_limits": {"hourly": 0}})
    assert send(server, boss, child, msg("from a broke sender")).status_code == 200


def test_a_delegation_to_a_workspace_over_its_budget_fails(server, agent):
    boss, child = pair(server, agent)
    patch(server, child, {"budget_limit": 0})
    r = server.post(f"/workspaces/{boss['id']}/delegate", headers=bearer(boss["auth_token"]),
                    json={"target_id": child["id"], "task": "do it"})
    assert r.status_code == 202, r.text
    did = r.json()["delegation_id"]
    assert server.db.query(f"SELECT status, error_detail FROM delegations WHERE delegation_id = '{did}'") == [
        ["failed", "workspace budget limit exceeded"]]
    assert agent.seen == []


def test_concurrent_sends_cannot_overshoot_a_limit_by_more_than_one_message(server, agent):
    """Each reply costs 1.8 cents (1,000 input and 1,000 output tokens); the hourly limit is 5 cents. However many
    senders race, spend passes the limit by at most the one message in flight when it crossed: exactly three
    messages are delivered (3.6 cents < 5 admits the third, 5.4 stops everything after it)."""
    boss, child = pair(server, agent)
    agent.usage = {"input_tokens": 1000, "output_tokens": 1000}
    agent.mode, agent.slow_s = "slow", 0.2  # the first delivery is still in flight while the others arrive
    patch(server, child, {"budget_limits": {"hourly": 5}})
    replies = race(12, lambda i: send(server, boss, child, msg(f"m{i}", message_id=f"race-{i}")))
    codes = sorted(r.status_code for r in replies)
    assert set(codes) <= {200, 202, 402}, [r.text for r in replies]
    rows = queue_settled(server, child)
    assert len(agent.delivered) == 3, (codes, rows)
    spend = server.db.query(f"SELECT SUM(delta_micro_usd) FROM workspace_spend_events"
                            f" WHERE workspace_id = '{child['id']}'")[0][0]
    assert int(spend) == 3 * 18000 and int(spend) <= 50000 + 18000
    assert budget(server, child)["periods"]["hourly"] == {"limit": 5, "spend": 5, "remaining": 0}
    # every message is accounted for: delivered (answered at once or from the queue), or refused (402 at once, or
    # its queue row failed when the dispatcher found the budget spent)
    delivered_from_queue = [s for s, _ in rows if s == "completed"]
    assert codes.count(200) + len(delivered_from_queue) == 3
    assert codes.count(402) + sum(1 for s, e in rows if s == "failed") == 9
    assert all(e == "workspace budget limit exceeded" for s, e in rows if s == "failed")
    assert codes.count(202) == len(rows)
    # nothing is left holding the target: with the budget raised, the next message goes straight through
    patch(server, child, {"budget_limits": {"hourly": 1000}})
    agent.mode = "echo"
    assert send(server, boss, child, msg("after")).status_code == 200


def test_a_delivery_that_never_starts_gives_its_metering_lease_back(server, agent):
    boss, child = pair(server, agent)
    patch(server, child, {"budget_limits": {"monthly": 1000}})
    server.db.execute(f"UPDATE workspaces SET url = 'http://169.254.169.254/' WHERE id = '{child['id']}'")
    r = send(server, boss, child, msg("to the metadata service"))
    assert r.status_code == 502 and r.json()["error"] == "workspace URL is not publicly routable"
    lease = server.db.query(f"SELECT COALESCE(budget_lease, '-') FROM workspaces WHERE id = '{child['id']}'")
    assert lease == [["-"]]
    register(server, child, agent.url)
    assert send(server, boss, child, msg("then to the agent")).status_code == 200  # not held behind a stale lease
