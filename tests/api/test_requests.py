"""The requests inbox (inbox.md §5-§6): both surfaces with exact shapes and errors, party isolation (a foreign
request is 404), one answer only (also under concurrency), forward-only statuses in the schema, events and the
notification turns, the nudge sweeper (counted in /metrics, once per period across nodes), workspace removal."""
import re
import sqlite3
import subprocess

import pytest
import requests

from conftest import ADMIN, wait_for
from inbox_util import RFC3339_MS, bearer, create_ws, error, events, race, remove

FIELDS = {"id", "kind", "requester_type", "requester_id", "org_id", "recipient_type", "recipient_id", "title",
          "detail", "status", "responder_type", "responder_id", "priority", "created_at", "updated_at",
          "responded_at"}


def team(c):
    """A manager (poll mode: its inbox is readable) and two reports."""
    boss = create_ws(c, delivery_mode="poll")
    return boss, create_ws(c, parent=boss, delivery_mode="poll"), create_ws(c, parent=boss)


def ask(c, frm, to=None, kind="approval", **body):
    spec = {"kind": kind, "recipient_type": "agent" if to else "user", "title": "deploy to prod?", **body}
    if to:
        spec["recipient_id"] = to["id"]
    r = c.post(f"/workspaces/{frm['id']}/requests", headers=bearer(frm["auth_token"]), json=spec)
    assert r.status_code == 201, r.text
    return r.json()["request_id"]


def get(c, rid, w=None, headers=None):
    path = f"/workspaces/{w['id']}/requests/{rid}" if w else f"/requests/{rid}"
    return c.get(path, headers=headers or (bearer(w["auth_token"]) if w else ADMIN))


def act(c, rid, verb, w=None, headers=None, **body):
    path = f"/workspaces/{w['id']}/requests/{rid}/{verb}" if w else f"/requests/{rid}/{verb}"
    return c.post(path, headers=headers or (bearer(w["auth_token"]) if w else ADMIN), json=body)


def turns(c, w):
    """The texts of the notification turns `w` found in its inbox (message/send rows without a sender)."""
    rows = c.get(f"/workspaces/{w['id']}/activity", headers=ADMIN, params={"type": "a2a_receive"}).json()
    out = []
    for r in rows[::-1]:
        msg = ((r.get("request_body") or {}).get("params") or {}).get("message") or {}
        if r["source_id"] is None and msg:
            out.append((msg["messageId"], msg["parts"][0]["text"]))
    return out


def test_create_list_and_the_created_event(server):
    boss, kid, _ = team(server)
    r = server.post(f"/workspaces/{kid['id']}/requests", headers=bearer(kid["auth_token"]),
                    json={"kind": "approval", "recipient_type": "agent", "recipient_id": boss["id"].upper(),
                          "title": "deploy?", "detail": "v2", "priority": 3})
    assert r.status_code == 201 and r.json() == {"request_id": r.json()["request_id"], "status": "pending"}
    rid = r.json()["request_id"]
    to_user = ask(server, kid, kind="task", title="call the vendor", detail="")
    (out_user, out_agent) = server.get(f"/workspaces/{kid['id']}/requests", headers=bearer(kid["auth_token"])).json()
    assert set(out_agent) == FIELDS and out_agent == {
        "id": rid, "kind": "approval", "requester_type": "agent", "requester_id": kid["id"], "org_id": boss["id"],
        "recipient_type": "agent", "recipient_id": boss["id"], "title": "deploy?", "detail": "v2",
        "status": "pending", "responder_type": None, "responder_id": None, "priority": 3,
        "created_at": out_agent["created_at"], "updated_at": out_agent["created_at"], "responded_at": None}
    assert re.match(RFC3339_MS, out_agent["created_at"])
    assert (out_user["id"], out_user["recipient_id"], out_user["detail"], out_user["priority"]) == (to_user, "", None,
                                                                                                   None)
    inbox = server.get(f"/workspaces/{boss['id']}/requests/inbox", headers=bearer(boss["auth_token"])).json()
    assert [x["id"] for x in inbox] == [rid]
    assert server.get(f"/workspaces/{boss['id']}/requests", headers=bearer(boss["auth_token"])).json() == []
    # status filter: exact, and named when wrong
    assert server.get(f"/workspaces/{boss['id']}/requests/inbox", headers=ADMIN,
                      params={"status": "done"}).json() == []
    error(server.get(f"/workspaces/{boss['id']}/requests/inbox", headers=ADMIN, params={"status": "open"}), 400,
          "status must be one of pending, info_requested, done, rejected, approved, cancelled")
    # REQUEST_CREATED goes to an agent recipient, else to the requester
    assert events(server, boss["id"], {"REQUEST_CREATED"}) == [("REQUEST_CREATED", {
        "request_id": rid, "kind": "approval", "recipient_type": "agent", "recipient_id": boss["id"],
        "title": "deploy?"})]
    assert events(server, kid["id"], {"REQUEST_CREATED"}) == [("REQUEST_CREATED", {
        "request_id": to_user, "kind": "task", "recipient_type": "user", "recipient_id": "",
        "title": "call the vendor"})]


