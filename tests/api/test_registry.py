"""Registry, heartbeat, liveness and the hierarchy rule (runtime.md §1-§3, differences 8 and 9)."""
import json
import time
import uuid

import pytest

from conftest import ADMIN

# a short liveness window so that flips can be observed; the sweeper runs every 200 ms
SERVER_ARGS = ["--liveness-stale-after", "2", "--sweep-interval-ms", "200"]
CARD = {"name": "agent", "description": "does things", "skills": []}


def bearer(t):
    return {"Authorization": f"Bearer {t}"}


def register(c, wid, headers=None, **kw):
    body = {"id": wid, "agent_card": CARD, "url": "http://127.0.0.1:9000", **kw}
    return c.post("/registry/register", json=body, headers=headers or {})


def events(c, wid):
    return [(r[0], json.loads(r[1])) for r in c.db.query(
        f"SELECT type, payload FROM events WHERE workspace_id = '{wid}' ORDER BY id")]


def create(c, **kw):
    return c.post("/workspaces", headers=ADMIN, json={"name": "w-" + uuid.uuid4().hex[:8], "model": "m", **kw}).json()


def test_register_a_new_runtime_creates_it_online_and_returns_a_token_once(server):
    wid = str(uuid.uuid4())
    r = register(server, wid)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "registered" and body["delivery_mode"] == "push" and len(body["auth_token"]) == 43
    ws = server.get(f"/workspaces/{wid}").json()
    assert (ws["name"], ws["status"], ws["url"], ws["agent_card"]) == (wid, "online", "http://127.0.0.1:9000", CARD)
    assert ws["last_heartbeat_at"] is not None
    # now the workspace holds an instance token: registry calls must present it
    assert register(server, wid).status_code == 401
    again = register(server, wid, headers=bearer(body["auth_token"]))
    assert again.status_code == 200 and "auth_token" not in again.json()
    assert [t for t, _ in events(server, wid)] == ["WORKSPACE_ONLINE", "WORKSPACE_ONLINE"]


def test_register_an_existing_workspace_keeps_its_place(server):
    ws = create(server)
    # an existing workspace answers only to its own token (test_security.py has the refusals)
    r = register(server, ws["id"], headers=bearer(ws["auth_token"]), delivery_mode="poll", url="")
    assert r.status_code == 200 and r.json()["delivery_mode"] == "poll"
    got = server.get(f"/workspaces/{ws['id']}").json()
    assert got["status"] == "online" and got["name"] == server.get(f"/workspaces/{ws['id']}").json()["name"]


@pytest.mark.parametrize("body, message", [
    ({"id": "nope", "agent_card": CARD}, "invalid request body: id must be a workspace UUID"),
    ({"agent_card": CARD}, "invalid request body: id must be a workspace UUID"),
    ({"id": "ID", "agent_card": "card"}, "invalid request body: agent_card must be a JSON object"),
    ({"id": "ID", "agent_card": CARD, "delivery_mode": "both"}, "delivery_mode must be 'push' or 'poll'"),
    ({"id": "ID", "agent_card": CARD, "kind": "root"}, "kind must be 'workspace' or 'platform'"),
    ({"id": "ID", "agent_card": CARD}, "url is required for push-mode workspaces"),
    ({"id": "ID", "agent_card": CARD, "url": "http://169.254.169.254/"},
     "workspace URL not allowed: address 169.254.169.254 is in a blocked range (link-local)"),
    ({"id": "ID", "agent_card": CARD, "url": "file:///etc/passwd"},
     "workspace URL not allowed: unsupported scheme (http or https only)"),
    ({"id": "ID", "agent_card": CARD, "url": "http://127.0.0.1:1", "kind": "platform"},
     "kind='platform' may only be assigned by the platform-agent install path"),
])
def test_bad_registrations_are_refused_and_write_nothing(server, body, message):
    wid = str(uuid.uuid4())
    body = {k: (wid if v == "ID" else v) for k, v in body.items()}
    r = server.post("/registry/register", json=body)
    assert r.status_code in (400, 403), r.text
    assert r.json()["error"] == message
    assert server.get(f"/workspaces/{wid}").status_code == 404


