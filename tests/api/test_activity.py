"""Activity log, agent->user chat, session search and event history (runtime.md §6, §7.5)."""
import json
import time
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
    assert r.status_code == 403 and r.json() == {"error": "talk_to_user_disabled", "code": "forbidden",
                                                 "hint": "an admin can enable it with PATCH /workspaces/:id/abilities"}
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


def test_report_announces_activity_logged_with_the_row(server, ws):
    """POST /activity writes the row and ACTIVITY_LOGGED in one transaction (runtime.md §6.2): the event names what
    was logged; error_detail is capped at 4096 bytes and secrets in it are masked."""
    detail = ("call failed: Authorization: Bearer abcdefghijklmnop0123 key sk-ant-api03-XYZxyz0123456789 jwt"
              " eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig_nature-1 api_key=\"abc123\" by task-runner-0123456789abcdef "
              + "x" * 5000)
    r = report(server, ws, activity_type="task_update", method="tasks/update", summary="half way",
               status="error", error_detail=detail, duration_ms=1500, target_id=ws["id"],
               request_body={"step": 2}, response_body={"ok": False})
    assert r.status_code == 200, r.text
    ev = server.db.query(f"SELECT type, payload FROM events WHERE workspace_id = '{ws['id']}' ORDER BY id")
    assert [t for t, _ in ev] == ["WORKSPACE_AWAITING_AGENT", "ACTIVITY_LOGGED"]
    p = json.loads(ev[1][1])
    masked = ("call failed: Authorization: Bearer [REDACTED] key [REDACTED] jwt [REDACTED] api_key=\"[REDACTED]\""
              " by task-runner-0123456789abcdef " + "x" * 5000)[:4096]
    assert p == {"activity_type": "task_update", "method": "tasks/update", "summary": "half way", "status": "error",
                 "source_id": ws["id"], "target_id": ws["id"], "duration_ms": 1500, "request_body": {"step": 2},
                 "response_body": {"ok": False}, "error_detail": masked + "…[truncated]"}
    # the bare minimum: absent fields are null, optional ones are left out
    report(server, ws, activity_type="agent_log")
    ev = server.db.query(f"SELECT payload FROM events WHERE workspace_id = '{ws['id']}' AND type = 'ACTIVITY_LOGGED'"
                         " ORDER BY id")
    assert json.loads(ev[-1][0]) == {"activity_type": "agent_log", "method": None, "summary": None, "status": "ok",
                                     "source_id": ws["id"], "target_id": None, "duration_ms": None}
    # a refused report announces nothing
    assert report(server, ws, activity_type="bogus").status_code == 400
    assert len(server.db.query(f"SELECT id FROM events WHERE workspace_id = '{ws['id']}'")) == 3


BASE_MS = 1767225600000  # 2026-01-01T00:00:00Z


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def put_row(c, w, at, request=None, response=None, status="ok", kind="a2a_receive", source=None, summary="s",
            method="message/send", duration=None, tool_trace=None):
    def lit(v):
        if v is None:
            return "NULL"
        text = v if isinstance(v, str) else json.dumps(v)
        return "'" + text.replace("'", "''") + "'"
    c.db.execute("INSERT INTO activity_logs (id, workspace_id, activity_type, source_id, method, summary,"
                 " request_body, response_body, duration_ms, status, tool_trace, created_at) VALUES"
                 f" ('{uuid.uuid4()}', '{w['id']}', '{kind}', {lit(source)}, '{method}', {lit(summary)},"
                 f" {lit(request)}, {lit(response)}, {duration if duration is not None else 'NULL'}, '{status}',"
                 f" {lit(tool_trace)}, {at})")


def user_msg(*parts):
    return {"jsonrpc": "2.0", "method": "message/send", "params": {"message": {"role": "user", "parts": list(parts)}}}


def chat(c, w, **q):
    r = c.get(f"/workspaces/{w['id']}/chat-history", headers=bearer(w["auth_token"]), params=q)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"messages", "reached_end"}
    ids = [m.pop("id") for m in body["messages"]]
    assert all(uuid.UUID(i).version == 4 for i in ids) and len(set(ids)) == len(ids)
    return body


