"""Activity log, agent->user chat, session search and event history (runtime.md §6, §7.5)."""
import json
import uuid

import pytest

from conftest import ADMIN


def bearer(t):
    return {"Authorization": f"Bearer {t}"}


@pytest.fixture
def ws(server):
    return server.post("/workspaces", headers=ADMIN, json={"name": "act-" + uuid.uuid4().hex[:8],
                                                            "model": "m"}).json()


def report(c, w, **body):
    return c.post(f"/workspaces/{w['id']}/activity", headers=bearer(w["auth_token"]), json=body)


def test_report_then_list_newest_first_with_exact_shape(server, ws):
    for i in range(3):
        r = report(server, ws, activity_type="agent_log", summary=f"step {i}", duration_ms=5 * i,
                   request_body={"n": i})
        assert r.status_code == 200 and r.json()["status"] == "logged"
    rows = server.get(f"/workspaces/{ws['id']}/activity", headers=bearer(ws["auth_token"])).json()
    assert [r["summary"] for r in rows] == ["step 2", "step 1", "step 0"]
    assert set(rows[0]) == {"id", "workspace_id", "activity_type", "source_id", "target_id", "method", "summary",
                            "duration_ms", "status", "error_detail", "created_at", "request_body", "response_body"}
    assert (rows[0]["source_id"], rows[0]["status"], rows[0]["request_body"], rows[0]["duration_ms"]) == \
        (ws["id"], "ok", {"n": 2}, 10)


def test_since_id_resumes_in_order_and_a_foreign_cursor_is_410(server, ws):
    ids = [report(server, ws, activity_type="task_update", summary=f"t{i}").json()["id"] for i in range(5)]
    after = server.get(f"/workspaces/{ws['id']}/activity?since_id={ids[1]}", headers=bearer(ws["auth_token"])).json()
    assert [r["id"] for r in after] == ids[2:]
    other = server.post("/workspaces", headers=ADMIN, json={"name": "o-" + uuid.uuid4().hex[:6], "model": "m"}).json()
    r = server.get(f"/workspaces/{other['id']}/activity?since_id={ids[0]}", headers=bearer(other["auth_token"]))
    assert r.status_code == 410 and "since_id cursor not found" in r.json()["error"]


@pytest.mark.parametrize("query, message", [
    ("source=user", "source must be 'canvas' or 'agent'"),
    ("peer_id=x", "peer_id must be a UUID"),
    ("since_secs=abc", "since_secs must be an integer from 1 to 2147483647"),
    ("since_secs=0", "since_secs must be an integer from 1 to 2147483647"),
    ("since_secs=-1", "since_secs must be an integer from 1 to 2147483647"),
    ("since_secs=60.5", "since_secs must be an integer from 1 to 2147483647"),
    ("before_ts=yesterday", "before_ts must be an RFC 3339 time"),
])
def test_bad_list_queries_are_400(server, ws, query, message):
    r = server.get(f"/workspaces/{ws['id']}/activity?{query}", headers=bearer(ws["auth_token"]))
    assert r.status_code == 400 and r.json()["error"] == message


def test_filters(server, ws):
    peer = str(uuid.uuid4())
    report(server, ws, activity_type="a2a_send", target_id=peer, summary="to peer")
    report(server, ws, activity_type="error", summary="oops", status="error")
    h = bearer(ws["auth_token"])
    assert [r["summary"] for r in server.get(f"/workspaces/{ws['id']}/activity?type=error", headers=h).json()] == \
        ["oops"]
    assert [r["summary"] for r in server.get(f"/workspaces/{ws['id']}/activity?peer_id={peer}",
                                             headers=h).json()] == ["to peer"]
    assert server.get(f"/workspaces/{ws['id']}/activity?source=canvas", headers=h).json() == []
    assert len(server.get(f"/workspaces/{ws['id']}/activity?source=agent&limit=1", headers=h).json()) == 1


def test_report_rules(server, ws):
    r = report(server, ws, activity_type="hacking")
    assert r.status_code == 400 and r.json()["error"].startswith("invalid activity_type, must be one of: ")
    other = str(uuid.uuid4())
    r = report(server, ws, activity_type="agent_log", source_id=other)
    assert r.status_code == 403 and r.json()["error"] == "source_id must match authenticated workspace"
    assert report(server, ws, activity_type="agent_log", summary="x" * 70000).status_code == 400
    stranger = server.post("/workspaces", headers=ADMIN, json={"name": "s-" + uuid.uuid4().hex[:6],
                                                                "model": "m"}).json()
    r = server.post(f"/workspaces/{ws['id']}/activity", headers=bearer(stranger["auth_token"]),
                    json={"activity_type": "agent_log"})
    assert r.status_code == 401  # another workspace's token is no token here


