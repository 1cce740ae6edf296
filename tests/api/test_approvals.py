"""Approvals and the approval gate of admin operations (inbox.md §2-§3, README difference 11): exact shapes and
errors, no self-approval (model and schema), one decision only under concurrency, events in the same transaction,
workspace isolation, and what removing a workspace does to its pending approvals."""
import json
import re
import sqlite3
import subprocess

import pytest
import requests
import websocket

from conftest import ADMIN, ADMIN_TOKEN, run_colony
from inbox_util import (RFC3339_MS, bearer, create_ws, error, events, mint_org_token, race, remove)


def ask(c, w, token=None, **body):
    r = c.post(f"/workspaces/{w['id']}/approvals", headers=bearer(token or w["auth_token"]),
               json={"action": "deploy", **body})
    assert r.status_code == 201, r.text
    return r.json()["approval_id"]


def decide(c, w, aid, headers=None, **body):
    return c.post(f"/workspaces/{w['id']}/approvals/{aid}/decide", headers=headers or ADMIN,
                  json={"decision": "approved", **body})


def listed(c, w):
    r = c.get(f"/workspaces/{w['id']}/approvals", headers=bearer(w["auth_token"]))
    assert r.status_code == 200, r.text
    return r.json()


def test_ask_list_and_the_events_of_a_request_and_its_escalation(server):
    boss = create_ws(server)
    w = create_ws(server, parent=boss)
    r = server.post(f"/workspaces/{w['id']}/approvals", headers=bearer(w["auth_token"]),
                    json={"action": "deploy", "task_id": "t-1", "reason": "ship it", "context": {"env": "prod"}})
    assert r.status_code == 201 and set(r.json()) == {"approval_id", "status"} and r.json()["status"] == "pending"
    aid = r.json()["approval_id"]
    bare = ask(server, w, action="restart")  # no task_id, reason or context: "" and {}
    (second, first) = listed(server, w)
    assert first == {"id": aid, "task_id": "t-1", "action": "deploy", "reason": "ship it", "status": "pending",
                     "decided_by": None, "decided_at": None, "created_at": first["created_at"]}
    assert re.match(RFC3339_MS, first["created_at"])
    assert (second["id"], second["task_id"], second["reason"]) == (bare, "", "")
    assert server.db.query(f"SELECT context, requested_by FROM approval_requests WHERE id = '{aid}'") == [
        ['{"env":"prod"}', f"workspace:{w['id']}"]]
    assert events(server, w["id"], {"APPROVAL_REQUESTED"})[0] == (
        "APPROVAL_REQUESTED", {"approval_id": aid, "action": "deploy", "reason": "ship it", "task_id": "t-1"})
    assert events(server, boss["id"], {"APPROVAL_ESCALATED"})[0] == (
        "APPROVAL_ESCALATED", {"approval_id": aid, "from_workspace_id": w["id"], "action": "deploy",
                               "reason": "ship it"})
    # a root has no parent to escalate to
    root = create_ws(server)
    ask(server, root)
    assert [t for t, _ in events(server, root["id"], {"APPROVAL_REQUESTED", "APPROVAL_ESCALATED"})] == [
        "APPROVAL_REQUESTED"]


@pytest.mark.parametrize("body, message", [
    ({}, "invalid request body"),
    ({"action": ""}, "invalid request body"),
    ({"action": 7}, "invalid request body"),
    ({"action": "a", "reason": ["no"]}, "invalid request body"),
    ({"action": "a", "task_id": 3}, "invalid request body"),
    ({"action": "a", "context": "text"}, "invalid request body"),
    ({"action": "a", "context": [1]}, "invalid request body"),
    ({"action": "a" * 1001}, "action is longer than 1000 bytes"),
    ({"action": "a", "reason": "r" * 65537}, "reason is longer than 65536 bytes"),
    ({"action": "a", "task_id": "t" * 257}, "task_id is longer than 256 bytes"),
])
def test_bad_asks_are_400_and_write_nothing(server, body, message):
    w = create_ws(server)
    error(server.post(f"/workspaces/{w['id']}/approvals", headers=bearer(w["auth_token"]), json=body), 400, message)
    assert listed(server, w) == [] and events(server, w["id"], {"APPROVAL_REQUESTED"}) == []


