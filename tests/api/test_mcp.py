"""The MCP bridge (schedules-mcp.md §7-§10, runtime.md §10, inbox.md §8), driven as an MCP client drives it:
initialize, tools/list, every tool, the JSON-RPC rules and errors, the per-token limit, the SSE keep-alive, the
external-connection snippets; delegation round trips through the bridge to a push agent (agent_stub.py) and to a poll
agent that drains its inbox; and a workspace reaching through the bridge no further than its REST token does."""
import json
import uuid

import pytest
import requests

from conftest import ADMIN, metric, wait_for

SERVER_ARGS = ("--a2a-dispatch-interval-ms", "100")
TOOLS = ["delegate_task", "delegate_task_async", "check_task_status", "list_peers", "get_workspace_info",
         "request_user_action", "list_user_tasks", "update_user_task", "delete_user_task"]
MEMORY_TOOLS = ["commit_memory", "recall_memory", "commit_memory_v2", "search_memory", "commit_summary",
                "list_writable_namespaces", "list_readable_namespaces", "forget_memory"]
DENIED = "access denied: workspaces cannot communicate per hierarchy rules"


def bearer(t):
    return {"Authorization": f"Bearer {t}"}


def ws(c, parent=None, mode="push", **kw):
    body = {"name": "mcp-" + uuid.uuid4().hex[:8], "model": "m", "delivery_mode": mode, **kw}
    if parent:
        body["parent_id"] = parent["id"]
    r = c.post("/workspaces", headers=ADMIN, json=body)
    assert r.status_code == 201, r.text
    return {**r.json(), "name": body["name"]}


def register(c, w, url, mode="push"):
    r = c.post("/registry/register", headers=bearer(w["auth_token"]),
               json={"id": w["id"], "url": url, "agent_card": {"name": "stub"}, "delivery_mode": mode})
    assert r.status_code == 200, r.text


def post(c, w, body, token=None, raw=False, headers=None):
    """POST a JSON-RPC body (an object, a list, or raw bytes/str) to w's bridge with w's token (or `token`)."""
    data = body if raw else json.dumps(body)
    return requests.post(f"{c.url}/workspaces/{w['id']}/mcp", data=data, timeout=60,
                         headers={**bearer(token or w["auth_token"]), "Content-Type": "application/json",
                                  **(headers or {})})


def rpc(c, w, method, params=None, rid=1, token=None):
    body = {"jsonrpc": "2.0", "id": rid, "method": method}
    if params is not None:
        body["params"] = params
    r = post(c, w, body, token=token)
    assert r.status_code == 200, r.text
    return r.json()


def call(c, w, tool, token=None, **args):
    """tools/call: the text of the result, or the error object."""
    v = rpc(c, w, "tools/call", {"name": tool, "arguments": args}, rid="call-" + tool, token=token)
    assert v["id"] == "call-" + tool and v["jsonrpc"] == "2.0"
    if "error" in v:
        return v["error"]
    assert v["result"]["content"][0]["type"] == "text" and len(v["result"]["content"]) == 1
    return v["result"]["content"][0]["text"]


def tool_error(message, code):
    return {"code": -32000, "message": "tool call failed", "data": {"error": message, "code": code}}


def ledger(c, w):
    r = c.get(f"/workspaces/{w['id']}/delegations", headers=bearer(w["auth_token"]))
    assert r.status_code == 200, r.text
    return {d["delegation_id"]: d for d in r.json()}


def activity(c, w, **q):
    r = c.get(f"/workspaces/{w['id']}/activity", headers=bearer(w["auth_token"]), params=q)
    assert r.status_code == 200, r.text
    return r.json()


# ---- the protocol --------------------------------------------------------------------------------------------

def test_initialize_tools_list_and_notifications(server):
    w = ws(server)
    v = rpc(server, w, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                      "clientInfo": {"name": "test", "version": "0"}})
    assert v == {"jsonrpc": "2.0", "id": 1, "result": {
        "protocolVersion": "2024-11-05", "capabilities": {"tools": {"listChanged": False}},
        "serverInfo": {"name": "molecule-a2a", "version": "1.0.0"}}}
    # a notification is never answered (JSON-RPC 2.0): 202 and no body, whatever its method
    for method in ("notifications/initialized", "notifications/cancelled", "tools/list"):
        r = post(server, w, {"jsonrpc": "2.0", "method": method})
        assert r.status_code == 202 and r.content == b"", (method, r.text)
    # sent with an id it is a request, answered with an empty result; so is ping (MCP's)
    assert rpc(server, w, "notifications/initialized", rid="x") == {"jsonrpc": "2.0", "id": "x", "result": {}}
    assert rpc(server, w, "ping", rid=0) == {"jsonrpc": "2.0", "id": 0, "result": {}}
    tools = rpc(server, w, "tools/list")["result"]["tools"]
    assert [t["name"] for t in tools] == TOOLS + MEMORY_TOOLS  # no send_message_to_user unless enabled
    for t in tools:
        assert set(t) == {"name", "description", "inputSchema"} and t["description"]
        assert t["inputSchema"]["type"] == "object" and isinstance(t["inputSchema"]["properties"], dict)
    schemas = {t["name"]: t["inputSchema"] for t in tools}
    assert schemas["delegate_task"]["required"] == ["workspace_id", "task"]
    assert set(schemas["delegate_task"]["properties"]) == {"workspace_id", "task", "attachments"}
    assert schemas["delegate_task"]["properties"]["attachments"]["items"]["required"] == ["uri", "name"]
    assert schemas["delegate_task_async"] == schemas["delegate_task"]
    assert schemas["check_task_status"]["required"] == ["workspace_id", "task_id"]
    assert schemas["request_user_action"]["required"] == ["title"]
    assert schemas["update_user_task"]["properties"]["status"]["enum"] == ["pending", "done", "dismissed"]
    assert schemas["list_peers"]["required"] == [] and schemas["list_peers"]["properties"] == {}
    assert schemas["commit_memory"]["required"] == ["content"]
    assert schemas["commit_memory"]["properties"]["scope"]["enum"] == ["LOCAL", "TEAM"]
    assert schemas["recall_memory"]["properties"]["scope"]["enum"] == ["LOCAL", "TEAM", ""]
    assert schemas["commit_memory_v2"]["properties"]["kind"]["enum"] == ["fact", "summary", "checkpoint"]
    assert set(schemas["commit_memory_v2"]["properties"]) == {"content", "namespace", "kind", "expires_at", "pin"}
    assert set(schemas["search_memory"]["properties"]) == {"query", "namespaces", "kinds", "limit"}
    assert set(schemas["commit_summary"]["properties"]) == {"content", "namespace", "expires_at"}
    assert schemas["forget_memory"]["required"] == ["memory_id"]
    assert schemas["list_readable_namespaces"]["properties"] == {}
    for method in ("resources/list", "prompts/list", "tools/unknown", "rpc.discover"):
        assert rpc(server, w, method) == {"jsonrpc": "2.0", "id": 1,
                                          "error": {"code": -32601, "message": "method not found"}}


