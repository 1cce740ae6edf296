"""A workspace's lifecycle without a provisioner (surface.md §6, workspaces.md §3.8, README difference 13): pause,
resume, hibernate and restart with the reference's answers, their events, a paused workspace that gets no A2A
delivery (its messages wait in the busy queue) and that liveness leaves alone, resume that brings it back and
drains its queue, a hibernated one that the next message wakes."""
import pytest

from conftest import ADMIN, metric, wait_for
from inbox_util import bearer, create_ws, error, events, race, remove
from ops_util import heartbeat, msg, pair, queue_rows, register, send, status_of

SERVER_ARGS = ("--a2a-dispatch-interval-ms", "100", "--sweep-interval-ms", "200")


def act(c, w, what, headers=None, **params):
    return c.post(f"/workspaces/{w['id']}/{what}", headers=headers or bearer(w["auth_token"]), params=params)


def ok(r, body):
    assert r.status_code == 200, r.text
    assert r.json() == body
    return r.json()


def test_pause_records_the_change_and_a_second_pause_is_404(server):
    w = create_ws(server)
    ok(act(server, w, "pause"), {"status": "paused", "paused_count": 1})
    assert server.get(f"/workspaces/{w['id']}/state", headers=ADMIN).json()["paused"] is True
    assert events(server, w["id"], {"WORKSPACE_PAUSED"}) == [("WORKSPACE_PAUSED", {"name": w["name"]})]
    error(act(server, w, "pause"), 404, "workspace not found or already paused")
    assert len(events(server, w["id"], {"WORKSPACE_PAUSED"})) == 1


def test_descendants_pause_and_resume_only_with_cascade(server):
    boss = create_ws(server)
    child = create_ws(server, parent=boss)
    grandchild = create_ws(server, parent=child)
    r = act(server, boss, "pause")
    assert r.status_code == 409
    assert r.json() == {"error": "workspace has descendants that are not paused; pass ?cascade=true to pause them too",
                        "code": "conflict", "descendants": [{"id": child["id"], "name": child["name"]},
                                                            {"id": grandchild["id"], "name": grandchild["name"]}]}
    assert [status_of(server, x) for x in (boss, child, grandchild)] == ["awaiting_agent"] * 3
    ok(act(server, boss, "pause", cascade="true"), {"status": "paused", "paused_count": 3})
    assert [status_of(server, x) for x in (boss, child, grandchild)] == ["paused"] * 3
    for x in (boss, child, grandchild):
        assert events(server, x["id"], {"WORKSPACE_PAUSED"}) == [("WORKSPACE_PAUSED", {"name": x["name"]})]
    # a child cannot come back while its parent is paused, nor the parent alone while its children are
    error(act(server, child, "resume"), 409, f"parent workspace \"{boss['name']}\" is paused \u2014 resume it first")
    r = act(server, boss, "resume")
    assert r.status_code == 409 and r.json()["descendants"] == [{"id": child["id"], "name": child["name"]},
                                                                {"id": grandchild["id"], "name": grandchild["name"]}]
    assert r.json()["error"] == "workspace has paused descendants; pass ?cascade=true to resume them too"
    assert [status_of(server, x) for x in (boss, child, grandchild)] == ["paused"] * 3
    ok(act(server, boss, "resume", cascade="true"), {"status": "awaiting_agent", "resumed_count": 3})
    assert [status_of(server, x) for x in (boss, child, grandchild)] == ["awaiting_agent"] * 3
    # the restart route knows about paused ancestors too
    ok(act(server, child, "pause", cascade="true"), {"status": "paused", "paused_count": 2})
    error(act(server, grandchild, "restart"), 409,
          f"parent workspace \"{child['name']}\" is paused \u2014 resume it first")


def test_resume_needs_a_paused_workspace_and_brings_it_back_online_or_waiting(server):
    idle, live = create_ws(server), create_ws(server)
    error(act(server, idle, "resume"), 404, "workspace not found or not paused")
    register(server, live)
    for w in (idle, live):
        act(server, w, "pause")
    heartbeat(server, live)  # a paused agent may go on heartbeating: it stays paused
    assert status_of(server, live) == "paused"
    ok(act(server, live, "resume"), {"status": "online", "resumed_count": 1})
    ok(act(server, idle, "resume"), {"status": "awaiting_agent", "resumed_count": 1})
    assert events(server, live["id"], {"WORKSPACE_ONLINE"})[-1] == ("WORKSPACE_ONLINE", {"resumed_from": "paused"})
    assert events(server, idle["id"], {"WORKSPACE_AWAITING_AGENT"})[-1] == (
        "WORKSPACE_AWAITING_AGENT", {"resumed_from": "paused"})
    error(act(server, live, "resume"), 404, "workspace not found or not paused")


def dispatcher_ticks(c, n):
    """Wait until the busy-queue dispatcher has run `n` more times (each run claims whatever is due)."""
    start = metric(c, "colony_subsystem_last_tick_ms", 'subsystem="a2a-dispatcher"')
    wait_for(lambda: metric(c, "colony_subsystem_last_tick_ms", 'subsystem="a2a-dispatcher"') >= start + n * 100)


