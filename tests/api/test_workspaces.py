"""Workspaces, the org tree, the one resolver, tokens and auth (issue: workspaces.md §1-§3, §5)."""
import concurrent.futures
import json
import uuid

import pytest
import requests

from conftest import ADMIN

MODEL = {"model": "sonnet"}


def create(c, headers=ADMIN, **fields):
    body = {"name": "ws-" + uuid.uuid4().hex[:8], **MODEL, **fields}
    return c.post("/workspaces", json=body, headers=headers)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def live_count(c):
    return len(c.get("/workspaces", headers=ADMIN).json())


# ---- create -------------------------------------------------------------------------------------------------

def test_create_returns_201_with_a_token_that_opens_only_that_workspace(server):
    r = create(server, name="PM", role="Product manager", tier=2)
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == {"id", "status", "workspace_access", "external", "auth_token"}
    assert uuid.UUID(body["id"]).version == 4
    assert body["status"] == "awaiting_agent"
    assert body["external"] is False and body["workspace_access"] == "none"
    assert len(body["auth_token"]) == 43
    ws = server.get(f"/workspaces/{body['id']}").json()
    assert ws["name"] == "PM" and ws["role"] == "Product manager" and ws["tier"] == 2
    assert ws["parent_id"] is None and ws["kind"] == "workspace" and ws["runtime"] == "claude-code"
    assert ws["status"] == "awaiting_agent" and ws["last_heartbeat_at"] is None
    assert (ws["x"], ws["y"], ws["collapsed"]) == (0, 0, False)
    own = server.get(f"/workspaces/{body['id']}/state", headers=bearer(body["auth_token"]))
    assert own.json() == {"workspace_id": body["id"], "status": "awaiting_agent", "paused": False, "deleted": False}


def test_defaults_tier_3_and_runtime_external_needs_no_model(server):
    r = server.post("/workspaces", json={"name": "ext-" + uuid.uuid4().hex[:6], "external": True}, headers=ADMIN)
    assert r.status_code == 201
    ws = server.get(f"/workspaces/{r.json()['id']}").json()
    assert ws["tier"] == 3 and ws["runtime"] == "external" and r.json()["external"] is True


@pytest.mark.parametrize("body, status, message", [
    ({"role": "x"}, 400, "invalid workspace payload: name is required"),
    ({"name": "   "}, 400, "invalid workspace fields: name is required"),
    ({"name": "bad\nname"}, 400, "invalid workspace fields: name must not contain CR or LF"),
    ({"name": "ok", "role": "a\rb"}, 400, "invalid workspace fields: role must not contain CR or LF"),
    ({"name": "a{b}"}, 400, "invalid workspace fields: name must not contain any of { } [ ] | > * & !"),
    ({"name": "n" * 256}, 400, "invalid workspace fields: name must be at most 255 bytes"),
    ({"name": "ok", "role": "r" * 1001}, 400, "invalid workspace fields: role must be at most 1000 bytes"),
    ({"name": 42}, 400, "invalid workspace payload: name must be a string"),
    ({"name": "ok", "tier": 5}, 400, "tier must be between 1 and 4"),
    ({"name": "ok", "tier": -1}, 400, "tier must be between 1 and 4"),
    ({"name": "ok", "tier": "3"}, 400, "invalid workspace payload: tier must be an integer"),
    ({"name": "ok", "max_concurrent_tasks": 2 ** 31}, 400,
     "invalid workspace payload: max_concurrent_tasks must be an integer from -2147483648 to 2147483647"),
    ({"name": "ok", "delivery_mode": "PUSH"}, 400, "invalid delivery_mode: must be push or poll"),
    ({"name": "ok", "parent_id": "not-a-uuid"}, 400, "invalid workspace payload: parent_id must be a UUID"),
    ({"name": "ok", "id": "nope"}, 400, "invalid workspace payload: id must be a UUID"),
    ({"name": "ok", "workspace_dir": "/etc/agents"}, 400, "invalid workspace directory"),
    ({"name": "ok", "workspace_dir": "relative"}, 400, "invalid workspace directory"),
    ({"name": "ok", "workspace_access": "read_only"}, 400, "invalid workspace access"),
    ({"name": "ok", "url": "http://169.254.0.5:8000"}, 400,
     "unsafe workspace URL: address 169.254.0.5 is in a blocked range (link-local)"),
    ({"name": "ok", "url": "ftp://example.com"}, 400, "unsafe workspace URL: unsupported scheme (http or https only)"),
])
def test_bad_create_input_is_a_4xx_and_writes_nothing(server, body, status, message):
    before = live_count(server)
    if "model" not in body:
        body = {**body, **MODEL}
    r = server.post("/workspaces", json=body, headers=ADMIN)
    assert r.status_code == status, r.text
    assert r.json()["error"] == message
    assert live_count(server) == before


