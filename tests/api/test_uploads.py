"""Chat uploads staged for poll-mode workspaces (data.md §1, vectors.md §3.1, difference 10)."""
import json
import time
import uuid

import pytest
import requests

from conftest import ADMIN


def bearer(t):
    return {"Authorization": f"Bearer {t}"}


def poll_ws(c, mode="poll"):
    return c.post("/workspaces", headers=ADMIN, json={"name": "up-" + uuid.uuid4().hex[:8], "model": "m",
                                                       "delivery_mode": mode}).json()


def upload(c, w, files, token=None):
    return requests.post(f"{c.url}/workspaces/{w['id']}/chat/uploads", files=files, timeout=30,
                         headers=bearer(token or w["auth_token"]))


def staged(c, wid):
    return int(c.db.query(f"SELECT count(*) FROM pending_uploads WHERE workspace_id = '{wid}'")[0][0])


def test_limits(server):
    assert server.get("/uploads/limits").json() == {"per_file_bytes": 16777216, "per_request_bytes": 16777216,
                                                    "max_attachments_per_message": 10}


def test_stage_fetch_ack(server):
    w = poll_ws(server)
    r = upload(server, w, [("files", ("../../etc/passwd", b"root:x", "text/plain; charset=utf-8")),
                           ("files", ("hello world.pdf", b"%PDF", "application/pdf")),
                           ("files", ("empty.txt", b"", "text/plain")),
                           ("note", (None, "not a file"))])
    assert r.status_code == 200, r.text
    files = r.json()["files"]
    assert [(f["name"], f["mimeType"], f["size"]) for f in files] == [
        ("passwd", "text/plain", 6), ("hello_world.pdf", "application/pdf", 4), ("empty.txt", "text/plain", 0)]
    assert all(f["uri"].startswith(f"platform-pending:{w['id']}/") for f in files)
    rows = server.get(f"/workspaces/{w['id']}/activity?type=a2a_receive", headers=bearer(w["auth_token"])).json()
    assert sorted(r["summary"] for r in rows) == sorted(f"chat_upload_receive: {f['name']}" for f in files)
    assert {r["method"] for r in rows} == {"chat_upload_receive"}
    fid = files[0]["uri"].rsplit("/", 1)[1]
    got = server.get(f"/workspaces/{w['id']}/pending-uploads/{fid}/content", headers=bearer(w["auth_token"]))
    assert got.status_code == 200 and got.content == b"root:x"
    assert got.headers["Content-Type"] == "text/plain"
    assert got.headers["Content-Disposition"] == "attachment; filename=\"passwd\"; filename*=UTF-8''passwd"
    empty = files[2]["uri"].rsplit("/", 1)[1]
    assert server.get(f"/workspaces/{w['id']}/pending-uploads/{empty}/content",
                      headers=bearer(w["auth_token"])).content == b""
    for _ in range(2):  # idempotent
        ack = server.post(f"/workspaces/{w['id']}/pending-uploads/{fid}/ack", headers=bearer(w["auth_token"]))
        assert ack.json() == {"acked": True}
    events = server.db.query(f"SELECT count(*) FROM events WHERE workspace_id = '{w['id']}' "
                             f"AND type = 'ACTIVITY_LOGGED'")
    assert events == [["3"]]


def test_a_batch_with_one_file_over_the_cap_stores_nothing(start_colony):
    c = start_colony(args=["--upload-max-file", "1000"])
    w = poll_ws(c)
    r = upload(c, w, [("files", ("a.txt", b"a" * 10, "text/plain")), ("files", ("b.txt", b"b" * 10, "text/plain")),
                      ("files", ("big.bin", b"c" * 2000, "application/octet-stream"))])
    assert r.status_code == 413
    assert r.json() == {"error": "file exceeds per-file cap", "code": "too_large", "filename": "big.bin",
                        "size": 2000, "max": 1000}
    assert staged(c, w["id"]) == 0
    assert c.db.query(f"SELECT count(*) FROM activity_logs WHERE workspace_id = '{w['id']}'") == [["0"]]
    assert c.get("/uploads/limits").json()["per_file_bytes"] == 1000


def test_content_types_are_sanitised_and_never_split_a_header(server):
    w = poll_ws(server)
    body = (b"--B\r\nContent-Disposition: form-data; name=\"files\"; filename=\"x.html\"\r\n"
            b"Content-Type: text/html\x0b; X-Leak: 1\r\n\r\n<p>\r\n--B\r\n"
            b"Content-Disposition: form-data; name=\"files\"; filename=\"y\"\r\nContent-Type: notamime\r\n\r\n"
            b"y\r\n--B--\r\n")
    r = requests.post(f"{server.url}/workspaces/{w['id']}/chat/uploads", data=body, timeout=30,
                      headers={**bearer(w["auth_token"]), "Content-Type": "multipart/form-data; boundary=B"})
    assert r.status_code == 200, r.text
    types = [f["mimeType"] for f in r.json()["files"]]
    assert types == ["application/octet-stream", "application/octet-stream"]
    fid = r.json()["files"][0]["uri"].rsplit("/", 1)[1]
    got = server.get(f"/workspaces/{w['id']}/pending-uploads/{fid}/content", headers=bearer(w["auth_token"]))
    assert got.headers["Content-Type"] == "application/octet-stream" and "X-Leak" not in got.headers


@pytest.mark.parametrize("raw, message", [
    (b"not multipart at all", "malformed multipart body"),
    (b"--B\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--B--\r\n", "no files field in request"),
])
def test_bad_bodies_are_400_and_store_nothing(server, raw, message):
    w = poll_ws(server)
    r = requests.post(f"{server.url}/workspaces/{w['id']}/chat/uploads", data=raw, timeout=30,
                      headers={**bearer(w["auth_token"]), "Content-Type": "multipart/form-data; boundary=B"})
    assert r.status_code == 400 and r.json()["error"] == message
    assert staged(server, w["id"]) == 0