def test_oversized_card_is_413(server):
    r = register(server, str(uuid.uuid4()), agent_card={"blob": "x" * 70000})
    assert r.status_code == 413


def test_removed_workspace_cannot_register_or_heartbeat(server):
    ws = create(server)
    name = server.get(f"/workspaces/{ws['id']}").json()["name"]
    server.delete(f"/workspaces/{ws['id']}", headers={**ADMIN, "X-Confirm-Name": name})
    before = events(server, ws["id"])
    r = register(server, ws["id"], headers=ADMIN)
    assert r.status_code == 410 and r.json()["code"] == "gone"
    hb = server.post("/registry/heartbeat", json={"workspace_id": ws["id"]}, headers=ADMIN)
    assert hb.status_code == 410
    assert events(server, ws["id"]) == before
    assert server.get(f"/workspaces/{ws['id']}?include_removed=true", headers=ADMIN).json()["status"] == "removed"
    unknown = server.post("/registry/heartbeat", json={"workspace_id": str(uuid.uuid4())})
    assert unknown.status_code == 404


def test_heartbeat_is_quiet_until_the_status_changes(server):
    wid = str(uuid.uuid4())
    tok = register(server, wid).json()["auth_token"]
    for _ in range(3):
        r = server.post("/registry/heartbeat", headers=bearer(tok),
                        json={"workspace_id": wid, "active_tasks": 2, "current_task": "build", "uptime_seconds": 9})
        assert r.json() == {"status": "ok", "workspace_status": "online"}
    # the task changed once (from none to "build"); nothing else is recorded
    assert [t for t, _ in events(server, wid)] == ["WORKSPACE_ONLINE", "TASK_UPDATED"]
    got = server.get(f"/workspaces/{wid}").json()
    assert (got["active_tasks"], got["uptime_seconds"]) == (2, 9)
    r = server.post("/registry/heartbeat", headers=bearer(tok), json={"workspace_id": wid, "error_rate": 0.7,
                                                                       "sample_error": "429"})
    assert r.json()["workspace_status"] == "degraded"
    r = server.post("/registry/heartbeat", headers=bearer(tok), json={"workspace_id": wid, "error_rate": 0.01})
    assert r.json()["workspace_status"] == "online"
    kinds = events(server, wid)
    assert [t for t, _ in kinds] == ["WORKSPACE_ONLINE", "TASK_UPDATED", "WORKSPACE_DEGRADED", "WORKSPACE_ONLINE"]
    assert kinds[2][1] == {"error_rate": 0.7, "sample_error": "429"}
    bad = server.post("/registry/heartbeat", headers=bearer(tok), json={"workspace_id": wid, "error_rate": "high"})
    assert bad.status_code == 400
    assert server.post("/registry/heartbeat", json={"workspace_id": wid}).status_code == 401


def test_liveness_flips_stale_workspaces_and_heartbeat_brings_them_back(server):
    wid = str(uuid.uuid4())
    tok = register(server, wid).json()["auth_token"]
    deadline = time.time() + 15
    while time.time() < deadline and server.get(f"/workspaces/{wid}").json()["status"] == "online":
        time.sleep(0.2)
    assert server.get(f"/workspaces/{wid}").json()["status"] == "offline"
    r = server.post("/registry/heartbeat", headers=bearer(tok), json={"workspace_id": wid})
    assert r.json()["workspace_status"] == "online"
    kinds = events(server, wid)
    assert [t for t, _ in kinds] == ["WORKSPACE_ONLINE", "WORKSPACE_OFFLINE", "WORKSPACE_ONLINE"]
    assert kinds[1][1] == {"reason": "heartbeat stale", "stale_after_s": 2, "status": "offline"}
    assert kinds[2][1] == {"recovered_from": "offline"}
    metrics = server.get("/metrics").text
    assert 'colony_liveness_flips_total{to="offline"}' in metrics
    assert 'colony_sweeper_runs_total{job="liveness"}' in metrics