def test_runtime_and_model_rules_are_422(server):
    r = server.post("/workspaces", json={"name": "r1", "runtime": "nonesuch", **MODEL}, headers=ADMIN)
    assert r.status_code == 422
    assert r.json() == {"error": "unsupported runtime", "code": "RUNTIME_UNSUPPORTED", "runtime": "nonesuch"}
    r = server.post("/workspaces", json={"name": "r2", "runtime": "langgraph"}, headers=ADMIN)
    assert r.status_code == 422 and r.json()["code"] == "MODEL_REQUIRED"
    r = server.post("/workspaces", json={"name": "r3", "runtime": "claude-code", "external": True}, headers=ADMIN)
    assert r.status_code == 422 and r.json()["code"] == "RUNTIME_UNSUPPORTED"


def test_invalid_json_and_utf8_write_nothing(server):
    before = live_count(server)
    for raw in (b'{"name": "x"', b'{"name": "\xff", "model": "m"}', b'{"name": "a", "name": "b", "model": "m"}'):
        r = server.post("/workspaces", data=raw, headers=ADMIN)
        assert r.status_code == 400 and r.json()["code"] == "invalid_json"
    assert live_count(server) == before


def test_unknown_parent_is_404(server):
    r = create(server, parent_id=str(uuid.uuid4()))
    assert r.status_code == 404
    assert r.json() == {"error": "parent workspace not found", "code": "not_found"}


# ---- the resolver -------------------------------------------------------------------------------------------

def test_duplicate_live_sibling_is_409_with_the_existing_id(server):
    root = create(server).json()["id"]
    first = create(server, name="Dev", parent_id=root)
    assert first.status_code == 201
    again = create(server, name="Dev", parent_id=root)
    assert again.status_code == 409
    assert again.json() == {"error": "workspace name already in use", "code": "conflict", "id": first.json()["id"]}
    other_root = create(server).json()["id"]
    assert create(server, name="Dev", parent_id=other_root).status_code == 201  # other parent: fine


def test_roots_collide_with_each_other(server):
    name = "root-" + uuid.uuid4().hex[:6]
    a = create(server, name=name)
    b = create(server, name=name)
    assert a.status_code == 201 and b.status_code == 409 and b.json()["id"] == a.json()["id"]


def test_retried_create_with_client_id_converges(server):
    wid = str(uuid.uuid4())
    first = create(server, id=wid, name="Retry")
    assert first.status_code == 201 and first.json()["id"] == wid
    again = create(server, id=wid, name="Retry")
    assert again.status_code == 200
    assert again.json() == {"id": wid, "status": "awaiting_agent", "workspace_access": "none", "external": False,
                            "existing": True}
    moved = create(server, id=wid, name="Renamed")
    assert moved.status_code == 409 and moved.json()["id"] == wid
    taken = create(server, id=str(uuid.uuid4()), name="Retry")
    assert taken.status_code == 409 and taken.json()["id"] == wid


def test_fifty_concurrent_creates_leave_one_row(server):
    root = create(server).json()["id"]

    def post(_):
        return requests.post(server.url + "/workspaces", headers=ADMIN, timeout=60,
                             json={"name": "Racer", "parent_id": root, **MODEL})

    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(post, range(50)))
    codes = sorted(r.status_code for r in responses)
    assert codes.count(201) == 1 and codes.count(409) == 49, codes
    winner = next(r.json()["id"] for r in responses if r.status_code == 201)
    assert all(r.json()["id"] == winner for r in responses if r.status_code == 409)
    rows = server.db.query(f"SELECT count(*) FROM workspaces WHERE parent_id = '{root}' AND name = 'Racer'")
    assert rows == [["1"]]


