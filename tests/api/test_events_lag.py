"""A live subscriber that falls too far behind is disconnected with a reason, and resumes (difference 4)."""
import json

import websocket

from conftest import ADMIN

SERVER_ARGS = ["--events-max-lag", "50"]


def test_a_subscriber_too_far_behind_is_closed_with_where_to_resume(server):
    for i in range(60):
        server.post("/workspaces", headers=ADMIN, json={"name": f"lag{i}", "model": "m"})
    url = server.url.replace("http://", "ws://") + "/ws?since=0"
    ws = websocket.create_connection(url, timeout=20, header=[f"Authorization: {ADMIN['Authorization']}"])
    opcode, data = ws.recv_data(control_frame=True)
    ws.close()
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    assert int.from_bytes(data[:2], "big") == 4008
    assert data[2:].decode() == "subscriber fell too far behind; resume with since=0"
    assert "colony_event_subscribers_dropped_total 1" in server.get("/metrics").text
    latest = int(server.db.query("SELECT max(id) FROM events")[0][0])
    ws = websocket.create_connection(server.url.replace("http://", "ws://") + f"/ws?since={latest - 10}",
                                     timeout=20, header=[f"Authorization: {ADMIN['Authorization']}"])
    ids = [json.loads(ws.recv())["id"] for _ in range(10)]
    ws.close()
    assert ids == list(range(latest - 9, latest + 1))