def test_external_runtimes_fall_back_to_awaiting_agent(server):
    ws = server.post("/workspaces", headers=ADMIN, json={"name": "ext-" + uuid.uuid4().hex[:6],
                                                          "external": True}).json()
    register(server, ws["id"], headers=bearer(ws["auth_token"]))
    deadline = time.time() + 15
    while time.time() < deadline and server.get(f"/workspaces/{ws['id']}").json()["status"] == "online":
        time.sleep(0.2)
    assert server.get(f"/workspaces/{ws['id']}").json()["status"] == "awaiting_agent"


def test_check_access_follows_the_hierarchy(server):
    root = create(server)["id"]
    a = create(server, parent_id=root)["id"]
    b = create(server, parent_id=root)["id"]
    a1 = create(server, parent_id=a)["id"]
    other = create(server)["id"]

    def allowed(x, y):
        r = server.post("/registry/check-access", json={"caller_id": x, "target_id": y})
        assert r.status_code == 200
        return r.json()["allowed"]

    assert allowed(a, a) and allowed(a, b) and allowed(a, root) and allowed(root, a1) and allowed(a1, root)
    assert allowed(a1, a) and not allowed(a1, b) and not allowed(root, other) and not allowed(a, other)
    assert not allowed(a, str(uuid.uuid4()))
    assert server.post("/registry/check-access", json={"caller_id": "x"}).status_code == 400


def test_peers_and_discover(server):
    root = create(server)
    a = create(server, parent_id=root["id"], role="backend dev")
    b = create(server, parent_id=root["id"], role="QA")
    kid = create(server, parent_id=a["id"])
    wid = a["id"]
    tok = a["auth_token"]
    peers = server.get(f"/registry/{wid}/peers", headers=bearer(tok))
    assert peers.status_code == 200
    assert [p["id"] for p in peers.json()] == [b["id"], kid["id"], root["id"]]
    assert set(peers.json()[0]) == {"id", "name", "role", "tier", "status", "agent_card", "url", "parent_id",
                                    "active_tasks"}
    assert [p["id"] for p in server.get(f"/registry/{wid}/peers?q=qa", headers=bearer(tok)).json()] == [b["id"]]
    assert server.get(f"/registry/{wid}/peers").status_code == 401
    # discover: the caller names itself and proves it
    register(server, b["id"], headers=bearer(b["auth_token"]), url="http://127.0.0.1:9100")
    d = server.get(f"/registry/discover/{b['id']}", headers={**bearer(tok), "X-Workspace-ID": wid})
    assert d.json() == {"id": b["id"], "url": "http://127.0.0.1:9100", "name": server.get(
        f"/workspaces/{b['id']}").json()["name"]}
    assert server.get(f"/registry/discover/{b['id']}", headers=bearer(tok)).status_code == 400
    stranger = create(server)
    r = server.get(f"/registry/discover/{b['id']}", headers={**bearer(stranger["auth_token"]),
                                                             "X-Workspace-ID": stranger["id"]})
    assert r.status_code == 403 and r.json()["error"] == "not authorized to discover this workspace"
    offline = server.get(f"/registry/discover/{kid['id']}", headers={**bearer(tok), "X-Workspace-ID": wid})
    assert offline.status_code == 503 and offline.json()["status"] == "awaiting_agent"


def test_update_card(server):
    wid = str(uuid.uuid4())
    tok = register(server, wid).json()["auth_token"]
    card = {"name": "new", "skills": [{"id": "s"}]}
    r = server.post("/registry/update-card", headers=bearer(tok), json={"workspace_id": wid, "agent_card": card})
    assert r.json() == {"status": "updated"}
    assert server.get(f"/workspaces/{wid}").json()["agent_card"] == card
    assert events(server, wid)[-1] == ("AGENT_CARD_UPDATED", {"agent_card": card})
    bad = server.post("/registry/update-card", headers=bearer(tok),
                      json={"workspace_id": wid, "agent_card": {"url": "http://169.254.169.254"}})
    assert bad.status_code == 400 and bad.json()["error"] == "workspace URL not allowed"


