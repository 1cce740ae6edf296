"""Schedules: cron prompts fired as A2A messages (schedules-mcp.md §1-§6, runtime.md §9, issue 18): the routes and
their shapes, refusals naming field and position, limits, firing through the A2A path (push, poll inbox, busy
queue) every second, the run history, events and metrics, missed occurrences, removed workspaces, templates, and two
PostgreSQL nodes that fire each occurrence exactly once."""
import concurrent.futures
import datetime as dt
import json
import pathlib
import re
import tempfile
import time
import uuid
from zoneinfo import ZoneInfo

import pytest
import requests

from agent_stub import AgentStub
from conftest import ADMIN, wait_for

TEMPLATES = pathlib.Path(tempfile.mkdtemp(prefix="colony-sched-templates-"))
# every-second schedules need the seconds field; the scheduler looks at least every 200 ms
SERVER_ARGS = ("--schedule-seconds", "true", "--schedule-interval-ms", "200", "--a2a-dispatch-interval-ms", "100",
               "--sweep-interval-ms", "200", "--templates-dir", str(TEMPLATES))

LIST_KEYS = {"id", "workspace_id", "name", "cron_expr", "timezone", "prompt", "enabled", "last_run_at", "next_run_at",
             "run_count", "last_status", "last_error", "source", "created_at", "updated_at"}
REQUIRED = {"error": "cron_expr and prompt are required", "code": "invalid_request"}


def bearer(t):
    return {"Authorization": f"Bearer {t}"}


def ws(c, mode="push", parent=None):
    body = {"name": "sched-" + uuid.uuid4().hex[:8], "model": "m", "delivery_mode": mode}
    if parent:
        body["parent_id"] = parent["id"]
    r = c.post("/workspaces", headers=ADMIN, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def register(c, w, url):
    r = c.post("/registry/register", headers=bearer(w["auth_token"]),
               json={"id": w["id"], "url": url, "agent_card": {"name": "stub"}})
    assert r.status_code == 200, r.text


def heartbeat(c, w, active):
    r = c.post("/registry/heartbeat", headers=bearer(w["auth_token"]),
               json={"workspace_id": w["id"], "active_tasks": active})
    assert r.status_code == 200, r.text


def post(c, w, body, headers=None):
    return c.post(f"/workspaces/{w['id']}/schedules", headers=headers or bearer(w["auth_token"]),
                  data=body if isinstance(body, str) else json.dumps(body))


def create(c, w, **body):
    body.setdefault("prompt", "p")
    r = post(c, w, body)
    assert r.status_code == 201, r.text
    return r.json()


def patch(c, w, sid, body):
    return c.patch(f"/workspaces/{w['id']}/schedules/{sid}", headers=bearer(w["auth_token"]), json=body)


def listed(c, w, headers=None):
    r = c.get(f"/workspaces/{w['id']}/schedules", headers=headers or bearer(w["auth_token"]))
    assert r.status_code == 200, r.text
    return r.json()


def one(c, w, sid):
    (s,) = [s for s in listed(c, w, headers=ADMIN) if s["id"] == sid]
    return s


def history(c, w, sid, **q):
    r = c.get(f"/workspaces/{w['id']}/schedules/{sid}/history", headers=ADMIN, params={"limit": 200, **q})
    assert r.status_code == 200, r.text
    return r.json()


def runs(c, w, sid, n, timeout=30):
    """Wait for at least n recorded runs; oldest first."""
    return list(reversed(wait_for(lambda: h if len(h := history(c, w, sid)) >= n else None, timeout)))


def settle(c, w, sid):
    """Disable, then wait until every claimed run is recorded; all runs, oldest first."""
    assert patch(c, w, sid, {"enabled": False}).status_code == 200
    wait_for(lambda: len(history(c, w, sid)) == one(c, w, sid)["run_count"])
    return list(reversed(history(c, w, sid)))


def when(s):
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))


def compact(t):
    return when(t).strftime("%Y%m%dT%H%M%SZ")


def events(c, w, kind):
    r = c.get(f"/events/{w['id']}", headers=ADMIN, params={"limit": 1000})
    return [e for e in r.json() if e["event_type"] == kind]


def metric(c, name, labels=""):
    text = c.get("/metrics").text
    m = re.search(rf"^{re.escape(name + labels)} (\d+)$", text, re.M)
    return int(m.group(1)) if m else 0


# ---- routes and shapes ---------------------------------------------------------------------------------------------

def next_weekday_nine_berlin(after):
    tz = ZoneInfo("Europe/Berlin")
    day = after.astimezone(tz).date()
    for i in range(8):
        d = day + dt.timedelta(days=i)
        cand = dt.datetime(d.year, d.month, d.day, 9, tzinfo=tz)
        if cand.weekday() < 5 and cand > after:
            return cand


def test_create_and_list_have_the_references_shapes(server):
    w = ws(server)
    before = dt.datetime.now(dt.timezone.utc)
    r = post(server, w, {"name": "standup", "cron_expr": "0 9 * * 1-5", "timezone": "Europe/Berlin",
                         "prompt": "Summary\r\nplease"})
    after = dt.datetime.now(dt.timezone.utc)
    assert r.status_code == 201, r.text
    made = r.json()
    assert set(made) == {"id", "status", "next_run_at"} and made["status"] == "created"
    assert when(made["next_run_at"]) in {next_weekday_nine_berlin(before), next_weekday_nine_berlin(after)}
    (item,) = listed(server, w)
    assert set(item) == LIST_KEYS
    assert item == {"id": made["id"], "workspace_id": w["id"], "name": "standup", "cron_expr": "0 9 * * 1-5",
                    "timezone": "Europe/Berlin", "prompt": "Summary\nplease", "enabled": True, "last_run_at": None,
                    "next_run_at": made["next_run_at"], "run_count": 0, "last_status": "", "last_error": "",
                    "source": "runtime", "created_at": item["created_at"], "updated_at": item["created_at"]}
    # defaults: zone "" is UTC, no name (several unnamed may coexist), a disabled schedule still has its next run,
    # an expression that never runs has none
    a = create(server, w, cron_expr="30 2 * * *", timezone="")
    b = create(server, w, cron_expr="30 2 * * *", enabled=False)
    never = create(server, w, cron_expr="0 0 30 2 *")
    assert never["next_run_at"] is None
    rows = listed(server, w)
    assert [s["id"] for s in rows] == [made["id"], a["id"], b["id"], never["id"]]  # created_at ascending
    assert (rows[1]["timezone"], rows[1]["name"], rows[1]["enabled"]) == ("UTC", "", True)
    assert rows[2]["enabled"] is False and rows[2]["next_run_at"] == b["next_run_at"] is not None
    nxt = when(a["next_run_at"])
    assert (nxt.hour, nxt.minute, nxt.second) == (2, 30, 0) and nxt - after < dt.timedelta(days=1)
    # the list pages with limit and cursor
    first = server.get(f"/workspaces/{w['id']}/schedules", headers=ADMIN, params={"limit": 3})
    assert [s["id"] for s in first.json()] == [made["id"], a["id"], b["id"]]
    rest = server.get(f"/workspaces/{w['id']}/schedules", headers=ADMIN,
                      params={"limit": 3, "cursor": first.headers["X-Next-Cursor"]})
    assert [s["id"] for s in rest.json()] == [never["id"]] and "X-Next-Cursor" not in rest.headers