def test_a_paused_workspace_gets_no_delivery_and_resume_drains_its_queue(server, agent):
    boss, child = pair(server, agent)
    act(server, child, "pause")
    r = send(server, boss, child, msg("while you were out", message_id="held-1"))
    assert r.status_code == 202, r.text
    body = r.json()
    assert body == {"queued": True, "queue_id": body["queue_id"], "queue_depth": 1,
                    "message": "workspace paused \u2014 request queued, will dispatch when it resumes"}
    r = send(server, None, child, msg("from the canvas", message_id="held-2"))
    assert r.status_code == 202 and r.json()["queue_depth"] == 2
    dispatcher_ticks(server, 3)
    assert agent.seen == []  # the dispatcher runs, and leaves a paused workspace alone
    assert queue_rows(server, child) == [("queued", ""), ("queued", "")]
    assert server.db.query(f"SELECT attempts FROM a2a_queue WHERE workspace_id = '{child['id']}'") == [["0"], ["0"]]
    heartbeat(server, child)
    ok(act(server, child, "resume"), {"status": "online", "resumed_count": 1})
    wait_for(lambda: len(agent.delivered) == 2)
    assert [m["params"]["message"]["messageId"] for m in agent.delivered] == ["held-1", "held-2"]
    wait_for(lambda: queue_rows(server, child) == [("completed", ""), ("completed", "")])
    item = server.get(f"/workspaces/{child['id']}/a2a/queue/{body['queue_id']}", headers=bearer(boss["auth_token"]))
    assert item.json()["status"] == "completed"
    assert item.json()["response_body"]["result"]["parts"][0]["text"] == "echo: while you were out"


def test_a_paused_poll_workspace_keeps_its_inbox_and_delegations_wait_too(server, agent):
    boss = create_ws(server, delivery_mode="poll")
    inbox = create_ws(server, parent=boss, delivery_mode="poll")
    act(server, inbox, "pause")
    r = send(server, boss, inbox, msg("queued for poll"))
    assert r.status_code == 200 and r.json() == {"status": "queued", "delivery_mode": "poll",
                                                 "method": "message/send"}
    boss, push = pair(server, agent)
    act(server, push, "pause")
    r = server.post(f"/workspaces/{boss['id']}/delegate", headers=bearer(boss["auth_token"]),
                    json={"target_id": push["id"], "task": "later"})
    assert r.status_code == 202
    dispatcher_ticks(server, 2)
    assert agent.seen == [] and queue_rows(server, push) == [("queued", "")]
    heartbeat(server, push)
    act(server, push, "resume")
    wait_for(lambda: len(agent.delivered) == 1)


def test_liveness_leaves_a_paused_workspace_alone(start_colony):
    c = start_colony(args=("--liveness-stale-after", "1", "--sweep-interval-ms", "100"))
    paused, control = create_ws(c), create_ws(c)
    for w in (paused, control):
        register(c, w)
        heartbeat(c, w)
    act(c, paused, "pause")
    wait_for(lambda: status_of(c, control) == "offline")  # the sweeper ran past the staleness of both
    wait_for(lambda: metric(c, "colony_subsystem_last_tick_ms", 'subsystem="liveness-sweeper"') >
             int(c.db.query(f"SELECT updated_at FROM workspaces WHERE id = '{control['id']}'")[0][0]))
    assert status_of(c, paused) == "paused"
    assert events(c, paused["id"], {"WORKSPACE_OFFLINE"}) == []
    heartbeat(c, paused)  # nor does a heartbeat bring it back: only resume does
    assert status_of(c, paused) == "paused"


def test_hibernate_needs_an_idle_online_workspace(server):
    w = create_ws(server)
    error(act(server, w, "hibernate"), 404,
          "workspace not found or not in a hibernatable state (must be online or degraded)")
    register(server, w)
    heartbeat(server, w, active_tasks=2)
    r = act(server, w, "hibernate")
    assert r.status_code == 409 and r.json() == {
        "error": "workspace has active tasks; use ?force=true to terminate them", "code": "conflict",
        "active_tasks": 2}
    assert status_of(server, w) == "online"
    ok(act(server, w, "hibernate", force="true"), {"status": "hibernated"})
    assert status_of(server, w) == "hibernated"
    assert events(server, w["id"], {"WORKSPACE_HIBERNATED"}) == [
        ("WORKSPACE_HIBERNATED", {"name": w["name"], "tier": 3})]
    error(act(server, w, "hibernate"), 404,
          "workspace not found or not in a hibernatable state (must be online or degraded)")


def test_a_message_wakes_a_hibernated_workspace(server, agent):
    boss, child = pair(server, agent)
    heartbeat(server, child)
    ok(act(server, child, "hibernate"), {"status": "hibernated"})
    r = send(server, boss, child, msg("wake up"))
    assert r.status_code == 503 and r.headers["Retry-After"] == "15"
    assert r.json() == {"error": "workspace is waking from hibernation \u2014 retry in ~15 seconds",
                        "code": "unavailable", "waking": True, "retry_after": 15}
    assert agent.seen == []
    assert status_of(server, child) == "online"  # its agent heartbeated: back at once
    assert events(server, child["id"], {"WORKSPACE_ONLINE"})[-1] == ("WORKSPACE_ONLINE",
                                                                     {"woken_from": "hibernated"})
    assert send(server, boss, child, msg("wake up")).status_code == 200