@pytest.mark.parametrize("body, status, message", [
    ({"recipient_type": "user", "title": "t"}, 400, "invalid request body"),
    ({"kind": "task", "title": "t"}, 400, "invalid request body"),
    ({"kind": "task", "recipient_type": "user"}, 400, "invalid request body"),
    ({"kind": "task", "recipient_type": "user", "title": ""}, 400, "invalid request body"),
    ({"kind": "task", "recipient_type": "user", "title": "t", "priority": "high"}, 400, "invalid request body"),
    ({"kind": "task", "recipient_type": "user", "title": "t", "priority": 1.5}, 400, "invalid request body"),
    ({"kind": "chore", "recipient_type": "user", "title": "t"}, 400, "request: kind must be 'task' or 'approval'"),
    ({"kind": "task", "recipient_type": "robot", "title": "t"}, 400, "request: type must be 'user' or 'agent'"),
    ({"kind": "task", "recipient_type": "user", "title": "t", "priority": 40000}, 400,
     "priority must be an integer from -32768 to 32767"),
    ({"kind": "task", "recipient_type": "user", "title": "t" * 1001}, 400, "title is longer than 1000 bytes"),
    ({"kind": "task", "recipient_type": "user", "title": "t", "recipient_id": "u" * 257}, 400,
     "recipient_id is longer than 256 bytes"),
    ({"kind": "task", "recipient_type": "agent", "title": "t", "recipient_id": "bob"}, 400,
     "request: an agent recipient_id must be a workspace id"),
    ({"kind": "task", "recipient_type": "agent", "title": "t", "recipient_id": "00000000-0000-4000-8000-000000000000"},
     404, "recipient workspace not found"),
])
def test_bad_requests_write_nothing(server, body, status, message):
    _, kid, _ = team(server)
    error(server.post(f"/workspaces/{kid['id']}/requests", headers=bearer(kid["auth_token"]), json=body), status,
          message)
    assert server.get(f"/workspaces/{kid['id']}/requests", headers=ADMIN).json() == []
    assert events(server, kid["id"], {"REQUEST_CREATED"}) == []


def test_recipients_are_live_reachable_others(server):
    boss, kid, _ = team(server)
    error(server.post(f"/workspaces/{kid['id']}/requests", headers=ADMIN, json={
        "kind": "task", "recipient_type": "agent", "recipient_id": kid["id"], "title": "t"}), 400,
        "request: recipient cannot be the requester")
    stranger = create_ws(server)  # another root: not in kid's family
    error(server.post(f"/workspaces/{kid['id']}/requests", headers=ADMIN, json={
        "kind": "task", "recipient_type": "agent", "recipient_id": stranger["id"], "title": "t"}), 403,
        "access denied: workspaces cannot communicate per hierarchy rules")
    gone = create_ws(server, parent=boss)
    remove(server, gone)
    error(server.post(f"/workspaces/{kid['id']}/requests", headers=ADMIN, json={
        "kind": "task", "recipient_type": "agent", "recipient_id": gone["id"], "title": "t"}), 404,
        "recipient workspace not found")
    error(server.post(f"/workspaces/{gone['id']}/requests", headers=ADMIN, json={
        "kind": "task", "recipient_type": "user", "title": "t"}), 404, "workspace not found")