BAD = [
    ({"prompt": "x"}, REQUIRED, None),
    ({"cron_expr": "* * * * *"}, REQUIRED, None),
    ({"cron_expr": "", "prompt": "x"}, REQUIRED, None),
    ({"cron_expr": "* * * * *", "prompt": ""}, REQUIRED, None),
    ({"cron_expr": "* * * * *", "prompt": "\r\r"}, REQUIRED, None),
    ({"cron_expr": 5, "prompt": "x"},
     {"error": "cron_expr and prompt are required (cron_expr must be a string)", "code": "invalid_request"}, None),
    ({"cron_expr": "0 9 * * *", "prompt": "x", "enabled": "yes"},
     {"error": "cron_expr and prompt are required (enabled must be a boolean)", "code": "invalid_request"}, None),
    ({"cron_expr": "0 25 * * *", "prompt": "x"},
     "invalid cron_expr at position 3: hour: 25 is out of range 0-23", ("cron_expr", 3)),
    ({"cron_expr": "0 9 * *", "prompt": "x"},
     "invalid cron_expr at position 8: expected 5 or 6 fields (second minute hour day-of-month month day-of-week), "
     "found fewer", ("cron_expr", 8)),
    ({"cron_expr": "0 0 9 * * * 2030", "prompt": "x"},
     "invalid cron_expr at position 13: expected 5 or 6 fields (second minute hour day-of-month month "
     "day-of-week), found more", ("cron_expr", 13)),
    ({"cron_expr": "@daily", "prompt": "x"},
     "invalid cron_expr at position 1: descriptors such as @daily are not supported", ("cron_expr", 1)),
    ({"cron_expr": "0 9 * * mon#2", "prompt": "x"},
     "invalid cron_expr at position 9: day-of-week: L, W and # are not supported", ("cron_expr", 9)),
    ({"cron_expr": "0 9 * * 7", "prompt": "x"},
     "invalid cron_expr at position 9: day-of-week: 7 is out of range 0-6", ("cron_expr", 9)),
    ({"cron_expr": "*/0 9 * * *", "prompt": "x"},
     "invalid cron_expr at position 3: minute: a step must be at least 1", ("cron_expr", 3)),
    ({"cron_expr": "0 9 * * * " + " " * 130, "prompt": "x"},
     "invalid cron_expr at position 129: cron_expr is longer than 128 bytes", ("cron_expr", 129)),
    ({"cron_expr": "0 9 * * *", "timezone": "Mars/Olympus", "prompt": "x"},
     {"error": "invalid timezone: Mars/Olympus", "code": "invalid_timezone"}, ("timezone", 0)),
    ({"cron_expr": "0 25 * * *", "timezone": "Mars/Olympus", "prompt": "x"},  # the zone is read first
     {"error": "invalid timezone: Mars/Olympus", "code": "invalid_timezone"}, ("timezone", 0)),
    ({"cron_expr": "0 9 * * *", "timezone": "../../etc/passwd", "prompt": "x"},
     {"error": "invalid timezone: ../../etc/passwd", "code": "invalid_timezone"}, ("timezone", 1)),
    ({"cron_expr": "0 9 * * *", "timezone": "Europe/../../etc/passwd", "prompt": "x"},
     {"error": "invalid timezone: Europe/../../etc/passwd", "code": "invalid_timezone"}, ("timezone", 8)),
    ({"cron_expr": "0 9 * * *", "timezone": "Local", "prompt": "x"},
     {"error": "invalid timezone: Local", "code": "invalid_timezone"}, ("timezone", 0)),
    ({"cron_expr": "0 9 * * *", "timezone": "localtime", "prompt": "x"},
     {"error": "invalid timezone: localtime", "code": "invalid_timezone"}, ("timezone", 0)),
    ({"cron_expr": "TZ=Mars/X 0 9 * * *", "prompt": "x"},
     {"error": "invalid timezone: Mars/X", "code": "invalid_timezone"}, ("cron_expr", 4)),
    ({"cron_expr": "0 9 * * *", "prompt": "x", "name": "n" * 256},
     {"error": "name must be at most 255 bytes", "code": "invalid_request"}, None),
    ({"cron_expr": "0 9 * * *", "prompt": "p" * 16385},
     {"error": "prompt must be at most 16384 bytes", "code": "invalid_request"}, None),
]


def test_bad_input_is_refused_naming_field_and_position_and_changes_nothing(server):
    w = ws(server)
    for body, want, where in BAD:
        r = post(server, w, body)
        assert r.status_code == 400, (body, r.text)
        if isinstance(want, str):
            want = {"error": want, "code": "invalid_cron_expr"}
        if where:
            want = {**want, "field": where[0], "position": where[1]}
        assert r.json() == want, body
    assert post(server, w, "{not json").json()["code"] == "invalid_json"
    assert post(server, w, '{"cron_expr": "0 9 * * *", "prompt": "a\\u0000b"}').status_code == 400
    assert listed(server, w) == []
    # a prompt of exactly the limit, with its carriage returns removed first, is fine
    assert post(server, w, {"cron_expr": "0 9 * * *", "prompt": "p" * 16384 + "\r"}).status_code == 201