def test_too_many_files(server):
    w = poll_ws(server)
    r = upload(server, w, [("files", (f"f{i}", b"x", "text/plain")) for i in range(65)])
    assert r.status_code == 400 and r.json()["error"] == "too many files (limit 64)"


def test_another_workspaces_file_is_404_never_its_bytes(server):
    a, b = poll_ws(server), poll_ws(server)
    fid = upload(server, a, [("files", ("secret.txt", b"s3cret", "text/plain"))]).json()["files"][0]["uri"]
    fid = fid.rsplit("/", 1)[1]
    r = server.get(f"/workspaces/{b['id']}/pending-uploads/{fid}/content", headers=bearer(b["auth_token"]))
    assert r.status_code == 404 and r.json()["error"] == "pending upload not found" and b"s3cret" not in r.content
    r = server.post(f"/workspaces/{b['id']}/pending-uploads/{fid}/ack", headers=bearer(b["auth_token"]))
    assert r.status_code == 404
    assert server.get(f"/workspaces/{a['id']}/pending-uploads/{fid}/content",
                      headers=bearer(b["auth_token"])).status_code == 401
    missing = server.get(f"/workspaces/{a['id']}/pending-uploads/{uuid.uuid4()}/content",
                         headers=bearer(a["auth_token"]))
    assert missing.status_code == 404 and missing.json()["error"] == "pending upload not found or expired"
    assert server.get(f"/workspaces/{a['id']}/pending-uploads/nope/content",
                      headers=bearer(a["auth_token"])).json()["error"] == "invalid file ID"


def test_push_mode_workspaces_get_the_body_as_it_came(server, agent):
    w = poll_ws(server, mode="push")
    r = upload(server, w, [("files", ("a", b"a", "text/plain"))])
    assert r.status_code == 503 and r.json()["error"] == "workspace url not registered yet"
    reg = server.post("/registry/register", headers=bearer(w["auth_token"]),
                      json={"id": w["id"], "agent_card": {}, "url": agent.url}).json()
    secret = reg["platform_inbound_secret"]
    assert len(secret) >= 32
    r = upload(server, w, [("files", ("a.txt", b"hello", "text/plain")), ("files", ("b.bin", b"\x00\x01", None))])
    assert r.status_code == 200, r.text
    (path, headers, raw), = agent.seen
    assert path == "/internal/chat/uploads/ingest"
    assert headers["Authorization"] == f"Bearer {secret}"
    assert headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert b'filename="a.txt"' in raw and b"hello" in raw and r.json() == {"received": len(raw)}
    assert staged(server, w["id"]) == 0
    # the secret is read, not re-minted, by the next register
    again = server.post("/registry/register", headers=bearer(w["auth_token"]),
                        json={"id": w["id"], "agent_card": {}, "url": agent.url}).json()
    assert again["platform_inbound_secret"] == secret
    # a workspace that has never picked up a secret is told to come back
    server.db.execute(f"UPDATE workspaces SET inbound_secret_sealed = NULL, inbound_secret_key_id = NULL "
                      f"WHERE id = '{w['id']}'")
    r = upload(server, w, [("files", ("a", b"a", "text/plain"))])
    assert r.status_code == 503 and r.json() == {
        "error": "workspace re-registering — please retry in 30 seconds", "code": "unavailable",
        "detail": "the workspace has not picked up its inbound secret yet; it gets it when it registers",
        "retry_after_seconds": 30}
    server.db.execute(f"UPDATE workspaces SET url = 'http://127.0.0.1:9' WHERE id = '{w['id']}'")
    r = upload(server, w, [("files", ("a", b"a", "text/plain"))])
    assert r.status_code == 502 and r.json()["error"] == "workspace unreachable"
    assert r.json()["code"] == "bad_gateway" and set(r.json()) == {"error", "code", "detail"}


def test_the_sweeper_deletes_exactly_the_eligible_rows(start_colony):
    c = start_colony(args=["--upload-sweep-interval-ms", "200", "--upload-ack-retention", "60"])
    w = poll_ws(c)
    files = upload(c, w, [("files", (n, b"x", "text/plain")) for n in ("old-acked", "fresh-acked", "expired",
                                                                       "pending")]).json()["files"]
    ids = {f["name"]: f["uri"].rsplit("/", 1)[1] for f in files}
    for n in ("old-acked", "fresh-acked"):
        c.post(f"/workspaces/{w['id']}/pending-uploads/{ids[n]}/ack", headers=bearer(w["auth_token"]))
    past = int(time.time() * 1000) - 3600 * 1000
    c.db.execute(f"UPDATE pending_uploads SET acked_at = {past} WHERE file_id = '{ids['old-acked']}'")
    c.db.execute(f"UPDATE pending_uploads SET expires_at = {past} WHERE file_id = '{ids['expired']}'")
    deadline = time.time() + 15
    while time.time() < deadline and staged(c, w["id"]) > 2:
        time.sleep(0.1)
    left = sorted(r[0] for r in c.db.query(f"SELECT filename FROM pending_uploads WHERE workspace_id = '{w['id']}'"))
    assert left == ["fresh-acked", "pending"]
    metrics = c.get("/metrics").text
    assert 'colony_pending_uploads_swept_total{outcome="acked"} 1' in metrics
    assert 'colony_pending_uploads_swept_total{outcome="expired"} 1' in metrics
    assert 'colony_pending_uploads_swept_total{outcome="error"} 0' in metrics