def test_fifty_concurrent_retries_with_one_client_id(server):
    wid = str(uuid.uuid4())

    def post(_):
        return requests.post(server.url + "/workspaces", headers=ADMIN, timeout=60,
                             json={"id": wid, "name": "Same-" + wid[:8], **MODEL})

    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        codes = sorted(r.status_code for r in pool.map(post, range(50)))
    assert codes.count(201) == 1 and codes.count(200) == 49, codes
    assert server.db.query(f"SELECT count(*) FROM workspaces WHERE id = '{wid}'") == [["1"]]


def test_a_removed_name_can_be_reused(server):
    a = create(server, name="Phoenix").json()["id"]
    assert server.delete(f"/workspaces/{a}", headers={**ADMIN, "X-Confirm-Name": "Phoenix"}).status_code == 200
    b = create(server, name="Phoenix")
    assert b.status_code == 201 and b.json()["id"] != a


# ---- reads --------------------------------------------------------------------------------------------------

def test_list_is_admin_only_and_hides_removed(server):
    ws = create(server).json()
    assert server.get("/workspaces").status_code == 401
    assert server.get("/workspaces", headers=bearer(ws["auth_token"])).status_code == 403
    assert server.get("/workspaces", headers=bearer("nope")).json() == {"error": "invalid admin auth token",
                                                                         "code": "unauthorized"}
    listed = {w["id"]: w for w in server.get("/workspaces", headers=ADMIN).json()}
    assert ws["id"] in listed
    for key in ("id", "name", "role", "tier", "status", "kind", "agent_card", "url", "parent_id", "active_tasks",
                "max_concurrent_tasks", "last_error_rate", "last_sample_error", "uptime_seconds", "current_task",
                "runtime", "workspace_dir", "budget_limit", "monthly_spend", "x", "y", "collapsed",
                "broadcast_enabled", "talk_to_user_enabled", "compute"):
        assert key in listed[ws["id"]], key


def test_get_errors(server):
    assert server.get("/workspaces/not-a-uuid").json() == {"error": "invalid workspace ID", "code": "invalid_request"}
    missing = server.get(f"/workspaces/{uuid.uuid4()}")
    assert missing.status_code == 404 and missing.json() == {"error": "workspace not found", "code": "not_found"}


# ---- patch --------------------------------------------------------------------------------------------------

def test_patch_updates_fields_and_layout(server):
    ws = create(server).json()
    r = server.patch(f"/workspaces/{ws['id']}", headers=bearer(ws["auth_token"]),
                     json={"name": "Renamed", "role": "QA", "tier": 1, "x": 10.5, "y": -3, "collapsed": True})
    assert r.status_code == 200 and r.json() == {"status": "updated"}
    got = server.get(f"/workspaces/{ws['id']}").json()
    assert (got["name"], got["role"], got["tier"], got["x"], got["y"], got["collapsed"]) == \
        ("Renamed", "QA", 1, 10.5, -3, True)
    r = server.patch(f"/workspaces/{ws['id']}", headers=ADMIN, json={"runtime": "codex"})
    assert r.json() == {"status": "updated", "needs_restart": True}


def test_patch_refuses_cycles_and_self_parenting(server):
    a = create(server).json()["id"]
    b = create(server, parent_id=a).json()["id"]
    c = create(server, parent_id=b).json()["id"]
    r = server.patch(f"/workspaces/{a}", headers=ADMIN, json={"parent_id": c})
    assert r.status_code == 400 and r.json()["error"] == "parent change would create a cycle"
    r = server.patch(f"/workspaces/{a}", headers=ADMIN, json={"parent_id": a})
    assert r.status_code == 400 and r.json()["error"] == "a workspace cannot be its own parent"
    assert server.get(f"/workspaces/{a}").json()["parent_id"] is None
    r = server.patch(f"/workspaces/{c}", headers=ADMIN, json={"parent_id": None})
    assert r.status_code == 200 and server.get(f"/workspaces/{c}").json()["parent_id"] is None