def test_a_taken_name_is_a_conflict_naming_the_holder(server):
    w, other = ws(server), ws(server)
    first = create(server, w, name="daily", cron_expr="0 9 * * *")
    r = post(server, w, {"name": "daily", "cron_expr": "0 10 * * *", "prompt": "x"})
    assert r.status_code == 409
    assert r.json() == {"error": "a schedule named \"daily\" already exists in this workspace", "code": "conflict",
                        "id": first["id"]}
    create(server, other, name="daily", cron_expr="0 9 * * *")  # names are per workspace
    second = create(server, w, name="weekly", cron_expr="0 9 * * 1")
    r = patch(server, w, second["id"], {"name": "daily"})
    assert r.status_code == 409 and r.json()["id"] == first["id"]
    assert [s["name"] for s in listed(server, w)] == ["daily", "weekly"]


def test_patch_updates_what_it_names_and_recomputes_the_next_run_only_for_timing(server):
    w, other = ws(server), ws(server)
    s = create(server, w, name="n", cron_expr="0 9 * * *")
    before = one(server, w, s["id"])
    r = patch(server, w, s["id"], {"cron_expr": "30 10 * * *", "timezone": "Asia/Tokyo"})
    assert (r.status_code, r.json()) == (200, {"status": "updated"})
    row = one(server, w, s["id"])
    nxt = when(row["next_run_at"]).astimezone(ZoneInfo("Asia/Tokyo"))
    assert (row["cron_expr"], row["timezone"], nxt.hour, nxt.minute) == ("30 10 * * *", "Asia/Tokyo", 10, 30)
    assert when(row["next_run_at"]) - dt.datetime.now(dt.timezone.utc) <= dt.timedelta(days=1)
    assert row["created_at"] == before["created_at"] and row["updated_at"] >= before["updated_at"]
    assert patch(server, w, s["id"], {"enabled": False}).status_code == 200
    assert (one(server, w, s["id"])["enabled"], one(server, w, s["id"])["next_run_at"]) == (False, row["next_run_at"])
    assert patch(server, w, s["id"], {"prompt": "a\r\nb", "name": "renamed", "timezone": None}).status_code == 200
    row = one(server, w, s["id"])
    assert (row["prompt"], row["name"], row["timezone"]) == ("a\nb", "renamed", "Asia/Tokyo")
    assert patch(server, w, s["id"], {"timezone": ""}).status_code == 200
    assert one(server, w, s["id"])["timezone"] == "UTC"
    # refusals change nothing
    kept = one(server, w, s["id"])
    assert patch(server, w, s["id"], {"cron_expr": "61 * * * *"}).json() == {
        "error": "invalid cron_expr at position 1: minute: 61 is out of range 0-59", "code": "invalid_cron_expr",
        "field": "cron_expr", "position": 1}
    assert patch(server, w, s["id"], {"timezone": "Nowhere/X", "name": "zz"}).json() == {
        "error": "invalid timezone: Nowhere/X", "code": "invalid_timezone", "field": "timezone", "position": 0}
    assert patch(server, w, s["id"], {"prompt": ""}).json() == {"error": "prompt must not be empty",
                                                                "code": "invalid_request"}
    assert patch(server, w, s["id"], {"enabled": "no"}).json() == {"error": "enabled must be a boolean",
                                                                   "code": "invalid_request"}
    assert one(server, w, s["id"]) == kept
    missing = {"error": "schedule not found", "code": "not_found"}
    assert patch(server, w, str(uuid.uuid4()), {"enabled": True}).json() == missing
    assert patch(server, w, str(uuid.uuid4()), {"cron_expr": "0 9 * * *"}).json() == missing
    theirs = create(server, other, cron_expr="0 9 * * *")
    assert patch(server, w, theirs["id"], {"enabled": False}).status_code == 404  # not through another workspace
    assert one(server, other, theirs["id"])["enabled"] is True
    assert patch(server, w, "nope", {}).status_code == 400


def test_run_echoes_and_fires_nothing_delete_removes(server):
    w = ws(server, mode="poll")
    s = create(server, w, name="r", cron_expr="0 0 1 1 *", prompt="do the thing")
    path = f"/workspaces/{w['id']}/schedules/{s['id']}"
    r = server.post(path + "/run", headers=bearer(w["auth_token"]))
    assert r.json() == {"status": "fired", "workspace_id": w["id"], "prompt": "do the thing"}
    assert history(server, w, s["id"]) == [] and one(server, w, s["id"])["run_count"] == 0
    assert server.delete(path, headers=bearer(w["auth_token"])).json() == {"status": "deleted"}
    missing = {"error": "schedule not found", "code": "not_found"}
    assert server.delete(path, headers=bearer(w["auth_token"])).json() == missing
    assert server.post(path + "/run", headers=bearer(w["auth_token"])).json() == missing
    assert history(server, w, s["id"]) == [] and listed(server, w) == []
    assert server.get(f"/workspaces/{uuid.uuid4()}/schedules", headers=ADMIN).status_code == 404


def test_only_the_workspace_or_an_operator_writes_and_peers_read_health(server):
    boss = ws(server)
    kid, stranger = ws(server, parent=boss), ws(server)
    s = create(server, kid, name="h", cron_expr="0 9 * * *", prompt="secret prompt")
    base = f"/workspaces/{kid['id']}/schedules"
    for method, path, body in [("GET", base, None), ("POST", base, {"cron_expr": "0 9 * * *", "prompt": "x"}),
                               ("PATCH", f"{base}/{s['id']}", {"enabled": False}),
                               ("DELETE", f"{base}/{s['id']}", None), ("POST", f"{base}/{s['id']}/run", None),
                               ("GET", f"{base}/{s['id']}/history", None)]:
        r = server.request(method, path, headers=bearer(stranger["auth_token"]), json=body)
        assert r.json() == {"error": "invalid workspace auth token", "code": "unauthorized"}, (method, path)
        assert server.request(method, path, json=body).status_code == 401
    assert len(listed(server, kid)) == 1 and one(server, kid, s["id"])["enabled"] is True
    health = server.get(f"{base}/health", headers=bearer(boss["auth_token"]))  # its parent may talk to it
    assert health.status_code == 200
    (h,) = health.json()
    assert h == {"id": s["id"], "name": "h", "enabled": True, "last_run_at": None,
                 "next_run_at": s["next_run_at"], "run_count": 0, "last_status": "", "last_error": ""}
    assert server.get(f"{base}/health", headers=bearer(kid["auth_token"])).json() == [h]
    assert server.get(f"{base}/health", headers=ADMIN).json() == [h]
    r = server.get(f"{base}/health", headers=bearer(stranger["auth_token"]))
    assert r.status_code == 403
    assert server.get(f"{base}/health", headers={"X-Workspace-ID": kid["id"]}).json() == {
        "error": "missing caller auth token", "code": "unauthorized"}
    r = server.get(f"{base}/health", headers={"X-Workspace-ID": kid["id"], **bearer(boss["auth_token"])})
    assert r.json() == {"error": "invalid caller auth token", "code": "unauthorized"}


