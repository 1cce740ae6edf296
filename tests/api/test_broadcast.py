"""Broadcast (surface.md §14) and chat download (data.md §1.11, surface.md §15): who a broadcast reaches, the rows and
events it leaves, the ability that gates it; the download's path rules, its relay of the agent's answer, and the
refusals before anything is dialled."""
import threading
import uuid

import requests

from conftest import ADMIN, metric, wait_for
from inbox_util import bearer, create_ws, error, events, remove


def enable(c, w):
    assert c.patch(f"/workspaces/{w['id']}/abilities", headers=ADMIN,
                   json={"broadcast_enabled": True}).status_code == 200


def activity(c, w, kind):
    rows = c.get(f"/workspaces/{w['id']}/activity?type={kind}", headers=ADMIN).json()
    return rows


def test_broadcast_reaches_the_org_but_not_the_sender(server):
    root = create_ws(server)
    lead = create_ws(server, parent=root)
    dev = create_ws(server, parent=lead)
    gone = create_ws(server, parent=lead)
    remove(server, gone)
    stranger = create_ws(server)  # another org
    url = f"/workspaces/{dev['id']}/broadcast"
    body = error(server.post(url, headers=bearer(dev["auth_token"]), json={"message": "hi"}), 403,
                 "broadcast_disabled", "broadcast_disabled")
    assert "abilities" in body["hint"]
    enable(server, dev)
    msg = "Release is frozen until Monday. " + "é" * 100  # 132 runes: cut to 120 with an ellipsis
    r = server.post(url, headers=bearer(dev["auth_token"]), json={"message": msg})
    assert (r.status_code, r.json()) == (200, {"status": "sent", "delivered": 2})
    summary = f"Broadcast from {dev['name']}: {msg[:120]}…"
    for w in (root, lead):
        (row,) = activity(server, w, "broadcast_receive")
        assert (row["method"], row["source_id"], row["summary"], row["status"]) == (
            "broadcast", dev["id"], summary, "ok")
        assert row["request_body"] == {"message": msg, "sender_id": dev["id"], "sender": dev["name"]}
        assert events(server, w["id"], {"BROADCAST_MESSAGE"}) == [
            ("BROADCAST_MESSAGE", {"message": msg, "sender_id": dev["id"], "sender": dev["name"]})]
        assert events(server, w["id"], {"ACTIVITY_LOGGED"}) == []  # as the reference: the row, no ACTIVITY_LOGGED
    (sent,) = activity(server, dev, "broadcast_sent")
    assert sent["summary"] == "Broadcast sent to 2 workspace(s)"
    assert activity(server, dev, "broadcast_receive") == []
    for w in (stranger, gone):
        assert activity(server, w, "broadcast_receive") == [] and events(server, w["id"], {"BROADCAST_MESSAGE"}) == []


def test_broadcast_from_70_levels_down_reaches_the_whole_org(server):
    chain = [create_ws(server)]
    for _ in range(69):
        chain.append(create_ws(server, parent=chain[-1]))
    leaf = chain[-1]
    enable(server, leaf)
    r = server.post(f"/workspaces/{leaf['id']}/broadcast", headers=bearer(leaf["auth_token"]), json={"message": "m"})
    assert (r.status_code, r.json()) == (200, {"status": "sent", "delivered": 69})
    assert len(activity(server, chain[0], "broadcast_receive")) == 1


def test_broadcast_rate_is_limited_per_sender(start_colony):
    # a broadcast writes to the whole org: each sender has --broadcast-rate-limit of them a minute (a token bucket)
    c = start_colony(args=["--broadcast-rate-limit", "2"])
    root = create_ws(c)
    kid = create_ws(c, parent=root)
    enable(c, root), enable(c, kid)
    url = f"/workspaces/{root['id']}/broadcast"
    for _ in range(2):
        assert c.post(url, headers=ADMIN, json={"message": "m"}).json() == {"status": "sent", "delivered": 1}
    r = c.post(url, headers=ADMIN, json={"message": "m"})
    body = error(r, 429, "too many broadcasts from this workspace; retry later", "rate_limited")
    assert 1 <= int(r.headers["Retry-After"]) <= 30 and body["retry_after"] == int(r.headers["Retry-After"])
    assert len(activity(c, kid, "broadcast_receive")) == 2  # the refused one wrote nothing
    assert metric(c, "colony_broadcasts_refused_total", 'reason="rate"') == 1
    r = c.post(f"/workspaces/{kid['id']}/broadcast", headers=bearer(kid["auth_token"]), json={"message": "m"})
    assert r.json() == {"status": "sent", "delivered": 1}  # another sender has its own bucket