def test_restart_answers_without_a_provisioner(server):
    ext = create_ws(server, runtime="external")
    mock = create_ws(server, runtime="mock")
    plain = create_ws(server)
    ok(act(server, ext, "restart"), {"status": "noop", "runtime": "external", "message":
                                     "external workspaces are operator-driven \u2014 restart your local agent; "
                                     "platform has nothing to restart"})
    ok(act(server, mock, "restart"), {"status": "noop", "runtime": "mock",
                                      "message": "mock workspaces have no container \u2014 restart is a no-op"})
    error(act(server, plain, "restart"), 503, "provisioner not available", "unavailable")
    r = server.post(f"/admin/workspaces/{plain['id']}/restart", headers=ADMIN)
    assert r.status_code == 202 and r.json() == {"status": "restart_dispatched", "workspace_id": plain["id"]}
    error(server.post(f"/admin/workspaces/{plain['id']}/restart", headers=bearer(plain["auth_token"])), 403,
          "admin access required")
    missing = {"id": "00000000-0000-4000-8000-000000000000", "auth_token": "x"}
    error(act(server, missing, "restart", headers=ADMIN), 404, "workspace not found")
    error(server.post(f"/admin/workspaces/{missing['id']}/restart", headers=ADMIN), 404, "workspace not found")
    remove(server, plain)
    error(act(server, plain, "restart", headers=ADMIN), 404, "workspace not found")


def test_control_plane_only_routes(server):
    w = create_ws(server)
    path = f"/workspaces/{w['id']}/switch-provider"
    error(server.post(path, headers=bearer(w["auth_token"]), json={}), 400, "provider is required")
    error(server.post(path, headers=bearer(w["auth_token"]), json={"provider": "azure"}), 400,
          "unsupported provider (want aws|gcp|hetzner)")
    error(server.post(path, headers=bearer(w["auth_token"]), json={"provider": "gcp"}), 409,
          "provider switching is only available for cloud (SaaS) workspaces")
    error(server.post("/workspaces/00000000-0000-4000-8000-000000000000/switch-provider", headers=ADMIN,
                      json={"provider": "aws"}), 404, "workspace not found")
    error(server.get(f"/workspaces/{w['id']}/console", headers=ADMIN), 501,
          "console output unavailable on this deployment (no control plane)", "not_implemented")
    error(server.get(f"/workspaces/{w['id']}/console", headers=bearer(w["auth_token"])), 403, "admin access required")


@pytest.mark.parametrize("what", ["pause", "resume", "hibernate", "restart", "switch-provider"])
def test_lifecycle_routes_need_the_workspaces_own_credentials(server, what):
    w, other = create_ws(server), create_ws(server)
    error(server.post(f"/workspaces/{w['id']}/{what}"), 401, "missing workspace auth token")
    error(act(server, w, what, headers=bearer(other["auth_token"])), 401, "invalid workspace auth token")
    error(server.post(f"/workspaces/not-a-uuid/{what}", headers=ADMIN), 400, "invalid workspace ID")
    assert status_of(server, w) == "awaiting_agent"
    assert events(server, w["id"], {"WORKSPACE_PAUSED", "WORKSPACE_HIBERNATED"}) == []


def test_concurrent_pauses_pause_once(server):
    w = create_ws(server)
    codes = race(10, lambda i: act(server, w, "pause").status_code)
    assert sorted(codes) == [200] + [404] * 9
    assert len(events(server, w["id"], {"WORKSPACE_PAUSED"})) == 1
    codes = race(10, lambda i: act(server, w, "resume").status_code)
    assert sorted(codes) == [200] + [404] * 9
    assert [p for _, p in events(server, w["id"], {"WORKSPACE_AWAITING_AGENT"}) if "resumed_from" in p] == [
        {"resumed_from": "paused"}]


def test_scheduled_prompts_to_a_paused_workspace_wait_too(start_colony, agent):
    c = start_colony(args=("--schedule-seconds", "true", "--schedule-interval-ms", "200",
                           "--a2a-dispatch-interval-ms", "100"))
    w = create_ws(c)
    register(c, w, agent.url)
    act(c, w, "pause")
    r = c.post(f"/workspaces/{w['id']}/schedules", headers=bearer(w["auth_token"]),
               json={"name": "tick", "cron_expr": "* * * * * *", "prompt": "still there?"})
    assert r.status_code == 201, r.text
    history = f"/workspaces/{w['id']}/schedules/{r.json()['id']}/history"
    runs = wait_for(lambda: (h := c.get(history, headers=bearer(w["auth_token"])).json()) and len(h) >= 3 and h)
    assert {run["status"] for run in runs} == {"queued"} and agent.seen == []
    heartbeat(c, w)
    act(c, w, "resume")
    wait_for(lambda: agent.delivered)
    wait_for(lambda: c.get(history, headers=bearer(w["auth_token"])).json()[0]["status"] == "ok")
