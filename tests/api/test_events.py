"""Live events: durable, resumable, authenticated (runtime.md §7, differences 4 and 5)."""
import json
import socket
import threading
import time
import uuid

import pytest
import requests
import websocket

from conftest import ADMIN, ADMIN_TOKEN, metric, wait_for

SERVER_ARGS = ["--liveness-stale-after", "2", "--sweep-interval-ms", "200"]


def ws_url(c, **params):
    q = "&".join(f"{k}={v}" for k, v in params.items())
    return c.url.replace("http://", "ws://") + "/ws" + (f"?{q}" if q else "")


def connect(c, headers=None, **params):
    return websocket.create_connection(ws_url(c, **params), timeout=20,
                                       header=[f"{k}: {v}" for k, v in (headers or ADMIN).items()])


def latest_id(c):
    rows = c.db.query("SELECT COALESCE(max(id), 0) FROM events")
    return int(rows[0][0])


def create(c, **kw):
    return c.post("/workspaces", headers=ADMIN, json={"name": "ev-" + uuid.uuid4().hex[:8], "model": "m",
                                                       **kw}).json()


def frames_until(ws, pred, limit=5000):
    out = []
    for _ in range(limit):
        f = json.loads(ws.recv())
        out.append(f)
        if pred(f):
            return out
    raise AssertionError("condition not met")


def test_frames_have_the_reference_shape_plus_id(server):
    ws = connect(server)
    try:
        w = create(server)
        f = frames_until(ws, lambda f: f["workspace_id"] == w["id"])[-1]
        assert set(f) == {"id", "event", "workspace_id", "timestamp", "payload"}
        assert f["event"] == "WORKSPACE_AWAITING_AGENT" and f["payload"]["runtime"] == "claude-code"
        assert f["timestamp"].endswith("Z") and isinstance(f["id"], int)
        row = server.db.query(f"SELECT id, type FROM events WHERE id = {f['id']}")
        assert row == [[str(f["id"]), "WORKSPACE_AWAITING_AGENT"]]  # shown live means stored
    finally:
        ws.close()


def test_reconnect_with_the_last_id_gets_every_event_once_in_order(server):
    start = latest_id(server)
    template = {"name": "burst", "defaults": {"model": "m"},
                "workspaces": [{"name": "burst-" + uuid.uuid4().hex[:6],
                                "children": [{"name": f"n{i}"} for i in range(999)]}]}
    ws = connect(server, since=start)
    importer = threading.Thread(target=lambda: requests.post(server.url + "/org/import", headers=ADMIN,
                                                             json={"template": template}, timeout=120))
    importer.start()
    seen = [json.loads(ws.recv())["id"] for _ in range(300)]  # part of the burst, live...
    ws.close()  # ...then the client drops while the rest is published
    importer.join()
    ws = connect(server, since=seen[-1])
    try:
        while len(seen) < 1000:
            seen.append(json.loads(ws.recv())["id"])
    finally:
        ws.close()
    expected = [int(r[0]) for r in server.db.query(f"SELECT id FROM events WHERE id > {start} ORDER BY id LIMIT 1000")]
    assert seen == expected
    assert len(set(seen)) == 1000


def test_without_since_a_subscriber_starts_at_now(server):
    """Now is the newest event committed before the connect, not where the feed thread has read to: a burst of
    creates that has returned just before the connect (the feed may still be reading it) is never sent."""
    for _ in range(20):
        burst = [threading.Thread(target=create, args=(server,)) for _ in range(16)]
        for t in burst:
            t.start()
        for t in burst:
            t.join()
        ws = connect(server)
        try:
            w = create(server)
            f = json.loads(ws.recv())
            assert f["workspace_id"] == w["id"]
        finally:
            ws.close()


def test_ws_needs_a_token(server):
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        websocket.create_connection(ws_url(server), timeout=10)
    assert e.value.status_code == 401
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        connect(server, headers={"Authorization": "Bearer wrong"})
    assert e.value.status_code == 401
    ok = websocket.create_connection(ws_url(server, token=ADMIN_TOKEN), timeout=10)  # browsers: ?token=
    ok.close()
    r = server.get("/ws", headers=ADMIN)  # a plain GET is not an upgrade
    assert r.status_code == 400 and r.json()["error"] == "websocket upgrade required"


def test_an_agent_sees_only_the_workspaces_it_may_talk_to(server):
    root = create(server)
    a = create(server, parent_id=root["id"])
    sibling = create(server, parent_id=root["id"])
    stranger = create(server)
    ws = connect(server, headers={"Authorization": f"Bearer {a['auth_token']}"})
    try:
        for w in (stranger, sibling, a):
            server.post(f"/workspaces/{w['id']}/notify", headers=ADMIN, json={"message": "hi " + w["id"]})
        got = frames_until(ws, lambda f: f["workspace_id"] == a["id"])
        assert [f["workspace_id"] for f in got] == [sibling["id"], a["id"]]
    finally:
        ws.close()