def test_get_shows_the_thread_to_parties_only(server):
    boss, kid, other = team(server)
    rid = ask(server, kid, boss)
    r = get(server, rid, boss)
    assert r.status_code == 200 and set(r.json()) == {"request", "messages"}
    assert set(r.json()["request"]) == FIELDS and r.json()["messages"] == []
    assert get(server, rid, kid).json()["request"]["id"] == rid
    assert get(server, rid).json()["request"]["id"] == rid  # operators
    # not a party: the request does not exist for it; nor for a malformed or unknown id
    for who, rid_ in ((other, rid), (kid, "nope"), (kid, "00000000-0000-4000-8000-000000000000")):
        error(get(server, rid_, who), 404, "request not found")
    error(get(server, "nope"), 404, "request not found")
    assert get(server, rid, boss, headers=bearer(kid["auth_token"])).status_code == 401


def test_respond_on_the_workspace_surface(server):
    boss, kid, other = team(server)
    rid = ask(server, kid, boss)
    error(act(server, rid, "respond", other, action="approved"), 404, "request not found or already resolved")
    error(act(server, rid, "respond", kid, action="approved"), 403, "not the recipient")
    error(act(server, rid, "respond", boss, action="done"), 400, "request: invalid action for this request kind")
    error(act(server, rid, "respond", boss), 400, "invalid request body")
    # the responder is bound to :id, whatever the body says
    r = act(server, rid, "respond", boss, action="approved", responder_type="user", responder_id="mallory")
    assert r.status_code == 200 and r.json() == {"status": "approved", "request_id": rid}
    row = get(server, rid).json()["request"]
    assert (row["status"], row["responder_type"], row["responder_id"]) == ("approved", "agent", boss["id"])
    assert re.match(RFC3339_MS, row["responded_at"]) and row["updated_at"] == row["responded_at"]
    error(act(server, rid, "respond", boss, action="rejected"), 409, "request not pending (already resolved)",
          "conflict")
    assert events(server, kid["id"], {"REQUEST_RESPONDED"}) == [("REQUEST_RESPONDED", {
        "request_id": rid, "status": "approved", "responder_type": "agent", "responder_id": boss["id"],
        "title": "deploy to prod?", "kind": "approval"})]
    # the requester hears of it in its inbox, once
    (note,) = turns(server, kid)
    assert note[0].startswith(f"request-responded:{rid}-")
    assert note[1] == (f'Your approval request "deploy to prod?" (id {rid}) was approved by agent {boss["id"]}.\n'
                       "Use get_request (or check_requests) to read it, and acknowledge with send_message_to_user.")


def test_respond_on_the_operator_surface(server):
    boss, kid, _ = team(server)
    rid = ask(server, kid, kind="task")
    error(act(server, rid, "respond", action="done", responder_type="robot"), 400,
          "request: type must be 'user' or 'agent'")
    error(act(server, rid, "respond", action="approved"), 400, "request: invalid action for this request kind")
    error(act(server, rid, "respond", action="done", responder_type="agent", responder_id=kid["id"]), 400,
          "request: responder cannot be the requester")
    error(act(server, "00000000-0000-4000-8000-000000000000", "respond", action="done"), 404,
          "request not found or already resolved")
    r = act(server, rid, "respond", action="done")  # the canvas: defaults user / human
    assert r.status_code == 200 and r.json() == {"status": "done", "request_id": rid}
    row = get(server, rid).json()["request"]
    assert (row["responder_type"], row["responder_id"]) == ("user", "human")
    (note,) = turns(server, kid)
    assert note[1].startswith(f'Your task request "deploy to prod?" (id {rid}) was done by the user.')


