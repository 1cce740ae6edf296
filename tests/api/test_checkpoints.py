"""Workflow checkpoints (surface.md §2, data.md §4.5): write (an upsert per step), latest, a workflow's steps, delete;
exact shapes and errors, the literal `latest` before a workflow id, workspace isolation, nothing written on
refusal."""
import json
import re
import urllib.parse

import pytest

from conftest import ADMIN
from inbox_util import RFC3339_MS, bearer, create_ws, error, race, remove


def put(c, w, body, headers=None):
    return c.post(f"/workspaces/{w['id']}/checkpoints", headers=headers or bearer(w["auth_token"]),
                  data=body if isinstance(body, str) else json.dumps(body))


def step(c, w, workflow, name, index=0, **extra):
    r = put(c, w, {"workflow_id": workflow, "step_name": name, "step_index": index, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def get(c, w, path, headers=None):
    return c.get(f"/workspaces/{w['id']}/checkpoints/{path}", headers=headers or bearer(w["auth_token"]))


def count(c, w):
    return int(c.db.query(f"SELECT count(*) FROM workflow_checkpoints WHERE workspace_id = '{w['id']}'")[0][0])


def test_a_step_is_written_read_back_and_rewritten_in_place(server):
    w = create_ws(server)
    r = put(server, w, {"workflow_id": "wf-1", "step_name": "fetch", "step_index": 2, "payload": {"rows": [1, 2]}})
    assert r.status_code == 201
    created = r.json()
    assert set(created) == {"id", "workspace_id", "workflow_id", "step_name"}
    assert (created["workspace_id"], created["workflow_id"], created["step_name"]) == (w["id"], "wf-1", "fetch")
    latest = get(server, w, "latest").json()
    assert latest == {"id": created["id"], "workspace_id": w["id"], "workflow_id": "wf-1", "step_name": "fetch",
                      "step_index": 2, "completed_at": latest["completed_at"], "payload": {"rows": [1, 2]}}
    assert re.match(RFC3339_MS, latest["completed_at"])
    # the same step again replaces index, payload and time, and keeps its id
    again = step(server, w, "wf-1", "fetch", 5, payload="done")
    assert again["id"] == created["id"]
    latest2 = get(server, w, "latest").json()
    assert (latest2["step_index"], latest2["payload"]) == (5, "done")
    assert latest2["completed_at"] >= latest["completed_at"]
    assert count(server, w) == 1


@pytest.mark.parametrize("extra,stored", [({}, None), ({"payload": None}, None), ({"payload": [1, "a"]}, [1, "a"]),
                                          ({"payload": 0}, 0), ({"payload": ""}, "")])
def test_the_payload_is_any_json_and_absent_means_null(server, extra, stored):
    w = create_ws(server)
    step(server, w, "wf", "s", **extra)
    body = get(server, w, "latest").json()
    assert "payload" in body and body["payload"] == stored and body["step_index"] == 0


def test_steps_of_a_workflow_newest_index_first_and_paged(server):
    w = create_ws(server)
    for i, name in ((1, "a"), (3, "c"), (2, "b1"), (2, "b0")):
        step(server, w, "wf", name, i)
    step(server, w, "other", "x", 9)
    r = get(server, w, "wf")
    assert r.status_code == 200
    assert [(s["step_index"], s["step_name"]) for s in r.json()] == [(3, "c"), (2, "b0"), (2, "b1"), (1, "a")]
    assert all(set(s) == {"id", "workspace_id", "workflow_id", "step_name", "step_index", "completed_at", "payload"}
               and s["workflow_id"] == "wf" for s in r.json())
    seen, cursor = [], None
    while True:
        r = get(server, w, "wf?limit=1" + (f"&cursor={cursor}" if cursor else ""))
        assert r.status_code == 200 and len(r.json()) == 1
        seen.append(r.json()[0]["step_name"])
        cursor = r.headers.get("X-Next-Cursor")
        if cursor is None:
            break
    assert seen == ["c", "b0", "b1", "a"]
    error(get(server, w, "wf?limit=0"), 400, "limit must be an integer from 1 to 1000")
    error(get(server, w, "wf?cursor=zzz"), 400, "cursor is not one this list gave (pass back X-Next-Cursor as it came)")


def test_latest_is_the_literal_route_not_a_workflow_named_latest(server):
    w = create_ws(server)
    step(server, w, "latest", "old", 1)
    step(server, w, "wf", "new", 7)
    assert get(server, w, "latest").json()["step_name"] == "new"
    # a workflow with an awkward id is reached percent-encoded
    step(server, w, "deploy/prod ✓", "one", 0)
    r = get(server, w, urllib.parse.quote("deploy/prod ✓", safe=""))
    assert r.status_code == 200 and [s["step_name"] for s in r.json()] == ["one"]


def test_delete_removes_a_workflows_steps_only(server):
    w = create_ws(server)
    step(server, w, "wf", "a")
    step(server, w, "wf", "b", 1)
    step(server, w, "keep", "k")
    r = server.delete(f"/workspaces/{w['id']}/checkpoints/wf", headers=bearer(w["auth_token"]))
    assert r.status_code == 200 and r.json() == {"deleted": 2, "workflow_id": "wf"}
    error(server.delete(f"/workspaces/{w['id']}/checkpoints/wf", headers=bearer(w["auth_token"])), 404,
          "no checkpoints found for workflow")
    error(get(server, w, "wf"), 404, "no checkpoints found for workflow")
    assert count(server, w) == 1


def test_nothing_yet_is_404(server):
    w = create_ws(server)
    error(get(server, w, "latest"), 404, "no checkpoints found for workspace")
    error(get(server, w, "wf"), 404, "no checkpoints found for workflow")
    error(get(server, w, "x" * 300), 404, "no checkpoints found for workflow")


@pytest.mark.parametrize("body", [
    "{broken", "", "[]",
    {"step_name": "s"}, {"workflow_id": "wf"}, {"workflow_id": "", "step_name": "s"},
    {"workflow_id": "wf", "step_name": ""}, {"workflow_id": 1, "step_name": "s"},
    {"workflow_id": "wf", "step_name": "s", "step_index": "1"},
    {"workflow_id": "wf", "step_name": "s", "step_index": 1.5},
])
def test_bad_bodies_are_400_invalid_request_body_and_write_nothing(server, body):
    w = create_ws(server)
    error(put(server, w, body), 400, "invalid request body")
    assert count(server, w) == 0


@pytest.mark.parametrize("body,message", [
    ({"workflow_id": "w" * 257, "step_name": "s"}, "workflow_id and step_name must be at most 256 bytes"),
    ({"workflow_id": "wf", "step_name": "s" * 257}, "workflow_id and step_name must be at most 256 bytes"),
    ({"workflow_id": "wf", "step_name": "s", "step_index": 2 ** 31},
     "step_index must be an integer from -2147483648 to 2147483647"),
    ({"workflow_id": "wf", "step_name": "s", "payload": "x" * (256 * 1024)},
     "payload must be at most 262144 bytes of JSON"),
])
def test_bounds(server, body, message):
    w = create_ws(server)
    error(put(server, w, body), 400, message)
    assert count(server, w) == 0


def test_access_and_isolation(server):
    w, other = create_ws(server), create_ws(server)
    step(server, w, "wf", "mine")
    path = f"/workspaces/{w['id']}/checkpoints"
    error(server.post(path, json={"workflow_id": "wf", "step_name": "s"}), 401, "missing workspace auth token")
    error(server.post(path, json={"workflow_id": "wf", "step_name": "s"}, headers=bearer(other["auth_token"])), 401,
          "invalid workspace auth token")
    error(server.get(path + "/latest", headers=bearer(other["auth_token"])), 401, "invalid workspace auth token")
    error(server.get(path + "/wf", headers=bearer(other["auth_token"])), 401, "invalid workspace auth token")
    error(server.delete(path + "/wf", headers=bearer(other["auth_token"])), 401, "invalid workspace auth token")
    error(server.get(path + "/wf"), 401, "missing workspace auth token")
    assert count(server, w) == 1
    # another workspace's checkpoints are not its own
    error(get(server, other, "latest"), 404, "no checkpoints found for workspace")
    error(get(server, other, "wf"), 404, "no checkpoints found for workflow")
    assert get(server, w, "latest", headers=ADMIN).status_code == 200
    error(put(server, {"id": "00000000-0000-4000-8000-000000000000"}, {"workflow_id": "a", "step_name": "b"},
              headers=ADMIN), 404, "workspace not found")
    error(server.post("/workspaces/nope/checkpoints", headers=ADMIN, json={}), 400, "invalid workspace ID")
    remove(server, w)
    error(put(server, w, {"workflow_id": "wf", "step_name": "late"}, headers=ADMIN), 404, "workspace not found")


def test_concurrent_writes_of_one_step_converge_on_one_row(server):
    w = create_ws(server)
    ids = race(12, lambda i: step(server, w, "wf", "same", i)["id"])
    assert len(set(ids)) == 1 and count(server, w) == 1
