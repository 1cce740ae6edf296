"""Subscribers behind the log (difference 4, issue 13 item 2): a subscriber that starts far behind is paged through
its backlog and never dropped for where it starts; one that stops reading while events wait is closed with the id
of the last event it was sent, and resuming from that id neither skips nor repeats."""
import json
import socket
import time
import uuid

import websocket

from conftest import ADMIN, wait_for

SERVER_ARGS = ["--events-max-lag", "50", "--events-max-queued", "4096"]


def ws(server, since, **kw):
    url = server.url.replace("http://", "ws://") + f"/ws?since={since}"
    return websocket.create_connection(url, timeout=30, header=[f"Authorization: {ADMIN['Authorization']}"], **kw)


def latest(server):
    return int(server.db.query("SELECT COALESCE(max(id), 0) FROM events")[0][0])


def all_ids(server, after):
    return [int(r[0]) for r in server.db.query(f"SELECT id FROM events WHERE id > {after} ORDER BY id")]


def test_a_subscriber_far_behind_is_paged_through_its_backlog(server):
    start = latest(server)
    for i in range(300):  # six times --events-max-lag, and more than one backlog page
        assert server.post("/workspaces", headers=ADMIN, json={"name": f"lag{i}", "model": "m"}).status_code == 201
    want = all_ids(server, start)
    assert len(want) == 300
    c = ws(server, start)
    got = [json.loads(c.recv())["id"] for _ in want]
    c.close()
    assert got == want
    # resuming from an id in the middle gives exactly what follows it
    c = ws(server, want[-11])
    got = [json.loads(c.recv())["id"] for _ in range(10)]
    c.close()
    assert got == want[-10:]
    assert "colony_event_subscribers_dropped_total 0" in server.get("/metrics").text


def poll_target(server):
    w = server.post("/workspaces", headers=ADMIN, json={"name": "sink-" + uuid.uuid4().hex[:6], "model": "m"}).json()
    r = server.post("/registry/register", headers=ADMIN,
                    json={"id": w["id"], "delivery_mode": "poll", "agent_card": {"name": "sink"}})
    assert r.status_code == 200, r.text
    return w["id"]


def big_message(n):
    return {"jsonrpc": "2.0", "id": 1, "method": "message/send",
            "params": {"message": {"role": "user", "messageId": str(uuid.uuid4()),
                                   "parts": [{"kind": "text", "text": "x" * n}]}}}


def test_a_subscriber_that_stops_reading_is_closed_with_the_last_id_it_was_sent(server):
    target = poll_target(server)
    start = latest(server)
    # a client that reads nothing, with a small receive buffer: the server's writes to it soon stop completing
    c = ws(server, start, sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),))
    dropped = lambda: "colony_event_subscribers_dropped_total 1" in server.get("/metrics").text
    sent = 0
    while not dropped() and sent < 400:  # each message is a USER_MESSAGE event of ~200 KB
        r = server.post(f"/workspaces/{target}/a2a", headers=ADMIN, json=big_message(200_000))
        assert r.status_code == 200, r.text
        sent += 1
    wait_for(dropped, timeout=10)
    # now read: the frames that were in flight, then the close naming the last of them
    ids = []
    while True:
        opcode, data = c.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            break
        ids.append(json.loads(data)["id"])
    c.close()
    assert int.from_bytes(data[:2], "big") == 4008
    reason = data[2:].decode()
    assert reason.startswith("subscriber fell too far behind; resume with since=")
    resume = int(reason.rsplit("=", 1)[1])
    want = all_ids(server, start)
    assert ids == want[:len(ids)]  # in order, nothing skipped, nothing twice
    assert resume == (ids[-1] if ids else start)
    # resuming from there continues with the very next event
    c = ws(server, resume)
    nxt = json.loads(c.recv())["id"]
    c.close()
    assert nxt == all_ids(server, resume)[0]
