"""Helpers of the workspace-operations tests (test_budget.py, test_lifecycle.py, test_audit.py,
test_checkpoints.py, test_diagnostics.py): agents that register and heartbeat, A2A sends, the busy queue."""
import json

import requests

from conftest import ADMIN, wait_for
from inbox_util import bearer, create_ws


def register(c, w, url=None, mode="push"):
    """Register the workspace's agent: at `url` (push), or as a poll agent with no inbound address."""
    if url is None:
        url, mode = "remote://no-inbound", "poll"
    r = c.post("/registry/register", headers=bearer(w["auth_token"]),
               json={"id": w["id"], "url": url, "agent_card": {"name": "stub"}, "delivery_mode": mode})
    assert r.status_code == 200, r.text


def heartbeat(c, w, **fields):
    r = c.post("/registry/heartbeat", headers=bearer(w["auth_token"]), json={"workspace_id": w["id"], **fields})
    assert r.status_code == 200, r.text
    return r.json()


def pair(c, agent=None, child_mode="push"):
    """A manager (poll) and its report; the report is served by the agent stub when one is given."""
    boss = create_ws(c, delivery_mode="poll")
    child = create_ws(c, parent=boss, delivery_mode=child_mode)
    if agent is not None:
        register(c, child, agent.url, child_mode)
    return boss, child


def msg(text, message_id=None):
    m = {"role": "user", "parts": [{"kind": "text", "text": text}]}
    if message_id:
        m["messageId"] = message_id
    return {"jsonrpc": "2.0", "id": "req-1", "method": "message/send", "params": {"message": m}}


def send(c, frm, to, body, headers=None):
    """POST an A2A message from workspace `frm` (None: the admin, as the canvas) to `to`."""
    h = {"X-Workspace-ID": frm["id"], **bearer(frm["auth_token"])} if frm else dict(ADMIN)
    return requests.post(f"{c.url}/workspaces/{to['id']}/a2a", data=json.dumps(body),
                         headers={**h, "Content-Type": "application/json", **(headers or {})}, timeout=30)


def queue_rows(c, w):
    """(status, last_error) of the busy-queue rows of a workspace, oldest first, read behind colony's back."""
    return [tuple(r) for r in c.db.query(
        f"SELECT status, COALESCE(last_error, '') FROM a2a_queue WHERE workspace_id = '{w['id']}'"
        " ORDER BY enqueued_at, id")]


def queue_settled(c, w, timeout=30):
    """Wait until no message for `w` is queued or in flight; the rows then."""
    wait_for(lambda: all(s not in ("queued", "dispatched") for s, _ in queue_rows(c, w)), timeout=timeout)
    return queue_rows(c, w)


def status_of(c, w):
    return c.get(f"/workspaces/{w['id']}", headers=ADMIN).json()["status"]
