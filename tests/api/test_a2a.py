"""A2A proxy, busy queue and delegations (runtime.md §4-§5, vectors.md §3.5, differences 6 and 7), against a real
agent stub (agent_stub.py)."""
import json
import uuid

import pytest
import requests

from conftest import ADMIN, wait_for

SERVER_ARGS = ("--a2a-dispatch-interval-ms", "100", "--sweep-interval-ms", "200",
               "--delegation-sweep-interval-ms", "200", "--delegation-stuck-after", "60")


def bearer(t):
    return {"Authorization": f"Bearer {t}"}


def ws(c, parent=None, mode="push"):
    body = {"name": "a2a-" + uuid.uuid4().hex[:8], "model": "m", "delivery_mode": mode}
    if parent:
        body["parent_id"] = parent["id"]
    r = c.post("/workspaces", headers=ADMIN, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def register(c, w, url, mode="push"):
    r = c.post("/registry/register", headers=bearer(w["auth_token"]),
               json={"id": w["id"], "url": url, "agent_card": {"name": "stub"}, "delivery_mode": mode})
    assert r.status_code == 200, r.text
    return r.json()


def pair(c, agent, child_mode="push"):
    """A manager and its report; the report is served by the stub (push) or polls."""
    boss = ws(c, mode="poll")
    child = ws(c, parent=boss, mode=child_mode)
    if child_mode == "push":
        register(c, child, agent.url)
    return boss, child


def send(c, frm, to, body, message_id=None, headers=None):
    h = {"X-Workspace-ID": frm["id"], **bearer(frm["auth_token"])} if frm else {}
    return requests.post(f"{c.url}/workspaces/{to['id']}/a2a", data=body if isinstance(body, (str, bytes))
                         else json.dumps(body), headers={**h, **(headers or {})}, timeout=30)


def msg(text, message_id=None, **meta):
    m = {"role": "user", "parts": [{"kind": "text", "text": text}]}
    if message_id:
        m["messageId"] = message_id
    if meta:
        m["metadata"] = meta
    return {"jsonrpc": "2.0", "id": "req-1", "method": "message/send", "params": {"message": m}}


def activity(c, w, **q):
    r = c.get(f"/workspaces/{w['id']}/activity", headers=bearer(w["auth_token"]), params=q)
    assert r.status_code == 200, r.text
    return r.json()


def test_push_normalises_relays_and_logs(server, agent):
    boss, child = pair(server, agent)
    r = send(server, boss, child, {"method": "message/send", "params": {"message": {"content": "hello world"}}})
    assert r.status_code == 200, r.text
    reply = r.json()
    assert reply["result"]["parts"] == [{"kind": "text", "text": "echo: hello world"}]
    (got,) = agent.delivered
    assert got["jsonrpc"] == "2.0" and got["method"] == "message/send" and reply["id"] == got["id"]
    m = got["params"]["message"]
    assert m["parts"] == [{"kind": "text", "text": "hello world"}] and "content" not in m
    assert m["role"] == "user" and len(m["messageId"]) == 36
    rows = [a for a in activity(server, child, type="a2a_receive") if a["method"] == "message/send"]
    assert len(rows) == 1, rows
    assert rows[0]["source_id"] == boss["id"] and rows[0]["status"] == "ok"
    assert rows[0]["response_body"] == reply and rows[0]["request_body"]["params"]["message"]["messageId"] == m["messageId"]
    events = server.get(f"/events/{child['id']}", headers=ADMIN).json()
    um = [e for e in events if e["event_type"] == "USER_MESSAGE"]
    assert um and um[0]["payload"] == {"message_id": m["messageId"], "content": "hello world",
                                       "workspace_id": child["id"]}


@pytest.mark.parametrize("body,error", [
    ("not json", "invalid JSON"),
    ("", "invalid JSON"),
    (json.dumps({"method": "message/send", "params": {"message": {"content": 42}}}),
     "invalid params.message.content type"),
    (json.dumps({"method": "message/send", "params": {"message": {"role": "user"}}}),
     "params.message must contain either 'parts' (v0.3) or 'content' (v0.2 compat)"),
])
def test_bad_bodies_are_400_and_reach_nobody(server, agent, body, error):
    boss, child = pair(server, agent)
    r = send(server, boss, child, body)
    assert r.status_code == 400 and r.json()["error"] == error
    assert agent.seen == []


def test_v1_spelling_and_part_types(server, agent):
    boss, child = pair(server, agent)
    body = {"jsonrpc": "2.0", "id": 7, "method": "SendMessage",
            "params": {"message": {"role": "agent", "messageId": "m-keep",
                                   "parts": [{"type": "text", "text": "hi"}, {"kind": "file", "type": "x"}]}}}
    assert send(server, boss, child, body).status_code == 200
    (got,) = agent.delivered
    assert got["id"] == 7 and got["params"]["message"]["messageId"] == "m-keep"
    assert got["params"]["message"]["role"] == "agent"
    assert got["params"]["message"]["parts"] == [{"kind": "text", "text": "hi"}, {"kind": "file", "type": "x"}]


def test_callers_are_authenticated_and_the_hierarchy_applies(server, agent):
    boss, child = pair(server, agent)
    stranger = ws(server)
    body = msg("x")
    r = requests.post(f"{server.url}/workspaces/{child['id']}/a2a", json=body, timeout=10)
    assert r.status_code == 401 and r.json()["error"] == "missing caller auth token"
    r = send(server, None, child, body, headers={"X-Workspace-ID": boss["id"], **bearer(child["auth_token"])})
    assert r.status_code == 401 and r.json()["error"] == "invalid caller auth token"
    r = send(server, None, child, body, headers={"X-Workspace-ID": "system:cron", **bearer(boss["auth_token"])})
    assert r.status_code == 403 and r.json()["error"] == "invalid caller ID"
    r = send(server, stranger, child, body)
    assert r.status_code == 403
    assert r.json()["error"] == "access denied: workspaces cannot communicate per hierarchy rules"
    assert agent.seen == []
    r = send(server, None, child, body, headers=ADMIN)  # an operator (canvas user) may talk to anyone
    assert r.status_code == 200
    events = server.get(f"/events/{child['id']}", headers=ADMIN).json()
    assert any(e["event_type"] == "A2A_RESPONSE" for e in events)


def test_poll_mode_stores_and_the_reply_completes_the_exchange(server, agent):
    boss, child = pair(server, agent, child_mode="poll")
    r = send(server, boss, child, msg("do it", "m-poll-1"))
    assert r.status_code == 200
    assert r.json() == {"status": "queued", "delivery_mode": "poll", "method": "message/send"}
    rows = activity(server, child, type="a2a_receive")
    assert len(rows) == 1 and rows[0]["request_body"]["params"]["message"]["messageId"] == "m-poll-1"
    assert rows[0]["response_body"] is None
    cursor = rows[0]["id"]
    assert activity(server, child, type="a2a_receive", since_id=cursor) == []
    # the agent answers its caller, naming the message it answers
    r = send(server, child, boss, msg("done", "m-poll-2", in_reply_to="m-poll-1"))
    assert r.status_code == 200 and r.json()["delivery_mode"] == "poll"
    (row,) = [a for a in activity(server, child, type="a2a_receive") if a["id"] == cursor]
    assert row["response_body"]["result"]["parts"] == [{"kind": "text", "text": "done"}]
    inbox = activity(server, boss, type="a2a_receive")
    assert [a["request_body"]["params"]["message"]["messageId"] for a in inbox] == ["m-poll-2"]


def test_busy_target_queues_once_and_delivers_once(server, agent):
    boss, child = pair(server, agent)
    agent.mode = "busy"
    answers = [send(server, boss, child, msg("queued work", "m-busy-1")) for _ in range(5)]
    assert [a.status_code for a in answers] == [202] * 5, [a.text for a in answers]
    ids = {a.json()["queue_id"] for a in answers}
    assert len(ids) == 1
    assert answers[0].json()["queued"] is True and answers[0].json()["queue_depth"] == 1
    qid = ids.pop()
    q = server.get(f"/workspaces/{child['id']}/a2a/queue/{qid}", headers=bearer(boss["auth_token"])).json()
    assert q["status"] in ("queued", "dispatched") and q["priority"] == 50 and "response_body" not in q
    # still busy: the dispatcher retries with back-off and never completes without a reply
    q = wait_for(lambda: (lambda v: v if v["attempts"] >= 1 and v.get("last_error") else None)(
        server.get(f"/workspaces/{child['id']}/a2a/queue/{qid}", headers=ADMIN).json()))
    assert q["status"] in ("queued", "dispatched")
    assert q["last_error"] == "agent answered 503"
    agent.mode = "echo"
    q = wait_for(lambda: (lambda v: v if v["status"] == "completed" else None)(
        server.get(f"/workspaces/{child['id']}/a2a/queue/{qid}", headers=ADMIN).json()))
    assert q["response_body"]["result"]["parts"] == [{"kind": "text", "text": "echo: queued work"}]
    assert len(agent.deliveries_of("m-busy-1")) == 1
    # a retry after delivery is answered from the stored reply, not delivered again
    r = send(server, boss, child, msg("queued work", "m-busy-1"))
    assert r.status_code == 200 and r.json() == q["response_body"]
    assert len(agent.deliveries_of("m-busy-1")) == 1
    # someone else's queue item is not theirs to read
    other = ws(server)
    r = server.get(f"/workspaces/{child['id']}/a2a/queue/{qid}", headers=bearer(other["auth_token"]))
    assert r.status_code == 403 and r.json()["error"] == "access denied"
    r = server.get(f"/workspaces/{child['id']}/a2a/queue/{uuid.uuid4()}", headers=ADMIN)
    assert r.status_code == 404 and r.json() == {"error": "queue item not found", "code": "not_found", "retryable": True}
    assert server.get(f"/workspaces/{child['id']}/a2a/queue/{qid}").status_code == 401


def test_a_hang_up_is_busy_too(server, agent):
    boss, child = pair(server, agent)
    agent.mode = "close"
    r = send(server, boss, child, msg("x", "m-close"))
    assert r.status_code == 202 and r.json()["queued"] is True
    agent.mode = "echo"
    wait_for(lambda: agent.deliveries_of("m-close"))


def test_unreachable_and_failing_agents(server, agent):
    boss = ws(server, mode="poll")
    dead = ws(server, parent=boss)
    register(server, dead, "http://127.0.0.1:9")
    r = send(server, boss, dead, msg("x"))
    assert r.status_code == 502 and r.json()["error"] == "failed to reach workspace agent"
    assert r.json()["code"] == "bad_gateway" and isinstance(r.json()["detail"], str)
    rows = activity(server, dead, type="a2a_receive")
    assert any(a["status"] == "error" and a["summary"].startswith("A2A request to ") for a in rows)
    nourl = ws(server, parent=boss)
    r = send(server, boss, nourl, msg("x"))
    assert r.status_code == 503 and r.json() == {"error": "workspace has no URL", "code": "unavailable",
                                                 "status": "awaiting_agent"}
    _, child = pair(server, agent)
    agent.mode = "error"
    r = send(server, None, child, msg("x"), headers=ADMIN)
    # an agent's own failure is passed on with its status, marked as the agent's
    assert r.status_code == 500 and r.json() == {"error": "boom", "code": "agent_error"}
    agent.mode = "empty"
    r = send(server, None, child, msg("x"), headers=ADMIN)
    assert r.status_code == 200 and r.json() == {"error": "agent returned empty response body",
                                                 "code": "agent_error"}


def test_queue_expiry_and_drop_stale(server, agent):
    boss, child = pair(server, agent)
    agent.mode = "busy"
    body = msg("short-lived", "m-exp")
    body["params"]["expires_in_seconds"] = 1
    qid = send(server, boss, child, body).json()["queue_id"]
    q = wait_for(lambda: (lambda v: v if v["status"] == "failed" else None)(
        server.get(f"/workspaces/{child['id']}/a2a/queue/{qid}", headers=ADMIN).json()))
    assert q["last_error"] == "expired before delivery"
    qid2 = send(server, boss, child, msg("stale", "m-stale")).json()["queue_id"]
    assert server.post("/admin/a2a-queue/drop-stale?max_age_minutes=0", headers=ADMIN).status_code == 400
    assert server.post("/admin/a2a-queue/drop-stale?max_age_minutes=abc", headers=ADMIN).status_code == 400
    # make it old, and park it out of the dispatcher's reach (a row being delivered is not stale: only queued ones
    # are dropped), retrying until it is caught between two delivery attempts
    def parked():
        server.db.execute(f"UPDATE a2a_queue SET enqueued_at = 1, next_attempt_at = 9000000000000000 "
                          f"WHERE id = '{qid2}' AND status = 'queued'")
        return server.db.query(f"SELECT status, enqueued_at FROM a2a_queue WHERE id = '{qid2}'")[0] == ["queued", "1"]
    wait_for(parked)
    r = server.post(f"/admin/a2a-queue/drop-stale?max_age_minutes=60&workspace_id={child['id']}", headers=ADMIN)
    assert r.status_code == 200 and r.json() == {"dropped": 1}
    assert server.get(f"/workspaces/{child['id']}/a2a/queue/{qid2}", headers=ADMIN).json()["status"] == "dropped"


def delegations(c, w):
    return c.get(f"/workspaces/{w['id']}/delegations", headers=bearer(w["auth_token"])).json()


def event_types(c, w):
    return [e["event_type"] for e in reversed(c.get(f"/events/{w['id']}", headers=ADMIN).json())]


def test_delegation_to_a_push_agent(server, agent):
    boss, child = pair(server, agent)
    h = bearer(boss["auth_token"])
    r = server.post(f"/workspaces/{boss['id']}/delegate", headers=h,
                    json={"target_id": child["id"], "task": "write the report", "idempotency_key": "k1"})
    assert r.status_code == 202, r.text
    did = r.json()["delegation_id"]
    assert r.json() == {"delegation_id": did, "status": "delegated", "target_id": child["id"]}
    d = wait_for(lambda: (lambda v: v[0] if v and v[0]["status"] == "completed" else None)(delegations(server, boss)))
    assert d["delegation_id"] == did and d["response_preview"] == "echo: write the report" and d["_ledger"] is True
    (sent,) = agent.delivered
    assert sent["params"]["message"]["messageId"] == did
    assert sent["params"]["message"]["metadata"] == {"delegation_id": did}
    kinds = event_types(server, boss)
    assert kinds.index("DELEGATION_SENT") < kinds.index("DELEGATION_STATUS") < kinds.index("DELEGATION_COMPLETE")
    r = server.post(f"/workspaces/{boss['id']}/delegate", headers=h,
                    json={"target_id": child["id"], "task": "write the report", "idempotency_key": "k1"})
    assert r.status_code == 200
    assert r.json() == {"delegation_id": did, "status": "completed", "target_id": child["id"], "idempotent_hit": True}
    # late and out-of-order updates never move a finished delegation
    r = server.post(f"/workspaces/{boss['id']}/delegations/{did}/update", headers=h,
                    json={"status": "failed", "error": "late"})
    assert r.status_code == 200
    assert delegations(server, boss)[0]["status"] == "completed" and "error" not in delegations(server, boss)[0]
    assert len(agent.delivered) == 1


def test_delegation_input_and_lifecycle_updates(server, agent):
    boss, child = pair(server, agent, child_mode="poll")
    h = bearer(boss["auth_token"])
    url = f"/workspaces/{boss['id']}/delegate"
    assert server.post(url, headers=h, json={"task": "x"}).json()["error"] == "invalid delegation request"
    assert server.post(url, headers=h, json={"target_id": "nope", "task": "x"}).json()["error"] == \
        "target_id must be a valid UUID"
    r = server.post(url, headers=h, json={"target_id": boss["id"], "task": "x"})
    assert r.status_code == 400 and r.json()["error"] == "self-delegation not permitted"
    stranger = ws(server)
    assert server.post(url, headers=h, json={"target_id": stranger["id"], "task": "x"}).status_code == 403
    # to a poll agent: in its inbox, in progress until someone answers
    did = server.post(url, headers=h, json={"target_id": child["id"], "task": "triage"}).json()["delegation_id"]
    assert delegations(server, boss)[0]["status"] == "in_progress"
    (row,) = activity(server, child, type="a2a_receive")
    assert row["request_body"]["params"]["message"]["metadata"]["delegation_id"] == did
    # a sibling cannot complete a delegation it was not given
    sibling = ws(server, parent=boss, mode="poll")
    assert send(server, sibling, boss, msg("fake", delegation_id=did)).status_code == 200
    assert delegations(server, boss)[0]["status"] == "in_progress"
    # the agent answers: the delegation completes with its text
    r = send(server, child, boss, msg("triaged: 3 bugs", delegation_id=did))
    assert r.status_code == 200
    d = delegations(server, boss)[0]
    assert d["status"] == "completed" and d["response_preview"] == "triaged: 3 bugs"
    # record + explicit updates, out of order
    did2 = str(uuid.uuid4())
    r = server.post(f"/workspaces/{boss['id']}/delegations/record", headers=h,
                    json={"target_id": child["id"], "task": "self-sent", "delegation_id": did2})
    assert r.status_code == 202 and r.json() == {"delegation_id": did2, "status": "recorded"}
    upd = f"/workspaces/{boss['id']}/delegations/{did2}/update"
    assert server.post(upd, headers=h, json={"status": "done"}).json()["error"] == \
        "status must be 'completed' or 'failed'"
    assert server.post(upd, headers=h, json={"status": "failed", "error": "no"}).json() == \
        {"status": "failed", "delegation_id": did2}
    server.post(upd, headers=h, json={"status": "completed", "response_preview": "late"})
    (d2,) = [d for d in delegations(server, boss) if d["delegation_id"] == did2]
    assert d2["status"] == "failed" and d2["error"] == "no" and "response_preview" not in d2
    other = ws(server)
    r = server.post(f"/workspaces/{other['id']}/delegations/{did2}/update", headers=bearer(other["auth_token"]),
                    json={"status": "completed"})
    assert r.status_code == 404
    stats = server.get("/admin/delegations/stats", headers=ADMIN).json()
    assert set(stats) == {"queued", "dispatched", "in_progress", "completed", "failed", "stuck"}
    assert stats["failed"] >= 1 and stats["completed"] >= 1
    r = server.get("/admin/delegations?status=failed&limit=1000", headers=ADMIN).json()
    assert r["status"] == "failed" and r["limit"] == 1000 and any(x["delegation_id"] == did2 for x in r["delegations"])
    assert r["count"] == len(r["delegations"])
    assert server.get("/admin/delegations?status=bogus", headers=ADMIN).status_code == 400
    assert server.get("/admin/delegations?limit=0", headers=ADMIN).status_code == 400


def test_a_reply_naming_the_message_and_the_delegation_completes_both(server, agent):
    boss, child = pair(server, agent, child_mode="poll")
    h = bearer(boss["auth_token"])
    did = server.post(f"/workspaces/{boss['id']}/delegate", headers=h,
                      json={"target_id": child["id"], "task": "summarise"}).json()["delegation_id"]
    # the manager follows up; the agent answers the follow-up and names the delegation it settles
    assert send(server, boss, child, msg("any news?", "m-follow-up")).status_code == 200
    r = send(server, child, boss, msg("summary: fine", in_reply_to="m-follow-up", delegation_id=did))
    assert r.status_code == 200, r.text
    (row,) = [a for a in activity(server, child, type="a2a_receive")
              if a["request_body"]["params"]["message"].get("messageId") == "m-follow-up"]
    assert row["response_body"]["result"]["parts"] == [{"kind": "text", "text": "summary: fine"}]
    (d,) = [d for d in delegations(server, boss) if d["delegation_id"] == did]
    assert d["status"] == "completed" and d["response_preview"] == "summary: fine"


def test_delegation_sweeper_fails_late_and_flags_silent(server, agent):
    boss, child = pair(server, agent, child_mode="poll")
    h = bearer(boss["auth_token"])
    late = server.post(f"/workspaces/{boss['id']}/delegate", headers=h,
                       json={"target_id": child["id"], "task": "late"}).json()["delegation_id"]
    quiet = server.post(f"/workspaces/{boss['id']}/delegate", headers=h,
                        json={"target_id": child["id"], "task": "quiet"}).json()["delegation_id"]
    server.db.execute(f"UPDATE delegations SET deadline = 1 WHERE delegation_id = '{late}'")
    server.db.execute(f"UPDATE workspaces SET last_heartbeat_at = last_heartbeat_at - 700000 "
                      f"WHERE id = '{child['id']}'")
    server.db.execute(f"UPDATE delegations SET last_heartbeat = last_heartbeat - 700000, "
                      f"updated_at = updated_at - 700000 WHERE delegation_id = '{quiet}'")
    by_id = lambda: {d["delegation_id"]: d for d in delegations(server, boss)}
    wait_for(lambda: by_id()[late]["status"] == "failed" and by_id()[quiet]["status"] == "stuck")
    assert by_id()[late]["error"] == "deadline exceeded by sweeper"
    assert by_id()[quiet]["error"].startswith("no heartbeat for 11m")
    metrics = server.get("/metrics").text
    assert 'colony_delegations_total{outcome="stuck"}' in metrics
    assert 'colony_sweeper_runs_total{job="delegations"}' in metrics
    assert 'colony_a2a_queue_depth' in metrics