def test_concurrent_heartbeats_are_grouped_but_answered_one_by_one(server):
    import concurrent.futures
    import requests as rq
    regs = []
    for _ in range(20):
        wid = str(uuid.uuid4())
        regs.append((wid, register(server, wid).json()["auth_token"]))
    jobs = [(wid, tok, 200) for wid, tok in regs] * 3
    jobs += [(wid, "not-a-token", 401) for wid, _ in regs[:5]]

    def beat(job):
        wid, tok, _ = job
        return rq.post(server.url + "/registry/heartbeat", timeout=30, headers={"Authorization": f"Bearer {tok}"},
                       json={"workspace_id": wid, "active_tasks": 1})

    with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(beat, jobs))
    for (wid, _, want), r in zip(jobs, results):
        assert r.status_code == want, (wid, r.text)
        if want == 200:
            assert r.json() == {"status": "ok", "workspace_status": "online"}
        else:
            assert r.json()["error"] == "invalid workspace auth token"
    assert server.db.query("SELECT count(*) FROM workspaces WHERE id IN ('" + "','".join(w for w, _ in regs) +
                           "') AND active_tasks = 1") == [["20"]]


def test_a_revoked_token_stops_heartbeats_at_once(server):
    wid = str(uuid.uuid4())
    register(server, wid)  # its instance token stays live
    extra = server.post(f"/admin/workspaces/{wid}/tokens", headers=ADMIN).json()
    h = {"Authorization": f"Bearer {extra['auth_token']}"}
    assert server.post("/registry/heartbeat", headers=h, json={"workspace_id": wid}).status_code == 200
    assert server.delete(f"/workspaces/{wid}/tokens/{extra['id']}", headers=ADMIN).status_code == 200
    r = server.post("/registry/heartbeat", headers=h, json={"workspace_id": wid})
    assert r.status_code == 401 and r.json()["error"] == "invalid workspace auth token"


def test_task_updated_is_recorded_when_the_current_task_changes(server):
    """runtime.md §1.6: a changed current_task is TASK_UPDATED {current_task, active_tasks}; the same task again, or
    a heartbeat that names none, records nothing. Both the grouped path (own token) and the general one (admin)."""
    wid = str(uuid.uuid4())
    tok = register(server, wid).json()["auth_token"]
    own, admin = bearer(tok), ADMIN

    def beat(h, **kw):
        r = server.post("/registry/heartbeat", headers=h, json={"workspace_id": wid, **kw})
        assert r.status_code == 200, r.text

    def tasks():
        return [p for t, p in events(server, wid) if t == "TASK_UPDATED"]

    beat(own, current_task="write the spec", active_tasks=1)
    beat(own, current_task="write the spec", active_tasks=2)
    beat(own, active_tasks=2)
    assert tasks() == [{"current_task": "write the spec", "active_tasks": 1}]
    beat(admin, current_task="review", active_tasks=3)
    beat(admin, current_task="review", active_tasks=3)
    beat(own, current_task="", active_tasks=0)
    assert tasks() == [{"current_task": "write the spec", "active_tasks": 1},
                       {"current_task": "review", "active_tasks": 3},
                       {"current_task": "", "active_tasks": 0}]
    assert server.db.query(f"SELECT length(current_task) FROM workspaces WHERE id = '{wid}'") == [["0"]]


@pytest.mark.parametrize("field, value, message", [
    ("active_tasks", 2 ** 31, "active_tasks must be an integer from 0 to 2147483647"),
    ("active_tasks", -1, "active_tasks must be an integer from 0 to 2147483647"),
    ("uptime_seconds", -1, "uptime_seconds must be an integer from 0 to 9223372036854775807"),
    ("active_tasks", 1.5, "active_tasks must be an integer"),
])
def test_heartbeat_integers_are_checked_against_their_columns(server, field, value, message):
    wid = str(uuid.uuid4())
    tok = register(server, wid).json()["auth_token"]
    for h in (bearer(tok), ADMIN):  # grouped and general paths alike
        r = server.post("/registry/heartbeat", headers=h, json={"workspace_id": wid, field: value})
        assert r.status_code == 400 and r.json() == {"error": "invalid request body: " + message,
                                                     "code": "invalid_request"}
    assert server.db.query(f"SELECT active_tasks, uptime_seconds FROM workspaces WHERE id = '{wid}'") == [["0", "0"]]