def test_invalid_utf8_unknown_and_removed_workspaces(server):
    w = create_ws(server)
    r = server.post(f"/workspaces/{w['id']}/approvals", headers={**bearer(w["auth_token"]),
                    "Content-Type": "application/json"}, data=b'{"action": "\xff\xfe"}')
    assert r.status_code == 400 and r.json()["code"] == "invalid_json"
    error(server.post("/workspaces/00000000-0000-4000-8000-000000000000/approvals", headers=ADMIN,
                      json={"action": "a"}), 404, "workspace not found")
    error(server.post("/workspaces/not-a-uuid/approvals", headers=ADMIN, json={"action": "a"}), 400,
          "invalid workspace ID")
    gone = create_ws(server)
    remove(server, gone)
    error(server.post(f"/workspaces/{gone['id']}/approvals", headers=ADMIN, json={"action": "a"}), 404,
          "workspace not found")
    assert server.db.query(f"SELECT count(*) FROM approval_requests WHERE workspace_id IN "
                           f"('{w['id']}', '{gone['id']}')") == [["0"]]


def test_pending_view_for_operators(server):
    w = create_ws(server)
    aid = ask(server, w, reason="why")
    done = ask(server, w)
    assert decide(server, w, done).status_code == 200
    error(server.get("/approvals/pending", headers=bearer(w["auth_token"])), 403, "admin access required")
    rows = server.get("/approvals/pending", headers=ADMIN).json()
    mine = [r for r in rows if r["workspace_id"] == w["id"]]
    assert mine == [{"id": aid, "workspace_id": w["id"], "workspace_name": w["name"], "action": "deploy",
                     "reason": "why", "status": "pending", "created_at": mine[0]["created_at"]}]
    # pages like every list: newest first (ties in a millisecond by id), limit + cursor
    more = [ask(server, w) for _ in range(3)]
    rows = server.get("/approvals/pending", headers=ADMIN).json()
    whole = [r["id"] for r in rows]
    assert set(more) < set(whole) and all(a["created_at"] >= b["created_at"] for a, b in zip(rows, rows[1:]))
    paged, cursor = [], None
    while True:
        page = server.get("/approvals/pending", headers=ADMIN, params={"limit": 2, **({"cursor": cursor} if cursor
                                                                                       else {})})
        assert page.status_code == 200 and len(page.json()) <= 2
        paged += [r["id"] for r in page.json()]
        cursor = page.headers.get("X-Next-Cursor")
        if not cursor:
            break
    assert paged == whole
    error(server.get("/approvals/pending", headers=ADMIN, params={"limit": 501}), 400,
          "limit must be an integer from 1 to 500")


def test_no_self_approval(server):
    w = create_ws(server)
    aid = ask(server, w)
    # the asking workspace's own token: never, whatever name it gives
    error(decide(server, w, aid, headers=bearer(w["auth_token"]), decided_by="human"), 403,
          "an approval cannot be decided by the workspace or the credential that asked for it", "self_approval")
    error(decide(server, w, aid, headers=bearer(w["auth_token"]), decision="denied"), 403,
          "an approval cannot be decided by the workspace or the credential that asked for it")
    # the workspace's other tokens are its own tokens too
    other = server.post(f"/workspaces/{w['id']}/tokens", headers=ADMIN).json()["auth_token"]
    assert decide(server, w, aid, headers=bearer(other)).status_code == 403
    # an operator asking on a workspace's behalf cannot approve it either; another operator can
    by_admin = ask(server, w, token=ADMIN_TOKEN)
    assert decide(server, w, by_admin).status_code == 403
    org = mint_org_token(server)
    r = decide(server, w, by_admin, headers=bearer(org), decided_by="alice")
    assert r.status_code == 200 and r.json() == {"status": "approved", "approval_id": by_admin}
    assert server.db.query(f"SELECT status FROM approval_requests WHERE id = '{aid}'") == [["pending"]]
    assert events(server, w["id"], {"APPROVAL_APPROVED", "APPROVAL_DENIED"}) == [
        ("APPROVAL_APPROVED", {"approval_id": by_admin, "decision": "approved", "decided_by": "alice"})]


def test_the_schema_refuses_self_approval_and_backward_moves(server):
    w = create_ws(server)
    aid = ask(server, w)

    def refused(sql):
        with pytest.raises((subprocess.CalledProcessError, sqlite3.DatabaseError)):
            server.db.execute(sql)

    refused(f"UPDATE approval_requests SET status = 'approved', decided_at = 1, decider = 'workspace:{w['id']}' "
            f"WHERE id = '{aid}'")
    refused(f"UPDATE approval_requests SET status = 'approved', decided_at = 1, decider = requested_by "
            f"WHERE id = '{aid}'")
    refused(f"UPDATE approval_requests SET status = 'approved' WHERE id = '{aid}'")  # a decision names its decider
    assert decide(server, w, aid, decision="denied").status_code == 200
    refused(f"UPDATE approval_requests SET status = 'approved' WHERE id = '{aid}'")
    refused(f"UPDATE approval_requests SET status = 'pending', decided_at = NULL, decider = NULL WHERE id = '{aid}'")
    refused(f"UPDATE approval_requests SET decided_by = 'mallory' WHERE id = '{aid}'")
    assert server.db.query(f"SELECT status, decided_by, decider FROM approval_requests WHERE id = '{aid}'") == [
        ["denied", "human", "admin-token"]]