def test_patch_name_clash_is_409_and_changes_nothing(server):
    root = create(server).json()["id"]
    a = create(server, name="One", parent_id=root).json()["id"]
    b = create(server, name="Two", parent_id=root).json()["id"]
    r = server.patch(f"/workspaces/{b}", headers=ADMIN, json={"name": "One", "role": "changed"})
    assert r.status_code == 409 and r.json()["id"] == a
    got = server.get(f"/workspaces/{b}").json()
    assert got["name"] == "Two" and got["role"] is None


def test_patch_of_removed_or_unknown_is_404_and_bad_input_400(server):
    ws = create(server).json()
    assert server.patch(f"/workspaces/{uuid.uuid4()}", headers=ADMIN, json={"name": "x"}).status_code == 404
    assert server.patch(f"/workspaces/{ws['id']}", headers=ADMIN, json={"tier": 9}).status_code == 400
    assert server.patch(f"/workspaces/{ws['id']}", headers=ADMIN, json={"name": "a|b"}).status_code == 400
    server.delete(f"/workspaces/{ws['id']}", headers={**ADMIN, "X-Confirm-Name": server.get(
        f"/workspaces/{ws['id']}").json()["name"]})
    r = server.patch(f"/workspaces/{ws['id']}", headers=ADMIN, json={"name": "zombie"})
    assert r.status_code == 404 and r.json()["error"] == "workspace not found"


def parent_of(c, wid):
    return c.get(f"/workspaces/{wid}").json()["parent_id"]


def test_a_workspace_token_cannot_move_its_workspace(server):
    """Moving a workspace moves what it may read (its team's and org's memories follow the tree), so a workspace's
    own token may not re-parent it, into another org nor out of its own (null: a root of its own); both 403."""
    r1 = create(server).json()
    a = create(server, parent_id=r1["id"]).json()
    r2 = create(server).json()
    b = create(server, parent_id=r2["id"]).json()
    for target in (b["id"], r2["id"], None):
        r = server.patch(f"/workspaces/{a['id']}", headers=bearer(a["auth_token"]),
                         json={"parent_id": target, "name": "renamed"})
        assert (r.status_code, r.json()) == (403, {
            "error": "only an operator (admin or org token) may change a workspace's parent",
            "code": "forbidden"}), target
    got = server.get(f"/workspaces/{a['id']}").json()
    assert got["parent_id"] == r1["id"] and got["name"] != "renamed"
    # naming the parent it already has is no move; the other fields still apply
    r = server.patch(f"/workspaces/{a['id']}", headers=bearer(a["auth_token"]),
                     json={"parent_id": r1["id"], "role": "stays"})
    assert r.status_code == 200 and server.get(f"/workspaces/{a['id']}").json()["role"] == "stays"
    assert server.patch(f"/workspaces/{r1['id']}", headers=bearer(r1["auth_token"]),
                        json={"parent_id": None}).status_code == 200
    # the root's own token cannot move its org under another one either
    r = server.patch(f"/workspaces/{r1['id']}", headers=bearer(r1["auth_token"]), json={"parent_id": b["id"]})
    assert r.status_code == 403 and parent_of(server, r1["id"]) is None