def test_twenty_concurrent_answers_one_wins(server):
    boss, kid, _ = team(server)
    rid = ask(server, kid, boss)
    got = race(20, lambda i: requests.post(f"{server.url}/requests/{rid}/respond", headers=ADMIN, timeout=30,
                                           json={"action": "approved" if i % 2 else "rejected",
                                                 "responder_id": f"p{i}"}))
    assert sorted(r.status_code for r in got) == [200] + [409] * 19, [(r.status_code, r.text) for r in got]
    (win,) = [i for i, r in enumerate(got) if r.status_code == 200]
    assert get(server, rid).json()["request"]["responder_id"] == f"p{win}"
    assert len(events(server, kid["id"], {"REQUEST_RESPONDED"})) == 1 and len(turns(server, kid)) == 1


def test_messages_ask_for_more_info(server):
    boss, kid, other = team(server)
    rid = ask(server, kid, boss)
    error(act(server, rid, "messages", boss, body="why?"), 400, "invalid request body")  # author_type required
    error(act(server, rid, "messages", other, body="hi", author_type="agent"), 404, "request not found")
    error(act(server, rid, "messages", author_type="robot", body="x"), 400, "request: type must be 'user' or 'agent'")
    error(act(server, rid, "messages", boss, body="b" * 65537, author_type="agent"), 400,
          "body is longer than 65536 bytes")
    r = act(server, rid, "messages", boss, body="which region?", author_type="user", author_id="spoof")
    assert r.status_code == 201 and r.json() == {"status": "created", "request_id": rid,
                                                 "message_id": r.json()["message_id"]}
    mid = r.json()["message_id"]
    assert get(server, rid).json()["request"]["status"] == "info_requested"
    assert events(server, kid["id"], {"REQUEST_MESSAGE"}) == [("REQUEST_MESSAGE", {
        "request_id": rid, "message_id": mid, "author_type": "agent", "author_id": boss["id"]})]
    (note,) = turns(server, kid)
    assert note[0].startswith(f"request-message:{mid}-")
    assert note[1] == (f'More info requested on your approval request "deploy to prod?" (id {rid}): which region?\n'
                       "Reply with add_request_message.")
    # the requester answers: no flip, no notification to itself
    assert act(server, rid, "messages", kid, body="eu-west", author_type="agent").status_code == 201
    assert act(server, rid, "messages", body="looks fine", author_type="user", author_id="alice").status_code == 201
    thread = get(server, rid, kid).json()["messages"]
    assert [(m["author_type"], m["author_id"], m["body"]) for m in thread] == [
        ("agent", boss["id"], "which region?"), ("agent", kid["id"], "eu-west"), ("user", "alice", "looks fine")]
    assert set(thread[0]) == {"id", "request_id", "author_type", "author_id", "body", "created_at"}
    assert len(turns(server, kid)) == 2
    # answered from info_requested; a message on a settled request is kept, its status too
    assert act(server, rid, "respond", boss, action="rejected").status_code == 200
    assert act(server, rid, "messages", author_type="user", body="why not?").status_code == 201
    assert get(server, rid).json()["request"]["status"] == "rejected"


def test_cancel(server):
    boss, kid, other = team(server)
    rid = ask(server, kid, boss)
    error(act(server, rid, "cancel", other), 404, "request not found or already resolved")
    error(act(server, rid, "cancel", boss), 403, "not the requester")
    r = act(server, rid, "cancel", kid)
    assert r.status_code == 200 and r.json() == {"status": "cancelled", "request_id": rid}
    error(act(server, rid, "cancel", kid), 409, "request not pending (already resolved)")
    error(act(server, rid, "respond", boss, action="approved"), 409, "request not pending (already resolved)")
    assert events(server, kid["id"], {"REQUEST_RESPONDED"}) == []  # a cancel records no event
    admin_cancel = ask(server, kid, boss)
    assert act(server, admin_cancel, "cancel").status_code == 200


