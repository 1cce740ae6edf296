"""2,000 concurrent WebSocket subscribers each receive every one of 200 events (asserted by content, not time)."""
import asyncio
import base64
import json
import os
import struct
import uuid

from conftest import ADMIN, ADMIN_TOKEN

SUBSCRIBERS = 2000
EVENTS = 200
SERVER_ARGS = ["--events-max-streams-per-token", str(SUBSCRIBERS)]  # all of them use the admin token


async def subscribe(port, since, ready):
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write((f"GET /ws?since={since} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                  f"Authorization: Bearer {ADMIN_TOKEN}\r\n\r\n").encode())
    head = await reader.readuntil(b"\r\n\r\n")
    ready.release()  # before the assertion: a refused subscriber must not leave the others waiting for it
    assert head.startswith(b"HTTP/1.1 101"), head
    ids = []
    while len(ids) < EVENTS:
        b0, b1 = await reader.readexactly(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", await reader.readexactly(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", await reader.readexactly(8))[0]
        payload = await reader.readexactly(n)
        assert b0 & 0x0F == 1, "a text frame"
        ids.append(json.loads(payload)["id"])
    writer.close()
    return ids


async def run(c, since, publish):
    ready = asyncio.Semaphore(0)
    tasks = [asyncio.create_task(subscribe(c.port, since, ready)) for _ in range(SUBSCRIBERS)]
    for _ in range(SUBSCRIBERS):
        await ready.acquire()
    await asyncio.get_running_loop().run_in_executor(None, publish)
    return await asyncio.wait_for(asyncio.gather(*tasks), timeout=600)


def test_two_thousand_subscribers_each_get_all_200_events(server):
    since = int(server.db.query("SELECT COALESCE(max(id), 0) FROM events")[0][0])
    template = {"name": "fanout", "defaults": {"model": "m"},
                "workspaces": [{"name": "fan-" + uuid.uuid4().hex[:6],
                                "children": [{"name": f"c{i}"} for i in range(EVENTS - 1)]}]}

    def publish():
        r = server.post("/org/import", headers=ADMIN, json={"template": template})
        assert r.status_code == 201, r.text

    results = asyncio.run(run(server, since, publish))
    expected = [int(r[0]) for r in server.db.query(f"SELECT id FROM events WHERE id > {since} ORDER BY id")]
    assert len(expected) == EVENTS
    assert all(ids == expected for ids in results)
    metrics = server.get("/metrics").text
    assert "colony_websocket_connections_active" in metrics
