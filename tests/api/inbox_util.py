"""Helpers shared by the human-in-the-loop tests (test_approvals.py, test_user_tasks.py, test_requests.py)."""
import json
import threading
import uuid

from conftest import ADMIN


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def create_ws(c, parent=None, **kw):
    body = {"name": "hitl-" + uuid.uuid4().hex[:8], "model": "m", **kw}
    if parent:
        body["parent_id"] = parent["id"]
    r = c.post("/workspaces", headers=ADMIN, json=body)
    assert r.status_code == 201, r.text
    return {**r.json(), "name": body["name"]}


def events(c, wid, types=None):
    """(type, payload) of the events filed under `wid`, oldest first, read from the log behind colony's back."""
    rows = c.db.query(f"SELECT type, payload FROM events WHERE workspace_id = '{wid}' ORDER BY id")
    out = [(t, json.loads(p)) for t, p in rows]
    return [e for e in out if types is None or e[0] in types]


def remove(c, w, purge=False):
    r = c.delete(f"/workspaces/{w['id']}" + ("?purge=true" if purge else ""),
                 headers={**ADMIN, "X-Confirm-Name": w["name"]})
    assert r.status_code == 200, r.text


def mint_org_token(c, name="operator"):
    r = c.post("/org/tokens", headers=ADMIN, json={"name": name})
    assert r.status_code == 200, r.text
    return r.json()["auth_token"]


def race(n, fn):
    """Run fn(i) for i in range(n) at once (released together by a barrier); the results in order."""
    barrier = threading.Barrier(n)
    out = [None] * n

    def run(i):
        barrier.wait()
        out[i] = fn(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def error(r, status, message, code=None):
    """Assert an error answer exactly: its status, its message, and (when given) its code."""
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert body["error"] == message, body
    if code:
        assert body["code"] == code, body
    return body


RFC3339_MS = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z$"