def test_an_anchored_org_token_moves_only_within_its_org(server):
    r1 = create(server).json()["id"]
    a, a2 = (create(server, parent_id=r1).json()["id"] for _ in range(2))
    r2 = create(server).json()["id"]
    b = create(server, parent_id=r2).json()["id"]
    tok = server.post("/org/tokens", headers=ADMIN, json={"name": "anchored"}).json()
    server.db.execute(f"UPDATE org_api_tokens SET org_id = '{r1}' WHERE id = '{tok['id']}'")
    org = bearer(tok["auth_token"])
    denied = {"error": "an org token may move workspaces only within its own org", "code": "forbidden"}
    for wid, target in ((a, b), (a, r2), (a, None), (r1, b), (b, a), (b, r1), (b, None)):
        r = server.patch(f"/workspaces/{wid}", headers=org, json={"parent_id": target})
        assert (r.status_code, r.json()) == (403, denied), (wid, target)
    assert (parent_of(server, a), parent_of(server, r1), parent_of(server, b)) == (r1, None, r2)
    r = server.patch(f"/workspaces/{a}", headers=org, json={"parent_id": a2})
    assert r.status_code == 200 and parent_of(server, a) == a2
    # an unanchored org token is a full operator, as the admin token
    free = bearer(server.post("/org/tokens", headers=ADMIN, json={"name": "free"}).json()["auth_token"])
    assert server.patch(f"/workspaces/{a}", headers=free, json={"parent_id": b}).status_code == 200
    assert server.patch(f"/workspaces/{a}", headers=ADMIN, json={"parent_id": None}).status_code == 200
    assert parent_of(server, a) is None


# ---- auth -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("header", ["", "xyz", "bearer x", "Bearer ", "Basic abc"])
def test_malformed_bearer_is_missing(server, header):
    ws = create(server).json()
    r = server.get(f"/workspaces/{ws['id']}/state", headers={"Authorization": header})
    assert r.status_code == 401 and r.json()["error"] == "missing workspace auth token"


def test_token_of_a_is_refused_on_b(server):
    a = create(server).json()
    b = create(server).json()
    r = server.patch(f"/workspaces/{b['id']}", headers=bearer(a["auth_token"]), json={"name": "hijack"})
    assert r.status_code == 401  # as the reference: no hint that the token is valid somewhere else
    assert r.json() == {"error": "invalid workspace auth token", "code": "unauthorized"}
    assert server.get(f"/workspaces/{b['id']}/tokens", headers=bearer(a["auth_token"])).status_code == 401
    assert server.get(f"/workspaces/{a['id']}/state",
                      headers={"Authorization": f"Bearer   {a['auth_token']}  "}).status_code == 200
    assert server.get(f"/workspaces/{b['id']}").json()["name"] != "hijack"


def test_workspace_tokens_mint_list_revoke(server):
    ws = create(server).json()
    own = bearer(ws["auth_token"])
    minted = server.post(f"/workspaces/{ws['id']}/tokens", headers=own)
    assert minted.status_code == 201
    m = minted.json()
    assert m["workspace_id"] == ws["id"] and len(m["auth_token"]) == 43
    listed = server.get(f"/workspaces/{ws['id']}/tokens", headers=own).json()
    assert listed["count"] == 2
    assert {t["prefix"] for t in listed["tokens"]} == {ws["auth_token"][:8], m["auth_token"][:8]}
    assert all(set(t) == {"id", "prefix", "kind", "created_at", "last_used_at"} for t in listed["tokens"])
    assert "auth_token" not in json.dumps(listed)
    r = server.delete(f"/workspaces/{ws['id']}/tokens/{m['id']}", headers=own)
    assert r.json() == {"status": "revoked"}
    assert server.get(f"/workspaces/{ws['id']}/state", headers=bearer(m["auth_token"])).status_code == 401
    again = server.delete(f"/workspaces/{ws['id']}/tokens/{m['id']}", headers=own)
    assert again.status_code == 404 and again.json()["error"] == "token not found or already revoked"
    assert server.get(f"/workspaces/{ws['id']}/tokens?limit=0", headers=own).status_code == 400


def test_admin_token_routes(server):
    ws = create(server).json()
    minted = server.post(f"/admin/workspaces/{ws['id']}/tokens", headers=ADMIN)
    assert minted.status_code == 201
    assert server.post(f"/admin/workspaces/{uuid.uuid4()}/tokens", headers=ADMIN).status_code == 404
    r = server.post(f"/admin/workspaces/{ws['id']}/revoke-auth-tokens", headers=ADMIN)
    assert r.json() == {"status": "revoked", "workspace_id": ws["id"]}
    for t in (ws["auth_token"], minted.json()["auth_token"]):
        assert server.get(f"/workspaces/{ws['id']}/state", headers=bearer(t)).status_code == 401


