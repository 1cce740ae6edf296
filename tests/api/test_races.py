"""Tree invariants and group commits under concurrency (issue 13, items 4, 5 and 10): requests that race each other on the two I/O
threads of one colony must leave the database as if they had run one after the other. Every check reads the
database directly, behind colony's back."""
import concurrent.futures
import threading
import uuid

import requests

from conftest import ADMIN

CARD = {"name": "agent", "description": "races", "skills": []}


def together(c, calls):
    """Issue `calls` [(method, path, kwargs)] at the same moment, each on its own connection; the responses."""
    gate = threading.Barrier(len(calls))

    def run(call):
        method, path, kw = call
        with requests.Session() as s:
            s.get(c.url + "/health", timeout=30)  # connect first, so the barrier releases requests, not handshakes
            gate.wait(timeout=30)
            return s.request(method, c.url + path, timeout=60, **kw)

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def create(c, **fields):
    name = "r-" + uuid.uuid4().hex[:10]
    r = c.post("/workspaces", headers=ADMIN, json={"name": name, "model": "m", **fields})
    assert r.status_code == 201, r.text
    return {**r.json(), "name": name}


def delete_call(w):
    return ("DELETE", f"/workspaces/{w['id']}?confirm=true", {"headers": {**ADMIN, "X-Confirm-Name": w["name"]}})


def live_children_of_removed(c):
    return c.db.query("SELECT c.id FROM workspaces c JOIN workspaces p ON p.id = c.parent_id"
                      " WHERE p.status = 'removed' AND c.status <> 'removed'")


def live_tokens_of_removed(c):
    return c.db.query("SELECT t.id FROM workspace_auth_tokens t JOIN workspaces w ON w.id = t.workspace_id"
                      " WHERE w.status = 'removed' AND t.revoked_at IS NULL")


def test_delete_racing_creates_under_it_leaves_no_live_child(start_colony):
    c = start_colony(args=["--threads", "2"])
    for _ in range(20):
        parent = create(c)
        kids = [("POST", "/workspaces", {"headers": ADMIN, "json": {"name": f"kid-{i}", "model": "m",
                                                                      "parent_id": parent["id"]}})
                for i in range(5)]
        results = together(c, [delete_call(parent)] + kids)
        assert results[0].status_code == 200, results[0].text
        for r in results[1:]:  # created before the removal, or refused because the parent is gone
            assert r.status_code in (201, 404), r.text
        assert live_children_of_removed(c) == []
        assert live_tokens_of_removed(c) == []


def test_delete_racing_register_leaves_no_live_token(start_colony):
    c = start_colony(args=["--threads", "2"])
    for _ in range(20):
        ws = [create(c) for _ in range(3)]
        calls = []
        for w in ws:
            calls.append(delete_call(w))
            calls.append(("POST", "/registry/register", {"headers": {"Authorization": f"Bearer {w['auth_token']}"},
                                                         "json": {"id": w["id"], "agent_card": CARD,
                                                                  "url": "http://127.0.0.1:9000"}}))
        results = together(c, calls)
        for i, r in enumerate(results):
            if i % 2 == 0:
                assert r.status_code == 200, r.text
            else:  # registered before the removal, or refused because it is gone (or its token already revoked)
                assert r.status_code in (200, 401, 410), r.text
        assert live_tokens_of_removed(c) == []


def test_platform_install_racing_parentless_creates_leaves_one_root(start_colony):
    c = start_colony(args=["--threads", "2"])
    for _ in range(12):
        platform = str(uuid.uuid4())
        install = ("POST", "/admin/org/platform-agent", {"headers": ADMIN, "json": {"id": platform,
                                                                                      "name": "P-" + platform[:8]}})
        creates = [("POST", "/workspaces", {"headers": ADMIN, "json": {"name": "root-" + uuid.uuid4().hex[:10],
                                                                         "model": "m"}}) for _ in range(11)]
        results = together(c, [install] + creates)
        assert results[0].status_code == 200, results[0].text
        assert all(r.status_code == 201 for r in results[1:]), [r.text for r in results[1:]]
        roots = c.db.query("SELECT id FROM workspaces WHERE parent_id IS NULL AND status <> 'removed'")
        assert roots == [[platform]]
        # clear the org for the next round: removing the platform root removes everything under it
        r = c.delete(f"/workspaces/{platform}?confirm=true", headers={**ADMIN, "X-Confirm-Name": "P-" + platform[:8]})
        assert r.status_code == 200, r.text
        assert c.db.query("SELECT count(*) FROM workspaces WHERE status <> 'removed'") == [["0"]]


def test_one_poisoned_heartbeat_never_fails_the_others(start_colony):
    c = start_colony(args=["--threads", "2"])
    agents = []
    for _ in range(40):
        wid = str(uuid.uuid4())
        r = c.post("/registry/register", json={"id": wid, "agent_card": CARD, "url": "http://localhost:9000"})
        agents.append((wid, r.json()["auth_token"]))
    poisoned = agents[7][0]

    def beat(job):
        wid, tok, tasks = job
        with requests.Session() as s:
            return s.post(c.url + "/registry/heartbeat", timeout=60, headers={"Authorization": f"Bearer {tok}"},
                          json={"workspace_id": wid, "active_tasks": tasks, "uptime_seconds": 5})

    for round_ in range(3):
        jobs = [(wid, tok, 2 ** 31 if wid == poisoned else round_ + 1) for wid, tok in agents] * 2
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            results = list(pool.map(beat, jobs))
        for (wid, _, _), r in zip(jobs, results):
            if wid == poisoned:  # past the column's INTEGER range: refused at the edge, changes nothing
                assert r.status_code == 400, r.text
                assert r.json() == {"error": "invalid request body: active_tasks must be an integer from 0 to "
                                             "2147483647", "code": "invalid_request"}
            else:
                assert r.status_code == 200, r.text
                assert r.json() == {"status": "ok", "workspace_status": "online"}
        good = "','".join(w for w, _ in agents if w != poisoned)
        assert c.db.query(f"SELECT count(*) FROM workspaces WHERE id IN ('{good}') AND active_tasks = {round_ + 1}"
                          ) == [["39"]]
        assert c.db.query(f"SELECT active_tasks FROM workspaces WHERE id = '{poisoned}'") == [["0"]]