def test_json_rpc_rules(server):
    w = ws(server)
    parse_error = {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}}
    for body in (b"", b"{", b"not json", b'{"a":1,"a":2}', b'"\xff"', b"[" * 100 + b"]" * 100):
        r = post(server, w, body, raw=True)
        assert r.status_code == 400 and r.json() == parse_error, body
    # ids are echoed exactly; an invalid item is answered with id null and the reason in data
    assert rpc(server, w, "ping", rid=9007199254740993)["id"] == 9007199254740993
    assert rpc(server, w, "ping", rid="é-1")["id"] == "é-1"

    def invalid(reason, rid=None):
        return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32600, "message": "invalid request",
                                                      "data": {"error": reason}}}
    cases = [({"id": 1, "method": "ping"}, invalid('jsonrpc must be "2.0"', 1)),
             ({"jsonrpc": "1.0", "id": 1, "method": "ping"}, invalid('jsonrpc must be "2.0"', 1)),
             ({"jsonrpc": "2.0", "id": None, "method": "ping"}, invalid("id must be a string or an integer")),
             ({"jsonrpc": "2.0", "id": 1.5, "method": "ping"}, invalid("id must be a string or an integer")),
             ({"jsonrpc": "2.0", "id": [1], "method": "ping"}, invalid("id must be a string or an integer")),
             ({"jsonrpc": "2.0", "id": 2, "method": 7}, invalid("method must be a string", 2)),
             ({"jsonrpc": "2.0", "method": 7}, invalid("method must be a string")),  # not a notification
             ({"jsonrpc": "2.0", "id": 2, "method": "ping", "params": "x"},
              invalid("params must be an object or an array", 2)),
             (42, invalid("a request must be an object")),
             ([], invalid("an empty batch"))]
    for body, want in cases:
        r = post(server, w, body)
        assert r.status_code == 200 and r.json() == want, (body, r.text)
    # a batch: answers in order, none for notifications, invalid items answered in place
    batch = [{"jsonrpc": "2.0", "id": "a", "method": "ping"},
             {"jsonrpc": "2.0", "method": "notifications/initialized"},
             {"foo": "boo"},
             {"jsonrpc": "2.0", "id": "b", "method": "tools/call", "params": {"name": "get_workspace_info"}},
             {"jsonrpc": "2.0", "id": "c", "method": "nope"}]
    r = post(server, w, batch)
    assert r.status_code == 200
    got = r.json()
    assert [x["id"] for x in got] == ["a", None, "b", "c"]
    assert got[0]["result"] == {} and got[1] == invalid('jsonrpc must be "2.0"')
    assert json.loads(got[2]["result"]["content"][0]["text"])["id"] == w["id"]
    assert got[3]["error"]["code"] == -32601
    r = post(server, w, [{"jsonrpc": "2.0", "method": "notifications/initialized"}] * 3)
    assert r.status_code == 202 and r.content == b""
    r = post(server, w, [{"jsonrpc": "2.0", "id": i, "method": "ping"} for i in range(33)])
    assert r.json() == invalid("a batch of more than 32 requests")
    r = post(server, w, [{"jsonrpc": "2.0", "id": i, "method": "ping"} for i in range(32)])
    assert [x["id"] for x in r.json()] == list(range(32))
    # tools/call: bad params are -32602; an unknown tool is a tool error
    bad_params = {"code": -32602, "message": "invalid parameters"}
    for params in (None, [], {}, {"name": 5}, {"name": "list_peers", "arguments": []},
                   {"name": "list_peers", "arguments": "x"}):
        v = rpc(server, w, "tools/call", params, rid=3)
        assert v == {"jsonrpc": "2.0", "id": 3, "error": bad_params}, params
    assert call(server, w, "list_peers") == "No peers found."  # arguments absent: {}
    assert rpc(server, w, "tools/call", {"name": "list_peers", "arguments": None})["result"]
    for name in ("nope", "Commit_Memory", "list_peers ", ""):
        assert call(server, w, name) == tool_error("unknown tool", "not_found")
    # a bounded body
    r = post(server, w, json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping", "pad": "x" * (1 << 20)}), raw=True)
    assert r.status_code == 413 and r.json()["code"] == "too_large"


# ---- the workspace tools -------------------------------------------------------------------------------------

def test_workspace_info_and_peers(server):
    boss = ws(server, role="lead")
    a = ws(server, parent=boss, role="writer")
    b = ws(server, parent=boss)
    child = ws(server, parent=a)
    info = call(server, a, "get_workspace_info")
    assert info == json.dumps({"id": a["id"], "name": a["name"], "parent_id": boss["id"], "role": "writer",
                               "status": "awaiting_agent", "tier": 3}, indent=2)
    assert json.loads(call(server, boss, "get_workspace_info")).get("parent_id") is None
    peers = json.loads(call(server, a, "list_peers"))
    assert peers == [{"id": b["id"], "name": b["name"], "role": "", "status": "awaiting_agent", "tier": 3},
                     {"id": child["id"], "name": child["name"], "role": "", "status": "awaiting_agent", "tier": 3},
                     {"id": boss["id"], "name": boss["name"], "role": "lead", "status": "awaiting_agent", "tier": 3}]
    assert call(server, a, "list_peers").startswith('[\n  {\n    "id": ')  # 2-space indented
    # the REST peers route agrees, in the same order
    rest = server.get(f"/registry/{a['id']}/peers", headers=bearer(a["auth_token"])).json()
    assert [p["id"] for p in rest] == [p["id"] for p in peers]
    r = server.delete(f"/workspaces/{b['id']}", headers={**ADMIN, "X-Confirm-Name": b["name"]})
    assert r.status_code == 200
    assert [p["id"] for p in json.loads(call(server, a, "list_peers"))] == [child["id"], boss["id"]]


def test_user_task_tools(server):
    w = ws(server)
    assert call(server, w, "request_user_action", title="rotate the staging key", detail="before Friday") == \
        "Asked the user: rotate the staging key"
    rest = server.get(f"/workspaces/{w['id']}/user-tasks", headers=bearer(w["auth_token"])).json()
    (task,) = rest
    assert task["title"] == "rotate the staging key" and task["status"] == "pending"
    kinds = [e["event_type"] for e in server.get(f"/events/{w['id']}", headers=ADMIN).json()]
    assert "USER_TASK_REQUESTED" in kinds
    call(server, w, "request_user_action", title="second")
    listed = json.loads(call(server, w, "list_user_tasks"))
    assert [t["title"] for t in listed] == ["second", "rotate the staging key"]
    assert listed[1] == {"id": task["id"], "title": "rotate the staging key", "detail": "before Friday",
                         "status": "pending", "created_at": task["created_at"]}
    assert listed[0]["detail"] is None
    assert ":" not in call(server, w, "list_user_tasks").replace('":', "").split("T")[0]  # compact JSON
    # empty strings leave a field as it is; a status resolves it (by the agent, as the PATCH route says)
    assert call(server, w, "update_user_task", user_task_id=task["id"], title="", detail="by Thursday",
                status="done") == "User task updated."
    (t,) = [x for x in server.get(f"/workspaces/{w['id']}/user-tasks", headers=bearer(w["auth_token"])).json()
            if x["id"] == task["id"]]
    assert (t["title"], t["detail"], t["status"], t["resolved_by"]) == \
        ("rotate the staging key", "by Thursday", "done", "agent")
    assert call(server, w, "update_user_task", user_task_id=task["id"], status="pending")["data"]["code"] == \
        "invalid_request"  # never reopened
    assert call(server, w, "update_user_task", user_task_id=task["id"], status="later") == \
        tool_error("status must be 'pending', 'done' or 'dismissed'", "invalid_request")
    assert call(server, w, "delete_user_task", user_task_id=task["id"]) == "User task deleted."
    assert call(server, w, "delete_user_task", user_task_id=task["id"]) == \
        tool_error("user task not found", "not_found")
    assert call(server, w, "delete_user_task", user_task_id="not-a-uuid") == \
        tool_error("user task not found", "not_found")
    assert call(server, w, "request_user_action") == tool_error("title is required", "invalid_request")
    assert call(server, w, "request_user_action", title=7) == tool_error("title must be a string", "invalid_request")
    assert call(server, w, "request_user_action", title="x" * 1001)["data"]["code"] == "invalid_request"
    assert call(server, w, "update_user_task") == tool_error("user_task_id is required", "invalid_request")


def test_send_message_to_user_is_off_by_default(server):
    w = ws(server)
    events = server.get(f"/events/{w['id']}", headers=ADMIN).json()
    assert "send_message_to_user" not in [t["name"] for t in rpc(server, w, "tools/list")["result"]["tools"]]
    assert call(server, w, "send_message_to_user", message="hi") == tool_error(
        "send_message_to_user is not enabled on this server (--mcp-allow-send-message)", "forbidden")
    assert activity(server, w) == []
    assert server.get(f"/events/{w['id']}", headers=ADMIN).json() == events


def test_send_message_to_user_when_enabled(start_colony):
    c = start_colony(args=["--mcp-allow-send-message"])
    w = ws(c)
    tools = [t["name"] for t in rpc(c, w, "tools/list")["result"]["tools"]]
    assert tools == TOOLS[:5] + ["send_message_to_user"] + TOOLS[5:] + MEMORY_TOOLS
    att = [{"uri": "https://files.example/r.pdf", "name": "r.pdf", "mimeType": "application/pdf", "size": 12}]
    assert call(c, w, "send_message_to_user", message="report ready", attachments=att) == "Message sent."
    (row,) = activity(c, w)
    assert (row["activity_type"], row["method"], row["summary"]) == ("a2a_receive", "notify",
                                                                     "Agent message: report ready")
    events = [e for e in c.get(f"/events/{w['id']}", headers=ADMIN).json() if e["event_type"] == "AGENT_MESSAGE"]
    assert events[0]["payload"]["message"] == "report ready" and events[0]["payload"]["attachments"] == att
    for attachments, message in (("x", "attachments must be an array"), ([1], "attachment[0]: must be an object"),
                                 ([att[0], {"uri": "u"}], "attachment[1]: uri and name are required")):
        assert call(c, w, "send_message_to_user", message="m", attachments=attachments) == \
            tool_error(message, "invalid_request")
    assert call(c, w, "send_message_to_user") == tool_error("message is required", "invalid_request")
    c.db.execute(f"UPDATE workspaces SET talk_to_user_enabled = 0 WHERE id = '{w['id']}'")
    assert call(c, w, "send_message_to_user", message="m") == \
        tool_error("talk_to_user_disabled", "talk_to_user_disabled")
    assert len(activity(c, w)) == 1


# ---- memory (data.md §2.7) -----------------------------------------------------------------------------------

SECRET = "use OPENAI_API_KEY=sk-live-0123456789abcdefXYZ and ghp_0123456789abcdefABCD for postgres://u:pw@db/x"
REDACTED = "use [REDACTED:API_KEY] and [REDACTED:GITHUB_PAT] for [REDACTED:DB_URL_WITH_CREDENTIALS]/x"


def memory_activity(c, w):
    return [(a["activity_type"], a["method"], a["target_id"], a["summary"])
            for a in activity(c, w) if a["activity_type"].startswith("memory_")]


def test_legacy_memory_tools(server):
    root = ws(server)
    a = ws(server, parent=root)
    b = ws(server, parent=root)
    v = json.loads(call(server, a, "commit_memory", content="the deploy runs on fridays"))
    assert v == {"id": v["id"], "scope": "LOCAL"}
    t = json.loads(call(server, a, "commit_memory", content="team standup at nine", scope="TEAM"))
    assert t["scope"] == "TEAM"
    assert call(server, a, "commit_memory", content="x", scope="GLOBAL") == \
        tool_error("scope must be LOCAL or TEAM", "invalid_request")
    assert call(server, a, "commit_memory", content="x", scope="local")["data"]["code"] == "invalid_request"
    assert call(server, a, "commit_memory") == tool_error("content is required", "invalid_request")
    got = json.loads(call(server, a, "recall_memory", query="deploy"))
    assert [(m["id"], m["content"], m["scope"]) for m in got] == [(v["id"], "the deploy runs on fridays", "LOCAL")]
    assert set(got[0]) == {"id", "content", "scope", "created_at"}
    assert call(server, a, "recall_memory", query="deploy").startswith("[\n  {")  # 2-space indented
    # a sibling shares the team, not the workspace's own
    assert [m["id"] for m in json.loads(call(server, b, "recall_memory"))] == [t["id"]]
    assert call(server, b, "recall_memory", scope="LOCAL") == "No memories found."
    assert call(server, b, "recall_memory", query="deploy") == "No memories found."
    assert memory_activity(server, a) == [
        ("memory_write", f"team:{root['id']}", t["id"], f"commit_memory to team:{root['id']}"),
        ("memory_write", f"workspace:{a['id']}", v["id"], f"commit_memory to workspace:{a['id']}")]


def test_v2_memory_tools(server):
    root = ws(server)
    a = ws(server, parent=root)
    other = ws(server)
    own, team, org = f"workspace:{a['id']}", f"team:{root['id']}", f"org:{root['id']}"
    v = json.loads(call(server, a, "commit_memory_v2", content=SECRET, pin=True))
    assert v == {"id": v["id"], "namespace": own}
    s = json.loads(call(server, a, "commit_summary", content="summary of the week", namespace=team,
                        expires_at="not a time"))  # ignored: 30 days
    assert s["namespace"] == team
    assert call(server, a, "commit_memory_v2", content="x", expires_at="tomorrow") == \
        tool_error("expires_at must be an RFC 3339 time", "invalid_request")
    assert call(server, a, "commit_memory_v2", content="x", namespace=org)["data"]["code"] == "forbidden"
    assert call(server, a, "commit_memory_v2", content="x", namespace=f"workspace:{other['id']}")["data"][
        "code"] == "forbidden"
    assert call(server, a, "commit_memory_v2", content="x", kind="opinion")["data"]["code"] == "invalid_request"
    r = json.loads(call(server, root, "commit_memory_v2", content="org wide rule", namespace=org))
    found = json.loads(call(server, a, "search_memory"))["memories"]
    by_id = {m["id"]: m for m in found}
    assert by_id[v["id"]]["content"] == REDACTED and by_id[v["id"]]["pin"] is True
    assert by_id[s["id"]]["kind"] == "summary" and "expires_at" in by_id[s["id"]]
    assert by_id[r["id"]]["content"] == f"[MEMORY id={r['id']} scope=ORG ns={org}]: org wide rule"
    assert [m["id"] for m in json.loads(call(server, a, "search_memory", namespaces=[team]))["memories"]] == [s["id"]]
    assert json.loads(call(server, other, "search_memory", namespaces=[own, team]))["memories"] == []
    assert json.loads(call(server, a, "search_memory", kinds=["summary"], limit=1))["memories"][0]["id"] == s["id"]
    writable = json.loads(call(server, a, "list_writable_namespaces"))
    assert [(n["name"], n["kind"], n["writable"]) for n in writable] == [(own, "workspace", True),
                                                                         (team, "team", True)]
    readable = json.loads(call(server, a, "list_readable_namespaces"))
    assert [(n["name"], n["writable"]) for n in readable] == [(own, True), (team, True), (org, False)]
    assert readable[2]["display_name"] == root["name"]
    # forget: own namespace by default; another's or a team's memory is not found from there
    assert call(server, a, "forget_memory", memory_id=s["id"]) == tool_error("memory not found", "not_found")
    assert call(server, a, "forget_memory", memory_id=s["id"], namespace=team) == '{"forgotten":true}'
    assert call(server, other, "forget_memory", memory_id=v["id"], namespace=own)["data"]["code"] == "forbidden"
    assert call(server, a, "forget_memory", memory_id=v["id"]) == '{"forgotten":true}'
    assert json.loads(call(server, a, "search_memory", namespaces=[own, team]))["memories"] == []
    assert memory_activity(server, a)[:2] == [
        ("memory_delete", own, v["id"], f"forget_memory {v['id']} from {own}"),
        ("memory_delete", team, s["id"], f"forget_memory {s['id']} from {team}")]
    # bad arguments are refused and store nothing
    before = len(memory_activity(server, a))
    for tool, args, message in (
            ("commit_memory_v2", {"content": "x" * 65537}, ("content is longer than 65536 bytes", "too_large")),
            ("commit_memory_v2", {"content": "x", "pin": "yes"}, ("pin must be a boolean", "invalid_request")),
            ("commit_memory_v2", {"content": "x", "namespace": "no spaces"}, None),
            ("commit_memory", {"content": 5}, ("content must be a string", "invalid_request")),
            ("commit_summary", {}, ("content is required", "invalid_request")),
            ("search_memory", {"namespaces": own}, ("namespaces must be an array of at most 12 strings",
                                                    "invalid_request")),
            ("search_memory", {"kinds": ["fact"] * 4}, ("kinds must be an array of at most 3 strings",
                                                       "invalid_request")),
            ("search_memory", {"kinds": ["opinion"]}, ("kind must be fact, summary or checkpoint", "invalid_request")),
            ("search_memory", {"limit": "10"}, ("limit must be an integer", "invalid_request")),
            ("search_memory", {"query": "q" * 1025}, ("query is longer than 1024 bytes", "invalid_request")),
            ("forget_memory", {}, ("memory_id is required", "invalid_request"))):
        err = call(server, a, tool, **args)
        assert err == tool_error(*message) if message else err["data"]["code"] == "invalid_request", (tool, err)
    assert len(memory_activity(server, a)) == before
    assert json.loads(call(server, a, "search_memory", namespaces=[own, team]))["memories"] == []


FORGED = '\nts=2026-01-01T00:00:00.000Z level=error msg="FORGED" by=mcp'


def test_what_a_client_names_cannot_forge_a_log_line(server):
    """A tool name, a namespace (in the message of a failed call) and the like are quoted in colony's log; a
    namespace that is no namespace name is refused by forget_memory as by the other memory tools."""
    w = ws(server)
    assert call(server, w, "forget_memory", memory_id=str(uuid.uuid4()), namespace="x" + FORGED) == \
        tool_error("invalid namespace name", "invalid_request")
    assert call(server, w, "nope" + FORGED) == tool_error("unknown tool", "not_found")
    assert call(server, w, "commit_memory_v2", content="x", namespace="x" + FORGED) == \
        tool_error("invalid namespace name", "invalid_request")
    log = server.read_log().splitlines()
    assert [line for line in log if line.startswith("ts=2026-01-01T00:00:00.000Z")] == []
    quoted = [line for line in log if "tool=\"nope\\x0ats=2026" in line]
    assert len(quoted) == 1 and 'code=not_found error="unknown tool"' in quoted[0], quoted


# ---- delegations ---------------------------------------------------------------------------------------------

def test_delegation_round_trip_to_a_push_agent(server, agent):
    boss = ws(server, mode="poll")
    child = ws(server, parent=boss)
    register(server, child, agent.url)
    att = [{"uri": "https://files.example/a.png", "name": "a.png", "mimeType": "image/png", "size": 3},
           {"uri": "https://files.example/b.bin", "name": "b.bin"}]
    text = call(server, boss, "delegate_task", workspace_id=child["id"].upper(), task="summarise the logs",
                attachments=att)
    assert text == "echo: summarise the logs"
    (sent,) = agent.delivered
    m = sent["params"]["message"]
    did = m["messageId"]
    assert m["metadata"] == {"delegation_id": did} and sent["method"] == "message/send"
    assert m["parts"] == [{"kind": "text", "text": "summarise the logs"},
                          {"kind": "image", "file": {"uri": att[0]["uri"], "mime_type": "image/png", "name": "a.png"}},
                          {"kind": "file", "file": {"uri": att[1]["uri"], "name": "b.bin"}}]
    d = ledger(server, boss)[did]
    assert d["status"] == "completed" and d["response_preview"] == "echo: summarise the logs"
    assert d["target_id"] == child["id"]
    intent = [a for a in activity(server, boss, type="delegation") if a["method"] == "delegate"]
    assert intent[0]["request_body"] == {"task": "summarise the logs", "delegation_id": did}
    assert intent[0]["summary"] == f"Delegating to {child['name']}" and intent[0]["status"] == "completed"
    status = call(server, boss, "check_task_status", workspace_id=child["id"], task_id=did)
    assert status == json.dumps({"result": "echo: summarise the logs", "status": "completed",
                                 "target_id": child["id"], "task_id": did}, indent=2)
    # asynchronous: the answer at once, the outcome in the ledger and through check_task_status
    v = json.loads(call(server, boss, "delegate_task_async", workspace_id=child["id"], task="count the rows"))
    assert set(v) == {"task_id", "status", "target_id"} and v["status"] == "queued" and v["target_id"] == child["id"]
    wait_for(lambda: ledger(server, boss)[v["task_id"]]["status"] == "completed")
    assert json.loads(call(server, boss, "check_task_status", workspace_id=child["id"], task_id=v["task_id"]))[
        "result"] == "echo: count the rows"
    # the agent fails: a tool error carrying its message, and the delegation failed
    agent.mode = "error"
    err = call(server, boss, "delegate_task", workspace_id=child["id"], task="crash")
    assert err == tool_error("boom", "agent_error")
    failed = [d for d in ledger(server, boss).values() if d["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["error"] == "boom"
    st = json.loads(call(server, boss, "check_task_status", workspace_id=child["id"], task_id=failed[0]["delegation_id"]))
    assert st["status"] == "failed" and st["error"] == "boom" and "result" not in st
    # busy: queued for the agent, said so, delivered by the dispatcher later
    agent.mode = "busy"
    q = json.loads(call(server, boss, "delegate_task", workspace_id=child["id"], task="when you can"))
    assert q["status"] == "queued" and q["target_id"] == child["id"]
    agent.mode = "echo"
    wait_for(lambda: ledger(server, boss)[q["task_id"]]["status"] == "completed")
    # the reply is read whole from where the exchange kept it, not cut to the ledger's preview
    long_task = "y" * 6000
    assert call(server, boss, "delegate_task", workspace_id=child["id"], task=long_task) == "echo: " + long_task
    (did_long,) = [d for d in ledger(server, boss).values() if d["summary"].startswith("yyy")]
    assert did_long["status"] == "completed" and len(did_long["response_preview"]) < 6006  # the list shows a cut
    st = json.loads(call(server, boss, "check_task_status", workspace_id=child["id"],
                         task_id=did_long["delegation_id"]))
    assert st["result"] == "echo: " + long_task


def test_delegation_round_trip_to_a_poll_agent(server):
    boss = ws(server, mode="poll")
    child = ws(server, parent=boss, mode="poll")
    v = json.loads(call(server, boss, "delegate_task_async", workspace_id=child["id"], task="triage the inbox"))
    did = v["task_id"]
    assert json.loads(call(server, boss, "check_task_status", workspace_id=child["id"], task_id=did)) == \
        {"status": "in_progress", "target_id": child["id"], "task_id": did}
    # the agent drains its inbox, as poll agents do, and answers naming the delegation
    (msg,) = activity(server, child, type="a2a_receive")
    m = msg["request_body"]["params"]["message"]
    assert m["metadata"]["delegation_id"] == did and m["parts"][0]["text"] == "triage the inbox"
    assert msg["source_id"] == boss["id"]
    reply = {"jsonrpc": "2.0", "id": "r1", "method": "message/send",
             "params": {"message": {"role": "agent", "parts": [{"kind": "text", "text": "3 bugs, 1 question"}],
                                    "metadata": {"delegation_id": did}}}}
    r = requests.post(f"{server.url}/workspaces/{boss['id']}/a2a", json=reply,
                      headers=bearer(child["auth_token"]), timeout=30)
    assert r.status_code == 200, r.text
    assert json.loads(call(server, boss, "check_task_status", workspace_id=child["id"], task_id=did)) == \
        {"result": "3 bugs, 1 question", "status": "completed", "target_id": child["id"], "task_id": did}
    # the synchronous tool does not wait for a poll agent: it says where the task went
    v = json.loads(call(server, boss, "delegate_task", workspace_id=child["id"], task="and this"))
    assert v["status"] == "in_progress" and v["target_id"] == child["id"] and "poll" in v["note"]
    assert ledger(server, boss)[v["task_id"]]["status"] == "in_progress"
    # unknown ids, or another target, are not tracked
    for target, task in ((child["id"], str(uuid.uuid4())), (child["id"], "nope"), (boss["id"], did)):
        assert json.loads(call(server, boss, "check_task_status", workspace_id=target, task_id=task)) == \
            {"task_id": task, "status": "not_found", "note": "task not tracked or not yet dispatched"}
    assert call(server, boss, "check_task_status", workspace_id="x", task_id=did) == \
        tool_error("workspace_id must be a valid UUID", "invalid_request")


def test_delegations_through_the_bridge_meet_the_budget_and_a_pause(server, agent):
    """Admitted as every message: a target over its budget fails the delegation, a paused one holds it."""
    boss = ws(server, mode="poll")
    child = ws(server, parent=boss)
    register(server, child, agent.url)
    r = server.patch(f"/workspaces/{child['id']}/budget", headers=ADMIN, json={"budget_limits": {"monthly": 0}})
    assert r.status_code == 200, r.text
    err = call(server, boss, "delegate_task", workspace_id=child["id"], task="spend")
    assert err["message"] == "tool call failed" and err["data"]["code"] == "budget_exceeded"
    assert call(server, boss, "delegate_task_async", workspace_id=child["id"], task="spend")["data"]["code"] == \
        "budget_exceeded"
    assert sorted(d["status"] for d in ledger(server, boss).values()) == ["failed", "failed"]
    assert agent.seen == []
    r = server.patch(f"/workspaces/{child['id']}/budget", headers=ADMIN, json={"budget_limits": {"monthly": None}})
    assert r.status_code == 200, r.text
    r = server.post(f"/workspaces/{child['id']}/pause", headers=ADMIN)
    assert r.status_code == 200, r.text
    v = json.loads(call(server, boss, "delegate_task", workspace_id=child["id"], task="after the pause"))
    assert v["status"] == "queued" and "paused" in v["note"] and agent.seen == []
    r = server.post(f"/workspaces/{child['id']}/resume", headers=ADMIN)
    assert r.status_code == 200, r.text
    wait_for(lambda: ledger(server, boss)[v["task_id"]]["status"] == "completed")
    assert json.loads(call(server, boss, "check_task_status", workspace_id=child["id"], task_id=v["task_id"]))[
        "result"] == "echo: after the pause"


def test_bad_delegation_arguments_are_refused_and_change_nothing(server, agent):
    boss = ws(server, mode="poll")
    child = ws(server, parent=boss)
    register(server, child, agent.url)
    att = {"uri": "https://files.example/a", "name": "a"}
    t = child["id"]
    cases = [({"workspace_id": 5, "task": "x"}, "workspace_id must be a string", "invalid_request"),
             ({"task": "x"}, "workspace_id is required", "invalid_request"),
             ({"workspace_id": t + "0", "task": "x"}, "workspace_id must be a valid UUID", "invalid_request"),
             ({"workspace_id": t, "task": ["x"]}, "task must be a string", "invalid_request"),
             ({"workspace_id": t}, "task is required", "invalid_request"),
             ({"workspace_id": t, "task": "x" * (256 * 1024 + 1)}, "task is longer than 262144 bytes", "too_large"),
             ({"workspace_id": t, "task": "x", "attachments": att}, "attachments must be an array", "invalid_request"),
             ({"workspace_id": t, "task": "x", "attachments": [att] * 33}, "attachments: at most 32 files",
              "invalid_request"),
             ({"workspace_id": t, "task": "x", "attachments": [att, {"uri": "", "name": "n"}]},
              "attachment[1]: uri and name are required", "invalid_request")]
    for tool in ("delegate_task", "delegate_task_async"):
        for args, message, code in cases:
            assert call(server, boss, tool, **args) == tool_error(message, code), (tool, message)
    for args, message in (({"workspace_id": t, "task_id": 7}, "task_id must be a string"),
                          ({"workspace_id": t}, "task_id is required"), ({"task_id": "x"}, "workspace_id is required")):
        assert call(server, boss, "check_task_status", **args) == tool_error(message, "invalid_request")
    assert ledger(server, boss) == {} and activity(server, boss) == [] and agent.seen == []


def test_a_slow_agent_is_not_waited_for_past_the_limit(start_colony, agent):
    c = start_colony(args=["--mcp-delegate-wait-ms", "300"])
    boss = ws(c, mode="poll")
    child = ws(c, parent=boss)
    register(c, child, agent.url)
    agent.mode, agent.slow_s = "slow", 2.0
    v = json.loads(call(c, boss, "delegate_task", workspace_id=child["id"], task="think hard"))
    assert v["status"] == "dispatched" and v["target_id"] == child["id"] and "check_task_status" in v["note"]
    # the delivery went on, and its outcome is the delegation's
    wait_for(lambda: json.loads(call(c, boss, "check_task_status", workspace_id=child["id"],
                                     task_id=v["task_id"])).get("result") == "echo: think hard")
    assert len(agent.delivered) == 1
    # several synchronous delegations in one batch are answered together, each with its own outcome
    agent.slow_s = 0.0
    batch = [{"jsonrpc": "2.0", "id": i, "method": "tools/call",
              "params": {"name": "delegate_task", "arguments": {"workspace_id": child["id"], "task": f"t{i}"}}}
             for i in range(3)] + [{"jsonrpc": "2.0", "id": 9, "method": "ping"}]
    r = post(c, boss, batch)
    assert r.status_code == 200
    assert [(x["id"], x.get("result", {}).get("content", [{}])[0].get("text")) for x in r.json()] == \
        [(0, "echo: t0"), (1, "echo: t1"), (2, "echo: t2"), (9, None)]



REPLY_TEXT_MAX = 256 << 10     # the JSON form of an agent's reply in a tool's text
RESPONSE_TEXT_MAX = 4 << 20    # the JSON form of all the texts of one POST


def json_cost(text):
    """Bytes of text as a JSON string's content (UTF-8, control characters escaped), as colony counts it."""
    return len(json.dumps(text, ensure_ascii=False).encode()) - 2


def test_a_huge_or_binary_reply_is_cut_and_a_batch_has_a_budget(server, agent):
    boss = ws(server, mode="poll")
    child = ws(server, parent=boss)
    register(server, child, agent.url)
    agent.mode = "raw"
    for byte, char in ((b"\xff", "\ufffd"), (b"\x01", "\x01")):
        agent.raw_reply = byte * (3 << 20)
        text = call(server, boss, "delegate_task", workspace_id=child["id"], task="dump")
        did = json.loads(agent.seen[-1][2])["params"]["message"]["messageId"]
        kept = REPLY_TEXT_MAX // json_cost(char)  # cut on a code point where the JSON form would pass the bound
        assert text == char * kept + (
            f"\n\n[colony cut this reply at {REPLY_TEXT_MAX} bytes; the agent's whole reply is in the a2a_receive "
            f"activity of workspace {child['id']} (message {did})]"), text[kept - 2:]
        # check_task_status shows the same cut
        st = json.loads(call(server, boss, "check_task_status", workspace_id=child["id"], task_id=did))
        assert st["status"] == "completed" and st["result"] == text
    # a batch's texts share one budget: past it, a call answers a tool error instead of its text
    agent.raw_reply = b"\x01" * (1 << 20)
    n = 20
    batch = [{"jsonrpc": "2.0", "id": i, "method": "tools/call",
              "params": {"name": "delegate_task", "arguments": {"workspace_id": child["id"], "task": f"t{i}"}}}
             for i in range(n)]
    r = post(server, boss, batch)
    assert r.status_code == 200
    answers = r.json()
    assert [a["id"] for a in answers] == list(range(n))
    texts = [a["result"]["content"][0]["text"] for a in answers if "result" in a]
    refused = [a["error"] for a in answers if "error" in a]
    each = json_cost(texts[0])
    assert all(json_cost(t) == each and t.startswith("\x01" * 40000) for t in texts)  # notes name their messages
    assert len(texts) == RESPONSE_TEXT_MAX // each < n
    for e in refused:
        assert e["code"] == -32000 and e["data"]["code"] == "too_large", e
        assert e["data"]["error"].startswith(f"this response has spent its budget ({RESPONSE_TEXT_MAX} bytes of tool "
                                             "text): the call ran, its text is not shown; check_task_status "
                                             f"{{\"workspace_id\": \"{child['id']}\", \"task_id\": \""), e
    assert len(r.content) < RESPONSE_TEXT_MAX + n * 1024
    assert len({e["data"]["error"] for e in refused}) == len(refused)  # each names its own delegation


def test_a_shutdown_answers_a_waiting_delegation_at_once(start_colony, agent):
    """SIGTERM while delegate_task waits for an agent: the client is answered at once as when the agent is slow (the
    delegation named, to follow with check_task_status), and the delegation is not failed: the push went out."""
    import signal
    import threading
    c = start_colony(args=["--mcp-delegate-wait-ms", "20000", "--shutdown-timeout-ms", "4000"])
    boss = ws(c, mode="poll")
    child = ws(c, parent=boss)
    register(c, child, agent.url)
    agent.mode, agent.slow_s = "slow", 60.0  # it never answers while colony runs
    answer = {}

    def ask():
        try:
            answer["r"] = post(c, boss, {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {
                "name": "delegate_task", "arguments": {"workspace_id": child["id"], "task": "take your time"}}})
        except requests.RequestException as e:
            answer["e"] = e
    t = threading.Thread(target=ask)
    t.start()
    wait_for(lambda: len(agent.seen) == 1)  # the push is out
    did = json.loads(agent.seen[0][2])["params"]["message"]["messageId"]
    c.send_signal(signal.SIGTERM)
    t.join(timeout=3)  # well before the shutdown timeout would cut the connection
    assert not t.is_alive() and "e" not in answer, answer
    r = answer["r"]
    assert r.status_code == 200, r.text
    v = r.json()
    assert v["id"] == 7 and "result" in v, v
    assert json.loads(v["result"]["content"][0]["text"]) == {
        "task_id": did, "status": "dispatched", "target_id": child["id"],
        "note": "colony is shutting down; the delegation was sent and stays open, and check_task_status shows what "
                "becomes of it"}
    assert c.proc.wait(timeout=30) == 0
    (row,) = c.db.query(f"SELECT status FROM delegations WHERE delegation_id = '{did}'")
    assert row == ["dispatched"]  # not failed: the agent may well be working on it

# ---- what the token may reach --------------------------------------------------------------------------------

def test_the_bridge_reaches_no_further_than_the_rest_token(server, agent):
    boss = ws(server, mode="poll")
    a = ws(server, parent=boss, mode="poll")
    other_root = ws(server, mode="poll")
    cousin = ws(server, parent=other_root, mode="poll")
    # another workspace's token on this workspace's bridge: 401 as on REST; no token at all: 401
    r = post(server, a, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, token=boss["auth_token"])
    assert r.status_code == 401 and r.json()["error"] == "invalid workspace auth token"
    r = requests.post(f"{server.url}/workspaces/{a['id']}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                      timeout=10)
    assert r.status_code == 401 and r.json()["error"] == "missing workspace auth token"
    r = requests.get(f"{server.url}/workspaces/{a['id']}/mcp/stream", headers=bearer(boss["auth_token"]), timeout=10)
    assert r.status_code == 401
    # delegating outside the hierarchy: refused like POST /delegate, and nothing recorded or sent
    for target in (cousin, other_root):
        assert call(server, a, "delegate_task", workspace_id=target["id"], task="x") == tool_error(DENIED, "forbidden")
        assert call(server, a, "delegate_task_async", workspace_id=target["id"], task="x") == \
            tool_error(DENIED, "forbidden")
    r = server.post(f"/workspaces/{a['id']}/delegate", headers=bearer(a["auth_token"]),
                    json={"target_id": cousin["id"], "task": "x"})
    assert r.status_code == 403 and r.json()["error"] == DENIED
    assert ledger(server, a) == {} and activity(server, cousin) == []
    assert call(server, a, "delegate_task", workspace_id=a["id"], task="x") == \
        tool_error("self-delegation not permitted", "invalid_request")
    assert call(server, a, "delegate_task", workspace_id=str(uuid.uuid4()), task="x") == tool_error(DENIED, "forbidden")
    assert call(server, a, "delegate_task", workspace_id=boss["id"], task="") == \
        tool_error("task is required", "invalid_request")
    # another workspace's delegation is not this one's to check, even with its id and target
    did = json.loads(call(server, boss, "delegate_task_async", workspace_id=a["id"], task="mine"))["task_id"]
    assert json.loads(call(server, cousin, "check_task_status", workspace_id=a["id"], task_id=did))["status"] == \
        "not_found"
    assert json.loads(call(server, a, "check_task_status", workspace_id=a["id"], task_id=did))["status"] == \
        "not_found"
    # another workspace's user task cannot be seen, changed or deleted
    call(server, boss, "request_user_action", title="boss only")
    (tid,) = [t["id"] for t in server.get(f"/workspaces/{boss['id']}/user-tasks",
                                          headers=bearer(boss["auth_token"])).json()]
    assert json.loads(call(server, a, "list_user_tasks")) == []
    assert call(server, a, "update_user_task", user_task_id=tid, status="done") == \
        tool_error("user task not found", "not_found")
    assert call(server, a, "delete_user_task", user_task_id=tid) == tool_error("user task not found", "not_found")
    assert server.get(f"/workspaces/{boss['id']}/user-tasks", headers=bearer(boss["auth_token"])).json()[0][
        "status"] == "pending"
    # an operator's token acts as the workspace of the URL (as on REST); a removed or unknown one is nobody's
    assert json.loads(call(server, a, "get_workspace_info", token=ADMIN["Authorization"].split()[1]))["id"] == a["id"]
    gone = ws(server, mode="poll")
    server.delete(f"/workspaces/{gone['id']}", headers={**ADMIN, "X-Confirm-Name": gone["name"]})
    for target in (gone, {"id": str(uuid.uuid4())}):
        r = post(server, target, {"jsonrpc": "2.0", "id": 1, "method": "ping"}, token=ADMIN["Authorization"].split()[1])
        assert r.status_code == 404 and r.json()["error"] == "workspace not found"
    r = post(server, gone, {"jsonrpc": "2.0", "id": 1, "method": "ping"})  # its token died with it
    assert r.status_code == 401
    r = requests.post(f"{server.url}/workspaces/not-a-uuid/mcp", json={}, headers=ADMIN, timeout=10)
    assert r.status_code == 400


# ---- transport: the limit and the stream ---------------------------------------------------------------------

def test_the_limit_per_workspace_or_operator(start_colony):
    c = start_colony(args=["--mcp-rate-limit", "5"])
    w = ws(c)
    seen = []
    for _ in range(2):
        r = post(c, w, {"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert r.status_code == 200 and r.headers["X-RateLimit-Limit"] == "5"
        assert 0 < int(r.headers["X-RateLimit-Reset"]) <= 60
        seen.append(int(r.headers["X-RateLimit-Remaining"]))
    assert seen == [4, 3]
    r = post(c, w, b"{", raw=True)  # a parse error counts too
    assert r.status_code == 400 and r.headers["X-RateLimit-Remaining"] == "2"
    r = post(c, w, [{"jsonrpc": "2.0", "id": i, "method": "ping"} for i in range(3)])  # each request of a batch
    assert r.status_code == 429 and r.headers["X-RateLimit-Remaining"] == "2"
    assert r.json() == {"error": "MCP rate limit exceeded", "code": "rate_limited",
                        "retry_after": int(r.headers["Retry-After"])}
    assert 0 < int(r.headers["Retry-After"]) <= 60
    r = post(c, w, [{"jsonrpc": "2.0", "id": i, "method": "ping"} for i in range(2)])
    assert r.status_code == 200 and r.headers["X-RateLimit-Remaining"] == "0"
    r = post(c, w, {"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert r.status_code == 429
    r = requests.get(f"{c.url}/workspaces/{w['id']}/mcp/stream", headers=bearer(w["auth_token"]), timeout=10)
    assert r.status_code == 429
    # the window is the workspace's: a token minted for more does not open a new one (HEAD of the stream neither)
    t2 = c.post(f"/workspaces/{w['id']}/tokens", headers=ADMIN).json()["auth_token"]
    r = post(c, w, {"jsonrpc": "2.0", "id": 1, "method": "ping"}, token=t2)
    assert r.status_code == 429 and r.headers["X-RateLimit-Remaining"] == "0"
    r = requests.head(f"{c.url}/workspaces/{w['id']}/mcp/stream", headers=bearer(t2), timeout=10)
    assert r.status_code == 429
    # an operator's credential has its own window, whichever workspace it acts as
    r = post(c, w, {"jsonrpc": "2.0", "id": 1, "method": "ping"}, token=ADMIN["Authorization"][7:])
    assert r.status_code == 200 and r.headers["X-RateLimit-Remaining"] == "4"
    other = ws(c)
    r = post(c, other, {"jsonrpc": "2.0", "id": 1, "method": "ping"}, token=ADMIN["Authorization"][7:])
    assert r.status_code == 200 and r.headers["X-RateLimit-Remaining"] == "3"
    r = post(c, other, {"jsonrpc": "2.0", "id": 1, "method": "ping"})  # another workspace: its own window
    assert r.status_code == 200 and r.headers["X-RateLimit-Remaining"] == "4"
    assert metric(c, "colony_mcp_rate_limited_total") == 5


def test_the_stream_keeps_alive_and_ends_with_its_token(start_colony):
    c = start_colony(args=["--mcp-stream-ping-ms", "200", "--mcp-rate-limit", "3"])
    w = ws(c)
    minted = c.post(f"/workspaces/{w['id']}/tokens", headers=bearer(w["auth_token"])).json()
    t2 = minted["auth_token"]
    r = requests.get(f"{c.url}/workspaces/{w['id']}/mcp/stream", headers=bearer(t2), stream=True, timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/event-stream" and r.headers["Cache-Control"] == "no-cache"
    assert r.headers["X-Accel-Buffering"] == "no" and r.headers["X-RateLimit-Remaining"] == "2"
    lines = r.iter_lines(decode_unicode=True)
    assert [next(lines), next(lines), next(lines)] == ["event: endpoint", f"data: /workspaces/{w['id']}/mcp", ""]
    assert [next(lines), next(lines)] == [": ping", ""]  # then pings, and nothing else
    assert [next(lines), next(lines)] == [": ping", ""]
    # the stream counted once: two requests are left in the window
    assert post(c, w, {"jsonrpc": "2.0", "id": 1, "method": "ping"}, token=t2).headers["X-RateLimit-Remaining"] == "1"
    # revoking the token ends the stream
    assert c.delete(f"/workspaces/{w['id']}/tokens/{minted['id']}", headers=ADMIN).status_code == 200
    rest = []
    for line in lines:  # ends within a few seconds (the credentials are re-checked every second)
        rest.append(line)
    assert any(x.startswith(": closed") for x in rest), rest
    r = requests.head(f"{c.url}/workspaces/{w['id']}/mcp/stream", headers=bearer(w["auth_token"]), timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/event-stream"


# ---- external connection -------------------------------------------------------------------------------------

CONNECTION_KEYS = {"workspace_id", "platform_url", "auth_token", "registry_endpoint", "heartbeat_endpoint",
                   "curl_register_template", "python_snippet", "claude_code_channel_snippet", "universal_mcp_snippet",
                   "hermes_channel_snippet", "codex_snippet", "openclaw_snippet", "kimi_snippet"}


def test_external_connection_from_the_request(server):
    ext = ws(server, name="My Bot " + uuid.uuid4().hex[:4], runtime="external")
    slug = "molecule-my-bot-" + ext["name"][-4:]
    r = server.get(f"/workspaces/{ext['id']}/external/connection", headers=bearer(ext["auth_token"]))
    assert r.status_code == 200, r.text
    conn = r.json()["connection"]
    assert set(conn) == CONNECTION_KEYS
    assert conn["platform_url"] == server.url and conn["auth_token"] == "" and conn["workspace_id"] == ext["id"]
    assert conn["registry_endpoint"] == server.url + "/registry/register"
    assert conn["heartbeat_endpoint"] == server.url + "/registry/heartbeat"
    assert f"claude mcp add {slug} " in conn["claude_code_channel_snippet"]
    for k in CONNECTION_KEYS - {"workspace_id", "platform_url", "auth_token", "registry_endpoint",
                                "heartbeat_endpoint"}:
        assert "{{" not in conn[k] and ext["id"] in conn[k] and server.url in conn[k], k
        assert ext["auth_token"] not in conn[k]  # the token is never shown again
    cfg = json.loads(conn["universal_mcp_snippet"])["mcpServers"][slug]
    assert cfg["command"] == "molecule-mcp" and cfg["env"]["MOLECULE_WORKSPACE_ID"] == ext["id"]
    # behind a proxy: what it forwarded
    r = server.get(f"/workspaces/{ext['id']}/external/connection",
                   headers={**bearer(ext["auth_token"]), "X-Forwarded-Proto": "https",
                            "X-Forwarded-Host": "colony.example.com"})
    assert r.json()["connection"]["platform_url"] == "https://colony.example.com"
    r = server.get(f"/workspaces/{ext['id']}/external/connection",
                   headers={**bearer(ext["auth_token"]), "X-Forwarded-Host": "evil.example/'; rm -rf /"})
    assert r.json()["connection"]["platform_url"] == server.url  # what could break a snippet's quotes is ignored
    unnamed = ws(server, name="日本語チーム", runtime="kimi")  # nothing of [a-z0-9]: the id names it
    conn = server.get(f"/workspaces/{unnamed['id']}/external/connection", headers=ADMIN).json()["connection"]
    assert f"claude mcp add molecule-{unnamed['id'].replace('-', '')[:8]} " in conn["claude_code_channel_snippet"]
    # only for external-like runtimes; only with this workspace's token
    inside = ws(server)
    r = server.get(f"/workspaces/{inside['id']}/external/connection", headers=bearer(inside["auth_token"]))
    assert r.status_code == 400 and r.json()["error"] == \
        "not an external workspace: its runtime is claude-code (external, kimi and kimi-cli are)"
    r = server.get(f"/workspaces/{ext['id']}/external/connection", headers=bearer(inside["auth_token"]))
    assert r.status_code == 401
    r = server.get(f"/workspaces/{uuid.uuid4()}/external/connection", headers=ADMIN)
    assert r.status_code == 404


def live_tokens(c, w):
    r = c.get(f"/workspaces/{w['id']}/tokens", headers=ADMIN)
    assert r.status_code == 200, r.text
    return r.json()["tokens"]


def rotated_events(c, w):
    return [e for e in c.get(f"/events/{w['id']}", headers=ADMIN).json()
            if e["event_type"] == "EXTERNAL_CREDENTIALS_ROTATED"]


def test_external_rotate(server):
    """runtime.md §10.3: every token of the workspace revoked, one minted, shown once in the connection object."""
    ext = ws(server, runtime="external")
    old = ext["auth_token"]
    extra = server.post(f"/workspaces/{ext['id']}/tokens", headers=bearer(old)).json()["auth_token"]
    r = server.post(f"/workspaces/{ext['id']}/external/rotate", headers=bearer(old))
    assert r.status_code == 200, r.text
    assert r.headers["Cache-Control"] == "no-store"
    conn = r.json()["connection"]
    assert set(conn) == CONNECTION_KEYS and conn["workspace_id"] == ext["id"]
    new = conn["auth_token"]
    assert len(new) == 43 and new not in (old, extra)
    assert f"MOLECULE_WORKSPACE_TOKEN='{new}'" in conn["claude_code_channel_snippet"]
    assert "<workspace token>" not in conn["python_snippet"] and new in conn["python_snippet"]
    # the old tokens open nothing any more, the new one does (and GET shows it nowhere)
    for t in (old, extra):
        assert server.get(f"/workspaces/{ext['id']}/external/connection", headers=bearer(t)).status_code == 401
    r = server.get(f"/workspaces/{ext['id']}/external/connection", headers=bearer(new))
    assert r.status_code == 200 and r.json()["connection"]["auth_token"] == ""
    (tok,) = live_tokens(server, ext)
    assert tok["kind"] == "instance" and new.startswith(tok["prefix"])
    (ev,) = rotated_events(server, ext)
    assert ev["payload"] == {"workspace_id": ext["id"]}
    # refused before anything is revoked: not external-like, another workspace's token, unknown or removed
    inside = ws(server)
    r = server.post(f"/workspaces/{inside['id']}/external/rotate", headers=bearer(inside["auth_token"]))
    assert r.status_code == 400 and r.json()["error"] == \
        "not an external workspace: its runtime is claude-code (external, kimi and kimi-cli are)"
    assert len(live_tokens(server, inside)) == 1 and rotated_events(server, inside) == []
    r = server.post(f"/workspaces/{ext['id']}/external/rotate", headers=bearer(inside["auth_token"]))
    assert r.status_code == 401
    assert server.post(f"/workspaces/{uuid.uuid4()}/external/rotate", headers=ADMIN).status_code == 404
    gone = ws(server, runtime="kimi")
    server.delete(f"/workspaces/{gone['id']}", headers={**ADMIN, "X-Confirm-Name": gone["name"]})
    r = server.post(f"/workspaces/{gone['id']}/external/rotate", headers=ADMIN)
    assert r.status_code == 404 and r.json()["error"] == "workspace not found"
    assert live_tokens(server, gone) == [] and rotated_events(server, gone) == []
    (tok2,) = live_tokens(server, ext)
    assert tok2["id"] == tok["id"]


def test_concurrent_rotations_leave_one_token(server):
    ext = ws(server, runtime="kimi-cli")
    from concurrent.futures import ThreadPoolExecutor

    def rotate(_):
        r = requests.post(f"{server.url}/workspaces/{ext['id']}/external/rotate", headers=ADMIN, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()["connection"]["auth_token"]
    with ThreadPoolExecutor(8) as pool:
        minted = list(pool.map(rotate, range(8)))
    assert len(set(minted)) == 8
    (tok,) = live_tokens(server, ext)
    (winner,) = [t for t in minted if t.startswith(tok["prefix"])]
    assert server.get(f"/workspaces/{ext['id']}/external/connection", headers=bearer(winner)).status_code == 200
    assert len(rotated_events(server, ext)) == 8


def rotate_with_one_token(nodes, ext, token):
    """8 rotations at once with the same workspace token, spread over `nodes`: (status, body) of each."""
    from concurrent.futures import ThreadPoolExecutor

    def rotate(i):
        node = nodes[i % len(nodes)]
        r = requests.post(f"{node.url}/workspaces/{ext['id']}/external/rotate", headers=bearer(token), timeout=30)
        return r.status_code, r.json()
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(rotate, range(8)))


def assert_one_rotation_won(c, ext, answers):
    won = [body for status, body in answers if status == 200]
    assert len(won) == 1, answers
    lost = [(status, body) for status, body in answers if status != 200]
    assert lost == [(401, {"error": "invalid workspace auth token", "code": "unauthorized"})] * 7, lost
    (tok,) = live_tokens(c, ext)
    winner = won[0]["connection"]["auth_token"]
    assert winner.startswith(tok["prefix"])
    assert c.get(f"/workspaces/{ext['id']}/external/connection", headers=bearer(winner)).status_code == 200
    assert len(rotated_events(c, ext)) == 1


def test_concurrent_rotations_with_one_token_one_wins(server):
    """The caller's own token is revoked inside the rotation by a guarded UPDATE: one rotation per token."""
    ext = ws(server, runtime="external")
    assert_one_rotation_won(server, ext, rotate_with_one_token([server], ext, ext["auth_token"]))


def test_concurrent_rotations_with_one_token_on_two_nodes_one_wins(backend, new_db, start_colony):
    if backend != "postgres":
        pytest.skip("several nodes share a PostgreSQL database; SQLite is a single-node store")
    db = new_db()
    a, b = start_colony(db=db), start_colony(db=db)
    ext = ws(a, runtime="external")
    assert_one_rotation_won(a, ext, rotate_with_one_token([a, b], ext, ext["auth_token"]))


def test_external_connection_from_the_public_url_flag(start_colony):
    c = start_colony(env={"EXTERNAL_PLATFORM_URL": "https://agents.example.org/colony/"})
    ext = ws(c, runtime="kimi-cli")
    conn = c.get(f"/workspaces/{ext['id']}/external/connection",
                 headers={**bearer(ext["auth_token"]), "X-Forwarded-Host": "ignored.example"}).json()["connection"]
    assert conn["platform_url"] == "https://agents.example.org/colony"
    assert conn["registry_endpoint"] == "https://agents.example.org/colony/registry/register"


@pytest.mark.parametrize("url", ["ftp://x.example", "https://", "https://x.example/a?b=c", "https://a b.example",
                                 "https://x.example/" + "p" * 600])
def test_a_bad_public_url_stops_colony_at_start(new_db, url):
    from conftest import run_colony
    db = new_db()
    r = run_colony(["serve", "--db", db.url, "--listen", "127.0.0.1:0", "--public-url", url], timeout=30)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert any(line.startswith("colony: --public-url ") for line in r.stderr.splitlines()), r.stderr