def test_org_tokens_are_admins_until_revoked(server):
    r = server.post("/org/tokens", headers=ADMIN, json={"name": "ci"})
    assert r.status_code == 200
    t = r.json()
    assert set(t) == {"id", "prefix", "name", "auth_token", "warning"} and t["prefix"] == t["auth_token"][:8]
    assert server.get("/workspaces", headers=bearer(t["auth_token"])).status_code == 200
    listed = server.get("/org/tokens", headers=ADMIN).json()
    assert any(x["id"] == t["id"] and x["name"] == "ci" and x["created_by"] == "admin-token" for x in listed["tokens"])
    assert server.delete(f"/org/tokens/{t['id']}", headers=ADMIN).json() == {"revoked": t["id"]}
    assert server.get("/workspaces", headers=bearer(t["auth_token"])).status_code == 401
    assert server.delete(f"/org/tokens/{t['id']}", headers=ADMIN).status_code == 404
    assert server.post("/org/tokens", headers=ADMIN, json={"name": "n" * 101}).status_code == 400
    past = server.post("/org/tokens", headers=ADMIN, json={"name": "old", "expires_at": "2001-01-01T00:00:00Z"})
    assert past.status_code == 400


def test_viewport_save_needs_a_bearer(server):
    assert server.put("/canvas/viewport", json={"x": 1, "y": 1, "zoom": 1}).status_code == 401
    ws = create(server).json()
    assert server.put("/canvas/viewport", json={"x": 1, "y": 1, "zoom": 1},
                      headers=bearer(ws["auth_token"])).status_code == 200


# ---- delete -------------------------------------------------------------------------------------------------

def test_delete_needs_the_name_and_confirmation_for_children(server):
    root = create(server, name="Parent").json()["id"]
    kid = create(server, name="Kid", parent_id=root).json()["id"]
    r = server.delete(f"/workspaces/{root}", headers=ADMIN)
    assert r.status_code == 400
    assert r.json() == {"error": "destructive_action_requires_confirmation",
                        "code": "destructive_action_requires_confirmation",
                        "hint": "repeat the request with header X-Confirm-Name set to the workspace's name",
                        "workspace_name": "Parent", "active_tasks": 0, "child_count": 1, "schedule_count": 0}
    r = server.delete(f"/workspaces/{root}", headers={**ADMIN, "X-Confirm-Name": "Parent"})
    assert r.status_code == 409
    body = r.json()
    assert body["status"] == "confirmation_required" and body["children_count"] == 1
    assert body["children"] == [{"id": kid, "name": "Kid"}]
    assert server.get(f"/workspaces/{kid}").json()["status"] == "awaiting_agent"


def test_the_children_a_delete_names_are_bounded_and_counted(server):
    """A flat org's root can have thousands of children: the 409 names the first 100 by creation, and counts all."""
    root = server.post("/org/import", headers=ADMIN, json={"template": {
        "name": "wide", "defaults": {"model": "m"},
        "workspaces": [{"name": "Wide", "children": [{"name": f"k{i:03}"} for i in range(103)]}]}}).json()
    root_id = next(w["id"] for w in server.get("/workspaces", headers=ADMIN).json() if w["name"] == "Wide")
    r = server.delete(f"/workspaces/{root_id}", headers={**ADMIN, "X-Confirm-Name": "Wide"})
    assert r.status_code == 409
    body = r.json()
    assert body["children_count"] == 103
    names = [k["name"] for k in body["children"]]  # one import: creation times tie, so no order is asserted
    assert len(names) == 100 and len(set(names)) == 100 and set(names) <= {f"k{i:03}" for i in range(103)}