def test_one_decision_only(server):
    w = create_ws(server)
    aid = ask(server, w)
    error(decide(server, w, aid, decision="maybe"), 400, "decision must be 'approved' or 'denied'")
    error(decide(server, w, aid, decision=""), 400, "invalid request body")
    error(server.post(f"/workspaces/{w['id']}/approvals/{aid}/decide", headers=ADMIN, json={}), 400,
          "invalid request body")
    error(decide(server, w, aid, decided_by=5), 400, "invalid request body")
    r = decide(server, w, aid, decision="denied")
    assert r.status_code == 200 and r.json() == {"status": "denied", "approval_id": aid}
    error(decide(server, w, aid), 409, "approval not pending (already decided or withdrawn)", "conflict")
    error(decide(server, w, aid, decision="denied"), 409, "approval not pending (already decided or withdrawn)")
    (row,) = listed(server, w)
    assert (row["status"], row["decided_by"]) == ("denied", "human") and re.match(RFC3339_MS, row["decided_at"])
    assert events(server, w["id"], {"APPROVAL_APPROVED", "APPROVAL_DENIED"}) == [
        ("APPROVAL_DENIED", {"approval_id": aid, "decision": "denied", "decided_by": "human"})]


def test_twenty_concurrent_decisions_one_wins(server):
    w = create_ws(server)
    aid = ask(server, w)
    org = mint_org_token(server)

    def one(i):
        h = ADMIN if i % 2 else bearer(org)
        return requests.post(f"{server.url}/workspaces/{w['id']}/approvals/{aid}/decide", headers=h, timeout=30,
                             json={"decision": "approved" if i % 3 else "denied", "decided_by": f"d{i}"})

    got = race(20, one)
    codes = sorted(r.status_code for r in got)
    assert codes == [200] + [409] * 19, [(r.status_code, r.text) for r in got]
    (win,) = [i for i, r in enumerate(got) if r.status_code == 200]
    decision = "approved" if win % 3 else "denied"
    (row,) = listed(server, w)
    assert (row["status"], row["decided_by"]) == (decision, f"d{win}")
    assert events(server, w["id"], {"APPROVAL_APPROVED", "APPROVAL_DENIED"}) == [
        ("APPROVAL_" + decision.upper(), {"approval_id": aid, "decision": decision, "decided_by": f"d{win}"})]


def test_unknown_malformed_and_foreign_ids_are_404(server):
    a, b = create_ws(server), create_ws(server)
    aid = ask(server, a)
    for bad in ("00000000-0000-4000-8000-000000000000", "nope", aid.upper()[:-1] + "Z"):
        error(decide(server, a, bad), 404, "approval not found or already decided")
        error(server.post(f"/workspaces/{a['id']}/approvals/{bad}/withdraw", headers=ADMIN), 404, "approval not found")
    # another workspace's approval, even for an operator on that workspace's path: 404, never 403
    error(decide(server, b, aid), 404, "approval not found or already decided")
    error(server.post(f"/workspaces/{b['id']}/approvals/{aid}/withdraw", headers=bearer(b["auth_token"])), 404,
          "approval not found")
    # and a workspace token is never a token of another workspace
    assert decide(server, a, aid, headers=bearer(b["auth_token"])).status_code == 401
    assert listed(server, b) == [] and listed(server, a)[0]["status"] == "pending"


def test_withdraw(server):
    w = create_ws(server)
    aid = ask(server, w)
    r = server.post(f"/workspaces/{w['id']}/approvals/{aid}/withdraw", headers=bearer(w["auth_token"]))
    assert r.status_code == 200 and r.json() == {"status": "withdrawn", "approval_id": aid}
    error(server.post(f"/workspaces/{w['id']}/approvals/{aid}/withdraw", headers=bearer(w["auth_token"])), 409,
          "approval not pending (already decided or withdrawn)")
    error(decide(server, w, aid), 409, "approval not pending (already decided or withdrawn)")
    decided = ask(server, w)
    assert decide(server, w, decided).status_code == 200
    error(server.post(f"/workspaces/{w['id']}/approvals/{decided}/withdraw", headers=bearer(w["auth_token"])), 409,
          "approval not pending (already decided or withdrawn)")
    row = [x for x in listed(server, w) if x["id"] == aid][0]
    assert (row["status"], row["decided_by"]) == ("withdrawn", "requester")
    assert events(server, w["id"], {"APPROVAL_WITHDRAWN"}) == [
        ("APPROVAL_WITHDRAWN", {"approval_id": aid, "decided_by": "requester"})]


