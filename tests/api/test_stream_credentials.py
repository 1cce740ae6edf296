"""Event streams and the credentials behind them: one workspace cannot multiply its stream allowance by minting tokens, and an agent's stream follows the tree (new family members in, old ones out)."""
import uuid

import requests
import websocket

from conftest import ADMIN


def bearer(t):
    return {"Authorization": f"Bearer {t}"}


def ws_open(c, token):
    return websocket.create_connection(c.url.replace("http://", "ws://") + "/ws", timeout=10,
                                       header=[f"Authorization: Bearer {token}"])


def handshake(c, token):
    return requests.get(c.url + "/ws", headers={"Connection": "Upgrade", "Upgrade": "websocket",
                                                 "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                                                 "Sec-WebSocket-Version": "13", **bearer(token)},
                        timeout=10, stream=True)


def test_one_workspace_cannot_multiply_the_per_credential_cap_by_minting_tokens(start_colony):
    """An agent's own token mints more tokens (POST /workspaces/:id/tokens is ACCESS_WORKSPACE), and each new
    token brings a fresh per-credential allowance: one agent fills the node's whole cap (here 12 of 12), and every
    other client (the canvas included) gets 429."""
    c = start_colony(args=["--events-max-streams-per-token", "3", "--events-max-streams", "12"])
    ws = c.post("/workspaces", headers=ADMIN, json={"name": "greedy-" + uuid.uuid4().hex[:6], "model": "m"}).json()
    tokens = [ws["auth_token"]]
    for _ in range(3):
        r = c.post(f"/workspaces/{ws['id']}/tokens", headers=bearer(ws["auth_token"]))
        assert r.status_code == 201, r.text
        tokens.append(r.json()["auth_token"])
    opened, refused = [], 0
    for t in tokens:
        for _ in range(3):
            r = handshake(c, t)
            if r.status_code == 101:
                opened.append(r)
            else:
                refused += 1
    try:
        canvas = handshake(c, ADMIN["Authorization"].split()[1])
        assert len(opened) <= 3, f"one workspace holds {len(opened)} streams (per-credential cap 3); " \
                                 f"the admin's canvas now gets {canvas.status_code}"
    finally:
        for r in opened:
            r.close()


def test_an_agent_sees_a_child_created_after_it_subscribed(server):
    """The agent filter is the set of workspaces reachable when the stream opened: a child (or sibling) created
    later is never admitted, though the agent may talk to it."""
    def create(**kw):
        r = server.post("/workspaces", headers=ADMIN, json={"name": "f-" + uuid.uuid4().hex[:8], "model": "m", **kw})
        assert r.status_code == 201, r.text
        return r.json()
    parent = create()
    ws = ws_open(server, parent["auth_token"])
    try:
        child = create(parent_id=parent["id"])
        ok = server.post("/registry/check-access", json={"caller_id": parent["id"], "target_id": child["id"]}).json()
        assert ok == {"allowed": True}
        server.post(f"/workspaces/{child['id']}/notify", headers=ADMIN, json={"message": "to the new child"})
        server.post(f"/workspaces/{parent['id']}/notify", headers=ADMIN, json={"message": "marker"})
        import json as _json
        got = []
        while True:
            f = _json.loads(ws.recv())
            got.append((f["workspace_id"], f["event"]))
            if f["workspace_id"] == parent["id"] and f["event"] == "AGENT_MESSAGE":
                break
        assert (child["id"], "AGENT_MESSAGE") in got, got
    finally:
        ws.close()


def test_an_agent_moved_away_stops_seeing_its_old_family(server):
    """Least privilege across a re-parenting: once an agent is moved under another parent, its stream no longer
    admits its former siblings' events (and admits its new ones)."""
    def create(**kw):
        r = server.post("/workspaces", headers=ADMIN, json={"name": "m-" + uuid.uuid4().hex[:8], "model": "m", **kw})
        assert r.status_code == 201, r.text
        return r.json()
    old, new = create(), create()
    agent, old_sib = create(parent_id=old["id"]), create(parent_id=old["id"])
    new_sib = create(parent_id=new["id"])
    ws = ws_open(server, agent["auth_token"])
    try:
        r = server.patch(f"/workspaces/{agent['id']}", headers=ADMIN, json={"parent_id": new["id"]})
        assert r.status_code == 200, r.text
        for target, text in ((old_sib, "old family"), (new_sib, "new family"), (agent, "marker")):
            server.post(f"/workspaces/{target['id']}/notify", headers=ADMIN, json={"message": text})
        import json as _json
        got = []
        while True:
            f = _json.loads(ws.recv())
            if f["event"] == "AGENT_MESSAGE":
                got.append(f["payload"]["message"])
            if f["workspace_id"] == agent["id"] and f["event"] == "AGENT_MESSAGE":
                break
        assert got == ["new family", "marker"], got
    finally:
        ws.close()