def test_delete_cascades_revokes_and_records_events(server):
    root = create(server, name="Top").json()
    kid = create(server, name="Mid", parent_id=root["id"]).json()
    leaf = create(server, name="Leaf", parent_id=kid["id"]).json()
    r = server.delete(f"/workspaces/{root['id']}?confirm=true", headers={**ADMIN, "X-Confirm-Name": "Top"})
    assert r.status_code == 200 and r.json() == {"status": "removed", "cascade_deleted": 2}
    for ws in (root, kid, leaf):
        gone = server.get(f"/workspaces/{ws['id']}")
        assert gone.status_code == 410 and gone.json()["error"] == "workspace removed"
        assert server.get(f"/workspaces/{ws['id']}?include_removed=true", headers=ADMIN).json()["status"] == "removed"
        assert server.get(f"/workspaces/{ws['id']}/state", headers=bearer(ws["auth_token"])).status_code == 401
    again = server.delete(f"/workspaces/{root['id']}", headers={**ADMIN, "X-Confirm-Name": "Top"})
    assert again.status_code == 410
    ids = "','".join(w["id"] for w in (root, kid, leaf))
    rows = server.db.query(f"SELECT type, workspace_id, payload FROM events WHERE workspace_id IN ('{ids}') "
                           f"ORDER BY id")
    assert [r[0] for r in rows] == ["WORKSPACE_AWAITING_AGENT"] * 3 + ["WORKSPACE_REMOVED"] * 3
    assert rows[-1][1:] == [root["id"], '{"cascade_deleted":2}']
    assert json.loads(rows[0][2]) == {"name": "Top", "tier": 3, "runtime": "claude-code"}


def test_purge_deletes_the_rows(server):
    ws = create(server, name="Temp").json()
    r = server.delete(f"/workspaces/{ws['id']}?purge=true", headers={**ADMIN, "X-Confirm-Name": "Temp"})
    assert r.json() == {"status": "purged", "cascade_deleted": 0}
    assert server.get(f"/workspaces/{ws['id']}").status_code == 404
    assert server.db.query(f"SELECT count(*) FROM workspace_auth_tokens WHERE workspace_id = '{ws['id']}'") == [["0"]]


def test_deleting_a_subtree_of_1000_takes_one_request(server):
    root = create(server, name="Big").json()
    ids, tokens = [root["id"]], [root["auth_token"]]
    session = requests.Session()
    for i in range(999):  # a tree 3 levels deep
        parent = ids[0] if i < 30 else ids[1 + (i % 30)]
        r = session.post(server.url + "/workspaces", headers=ADMIN, timeout=30,
                         json={"name": f"n{i}", "parent_id": parent, **MODEL})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
        tokens.append(r.json()["auth_token"])
    r = server.delete(f"/workspaces/{root['id']}?confirm=true", headers={**ADMIN, "X-Confirm-Name": "Big"})
    assert r.status_code == 200 and r.json() == {"status": "removed", "cascade_deleted": 999}
    id_list = "','".join(ids)
    assert server.db.query(f"SELECT count(*) FROM workspaces WHERE id IN ('{id_list}') AND status <> 'removed'") \
        == [["0"]]
    assert server.db.query(f"SELECT count(*) FROM workspace_auth_tokens WHERE workspace_id IN ('{id_list}') "
                           f"AND revoked_at IS NULL") == [["0"]]
    for t, wid in list(zip(tokens, ids))[::97]:
        assert session.get(f"{server.url}/workspaces/{wid}/state", headers=bearer(t)).status_code == 401


def test_the_list_carries_each_workspaces_last_heartbeat(server):
    # the console's tree shows it on every row (issue 23); the list otherwise keeps the reference's fields
    w = create(server).json()
    row = next(x for x in server.get("/workspaces", headers=ADMIN).json() if x["id"] == w["id"])
    assert row["last_heartbeat_at"] is None and "last_outbound_at" not in row
    hb = server.post("/registry/heartbeat", headers=bearer(w["auth_token"]),
                     json={"workspace_id": w["id"], "current_task": "reading"})
    assert hb.status_code == 200, hb.text
    row = next(x for x in server.get("/workspaces", headers=ADMIN).json() if x["id"] == w["id"])
    one = server.get(f"/workspaces/{w['id']}").json()
    assert row["last_heartbeat_at"] is not None and row["last_heartbeat_at"] == one["last_heartbeat_at"]
    assert row["current_task"] == "reading"