def test_removal_withdraws_pending_approvals_and_purge_deletes_them(server):
    boss = create_ws(server)
    kid = create_ws(server, parent=boss)
    pending, decided = ask(server, kid), ask(server, kid)
    assert decide(server, kid, decided).status_code == 200
    r = server.delete(f"/workspaces/{boss['id']}?confirm=true", headers={**ADMIN, "X-Confirm-Name": boss["name"]})
    assert r.status_code == 200, r.text
    assert server.db.query(f"SELECT id, status, decided_by FROM approval_requests WHERE workspace_id = '{kid['id']}'"
                           f" ORDER BY status") == [[decided, "approved", "human"],
                                                    [pending, "withdrawn", "workspace_removed"]]
    assert ("APPROVAL_WITHDRAWN", {"approval_id": pending, "decided_by": "workspace_removed"}) in events(
        server, kid["id"])
    assert pending not in [x["id"] for x in server.get("/approvals/pending", headers=ADMIN).json()]
    remove(server, kid, purge=True)
    assert server.db.query(f"SELECT count(*) FROM approval_requests WHERE workspace_id = '{kid['id']}'") == [["0"]]


# ---- the gate of admin operations (inbox.md §3): POST /org/tokens -------------------------------------------------

GATE = ("--approval-gate", "true")


def gated_colony(start_colony, new_db, anchor=True):
    """A colony with the gate on, and an org token minted before it was: the second operator who approves."""
    db = new_db()
    first = start_colony(db=db)
    platform = create_ws(first) if anchor else None
    org = mint_org_token(first, "approver")
    first.stop()
    args = GATE + (("--platform-workspace-id", platform["id"]) if anchor else ())
    return start_colony(db=db, args=args), platform, org


def test_gated_mint_waits_for_another_operator_and_runs_once(start_colony, new_db):
    c, platform, org = gated_colony(start_colony, new_db)
    ask_mint = lambda h=ADMIN, **kw: c.post("/org/tokens", headers=h, json={"name": "ci", **kw})
    r = ask_mint()
    assert r.status_code == 202, r.text
    aid = r.json()["approval_id"]
    assert r.json() == {"status": "pending_approval", "approval_id": aid, "action": "org_token_mint",
                        "reason": "mint org token ci"}
    assert ask_mint().json()["approval_id"] == aid  # the same operation asks once
    assert ask_mint(name="other").json()["approval_id"] != aid  # another operation is another approval
    assert len(c.get("/org/tokens", headers=ADMIN).json()["tokens"]) == 1  # only the approver's
    (row,) = [x for x in c.get("/approvals/pending", headers=ADMIN).json() if x["id"] == aid]
    assert (row["workspace_id"], row["action"], row["reason"]) == (platform["id"], "org_token_mint",
                                                                  "mint org token ci")
    assert events(c, platform["id"], {"APPROVAL_REQUESTED"})[0] == (
        "APPROVAL_REQUESTED", {"approval_id": aid, "action": "org_token_mint", "reason": "mint org token ci"})
    # the admin token asked: it cannot approve its own operation; the other operator can
    error(decide(c, platform, aid), 403,
          "an approval cannot be decided by the workspace or the credential that asked for it")
    assert decide(c, platform, aid, headers=bearer(org)).status_code == 200
    minted = ask_mint()
    assert minted.status_code == 200 and minted.json()["name"] == "ci" and len(minted.json()["auth_token"]) == 43
    assert c.db.query(f"SELECT consumed_at IS NOT NULL FROM approval_requests WHERE id = '{aid}'") in ([["1"]],
                                                                                                     [["t"]])
    # single use: the same request again needs a new approval
    again = ask_mint()
    assert again.status_code == 202 and again.json()["approval_id"] != aid
    # a denied operation stays held
    assert decide(c, platform, again.json()["approval_id"], headers=bearer(org), decision="denied").status_code == 200
    assert ask_mint().status_code == 202
    # an org-token caller is gated too, and its approval is not the admin's
    held = ask_mint(h=bearer(org))
    assert held.status_code == 202 and held.json()["approval_id"] not in (aid, again.json()["approval_id"])
    assert decide(c, platform, held.json()["approval_id"], headers=bearer(org)).status_code == 403
    metrics = c.get("/metrics").text
    assert 'colony_approval_gate_total{outcome="approved"} 1' in metrics