def test_broadcast_refusals(server):
    w = create_ws(server)
    enable(server, w)
    url = f"/workspaces/{w['id']}/broadcast"
    error(server.post(url, headers=ADMIN, json={}), 400, "message is required")
    error(server.post(url, headers=ADMIN, json={"message": ""}), 400, "message is required")
    error(server.post(url, headers=ADMIN, json={"message": 5}), 400, "message is required")
    error(server.post(url, headers=ADMIN, json={"message": "x" * (64 * 1024 + 1)}), 400,
          "message exceeds 65536 bytes")
    error(server.post("/workspaces/nope/broadcast", headers=ADMIN, json={"message": "m"}), 400,
          "invalid workspace ID")
    error(server.post(f"/workspaces/{uuid.uuid4()}/broadcast", headers=ADMIN, json={"message": "m"}), 404,
          "workspace not found")
    other = create_ws(server)
    error(server.post(url, headers=bearer(other["auth_token"]), json={"message": "m"}), 401,
          "invalid workspace auth token")
    r = server.post(url, headers=ADMIN, json={"message": "alone"})  # a root without children reaches nobody
    assert r.json() == {"status": "sent", "delivered": 0}
    remove(server, w)
    error(server.post(url, headers=ADMIN, json={"message": "m"}), 404, "workspace not found")


def test_broadcast_bytes_times_recipients_is_bounded(server):
    # every recipient keeps the message twice (activity row and event): message bytes x recipients is at most 4 MiB
    root = create_ws(server)
    enable(server, root)
    kids = [create_ws(server, parent=root) for _ in range(65)]
    url = f"/workspaces/{root['id']}/broadcast"
    error(server.post(url, headers=ADMIN, json={"message": "m" * 64528}), 413,
          "broadcast too large: 64528 bytes to 65 workspaces exceeds 4194304 bytes in total", "too_large")
    assert activity(server, kids[0], "broadcast_receive") == [] and activity(server, root, "broadcast_sent") == []
    r = server.post(url, headers=ADMIN, json={"message": "m" * 64527})  # 65 x 64527 = 4194255: fits
    assert (r.status_code, r.json()) == (200, {"status": "sent", "delivered": 65})


# ---- chat download ---------------------------------------------------------------------------------------------

def registered(c, agent, mode="push"):
    w = create_ws(c, delivery_mode=mode)
    reg = c.post("/registry/register", headers=bearer(w["auth_token"]),
                 json={"id": w["id"], "agent_card": {}, "url": agent.url})
    assert reg.status_code == 200, reg.text
    return {**w, "inbound_secret": reg.json().get("platform_inbound_secret")}


def test_download_relays_the_agents_file(server, agent):
    w = registered(server, agent)
    secret = w["inbound_secret"]
    assert len(secret) >= 32
    agent.files["/workspace/out/report v1.md"] = b"# Report\n"
    r = server.get(f"/workspaces/{w['id']}/chat/download", params={"path": "/workspace/out/report v1.md"},
                   headers=bearer(w["auth_token"]))
    assert (r.status_code, r.content) == (200, b"# Report\n")
    assert r.headers["Content-Type"] == "text/markdown"
    assert r.headers["Content-Disposition"] == "attachment; filename=\"report v1.md\"; filename*=UTF-8''report%20v1.md"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Content-Length"] == "9" and "X-Internal" not in r.headers
    (path, headers, _), = [s for s in agent.seen if s[0].startswith("/internal/file/read")]
    assert path == "/internal/file/read?path=/workspace/out/report%20v1.md"
    assert headers["Authorization"] == f"Bearer {secret}"
    r = server.get(f"/workspaces/{w['id']}/chat/download?path=/home/none.txt", headers=ADMIN)
    assert (r.status_code, r.json()) == (404, {"error": "file not found"})  # the agent's own answer, relayed