def test_the_limit_per_workspace_holds_under_concurrent_creates(start_colony):
    c = start_colony(args=["--schedule-max-per-workspace", "3"])
    w = ws(c)

    def make(i):
        return requests.post(f"{c.url}/workspaces/{w['id']}/schedules", headers=bearer(w["auth_token"]),
                             json={"name": f"s{i}", "cron_expr": "0 9 * * *", "prompt": "x"}, timeout=30)

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(make, range(12)))
    assert sorted(r.status_code for r in got) == [201] * 3 + [409] * 9
    refused = [r.json() for r in got if r.status_code == 409]
    assert all(r == {"error": "this workspace has 3 schedules, the most it may have",
                     "code": "schedule_limit_reached"} for r in refused), refused
    assert len(listed(c, w)) == 3
    # deleting one makes room for one
    sid = listed(c, w)[0]["id"]
    assert c.delete(f"/workspaces/{w['id']}/schedules/{sid}", headers=ADMIN).status_code == 200
    assert make(99).status_code == 201 and make(100).status_code == 409
    # without --schedule-seconds a six-field expression is the reference's error
    r = c.post(f"/workspaces/{w['id']}/schedules", headers=ADMIN, json={"cron_expr": "* * * * * *", "prompt": "x"})
    assert r.json()["error"] == ("invalid cron_expr at position 11: expected 5 fields (minute hour day-of-month "
                                 "month day-of-week), found more")


# ---- firing --------------------------------------------------------------------------------------------------------

def check_series(rows, sid, name, prompt=None):
    """Runs of an every-second schedule: one per occurrence, in order, each with its derived messageId."""
    seen = []
    for r in rows:
        req = r["request"]
        assert req["schedule_id"] == sid and req["schedule_name"] == name and req["cron_expr"] == "* * * * * *"
        assert req["message_id"] == f"cron-{sid}-{compact(req['scheduled_for'])}"
        assert when(req["scheduled_for"]).microsecond == 0
        if prompt is not None:
            assert req["prompt"] == prompt
        seen.append(when(req["scheduled_for"]))
    for a, b in zip(seen, seen[1:]):
        assert b > a
    return seen


def test_every_second_fires_once_per_occurrence_through_a_push_agent(server, agent):
    w = ws(server)
    register(server, w, agent.url)
    fired0 = metric(server, "colony_schedule_occurrences_total", '{outcome="fired"}')
    s = create(server, w, name="tick", cron_expr="* * * * * *", prompt="status please")
    runs(server, w, s["id"], 4)
    rows = settle(server, w, s["id"])
    check_series(rows, s["id"], "tick", "status please")
    for r in rows:
        assert (r["status"], r["error_detail"]) == ("ok", "")
        assert isinstance(r["duration_ms"], int) and r["duration_ms"] >= 0
        assert set(r["request"]) <= {"schedule_id", "schedule_name", "cron_expr", "scheduled_for", "message_id",
                                     "prompt", "missed"}
    ids = [r["request"]["message_id"] for r in rows]
    for mid in ids:  # each occurrence reached the agent exactly once, as the reference's body
        (body,) = agent.deliveries_of(mid)
        assert body["method"] == "message/send" and body["id"] == mid
        assert body["params"] == {"message": {"role": "user", "messageId": mid,
                                              "parts": [{"kind": "text", "text": "status please"}]}}
    row = one(server, w, s["id"])
    assert (row["last_status"], row["last_error"], row["run_count"]) == ("ok", "", len(rows))
    executed = [e["payload"] for e in events(server, w, "CRON_EXECUTED")]
    assert executed == [{"schedule_id": s["id"], "schedule_name": "tick", "status": "ok"}] * len(rows)
    responses = [e["payload"]["message_id"] for e in events(server, w, "A2A_RESPONSE")]
    assert sorted(responses) == sorted(ids)
    assert metric(server, "colony_schedule_occurrences_total", '{outcome="fired"}') - fired0 >= len(rows)
    # the activity log has the reference's cron_run rows and the messages
    act = server.get(f"/workspaces/{w['id']}/activity", headers=ADMIN, params={"type": "cron_run"}).json()
    assert {a["summary"] for a in act} == {"Cron: tick"} and {a["method"] for a in act} == {"cron"}
    assert len(act) == len(rows)


def test_a_poll_agent_finds_each_occurrence_in_its_inbox(server):
    w = ws(server, mode="poll")
    s = create(server, w, name="inbox", cron_expr="* * * * * *", prompt="check the queue")
    runs(server, w, s["id"], 2)
    rows = settle(server, w, s["id"])
    check_series(rows, s["id"], "inbox")
    assert {r["status"] for r in rows} == {"ok"}
    got = server.get(f"/workspaces/{w['id']}/activity", headers=bearer(w["auth_token"]),
                     params={"type": "a2a_receive", "limit": 500}).json()
    inbox = {a["request_body"]["params"]["message"]["messageId"]: a for a in got}
    for r in rows:
        a = inbox[r["request"]["message_id"]]
        assert a["source_id"] is None and a["summary"].endswith("(queued for poll)")
        assert a["request_body"]["params"]["message"]["parts"] == [{"kind": "text", "text": "check the queue"}]
    assert len(inbox) == len(rows)