def test_the_schema_refuses_backward_moves_and_self_answers(server):
    boss, kid, _ = team(server)
    rid = ask(server, kid, boss)
    for sql in (f"UPDATE requests SET status = 'approved' WHERE id = '{rid}'",  # an answer names its responder
                f"UPDATE requests SET status = 'approved', responded_at = 1, responder_type = 'agent', "
                f"responder_id = '{kid['id']}' WHERE id = '{rid}'",
                f"UPDATE requests SET status = 'done', responded_at = 1, responder_type = 'user', "
                f"responder_id = 'u' WHERE id = '{rid}'"):  # a task outcome on an approval
        with pytest.raises((subprocess.CalledProcessError, sqlite3.DatabaseError)):
            server.db.execute(sql)
    assert act(server, rid, "respond", boss, action="approved").status_code == 200
    for sql in (f"UPDATE requests SET status = 'pending', responded_at = NULL, responder_type = NULL, "
                f"responder_id = NULL WHERE id = '{rid}'",
                f"UPDATE requests SET status = 'rejected' WHERE id = '{rid}'",
                f"UPDATE requests SET responder_id = 'mallory' WHERE id = '{rid}'"):
        with pytest.raises((subprocess.CalledProcessError, sqlite3.DatabaseError)):
            server.db.execute(sql)
    assert get(server, rid).json()["request"]["status"] == "approved"


def test_pending_view(server):
    boss, kid, sib = team(server)
    task, appr = ask(server, kid, kind="task"), ask(server, sib, boss)
    done = ask(server, kid, boss)
    assert act(server, done, "respond", boss, action="approved").status_code == 200
    error(server.get("/requests/pending", headers=bearer(boss["auth_token"])), 403, "admin access required")
    error(server.get("/requests/pending", headers=ADMIN, params={"kind": "chore"}), 400,
          "kind must be 'task' or 'approval'")
    org = {"org_id": boss["id"]}
    tasks_ = server.get("/requests/pending", headers=ADMIN, params={"kind": "task", **org}).json()
    assert [r["id"] for r in tasks_] == [task] and set(tasks_[0]) == FIELDS | {"workspace_name"}
    assert tasks_[0]["workspace_name"] == kid["name"]
    assert [r["id"] for r in server.get("/requests/pending", headers=ADMIN,
                                        params={"kind": "approval", **org}).json()] == [appr]
    both = [r["id"] for r in server.get("/requests/pending", headers=ADMIN, params={"kind": "", **org}).json()]
    assert sorted(both) == sorted([task, appr])
    assert server.get("/requests/pending", headers=ADMIN, params={"org_id": "nobody"}).json() == []


def test_removal_cancels_open_requests_and_purge_deletes_them(server):
    boss, kid, sib = team(server)
    raised, asked, settled = ask(server, kid, boss), ask(server, sib, kid), ask(server, sib, boss)
    remove(server, kid)
    status = lambda rid: get(server, rid).json()["request"]["status"]
    assert (status(raised), status(asked), status(settled)) == ("cancelled", "cancelled", "pending")
    assert [r["id"] for r in server.get("/requests/pending", headers=ADMIN,
                                        params={"org_id": boss["id"]}).json()] == [settled]
    remove(server, kid, purge=True)
    error(get(server, raised), 404, "request not found")
    error(get(server, asked), 404, "request not found")
    assert status(settled) == "pending"


# ---- the nudge sweeper (inbox.md §6) ----------------------------------------------------------------------------

NUDGE = ("--request-nudge-interval-ms", "100", "--request-nudge-after", "0", "--request-nudge-repeat", "3600",
         "--sweep-interval-ms", "50")


def go_online(c, w, active_tasks=0):
    r = c.post("/registry/register", headers=bearer(w["auth_token"]),
               json={"id": w["id"], "url": "", "agent_card": {"name": "a"}, "delivery_mode": "poll"})
    assert r.status_code == 200, r.text
    r = c.post("/registry/heartbeat", headers=bearer(w["auth_token"]),
               json={"workspace_id": w["id"], "active_tasks": active_tasks})
    assert r.status_code == 200, r.text


def metric(c, line):
    for l in c.get("/metrics").text.splitlines():
        if l.startswith(line + " "):
            return int(l.split()[-1])
    raise AssertionError(f"no metric {line}")


