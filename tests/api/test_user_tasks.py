"""User tasks (inbox.md §4): an agent asks its user; exact shapes and errors, a resolution recorded once (also
under concurrency), forward-only statuses (model and schema), events, isolation, and workspace removal."""
import re
import sqlite3
import subprocess

import pytest
import requests

from conftest import ADMIN
from inbox_util import RFC3339_MS, bearer, create_ws, error, events, race, remove


def ask(c, w, **body):
    r = c.post(f"/workspaces/{w['id']}/user-tasks", headers=bearer(w["auth_token"]),
               json={"title": "give me the staging password", **body})
    assert r.status_code == 201, r.text
    return r.json()["user_task_id"]


def tasks(c, w):
    r = c.get(f"/workspaces/{w['id']}/user-tasks", headers=bearer(w["auth_token"]))
    assert r.status_code == 200, r.text
    return {t["id"]: t for t in r.json()}


def resolve(c, w, tid, headers=None, **body):
    return c.post(f"/workspaces/{w['id']}/user-tasks/{tid}/resolve", headers=headers or bearer(w["auth_token"]),
                  json={"status": "done", **body})


def patch(c, w, tid, headers=None, **body):
    return c.patch(f"/workspaces/{w['id']}/user-tasks/{tid}", headers=headers or bearer(w["auth_token"]), json=body)


def test_ask_list_and_its_event(server):
    w = create_ws(server)
    r = server.post(f"/workspaces/{w['id']}/user-tasks", headers=bearer(w["auth_token"]),
                    json={"title": "review PR 12", "detail": "the one about retries"})
    assert r.status_code == 201 and r.json() == {"user_task_id": r.json()["user_task_id"], "status": "pending"}
    tid = r.json()["user_task_id"]
    blank = ask(server, w, detail="")  # an empty detail is none
    got = tasks(server, w)
    assert got[tid] == {"id": tid, "title": "review PR 12", "detail": "the one about retries", "status": "pending",
                        "created_at": got[tid]["created_at"], "resolved_at": None, "resolved_by": None}
    assert re.match(RFC3339_MS, got[tid]["created_at"]) and got[blank]["detail"] is None
    assert events(server, w["id"], {"USER_TASK_REQUESTED"}) == [
        ("USER_TASK_REQUESTED", {"user_task_id": tid, "title": "review PR 12"}),
        ("USER_TASK_REQUESTED", {"user_task_id": blank, "title": "give me the staging password"})]


@pytest.mark.parametrize("body, message", [
    ({}, "invalid request body"),
    ({"title": ""}, "invalid request body"),
    ({"title": None}, "invalid request body"),
    ({"title": 1}, "invalid request body"),
    ({"title": "t", "detail": {"x": 1}}, "invalid request body"),
    ({"title": "t" * 1001}, "title is longer than 1000 bytes"),
    ({"title": "t", "detail": "d" * 65537}, "detail is longer than 65536 bytes"),
])
def test_bad_asks_are_400_and_write_nothing(server, body, message):
    w = create_ws(server)
    error(server.post(f"/workspaces/{w['id']}/user-tasks", headers=bearer(w["auth_token"]), json=body), 400, message)
    assert tasks(server, w) == {} and events(server, w["id"], {"USER_TASK_REQUESTED"}) == []


def test_unknown_removed_and_foreign_workspaces(server):
    error(server.post("/workspaces/00000000-0000-4000-8000-000000000000/user-tasks", headers=ADMIN,
                      json={"title": "t"}), 404, "workspace not found")
    gone = create_ws(server)
    remove(server, gone)
    error(server.post(f"/workspaces/{gone['id']}/user-tasks", headers=ADMIN, json={"title": "t"}), 404,
          "workspace not found")
    a, b = create_ws(server), create_ws(server)
    tid = ask(server, a)
    # b's token is not a token here; on b's own path a's task does not exist
    assert server.get(f"/workspaces/{a['id']}/user-tasks", headers=bearer(b["auth_token"])).status_code == 401
    assert tasks(server, b) == {}
    error(resolve(server, b, tid), 404, "user task not found or already resolved")
    error(patch(server, b, tid, title="mine now"), 404, "user task not found")
    error(server.delete(f"/workspaces/{b['id']}/user-tasks/{tid}", headers=bearer(b["auth_token"])), 404,
          "user task not found")
    for bad in ("00000000-0000-4000-8000-000000000000", "not-an-id"):
        error(resolve(server, a, bad), 404, "user task not found or already resolved")
        error(patch(server, a, bad, title="x"), 404, "user task not found")
    assert tasks(server, a)[tid]["title"] == "give me the staging password"


def test_resolve_once(server):
    w = create_ws(server)
    tid = ask(server, w)
    error(resolve(server, w, tid, status="pending"), 400, "status must be 'done' or 'dismissed'")
    error(resolve(server, w, tid, status=""), 400, "invalid request body")
    error(server.post(f"/workspaces/{w['id']}/user-tasks/{tid}/resolve", headers=ADMIN, json={}), 400,
          "invalid request body")
    error(resolve(server, w, tid, resolved_by="r" * 257), 400, "resolved_by is longer than 256 bytes")
    r = resolve(server, w, tid, headers=ADMIN, status="dismissed")
    assert r.status_code == 200 and r.json() == {"status": "dismissed", "user_task_id": tid}
    error(resolve(server, w, tid), 409, "user task not pending (already resolved)", "conflict")
    t = tasks(server, w)[tid]
    assert (t["status"], t["resolved_by"]) == ("dismissed", "human") and re.match(RFC3339_MS, t["resolved_at"])
    assert events(server, w["id"], {"USER_TASK_RESOLVED"}) == [
        ("USER_TASK_RESOLVED", {"user_task_id": tid, "status": "dismissed", "resolved_by": "human"})]