def test_a_workspace_without_url_records_errors(server):
    w = ws(server)  # push mode, never registered
    failed0 = metric(server, "colony_schedule_occurrences_total", '{outcome="failed"}')
    s = create(server, w, name="nourl", cron_expr="* * * * * *")
    runs(server, w, s["id"], 2)
    rows = settle(server, w, s["id"])
    assert {(r["status"], r["error_detail"]) for r in rows} == {("error", "workspace has no URL")}
    assert (one(server, w, s["id"])["last_status"], one(server, w, s["id"])["last_error"]) == (
        "error", "workspace has no URL")
    assert [e["payload"]["status"] for e in events(server, w, "CRON_EXECUTED")] == ["error"] * len(rows)
    assert metric(server, "colony_schedule_occurrences_total", '{outcome="failed"}') - failed0 >= len(rows)


@pytest.mark.parametrize("reply,status,error", [
    ((500, {"error": "boom"}), "error", "boom"),
    ((502, None), "error", "Bad Gateway"),
    ((200, {"jsonrpc": "2.0", "id": "x", "error": {"code": -32000, "message": "model overloaded"}}), "error",
     "A2A adapter error: model overloaded"),
    ((200, {"jsonrpc": "2.0", "id": "x", "error": "quota exceeded"}), "error", "A2A adapter error: quota exceeded"),
    ((200, {"jsonrpc": "2.0", "id": "x", "result": {"kind": "task", "status": {"state": "failed"}}}), "failed",
     "SDK error: result_kind=task"),
    ((200, {"jsonrpc": "2.0", "id": "x", "result": {"kind": "task", "status": {"state": "working"}}}), "ok", ""),
    ((200, {"jsonrpc": "2.0", "id": "x", "result": {"kind": "message", "parts": [{"kind": "text", "text": "hi"}]}}),
     "ok", ""),
])
def test_replies_are_classified_as_the_reference_does(server, reply, status, error):
    stub = AgentStub()
    try:
        stub.mode, stub.reply_with = "reply", reply
        w = ws(server)
        register(server, w, stub.url)
        s = create(server, w, cron_expr="* * * * * *")
        runs(server, w, s["id"], 1)
        rows = settle(server, w, s["id"])
        assert {(r["status"], r["error_detail"]) for r in rows} == {(status, error)}
    finally:
        stub.close()


def test_three_empty_replies_make_a_schedule_stale(server, agent):
    agent.mode = "reply"
    agent.reply_with = (200, {"jsonrpc": "2.0", "id": "x", "result": {"kind": "message",
                                                                       "parts": [{"kind": "text", "text": ""}]}})
    w = ws(server)
    register(server, w, agent.url)
    s = create(server, w, cron_expr="* * * * * *")
    runs(server, w, s["id"], 4)
    rows = settle(server, w, s["id"])
    stale = "empty response {} consecutive times \u2014 agent may be phantom-producing (#795)"
    assert [(r["status"], r["error_detail"]) for r in rows[:4]] == [
        ("ok", ""), ("ok", ""), ("stale", stale.format(3)), ("stale", stale.format(4))]
    # a reply with text resets the streak
    agent.mode = "echo"
    assert patch(server, w, s["id"], {"enabled": True}).status_code == 200
    wait_for(lambda: one(server, w, s["id"])["last_status"] == "ok", timeout=30)


def test_three_sdk_errors_disable_a_schedule(server, agent):
    agent.mode = "reply"
    agent.reply_with = (200, {"jsonrpc": "2.0", "id": "x", "result": {"kind": "rate_limited"}})
    w = ws(server)
    register(server, w, agent.url)
    s = create(server, w, cron_expr="* * * * * *")
    wait_for(lambda: one(server, w, s["id"])["enabled"] is False, timeout=30)
    wait_for(lambda: len(history(server, w, s["id"])) == one(server, w, s["id"])["run_count"])
    rows = list(reversed(history(server, w, s["id"])))
    assert len(rows) >= 3
    assert {(r["status"], r["error_detail"]) for r in rows} == {("rate_limited", "SDK error: result_kind=rate_limited")}
    row = one(server, w, s["id"])
    assert (row["last_status"], row["enabled"]) == ("rate_limited", False)
    # nothing fires any more: the count holds while another schedule runs twice
    control = create(server, w, cron_expr="* * * * * *")
    runs(server, w, control["id"], 2)
    assert len(history(server, w, s["id"])) == len(rows)


def test_a_busy_agent_gets_the_occurrence_through_the_busy_queue(server, agent):
    w = ws(server)
    register(server, w, agent.url)
    heartbeat(server, w, 1)  # at its maximum (1): never pushed to, queued at once
    s = create(server, w, name="busy", cron_expr="* * * * * *", prompt="when free")
    (first,) = runs(server, w, s["id"], 1)[:1]
    req = first["request"]
    assert first["status"] == "queued" and req["queued"] is True and req["active_tasks"] == 1
    assert re.fullmatch(r"queued: workspace busy \(active_tasks=1\), buffered \(id=[0-9a-f]{8}, depth=\d+\)",
                        first["error_detail"])
    assert first["error_detail"].split("id=")[1][:8] == req["queue_id"][:8]
    skipped = events(server, w, "CRON_SKIPPED")[-1]["payload"]
    assert skipped == {"schedule_id": s["id"], "schedule_name": "busy", "reason": first["error_detail"],
                       "queued": True}
    # the busy queue's dispatcher delivers it (the agent answers), once
    item = wait_for(lambda: (q := server.get(f"/workspaces/{w['id']}/a2a/queue/{req['queue_id']}",
                                              headers=ADMIN).json())["status"] == "completed" and q)
    assert item["response_body"]["result"]["parts"] == [{"kind": "text", "text": "echo: when free"}]
    due = when(req["scheduled_for"])  # a buffered occurrence lives until the next one is due
    assert due + dt.timedelta(seconds=1) <= when(item["expires_at"]) <= due + dt.timedelta(milliseconds=2500)
    assert len(agent.deliveries_of(req["message_id"])) == 1
    # free again: pushed directly
    heartbeat(server, w, 0)
    wait_for(lambda: history(server, w, s["id"])[0]["status"] == "ok", timeout=30)
    # an agent that answers 503 is busy too: queued by the push itself
    agent.mode = "busy"
    wait_for(lambda: history(server, w, s["id"])[0]["status"] == "queued", timeout=30)
    settle(server, w, s["id"])