def test_download_is_an_attachment_never_rendered(server, agent):
    # the agent's bytes are served from colony's origin: whatever type it claims, a browser saves them, never renders
    # or sniffs them; the agent's file name is kept (its last part, quotes escaped), else the path's
    w = registered(server, agent)
    agent.files["/workspace/page.html"] = b"<html><script>alert(document.domain)</script></html>"
    url = f"/workspaces/{w['id']}/chat/download?path=/workspace/page.html"
    cases = [({"Content-Type": "text/html", "Content-Disposition": None},
              "attachment; filename=\"page.html\"; filename*=UTF-8''page.html"),
             ({"Content-Type": "text/html", "Content-Disposition": 'inline; filename="../x/\\"q\\".html"'},
              "attachment; filename=\"\\\"q\\\".html\"; filename*=UTF-8''%22q%22.html"),
             ({"Content-Type": "text/html", "Content-Disposition": "inline; filename=plain.htm; size=3"},
              "attachment; filename=\"plain.htm\"; filename*=UTF-8''plain.htm")]
    for headers, want in cases:
        agent.file_headers = headers
        r = server.get(url, headers=ADMIN)
        assert (r.status_code, r.headers["Content-Type"]) == (200, "text/html")
        assert (r.headers["Content-Disposition"], r.headers["X-Content-Type-Options"]) == (want, "nosniff")


def test_download_refusals_dial_nothing(server, agent):
    w = registered(server, agent)
    url = f"/workspaces/{w['id']}/chat/download"
    error(server.get(url, headers=ADMIN), 400, "path query required")
    error(server.get(url + "?path=workspace/x", headers=ADMIN), 400, "path must be absolute")
    for p in ("/etc/passwd", "/configsx/a", "/", "/tmp/../configs/a"):
        error(server.get(url, params={"path": p}, headers=ADMIN), 400,
              "path must be under /configs, /workspace, /home, or /plugins")
    for p in ("/configs/../etc/passwd", "/configs//a", "/configs/./a", "/configs/a/", "/home/a..b"):
        error(server.get(url, params={"path": p}, headers=ADMIN), 400, "invalid path")
    error(server.get("/workspaces/nope/chat/download?path=/configs/a", headers=ADMIN), 400, "invalid workspace ID")
    error(server.get(f"/workspaces/{uuid.uuid4()}/chat/download?path=/configs/a", headers=ADMIN), 404,
          "workspace not found")
    assert not [s for s in agent.seen if s[0].startswith("/internal/file/read")]
    agent.files["/agent-home/x"] = b"x"  # accepted, as the reference does
    assert server.get(url + "?path=/agent-home/x", headers=ADMIN).status_code == 200
    poll = registered(server, agent, mode="poll")
    body = error(server.get(f"/workspaces/{poll['id']}/chat/download?path=/configs/a", headers=ADMIN), 422,
                 "workspace has no callback URL — chat download requires push-mode + public URL")
    assert body["detail"]
    fresh = create_ws(server)
    error(server.get(f"/workspaces/{fresh['id']}/chat/download?path=/configs/a", headers=ADMIN), 503,
          "workspace url not registered yet")
    server.db.execute(f"UPDATE workspaces SET url = 'http://127.0.0.1:9' WHERE id = '{w['id']}'")
    error(server.get(url + "?path=/configs/a", headers=ADMIN), 502, "workspace unreachable")


def test_download_relays_in_flight_are_capped(start_colony, agent):
    # each relay holds the agent's whole answer until the caller has read it: past the cap a download is refused
    # before anything is dialled (503 + Retry-After, counted), and a finished relay gives its slot back
    c = start_colony(args=["--chat-download-max-concurrent", "2"])
    w = registered(c, agent)
    agent.files["/workspace/big.bin"] = b"b" * 100000
    agent.file_gate = threading.Event()
    url = f"{c.url}/workspaces/{w['id']}/chat/download?path=/workspace/big.bin"
    got = []
    held = [threading.Thread(target=lambda: got.append(requests.get(url, headers=ADMIN, timeout=30)))
            for _ in range(2)]
    for t in held:
        t.start()
    wait_for(lambda: agent.file_waiting == 2)
    assert metric(c, "colony_chat_download_relays_in_flight") == 2
    r = c.get(f"/workspaces/{w['id']}/chat/download?path=/workspace/big.bin", headers=ADMIN)
    body = error(r, 503, "too many chat downloads in flight; retry", "unavailable")
    assert r.headers["Retry-After"] == "5" and body["retry_after"] == 5
    assert agent.file_waiting == 2  # the refused one never reached the agent
    assert metric(c, "colony_chat_download_refused_total") == 1
    agent.file_gate.set()
    for t in held:
        t.join(30)
    assert [(g.status_code, len(g.content)) for g in got] == [(200, 100000), (200, 100000)]
    wait_for(lambda: metric(c, "colony_chat_download_relays_in_flight") == 0)
    agent.file_gate = None
    r = c.get(f"/workspaces/{w['id']}/chat/download?path=/workspace/big.bin", headers=ADMIN)
    assert (r.status_code, len(r.content)) == (200, 100000)
    assert metric(c, "colony_chat_download_refused_total") == 1