def test_chat_history_rebuilds_the_conversation_oldest_first(server, ws):
    """surface.md §15: user text from the request's message parts, agent text from the response, oldest first."""
    t = [BASE_MS + k * 1000 for k in range(7)]
    put_row(server, ws, t[1], request=user_msg({"kind": "text", "text": ""}, {"kind": "text", "text": "first"},
                                               {"kind": "file", "file": {"uri": "workspace:/tmp/a/report.pdf",
                                                                         "mimeType": "application/pdf", "size": 12}}),
            response={"jsonrpc": "2.0", "result": "plain answer"}, duration=2000)
    for at, summary in ((t[1] - 500, "🛠 Read file"), (t[1] - 100, "🛠 Bash"), (t[1] + 500, "🛠 Late"),
                        (t[1] - 200, "no marker")):
        put_row(server, ws, at, kind="agent_log", source=ws["id"], summary=summary, method="log")
    put_row(server, ws, t[2], request=user_msg({"kind": "text", "text": "Delegation results are ready: 2 done"}),
            response={"result": {"parts": [{"kind": "text", "text": "line1"}, {"root": {"text": "line2"}}],
                                 "artifacts": [{"parts": [{"type": "text", "text": "line3"},
                                                          {"kind": "file", "url": "https://cdn.example/x/chart.png",
                                                           "mediaType": "image/png"}]}]}})
    put_row(server, ws, t[3], request=user_msg({"kind": "text", "text": "will fail"}),
            response={"result": "Agent error: boom"}, status="error", tool_trace=[{"tool": "X", "input": "y"}])
    put_row(server, ws, t[4], response={"task": "a task string"}, method="notify")
    put_row(server, ws, t[5], response={"result": "Note", "parts": [{"kind": "file", "file": {
        "uri": "platform-pending:w/f", "name": "n.txt"}}]}, method="notify")
    put_row(server, ws, t[6], request={"file_id": "f", "name": "up.txt"}, method="chat_upload_receive")
    put_row(server, ws, t[6], request=user_msg({"kind": "text", "text": "from an agent"}), source=ws["id"])

    full = chat(server, ws)
    assert full == {"reached_end": True, "messages": [
        {"role": "user", "content": "first", "timestamp": iso(t[1]), "attachments": [
            {"uri": "workspace:/tmp/a/report.pdf", "name": "report.pdf", "mimeType": "application/pdf", "size": 12}]},
        {"role": "agent", "content": "plain answer", "timestamp": iso(t[1]),
         "tool_trace": [{"tool": "Read file"}, {"tool": "Bash"}]},
        {"role": "agent", "content": "line1\nline2\nline3", "timestamp": iso(t[2]), "attachments": [
            {"uri": "https://cdn.example/x/chart.png", "name": "chart.png", "mimeType": "image/png"}]},
        {"role": "user", "content": "will fail", "timestamp": iso(t[3])},
        {"role": "system", "content": "Agent error: boom", "timestamp": iso(t[3]),
         "tool_trace": [{"tool": "X", "input": "y"}]},
        {"role": "agent", "content": "a task string", "timestamp": iso(t[4])},
        {"role": "agent", "content": "Note", "timestamp": iso(t[5]), "attachments": [
            {"uri": "platform-pending:w/f", "name": "n.txt"}]},
    ]}
    # a page: the newest `limit` rows (the upload row counts), still oldest first
    page = chat(server, ws, limit=3)
    assert page["reached_end"] is False
    assert [(m["role"], m["content"]) for m in page["messages"]] == [("agent", "a task string"), ("agent", "Note")]
    older = chat(server, ws, before_ts=iso(t[3]))
    assert older["reached_end"] is True
    assert [m["content"] for m in older["messages"]] == ["first", "plain answer", "line1\nline2\nline3"]
    # garbage and out-of-range limits are a 400 like every list's (the reference quietly took its default), and
    # so are bad times and ids
    h = bearer(ws["auth_token"])
    for bad in ("abc", 0, "3abc", -3, 1001, 100000):
        r = server.get(f"/workspaces/{ws['id']}/chat-history", headers=h, params={"limit": bad})
        assert r.status_code == 400 and r.json() == {"error": "limit must be an integer from 1 to 1000",
                                                     "code": "invalid_request"}, (bad, r.text)
    assert chat(server, ws, limit=1000) == full
    r = server.get(f"/workspaces/{ws['id']}/chat-history?before_ts=yesterday", headers=h)
    assert r.status_code == 400 and r.json()["error"] == \
        "before_ts must be an RFC3339 timestamp (e.g. 2026-05-01T00:00:00Z)"
    r = server.get("/workspaces/not-a-uuid/chat-history", headers=ADMIN)
    assert r.status_code == 400 and r.json()["error"] == "workspace id must be a UUID"


def test_chat_session_reset_is_a_position_in_the_log_not_a_time(server, ws):
    """A message stamped by a node whose clock runs ahead (or in the reset's own millisecond) is still before a
    later reset."""
    put_row(server, ws, int(time.time() * 1000) + 60000, response={"result": "from a fast clock"}, method="notify")
    h = bearer(ws["auth_token"])
    assert server.post(f"/workspaces/{ws['id']}/chat-session/new", headers=h).status_code == 200
    server.post(f"/workspaces/{ws['id']}/notify", headers=h, json={"message": "after the reset"})
    assert [m["content"] for m in chat(server, ws)["messages"]] == ["after the reset"]


def test_chat_history_of_a_real_exchange(server, ws, agent):
    """A canvas (operator) message to a push agent and the agent's notify reload as three bubbles."""
    assert server.post("/registry/register", headers=bearer(ws["auth_token"]),
                       json={"id": ws["id"], "url": agent.url, "agent_card": {"name": "stub"}}).status_code == 200
    body = user_msg({"kind": "text", "text": "hello agent"})
    body["params"]["message"]["messageId"] = "m-chat-1"
    r = server.post(f"/workspaces/{ws['id']}/a2a", headers=ADMIN, json=body)
    assert r.status_code == 200, r.text
    assert server.post(f"/workspaces/{ws['id']}/notify", headers=bearer(ws["auth_token"]),
                       json={"message": "a note"}).status_code == 200
    msgs = chat(server, ws)["messages"]
    assert [(m["role"], m["content"]) for m in msgs] == [("user", "hello agent"), ("agent", "echo: hello agent"),
                                                         ("agent", "a note")]
    assert msgs[0]["timestamp"] == msgs[1]["timestamp"] and all(set(m) == {"role", "content", "timestamp"}
                                                                  for m in msgs)


def test_chat_history_shows_a_failed_send_once(server):
    """A send that cannot be delivered reloads as the user's bubble, once: the failure row carries the error, not a
    second copy of the message."""
    w = server.post("/workspaces", headers=ADMIN, json={"name": "dead-" + uuid.uuid4().hex[:8], "model": "m"}).json()
    assert server.post("/registry/register", headers=bearer(w["auth_token"]),
                       json={"id": w["id"], "url": "http://127.0.0.1:9", "agent_card": {"name": "gone"}}).status_code == 200
    r = server.post(f"/workspaces/{w['id']}/a2a", headers=ADMIN, json=user_msg({"kind": "text", "text": "there?"}))
    assert r.status_code == 502, r.text
    assert [(m["role"], m["content"]) for m in chat(server, w)["messages"]] == [("user", "there?")]