def test_missed_occurrences_coalesce_into_the_latest_one(server):
    w = ws(server, mode="poll")
    skipped0 = metric(server, "colony_schedule_occurrences_total", '{outcome="skipped"}')
    s = create(server, w, name="late", cron_expr="* * * * * *", enabled=False)
    first_due = when(s["next_run_at"])
    # nothing runs it for four seconds past its next run (as after downtime), then it is enabled again
    wait_for(lambda: dt.datetime.now(dt.timezone.utc) >= first_due + dt.timedelta(seconds=4), timeout=10)
    assert patch(server, w, s["id"], {"enabled": True}).status_code == 200
    runs(server, w, s["id"], 3)
    rows = settle(server, w, s["id"])
    seen = check_series(rows, s["id"], "late")
    req = rows[0]["request"]
    missed = req["missed"]
    assert missed >= 4 and seen[0] - dt.timedelta(seconds=missed) == first_due  # every occurrence accounted for
    for prev, row in zip(rows, rows[1:]):  # then one run per occurrence again (or coalesced, never repeated)
        assert when(row["request"]["scheduled_for"]) - dt.timedelta(seconds=row["request"].get("missed", 0)) == \
            when(prev["request"]["scheduled_for"]) + dt.timedelta(seconds=1)
    assert metric(server, "colony_schedule_occurrences_total", '{outcome="skipped"}') - skipped0 >= missed


def test_a_removed_workspace_stops_its_schedules(server):
    gone, control = ws(server, mode="poll"), ws(server, mode="poll")
    s = create(server, gone, cron_expr="* * * * * *")
    c = create(server, control, cron_expr="* * * * * *")
    runs(server, gone, s["id"], 1)
    name = server.get(f"/workspaces/{gone['id']}").json()["name"]
    r = server.delete(f"/workspaces/{gone['id']}", headers=ADMIN)
    assert r.status_code == 400 and r.json()["schedule_count"] == 1
    assert server.delete(f"/workspaces/{gone['id']}", headers={**ADMIN, "X-Confirm-Name": name}).status_code == 200
    assert one(server, gone, s["id"])["enabled"] is False  # listed still, disabled
    wait_for(lambda: len(history(server, gone, s["id"])) == one(server, gone, s["id"])["run_count"])
    count = len(history(server, gone, s["id"]))
    have = len(history(server, control, c["id"]))
    runs(server, control, c["id"], have + 3)  # three more seconds: the removed one stays silent
    assert len(history(server, gone, s["id"])) == count
    # enabling it again does not bring it back: a removed workspace's schedules never fire
    assert patch(server, gone, s["id"], {"enabled": True}).status_code == 401  # its tokens are revoked
    server.db.execute(f"UPDATE workspace_schedules SET enabled = 1 WHERE id = '{s['id']}'")
    runs(server, control, c["id"], have + 6)
    assert len(history(server, gone, s["id"])) == count
    # a purge deletes them
    assert server.delete(f"/workspaces/{gone['id']}?purge=true", headers={**ADMIN, "X-Confirm-Name": name}
                         ).status_code == 200
    assert server.db.query(f"SELECT count(*) FROM workspace_schedules WHERE id = '{s['id']}'") == [["0"]]
    settle(server, control, c["id"])


# ---- templates -----------------------------------------------------------------------------------------------------

def import_template(c, tpl=None, **kw):
    return c.post("/org/import", headers=ADMIN, json={"template": tpl} if tpl is not None else kw)


def test_templates_declare_schedules_and_import_creates_them_once(server):
    root = "tpl-" + uuid.uuid4().hex[:6]
    tpl = {"name": root, "defaults": {"model": "m"},
           "workspaces": [{"name": root, "schedules": [
               {"name": "standup", "cron_expr": "0 9 * * 1-5", "timezone": "Europe/Berlin", "prompt": "Stand-up\r\n"},
               {"name": "off", "cron_expr": "0 0 1 * *", "prompt": "monthly", "enabled": False}],
               "children": [{"name": "dev", "schedules": [{"name": "yearly", "cron_expr": "0 0 0 1 1 *",
                                                           "prompt": "t"}]}]}]}
    r = import_template(server, tpl)
    assert r.status_code == 201, r.text
    ids = {i["name"]: i["id"] for i in r.json()["workspaces"]}
    lead = sorted(listed(server, {"id": ids[root]}, headers=ADMIN), key=lambda s: s["name"], reverse=True)
    assert [(s["name"], s["cron_expr"], s["timezone"], s["prompt"], s["enabled"], s["source"]) for s in lead] == [
        ("standup", "0 9 * * 1-5", "Europe/Berlin", "Stand-up\n", True, "template"),
        ("off", "0 0 1 * *", "UTC", "monthly", False, "template")]
    assert when(lead[0]["next_run_at"]) in {next_weekday_nine_berlin(dt.datetime.now(dt.timezone.utc)),
                                            next_weekday_nine_berlin(when(lead[0]["created_at"]))}
    dev = listed(server, {"id": ids["dev"]}, headers=ADMIN)
    assert [(s["name"], s["source"], when(s["next_run_at"]).strftime("%m-%d %H:%M:%S")) for s in dev] == [
        ("yearly", "template", "01-01 00:00:00")]
    # a second import creates nothing, not even a schedule
    again = import_template(server, tpl)
    assert again.status_code == 201 and again.json()["created"] == 0
    assert sorted(listed(server, {"id": ids[root]}, headers=ADMIN), key=lambda s: s["name"], reverse=True) == lead
    assert listed(server, {"id": ids["dev"]}, headers=ADMIN) == dev
    # a reconciling import (which holds the tree exclusively) creates them the same way
    other = {"name": root + "-r", "defaults": {"model": "m"},
             "workspaces": [{"name": root + "-r", "schedules": [{"name": "r", "cron_expr": "0 9 * * *", "prompt": "p"}]}]}
    r = server.post("/org/import", headers=ADMIN, json={"template": other, "mode": "reconcile"})
    assert r.status_code == 201, r.text
    assert [s["name"] for s in listed(server, {"id": r.json()["workspaces"][0]["id"]}, headers=ADMIN)] == ["r"]