def test_notify_persists_and_records_the_event_together(server, ws):
    msg = "你好" * 50  # 100 runes: the preview keeps 80 and adds the marker
    att = [{"uri": "platform-pending:x/y", "name": "a.pdf", "mimeType": "application/pdf", "size": 3}]
    r = server.post(f"/workspaces/{ws['id']}/notify", headers=bearer(ws["auth_token"]),
                    json={"message": msg, "attachments": att})
    assert r.json() == {"status": "sent"}
    rows = server.get(f"/workspaces/{ws['id']}/activity?type=a2a_receive", headers=bearer(ws["auth_token"])).json()
    assert rows[0]["method"] == "notify" and rows[0]["source_id"] is None
    assert rows[0]["summary"] == "Agent message: " + "你好" * 40 + "…"
    assert rows[0]["response_body"] == {"result": msg, "parts": [{"kind": "file", "file": att[0]}]}
    ev = server.db.query(f"SELECT type, payload FROM events WHERE workspace_id = '{ws['id']}' "
                         f"AND type = 'AGENT_MESSAGE'")
    assert len(ev) == 1 and json.loads(ev[0][1])["attachments"] == att
    hist = server.get(f"/workspaces/{ws['id']}/chat-history", headers=bearer(ws["auth_token"])).json()
    assert hist["reached_end"] is True
    assert [(m["role"], m["content"]) for m in hist["messages"]] == [("agent", msg)]


def test_notify_errors(server, ws):
    h = bearer(ws["auth_token"])
    assert server.post(f"/workspaces/{ws['id']}/notify", headers=h, json={}).json()["error"] == "message is required"
    r = server.post(f"/workspaces/{ws['id']}/notify", headers=h, json={"message": "m", "attachments": [{"uri": "u"}]})
    assert r.status_code == 400 and r.json()["error"] == "attachment[0]: uri and name are required"
    server.db.execute(f"UPDATE workspaces SET talk_to_user_enabled = 0 WHERE id = '{ws['id']}'")
    r = server.post(f"/workspaces/{ws['id']}/notify", headers=h, json={"message": "m"})
    assert r.status_code == 403 and r.json()["error"] == "talk_to_user_disabled"
    assert server.db.query(f"SELECT count(*) FROM activity_logs WHERE workspace_id = '{ws['id']}'") == [["0"]]
    missing = str(uuid.uuid4())
    assert server.post(f"/workspaces/{missing}/notify", headers=ADMIN, json={"message": "m"}).status_code == 404


def test_chat_session_reset_hides_older_history(server, ws):
    h = bearer(ws["auth_token"])
    server.post(f"/workspaces/{ws['id']}/notify", headers=h, json={"message": "old"})
    r = server.post(f"/workspaces/{ws['id']}/chat-session/new", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "reset"
    server.post(f"/workspaces/{ws['id']}/notify", headers=h, json={"message": "new"})
    msgs = server.get(f"/workspaces/{ws['id']}/chat-history", headers=h).json()["messages"]
    assert [m["content"] for m in msgs] == ["new"]


def test_session_search(server, ws):
    h = bearer(ws["auth_token"])
    report(server, ws, activity_type="agent_log", summary="Deployed the Widget")
    report(server, ws, activity_type="agent_log", summary="unrelated")
    items = server.get(f"/workspaces/{ws['id']}/session-search?q=widget", headers=h).json()
    assert [i["content"] for i in items] == ["Deployed the Widget"]
    assert set(items[0]) == {"kind", "id", "workspace_id", "label", "content", "method", "status", "created_at"}
    assert len(server.get(f"/workspaces/{ws['id']}/session-search", headers=h).json()) == 2


def test_event_history_is_admin_only(server, ws):
    rows = server.get(f"/events/{ws['id']}", headers=ADMIN).json()
    assert [r["event_type"] for r in rows] == ["WORKSPACE_AWAITING_AGENT"]
    assert set(rows[0]) == {"id", "event_type", "workspace_id", "payload", "created_at"}
    assert server.get("/events", headers=bearer(ws["auth_token"])).status_code == 403
    assert len(server.get("/events", headers=ADMIN).json()) <= 100