def test_concurrent_replays_consume_one_approval(start_colony, new_db):
    c, platform, org = gated_colony(start_colony, new_db)
    aid = c.post("/org/tokens", headers=ADMIN, json={"name": "once"}).json()["approval_id"]
    assert decide(c, platform, aid, headers=bearer(org)).status_code == 200
    got = race(8, lambda i: requests.post(f"{c.url}/org/tokens", headers=ADMIN, json={"name": "once"}, timeout=30))
    assert sorted(r.status_code for r in got) == [200] + [202] * 7, [(r.status_code, r.text) for r in got]
    assert len([t for t in c.get("/org/tokens", headers=ADMIN).json()["tokens"] if t.get("name") == "once"]) == 1


def test_gate_without_an_anchor_and_gate_off(start_colony, new_db):
    c, _, _ = gated_colony(start_colony, new_db, anchor=False)
    error(c.post("/org/tokens", headers=ADMIN, json={"name": "x"}), 400,
          "this operation needs an approval, and there is no workspace to anchor it (an org token with an org, "
          "a platform workspace id, or a platform root)")
    # the platform root is the default anchor
    root = c.post("/admin/org/platform-agent", headers=ADMIN, json={"id": "6f1a4b0e-0000-4000-8000-00000000abcd"})
    assert root.status_code == 200, root.text
    r = c.post("/org/tokens", headers=ADMIN, json={"name": "x"})
    assert r.status_code == 202
    assert c.db.query(f"SELECT workspace_id FROM approval_requests WHERE id = '{r.json()['approval_id']}'") == [
        ["6f1a4b0e-0000-4000-8000-00000000abcd"]]
    # a past expiry is refused before anything is asked
    error(c.post("/org/tokens", headers=ADMIN, json={"name": "y", "expires_at": "2001-01-01T00:00:00Z"}), 400,
          "expires_at must be in the future")
    out = run_colony(["serve", "--db", ":memory:", "--platform-workspace-id", "nope"])
    assert out.returncode == 2 and "--platform-workspace-id must be a workspace id" in out.stderr


def test_asks_racing_a_removal_leave_nothing_pending(server):
    """Every ask either lands before the removal (and is settled by it) or is refused: none survives pending."""
    for _ in range(3):
        w = create_ws(server)

        def one(i):
            if i == 0:
                return requests.delete(f"{server.url}/workspaces/{w['id']}", timeout=30,
                                       headers={**ADMIN, "X-Confirm-Name": w["name"]})
            path, body = [("approvals", {"action": "a"}), ("user-tasks", {"title": "t"}),
                          ("requests", {"kind": "task", "recipient_type": "user", "title": "t"})][i % 3]
            return requests.post(f"{server.url}/workspaces/{w['id']}/{path}", headers=ADMIN, json=body, timeout=30)

        got = race(16, one)
        assert got[0].status_code == 200, got[0].text
        assert all(r.status_code in (201, 404) for r in got[1:]), [(r.status_code, r.text) for r in got]
        wid = w["id"]
        assert server.db.query(
            f"SELECT (SELECT count(*) FROM approval_requests WHERE workspace_id = '{wid}' AND status = 'pending')"
            f" + (SELECT count(*) FROM user_tasks WHERE workspace_id = '{wid}' AND status = 'pending')"
            f" + (SELECT count(*) FROM requests WHERE requester_id = '{wid}' AND status = 'pending')") == [["0"]]


def test_a_canvas_sees_approvals_appear_and_resolve_live(server):
    w = create_ws(server)
    sock = websocket.create_connection(server.url.replace("http://", "ws://") + "/ws", timeout=20,
                                       header=[f"{k}: {v}" for k, v in ADMIN.items()])
    try:
        aid = ask(server, w)
        assert decide(server, w, aid).status_code == 200
        seen = []
        while len(seen) < 2:
            f = json.loads(sock.recv())
            if f["workspace_id"] == w["id"] and f["event"].startswith("APPROVAL_"):
                seen.append((f["event"], f["payload"]["approval_id"]))
        assert seen == [("APPROVAL_REQUESTED", aid), ("APPROVAL_APPROVED", aid)]
    finally:
        sock.close()