def test_twenty_concurrent_resolutions_one_wins(server):
    w = create_ws(server)
    tid = ask(server, w)
    got = race(20, lambda i: requests.post(f"{server.url}/workspaces/{w['id']}/user-tasks/{tid}/resolve",
                                           headers=ADMIN, json={"status": "done", "resolved_by": f"r{i}"}, timeout=30))
    assert sorted(r.status_code for r in got) == [200] + [409] * 19, [(r.status_code, r.text) for r in got]
    (win,) = [i for i, r in enumerate(got) if r.status_code == 200]
    assert tasks(server, w)[tid]["resolved_by"] == f"r{win}"
    assert len(events(server, w["id"], {"USER_TASK_RESOLVED"})) == 1


def test_patch_edits_resolves_forward_and_never_reopens(server):
    w = create_ws(server)
    tid = ask(server, w, detail="old")
    r = patch(server, w, tid, title="new title", detail="")
    assert r.status_code == 200 and r.json() == {"status": "updated", "user_task_id": tid}
    t = tasks(server, w)[tid]
    assert (t["title"], t["detail"], t["status"], t["resolved_at"]) == ("new title", None, "pending", None)
    assert patch(server, w, tid, title=None, status="pending").status_code == 200  # null keeps; same status stays
    error(patch(server, w, tid, status=""), 400, "status must be 'pending', 'done' or 'dismissed'")
    error(patch(server, w, tid, status="closed"), 400, "status must be 'pending', 'done' or 'dismissed'")
    error(patch(server, w, tid, title=""), 400, "title is required")
    error(patch(server, w, tid, title=3), 400, "invalid request body")
    # the agent marks it done: that is its resolution, with its time, resolver and event
    assert patch(server, w, tid, status="done").status_code == 200
    t = tasks(server, w)[tid]
    assert (t["status"], t["resolved_by"]) == ("done", "agent") and re.match(RFC3339_MS, t["resolved_at"])
    assert events(server, w["id"], {"USER_TASK_RESOLVED"}) == [
        ("USER_TASK_RESOLVED", {"user_task_id": tid, "status": "done", "resolved_by": "agent"})]
    error(patch(server, w, tid, status="pending"), 400,
          "user task is 'done', which is final: its status cannot become 'pending'")
    error(patch(server, w, tid, status="dismissed"), 400,
          "user task is 'done', which is final: its status cannot become 'dismissed'")
    assert patch(server, w, tid, title="still editable").status_code == 200
    assert tasks(server, w)[tid]["status"] == "done"
    error(resolve(server, w, tid), 409, "user task not pending (already resolved)")


def test_the_schema_refuses_reopening(server):
    w = create_ws(server)
    tid = ask(server, w)
    with pytest.raises((subprocess.CalledProcessError, sqlite3.DatabaseError)):
        server.db.execute(f"UPDATE user_tasks SET status = 'done' WHERE id = '{tid}'")  # no resolution time
    assert resolve(server, w, tid).status_code == 200
    for sql in (f"UPDATE user_tasks SET status = 'pending', resolved_at = NULL WHERE id = '{tid}'",
                f"UPDATE user_tasks SET status = 'dismissed' WHERE id = '{tid}'",
                f"UPDATE user_tasks SET resolved_by = 'mallory' WHERE id = '{tid}'"):
        with pytest.raises((subprocess.CalledProcessError, sqlite3.DatabaseError)):
            server.db.execute(sql)
    assert tasks(server, w)[tid]["status"] == "done"


def test_delete(server):
    w = create_ws(server)
    tid = ask(server, w)
    r = server.delete(f"/workspaces/{w['id']}/user-tasks/{tid}", headers=bearer(w["auth_token"]))
    assert r.status_code == 200 and r.json() == {"status": "deleted", "user_task_id": tid}
    error(server.delete(f"/workspaces/{w['id']}/user-tasks/{tid}", headers=bearer(w["auth_token"])), 404,
          "user task not found")
    assert tasks(server, w) == {}


def test_pending_view_for_operators(server):
    w = create_ws(server)
    tid, done = ask(server, w, detail="d"), ask(server, w)
    assert resolve(server, w, done).status_code == 200
    error(server.get("/user-tasks/pending", headers=bearer(w["auth_token"])), 403, "admin access required")
    mine = [t for t in server.get("/user-tasks/pending", headers=ADMIN).json() if t["workspace_id"] == w["id"]]
    assert mine == [{"id": tid, "workspace_id": w["id"], "workspace_name": w["name"], "title":
                     "give me the staging password", "detail": "d", "status": "pending",
                     "created_at": mine[0]["created_at"]}]


def test_removal_dismisses_pending_tasks_and_purge_deletes_them(server):
    w = create_ws(server)
    tid, done = ask(server, w), ask(server, w)
    assert resolve(server, w, done).status_code == 200
    remove(server, w)
    assert server.db.query(f"SELECT id, status, resolved_by FROM user_tasks WHERE workspace_id = '{w['id']}'"
                           f" ORDER BY status") == [[tid, "dismissed", "workspace_removed"], [done, "done", "human"]]
    assert ("USER_TASK_RESOLVED", {"user_task_id": tid, "status": "dismissed", "resolved_by": "workspace_removed"}
            ) in events(server, w["id"])
    assert tid not in [t["id"] for t in server.get("/user-tasks/pending", headers=ADMIN).json()]
    remove(server, w, purge=True)
    assert server.db.query(f"SELECT count(*) FROM user_tasks WHERE workspace_id = '{w['id']}'") == [["0"]]