@pytest.mark.parametrize("schedule,message", [
    ({"name": "x", "cron_expr": "0 25 * * *", "prompt": "p"},
     "workspaces[0].schedules[1].cron_expr: invalid cron_expr at position 3: hour: 25 is out of range 0-23"),
    ({"name": "x", "cron_expr": "0 9 * * *", "timezone": "Mars/X", "prompt": "p"},
     "workspaces[0].schedules[1].timezone: invalid timezone: Mars/X"),
    ({"cron_expr": "0 9 * * *", "prompt": "p"},
     "workspaces[0].schedules[1].name is required (at most 255 bytes): a template's schedules are kept by name"),
    ({"name": "x", "cron_expr": "0 9 * * *"},
     "workspaces[0].schedules[1]: a prompt (or prompt_file) of 1 to 16384 bytes is required"),
    ({"name": "x", "cron_expr": "0 9 * * *", "prompt_file": "p.md"},
     "workspaces[0].schedules[1]: prompt_file needs a template directory (import by dir)"),
    ({"name": "x", "cron_expr": "0 9 * * *", "prompt": "p", "when": "now"},
     "unknown key \"when\" in workspaces[0].schedules[1]"),
    ({"name": "ok", "cron_expr": "0 9 * * *", "prompt": "p"}, "duplicate schedule name \"ok\" at workspaces[0].schedules[1]"),
])
def test_a_bad_template_schedule_refuses_the_whole_import(server, schedule, message):
    root = "badtpl-" + uuid.uuid4().hex[:6]
    tpl = {"name": root, "defaults": {"model": "m"},
           "workspaces": [{"name": root, "schedules": [{"name": "ok", "cron_expr": "0 9 * * *", "prompt": "p"},
                                                       schedule]}]}
    r = import_template(server, tpl)
    assert r.status_code == 400 and r.json() == {"error": message, "code": "invalid_request"}
    names = [w["name"] for w in server.get("/workspaces", headers=ADMIN).json()]
    assert root not in names


def test_a_directory_template_reads_prompt_files_inside_it_only(server):
    d = TEMPLATES / ("files-" + uuid.uuid4().hex[:6])
    (d / "lead").mkdir(parents=True)
    (d / "lead" / "standup.md").write_text("Read the board\r\nthen report")
    (d / "org.yaml").write_text(
        "name: Files Org\ndefaults: {model: m}\nworkspaces:\n"
        f"  - name: {d.name}\n    files_dir: lead\n    schedules:\n"
        "      - {name: standup, cron_expr: '0 9 * * *', prompt_file: standup.md}\n")
    r = import_template(server, dir=d.name)
    assert r.status_code == 201, r.text
    (s,) = listed(server, {"id": r.json()["workspaces"][0]["id"]}, headers=ADMIN)
    assert (s["prompt"], s["source"]) == ("Read the board\nthen report", "template")
    outside = TEMPLATES / ("secret-" + uuid.uuid4().hex[:6])
    outside.write_text("not yours")
    for ref, why in [("../../" + outside.name, "must be a path inside the template directory"),
                     ("/etc/passwd", "must be a path inside the template directory")]:
        e = TEMPLATES / ("esc-" + uuid.uuid4().hex[:6])
        e.mkdir()
        (e / "org.yaml").write_text(f"name: E\ndefaults: {{model: m}}\nworkspaces:\n  - name: {e.name}\n"
                                    f"    schedules:\n      - {{name: s, cron_expr: '0 9 * * *', prompt_file: '{ref}'}}\n")
        r = import_template(server, dir=e.name)
        assert r.status_code == 400 and why in r.json()["error"], r.text
    link = TEMPLATES / ("link-" + uuid.uuid4().hex[:6])
    link.mkdir()
    (link / "p.md").symlink_to(outside)
    (link / "org.yaml").write_text(f"name: L\ndefaults: {{model: m}}\nworkspaces:\n  - name: {link.name}\n"
                                   "    schedules:\n      - {name: s, cron_expr: '0 9 * * *', prompt_file: p.md}\n")
    r = import_template(server, dir=link.name)
    assert r.status_code == 400 and "must be a path inside the template directory" in r.json()["error"], r.text


# ---- several nodes -------------------------------------------------------------------------------------------------

NODE_ARGS = ["--schedule-seconds", "true", "--schedule-interval-ms", "100"]


def test_two_nodes_fire_each_occurrence_exactly_once(backend, new_db, start_colony, agent):
    """Two nodes on one PostgreSQL race for every occurrence of five every-second schedules for 20 seconds (100
    occurrences, each claimed by both): every occurrence reaches the agent once and is recorded once, none is
    repeated, and each one not fired is accounted for by a later run's `missed`."""
    if backend != "postgres":
        pytest.skip("several nodes share a PostgreSQL database; SQLite is a single-node store")
    db = new_db()
    a, b = start_colony(db=db, args=NODE_ARGS), start_colony(db=db, args=NODE_ARGS)
    w = ws(a)
    register(a, w, agent.url)
    scheds = [create(b if i % 2 else a, w, name=f"n{i}", cron_expr="* * * * * *", prompt=f"p{i}") for i in range(5)]
    end = time.time() + 20
    wait_for(lambda: time.time() >= end, timeout=30)
    for s in scheds:
        assert patch(a, w, s["id"], {"enabled": False}).status_code == 200
    total = 0
    for s in scheds:
        end = time.time() + 10  # the runs claimed before the stop are recorded within moments
        while len(history(a, w, s["id"])) != one(a, w, s["id"])["run_count"] and time.time() < end:
            time.sleep(0.1)
        rows = list(reversed(history(a, w, s["id"])))
        for r in rows:  # each occurrence reached the agent once
            mid = r["request"]["message_id"]
            assert len(agent.deliveries_of(mid)) == 1, (mid, len(agent.deliveries_of(mid)))
        claims = one(a, w, s["id"])["run_count"]
        assert claims == len(rows), f"{claims} claims for {len(rows)} occurrences"  # and was claimed once
        seen = check_series(rows, s["id"], one(a, w, s["id"])["name"])
        assert len(rows) >= 15, len(rows)
        assert {r["status"] for r in rows} == {"ok"}
        for prev, row in zip(rows, rows[1:]):  # contiguous: each occurrence fired or coalesced, none twice
            assert when(row["request"]["scheduled_for"]) - dt.timedelta(seconds=row["request"].get("missed", 0)) \
                == when(prev["request"]["scheduled_for"]) + dt.timedelta(seconds=1)
        assert len(set(seen)) == len(seen)
        total += len(rows)
    cron_bodies = [d for d in agent.delivered if d["params"]["message"]["messageId"].startswith("cron-")]
    assert len(cron_bodies) == total  # nothing else reached the agent
    fired = [metric(n, "colony_schedule_occurrences_total", '{outcome="fired"}') for n in (a, b)]
    lost = [metric(n, "colony_schedule_claims_lost_total") for n in (a, b)]
    print(f"\ntwo nodes: {total} runs, fired per node {fired}, claims lost per node {lost}")
    assert sum(fired) == total, fired  # every claim of either node was one recorded run
    assert sum(lost) > 0, lost  # the nodes did race for the same occurrences (else this proved nothing)