def test_sse_stream_is_per_workspace_and_resumes_from_last_event_id(server):
    w = create(server)
    other = create(server)
    h = {"Authorization": f"Bearer {w['auth_token']}"}
    r = requests.get(f"{server.url}/workspaces/{w['id']}/events/stream", headers=h, stream=True, timeout=20)
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/event-stream"
    lines = r.iter_lines(decode_unicode=True)
    assert next(lines) == ": ping"
    server.post(f"/workspaces/{other['id']}/notify", headers=ADMIN, json={"message": "not for you"})
    server.post(f"/workspaces/{w['id']}/notify", headers=ADMIN, json={"message": "one"})
    server.post(f"/workspaces/{w['id']}/notify", headers=ADMIN, json={"message": "two"})
    events = []
    for line in lines:
        if line.startswith("id: "):
            last = int(line[4:])
        elif line.startswith("data: "):
            events.append(json.loads(line[6:]))
            if len(events) == 2:
                break
    r.close()
    assert [e["data"]["message"] for e in events] == ["one", "two"]
    assert all(e["type"] == "AGENT_MESSAGE" and isinstance(e["timestamp"], int) for e in events)
    server.post(f"/workspaces/{w['id']}/notify", headers=ADMIN, json={"message": "three"})
    r = requests.get(f"{server.url}/workspaces/{w['id']}/events/stream",
                     headers={**h, "Last-Event-ID": str(last - 1)}, stream=True, timeout=20)
    got = []
    for line in r.iter_lines(decode_unicode=True):
        if line.startswith("data: "):
            got.append(json.loads(line[6:])["data"]["message"])
            if len(got) == 2:
                break
    r.close()
    assert got == ["two", "three"]
    other_token = {"Authorization": f"Bearer {other['auth_token']}"}
    assert requests.get(f"{server.url}/workspaces/{w['id']}/events/stream", headers=other_token,
                        timeout=10).status_code == 401


def test_liveness_flips_are_seen_live(server):
    ws = connect(server)
    try:
        wid = str(uuid.uuid4())
        server.post("/registry/register", json={"id": wid, "agent_card": {"name": "x"}, "url": "http://127.0.0.1:9"})
        got = frames_until(ws, lambda f: f["workspace_id"] == wid and f["event"] == "WORKSPACE_OFFLINE")
        mine = [f["event"] for f in got if f["workspace_id"] == wid]
        assert mine == ["WORKSPACE_ONLINE", "WORKSPACE_OFFLINE"]
    finally:
        ws.close()


def test_shutdown_closes_subscribers_with_going_away(start_colony):
    c = start_colony()
    ws = connect(c)
    c.send_signal(__import__("signal").SIGTERM)
    opcode, data = ws.recv_data(control_frame=True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    assert int.from_bytes(data[:2], "big") == 1001 and data[2:] == b"server shutting down"
    ws.close()
    assert c.stop() == 0


def test_shutdown_while_websockets_are_being_upgraded_exits_cleanly(start_colony):
    """SIGTERM while a loop is still answering WebSocket upgrades, on sockets whose send buffer is almost full (the
    clients never read): colony exits 0. The stop once ran on each I/O thread between two runs of its h2o loop,
    outside h2o's callbacks: a close frame written there, to a socket upgraded in the run just before (its read
    polling had changed), completed at once but was still pending in h2o when the next run armed write polling for
    it; the frame's callback left that polling armed with no write, and the next EPOLLOUT aborted colony in h2o
    (evloop.c.h: write_pending: Assertion `sock->super._cb.write != NULL' failed). One round hit it in each of 20
    runs on that code; a second one makes a miss even less likely."""
    upgrade = (b"GET /ws HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
               b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
               b"Authorization: Bearer %s\r\n\r\n" % ADMIN_TOKEN.encode())
    health = b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n"  # ~230 bytes of answer each, written on the loop
    for _ in range(2):
        c = start_colony(args=["--shutdown-timeout-ms", "300", "--events-max-streams", "100000",
                               "--events-max-streams-per-token", "100000"])
        socks = []
        try:
            for i in range(3000):
                s = socket.socket()
                # a small MSS gives colony's side a small send buffer (~70 KB instead of MBs): between ~0 and 37 KB of
                # pipelined answers before the upgrade, some connections hold enough that epoll no longer calls the
                # socket writable while a close frame still fits
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
                s.connect(("127.0.0.1", c.port))
                s.sendall(health * (i % 160) + upgrade)
                socks.append(s)
            # upgrades are being answered; most are still to come when the signal lands
            wait_for(lambda: metric(c, "colony_websocket_connections_active") >= 200)
            code = c.stop(timeout=60)
        finally:
            for s in socks:
                s.close()
        log = c.log_path.read_text()
        assert code == 0, log[-3000:]
        assert 'msg="stopped" clean=true' in log