def nudges(c, w):
    return [t for m, t in turns(c, w) if m.startswith("inbox-nudge-")]


def test_idle_agents_are_nudged_once_per_period(start_colony):
    c = start_colony(args=NUDGE)
    boss, kid, sib = team(c)
    busy = create_ws(c, parent=boss, delivery_mode="poll")
    # while boss is not online nothing is sent; its two requests wait
    ask(c, kid, boss)
    ask(c, sib, boss, kind="task")
    asked_back = ask(c, kid, boss, title="which one?")
    assert act(c, asked_back, "messages", boss, body="?", author_type="agent").status_code == 201  # boss spoke last
    to_user = ask(c, kid)  # user recipients are never nudged
    go_online(c, busy, active_tasks=1)  # busy agents are not nudged (busy before anything waits for it)
    ask(c, kid, busy)
    runs = metric(c, 'colony_sweeper_runs_total{job="request_nudges"}')
    wait_for(lambda: metric(c, 'colony_sweeper_runs_total{job="request_nudges"}') >= runs + 2)
    assert nudges(c, boss) == [] and nudges(c, busy) == []
    go_online(c, boss)
    wait_for(lambda: nudges(c, boss))
    assert nudges(c, boss) == ["You have 2 unhandled inbox requests. Use list_inbox to see them, then "
                               "respond_request to answer, or add_request_message to ask for more information."]
    # stamped once: later sweeps count them no more
    runs = metric(c, 'colony_sweeper_runs_total{job="request_nudges"}')
    wait_for(lambda: metric(c, 'colony_sweeper_runs_total{job="request_nudges"}') >= runs + 3)
    assert len(nudges(c, boss)) == 1 and nudges(c, busy) == []
    # the requester answers the question: the recipient owes the next move, and is nudged about that one
    assert act(c, asked_back, "messages", kid, body="the blue one", author_type="agent").status_code == 201
    wait_for(lambda: len(nudges(c, boss)) == 2)
    assert nudges(c, boss)[1].startswith("You have 1 unhandled inbox request. ")
    assert metric(c, "colony_request_nudges_total") == 2 and metric(c, "colony_request_nudged_items_total") == 3
    assert metric(c, 'colony_sweeper_errors_total{job="request_nudges"}') == 0
    assert c.db.query(f"SELECT count(*) FROM requests WHERE id = '{to_user}' AND last_nudged_at IS NULL") == [["1"]]
    # each family's HELP once, whatever the order of the metric table
    helps = [l for l in c.get("/metrics").text.splitlines() if l.startswith("# HELP ")]
    assert len(helps) == len(set(helps))


def test_two_nodes_nudge_once(start_colony, new_db, backend):
    db = new_db()
    a = start_colony(db=db, args=NUDGE[:2] + ("--request-nudge-disabled", "true") + NUDGE[2:])
    boss, kid, _ = team(a)
    ask(a, kid, boss)
    b = start_colony(db=db, args=NUDGE)
    c = start_colony(db=db, args=NUDGE)
    go_online(a, boss)
    wait_for(lambda: nudges(a, boss))
    for node in (b, c):
        runs = metric(node, 'colony_sweeper_runs_total{job="request_nudges"}')
        wait_for(lambda: metric(node, 'colony_sweeper_runs_total{job="request_nudges"}') >= runs + 3)
    assert len(nudges(a, boss)) == 1
    assert metric(b, "colony_request_nudges_total") + metric(c, "colony_request_nudges_total") == 1
    assert metric(a, 'colony_sweeper_runs_total{job="request_nudges"}') == 0  # disabled


def test_a_thread_shows_its_newest_messages_oldest_first(server):
    boss, kid, _ = team(server)
    rid = ask(server, kid, boss)
    for i in range(205):
        assert act(server, rid, "messages", kid, body=f"m{i}", author_type="agent").status_code == 201
    thread = get(server, rid).json()["messages"]
    assert [m["body"] for m in thread] == [f"m{i}" for i in range(5, 205)]