# ---- the operators' views ------------------------------------------------------------------------------------------

def test_admin_health_orphans_and_the_repair(server):
    tag = uuid.uuid4().hex[:6]

    def make(name, role=None, parent=None):
        body = {"name": f"{tag}-{name}", "model": "m", "delivery_mode": "poll"}
        if role:
            body["role"] = role
        if parent:
            body["parent_id"] = parent["id"]
        r = server.post("/workspaces", headers=ADMIN, json=body)
        assert r.status_code == 201, r.text
        return r.json()

    lead = make("a-lead")
    old, clash = make("b-old", "dev", lead), make("c-clash", "dev", lead)
    nightly = create(server, old, name="nightly", cron_expr="0 3 * * *")
    create(server, clash, name="both", cron_expr="0 4 * * *")
    off = create(server, lead, name="off", cron_expr="0 5 * * *", enabled=False)
    late = create(server, lead, name="late", cron_expr="0 6 * * *")
    server.db.execute(f"UPDATE workspace_schedules SET last_run_at = {int(time.time() * 1000) - 3 * 86400000}"
                      f" WHERE id = '{late['id']}'")
    health = [h for h in server.get("/admin/schedules/health", headers=ADMIN).json()
              if h["workspace_name"].startswith(tag)]
    assert [(h["workspace_name"], h["schedule_name"], h["status"], h["stale_threshold_seconds"]) for h in health] == [
        (f"{tag}-a-lead", "late", "stale", 2 * 86400), (f"{tag}-a-lead", "off", "disabled", 2 * 86400),
        (f"{tag}-b-old", "nightly", "never_run", 2 * 86400), (f"{tag}-c-clash", "both", "never_run", 2 * 86400)]
    assert set(health[0]) == {"workspace_id", "workspace_name", "schedule_id", "schedule_name", "cron_expr",
                              "last_run_at", "expected_next_run", "status", "stale_threshold_seconds"}
    assert (health[1]["schedule_id"], health[1]["expected_next_run"]) == (off["id"], off["next_run_at"])
    everything, pages, params = server.get("/admin/schedules/health", headers=ADMIN).json(), [], {"limit": 2}
    while True:  # the pages, by cursor, are the whole list
        r = server.get("/admin/schedules/health", headers=ADMIN, params=params)
        pages += r.json()
        if "X-Next-Cursor" not in r.headers:
            break
        params["cursor"] = r.headers["X-Next-Cursor"]
    assert [p["schedule_id"] for p in pages] == [h["schedule_id"] for h in everything]
    params = {"limit": 1}
    while (r := server.get("/admin/schedules/health", headers=ADMIN, params=params)).json()[0]["schedule_id"] != \
            late["id"]:
        params["cursor"] = r.headers["X-Next-Cursor"]
    doomed = create(server, lead, name="mid", cron_expr="0 7 * * *")  # a cursor past a row that then goes
    params = {"limit": 1, "cursor": r.headers["X-Next-Cursor"]}
    r = server.get("/admin/schedules/health", headers=ADMIN, params=params)
    assert r.json()[0]["schedule_id"] == doomed["id"]
    assert server.delete(f"/workspaces/{lead['id']}/schedules/{doomed['id']}", headers=ADMIN).status_code == 200
    r = server.get("/admin/schedules/health", headers=ADMIN, params={"limit": 1, "cursor": r.headers["X-Next-Cursor"]})
    assert r.json() == {"error": "the schedule this page starts after was deleted; start again", "code": "gone"}
    # the old workspace goes; a successor with its role takes its place under the same parent
    assert server.delete(f"/workspaces/{old['id']}", headers={**ADMIN, "X-Confirm-Name": f"{tag}-b-old"}
                         ).status_code == 200
    gone2 = make("d-gone", "dev", lead)
    clashing = create(server, gone2, name="both", cron_expr="0 4 * * *")
    assert server.delete(f"/workspaces/{gone2['id']}", headers={**ADMIN, "X-Confirm-Name": f"{tag}-d-gone"}
                         ).status_code == 200
    server.db.execute(f"UPDATE workspace_schedules SET enabled = 1 WHERE id = '{clashing['id']}'")
    successor = make("e-new", "dev", lead)
    orphans = [o for o in server.get("/admin/schedules/orphans", headers=ADMIN).json()
               if o["schedule_id"] in (nightly["id"], clashing["id"])]
    assert orphans == [
        {"workspace_id": gone2["id"], "workspace_status": "removed", "schedule_id": clashing["id"],
         "schedule_name": "both", "source": "runtime", "enabled": True, "cron_expr": "0 4 * * *"},
        {"workspace_id": old["id"], "workspace_status": "removed", "schedule_id": nightly["id"],
         "schedule_name": "nightly", "source": "runtime", "enabled": False, "cron_expr": "0 3 * * *"}]
    create(server, successor, name="both", cron_expr="0 4 * * *")  # the successor has "both" already
    r = server.post("/admin/schedules/reap-orphans", headers=ADMIN)
    assert r.json() == {"repointed": 1, "disabled": 1}
    assert [(s["id"], s["enabled"]) for s in listed(server, successor, headers=ADMIN) if s["name"] == "nightly"] == [
        (nightly["id"], False)]
    assert one(server, gone2, clashing["id"])["enabled"] is False
    assert server.post("/admin/schedules/reap-orphans", headers=ADMIN).json() == {"repointed": 0, "disabled": 0}
    assert server.get("/admin/schedules/health", headers=bearer(lead["auth_token"])).status_code == 403
