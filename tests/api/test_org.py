"""Org templates, idempotent import, scoped reconcile, the platform root, the plugin allowlist (workspaces.md §4, §6)."""
import concurrent.futures
import json
import pathlib
import tempfile
import uuid

import pytest
import requests
import websocket

from conftest import ADMIN, run_colony

TEMPLATES = pathlib.Path(tempfile.mkdtemp(prefix="colony-templates-"))
SERVER_ARGS = ["--templates-dir", str(TEMPLATES)]


def write_template(name, text):
    d = TEMPLATES / name
    d.mkdir(exist_ok=True)
    (d / "org.yaml").write_text(text)
    return name


def tree(prefix, children=("Dev", "QA")):
    return {"name": f"{prefix} org", "defaults": {"model": "sonnet"},
            "workspaces": [{"name": prefix, "role": "lead", "children": [{"name": c} for c in children]}]}


def imp(c, template=None, **kw):
    body = {"template": template, **kw} if template is not None else kw
    return c.post("/org/import", json=body, headers=ADMIN)


def live_under(c, root_id):
    """Live workspaces in the subtree of root_id (root included), by name."""
    rows = c.get("/workspaces", headers=ADMIN).json()
    by_parent = {}
    for w in rows:
        by_parent.setdefault(w["parent_id"], []).append(w)
    out, todo = {}, [w for w in rows if w["id"] == root_id]
    while todo:
        w = todo.pop()
        out.setdefault(w["name"], []).append(w["id"])
        todo.extend(by_parent.get(w["id"], []))
    return out


def structure_events(c, kind):
    return [json.loads(r[0]) for r in c.db.query(
        f"SELECT payload FROM structure_events WHERE event_type = '{kind}' ORDER BY created_at, id")]


def test_import_creates_then_reimport_skips_everything(server):
    p = "Acme-" + uuid.uuid4().hex[:6]
    first = imp(server, tree(p))
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["org"], body["count"], body["created"], body["skipped"], body["mode"]) == (f"{p} org", 3, 3, 0,
                                                                                            "merge")
    root = body["workspaces"][0]
    assert root["name"] == p and root["parent_id"] is None and root["tier"] == 3 and "skipped" not in root
    assert [w["parent_id"] for w in body["workspaces"][1:]] == [root["id"]] * 2
    again = imp(server, tree(p)).json()
    assert (again["created"], again["skipped"]) == (0, 3)
    assert [w["id"] for w in again["workspaces"]] == [w["id"] for w in body["workspaces"]]
    assert all(w["skipped"] for w in again["workspaces"])
    assert live_under(server, root["id"]) == {p: [root["id"]], "Dev": [body["workspaces"][1]["id"]],
                                              "QA": [body["workspaces"][2]["id"]]}


def test_partial_trees_backfill(server):
    p = "Fill-" + uuid.uuid4().hex[:6]
    first = imp(server, tree(p, children=("Dev",))).json()
    more = imp(server, tree(p, children=("Dev", "QA", "Ops"))).json()
    assert (more["created"], more["skipped"]) == (2, 2)
    assert more["workspaces"][1]["id"] == first["workspaces"][1]["id"]
    assert sorted(live_under(server, first["workspaces"][0]["id"])) == sorted([p, "Dev", "QA", "Ops"])


def test_spawning_false_skips_the_subtree_and_fields_are_applied(server):
    p = "Spawn-" + uuid.uuid4().hex[:6]
    t = {"name": "s", "defaults": {"model": "m", "tier": 2, "runtime": "codex"}, "workspaces": [
        {"name": p, "canvas": {"x": 10, "y": 20}, "children": [
            {"name": "Kept", "tier": 4, "runtime": "external", "role": "ext"},
            {"name": "Dormant", "spawning": False, "children": [{"name": "Hidden"}]}]}]}
    body = imp(server, t).json()
    assert [w["name"] for w in body["workspaces"]] == [p, "Kept"]
    root = server.get(f"/workspaces/{body['workspaces'][0]['id']}").json()
    kept = server.get(f"/workspaces/{body['workspaces'][1]['id']}").json()
    assert (root["tier"], root["runtime"], root["model"], root["x"], root["y"]) == (2, "codex", "m", 10, 20)
    assert (kept["tier"], kept["runtime"], kept["role"]) == (4, "external", "ext")


def test_an_imported_node_is_announced_live_even_when_a_later_sibling_is_skipped(server):
    """The skip path rolls back a savepoint after the created node's savepoint was released: the created node's
    event must still reach a live subscriber when the import commits (issue 13, item 3)."""
    p = "Live-" + uuid.uuid4().hex[:6]
    existing = server.post("/workspaces", headers=ADMIN, json={"name": p + "-B", "model": "m"})
    assert existing.status_code == 201, existing.text
    ws = websocket.create_connection(server.url.replace("http://", "ws://") + "/ws", timeout=5,
                                     header=[f"Authorization: {ADMIN['Authorization']}"])
    try:
        t = {"name": p, "defaults": {"model": "m"}, "workspaces": [{"name": p + "-A"}, {"name": p + "-B"}]}
        body = imp(server, t).json()
        assert (body["created"], body["skipped"]) == (1, 1)
        created = body["workspaces"][0]["id"]
        for _ in range(1000):  # recv times out (failing the test) if the hub is never told
            f = json.loads(ws.recv())
            if f["workspace_id"] == created:
                break
        assert f["event"] == "WORKSPACE_AWAITING_AGENT" and f["payload"]["name"] == p + "-A"
    finally:
        ws.close()


def test_children_are_laid_out_on_a_grid_under_their_parent(server):
    """Org import places children on the reference's 2-column grid (300x176 cards, gutter 14, header 130, side 16),
    sized by their subtrees, so a fresh org is not a pile of cards at 0,0; a position in the template wins."""
    p = "Grid-" + uuid.uuid4().hex[:6]
    t = {"name": p, "defaults": {"model": "m"}, "workspaces": [
        {"name": p, "canvas": {"x": 100, "y": 50}, "children": [
            {"name": "A", "children": [{"name": "A1"}, {"name": "A2"}, {"name": "A3"}]},
            {"name": "B"},
            {"name": "C", "canvas": {"x": 5000, "y": 7000}, "children": [{"name": "C1"}]},
            {"name": "D"}]}]}
    body = imp(server, t).json()
    ids = {w["name"]: w["id"] for w in body["workspaces"]}
    pos = {n: (w["x"], w["y"]) for n, i in ids.items() for w in [server.get(f"/workspaces/{i}").json()]}
    # A holds 3 leaves: 2 columns x 2 rows -> 16+300+14+300+16 = 646 wide, 130+176+14+176+16 = 512 high
    assert pos[p] == (100, 50)
    assert pos["A"] == (116, 180)                   # first cell: side padding, header padding
    assert pos["B"] == (116 + 646 + 14, 180)        # second column starts after A's width and a gutter
    assert pos["C"] == (5000, 7000)                 # the template's own position wins
    assert pos["D"] == (116 + 646 + 14, 180 + 512 + 14)  # second row starts below the taller cell of row one
    assert pos["A1"] == (132, 310) and pos["A2"] == (132 + 314, 310) and pos["A3"] == (132, 310 + 190)
    assert pos["C1"] == (5016, 7130)                # children follow their parent wherever it is
    # roots without a position of their own stand side by side from the origin
    q = "Side-" + uuid.uuid4().hex[:6]
    two = imp(server, {"name": q, "defaults": {"model": "m"}, "workspaces": [
        {"name": q + "-1", "children": [{"name": "K"}]}, {"name": q + "-2"}]}).json()["workspaces"]
    at = [(w["x"], w["y"]) for w in (server.get(f"/workspaces/{i['id']}").json() for i in two)]
    assert at == [(0, 0), (16, 130), (332 + 14, 0)]
    # a re-import creates nothing and moves nothing
    again = imp(server, t).json()
    assert again["created"] == 0
    assert all((w["x"], w["y"]) == pos[n] for n, i in ids.items() for w in [server.get(f"/workspaces/{i}").json()])


def test_eight_concurrent_imports_of_200_nodes_leave_200(server):
    p = "Wide-" + uuid.uuid4().hex[:6]
    t = {"name": p, "defaults": {"model": "m"}, "workspaces": [
        {"name": p, "children": [{"name": f"team{i}", "children": [{"name": f"m{k}"} for k in range(9)]}
                                 for i in range(19)] + [{"name": "solo"}]}]}
    # 1 root + 19 teams * (1 + 9) + 1 = 192... make it exactly 200
    t["workspaces"][0]["children"].extend({"name": f"extra{i}"} for i in range(8))

    def go(_):
        return requests.post(server.url + "/org/import", json={"template": t}, headers=ADMIN, timeout=300)

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(go, range(8)))
    assert all(r.status_code == 201 for r in results), [r.text for r in results if r.status_code != 201]
    assert sum(r.json()["created"] for r in results) == 200
    assert all(r.json()["count"] == 200 for r in results)
    root = results[0].json()["workspaces"][0]["id"]
    names = live_under(server, root)
    assert sum(len(v) for v in names.values()) == 200
    assert all(len(v) == 1 or k.startswith("m") for k, v in names.items())


def test_reconcile_removes_exactly_the_dropped_nodes_in_its_own_tree(server):
    p = "Rec-" + uuid.uuid4().hex[:6]
    full = imp(server, tree(p, children=("Dev", "QA", "Ops"))).json()
    other = imp(server, tree(p + "-other", children=("QA",))).json()  # a same-named QA in another org
    extra = server.post("/workspaces", headers=ADMIN, json={"name": "Handmade", "model": "m",
                                                              "parent_id": full["workspaces"][3]["id"]})
    assert extra.status_code == 201
    r = imp(server, tree(p, children=("Dev",)), mode="reconcile")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["mode"] == "reconcile" and body["reconcile_removed_count"] == 3  # QA, Ops and Ops's child
    assert sorted(live_under(server, full["workspaces"][0]["id"])) == sorted([p, "Dev"])
    assert sorted(live_under(server, other["workspaces"][0]["id"])) == sorted([p + "-other", "QA"])


def test_failing_import_is_atomic_and_writes_a_paired_completed_event(server, backend):
    p = "Boom-" + uuid.uuid4().hex[:6]
    if backend == "sqlite":
        server.db.execute(f"CREATE TRIGGER boom_{p[5:]} BEFORE INSERT ON workspaces WHEN NEW.name = 'Kaboom' "
                          f"BEGIN SELECT RAISE(ABORT, 'boom'); END;")
    else:
        server.db.execute("CREATE OR REPLACE FUNCTION boom() RETURNS trigger AS $$ BEGIN "
                          "IF NEW.name = 'Kaboom' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$ "
                          "LANGUAGE plpgsql; DROP TRIGGER IF EXISTS boom ON workspaces; "
                          "CREATE TRIGGER boom BEFORE INSERT ON workspaces FOR EACH ROW EXECUTE FUNCTION boom();")
    before = len(structure_events(server, "org.import.completed"))
    r = imp(server, tree(p, children=("Fine", "Kaboom")))
    assert r.status_code in (400, 503), r.text
    assert server.db.query(f"SELECT count(*) FROM workspaces WHERE name IN ('{p}', 'Fine')") == [["0"]]
    started = [e for e in structure_events(server, "org.import.started") if e["name"] == f"{p} org"]
    done = [e for e in structure_events(server, "org.import.completed") if e["name"] == f"{p} org"]
    assert len(started) == 1 and len(done) == 1 and len(structure_events(server, "org.import.completed")) == before + 1
    assert done[0]["error"] != "" and done[0]["created_count"] == 0 and done[0]["mode"] == "merge"
    assert set(done[0]) == {"name", "dir", "mode", "created_count", "skipped_count", "reconcile_removed_count",
                            "duration_ms", "error"}


def test_successful_import_events_are_paired(server):
    p = "Evt-" + uuid.uuid4().hex[:6]
    imp(server, tree(p))
    done = [e for e in structure_events(server, "org.import.completed") if e["name"] == f"{p} org"]
    assert len(done) == 1
    assert (done[0]["created_count"], done[0]["skipped_count"], done[0]["error"]) == (3, 0, "")
    assert done[0]["duration_ms"] >= 0


@pytest.mark.parametrize("text, status, message", [
    ("name: x\nworkspaces:\n  - name: [unclosed\n", 400, "invalid org template: line 4 column 1: did not find expected"),
    ("name: x\nworkspaces:\n  - name: A\n    colour: red\n    model: m\n", 400,
     'unknown key "colour" in workspaces[0]'),
    ("name: x\ndefaults: {model: m}\nworkspaces:\n  - name: A\n  - name: A\n", 400,
     'duplicate sibling name "A" at workspaces[1]'),
    ("name: x\ndefaults: {model: m}\nbase: &b {name: A}\nworkspaces:\n  - *b\n", 400,
     "anchors and aliases are not allowed"),
    ("name: x\nworkspaces:\n  - name: A\n", 400, 'workspaces[0] "A": model is required'),
    ("name: x\ndefaults: {model: m}\nworkspaces:\n  - name: A\n    tier: high\n", 400,
     "workspaces[0].tier must be an integer"),
    ("name: x\ndefaults: {model: m}\nworkspaces:\n  - name: A\n    max_concurrent_tasks: 2147483648\n", 400,
     "workspaces[0]: max_concurrent_tasks must be at most 2147483647"),
    ("name: x\ndefaults: {model: m}\nworkspaces:\n  - !include other.yaml\n", 400, "unsupported tag !include"),
])
def test_bad_templates_are_refused_and_create_nothing(server, text, status, message):
    before = len(server.get("/workspaces", headers=ADMIN).json())
    name = write_template("bad-" + uuid.uuid4().hex[:6], text)
    r = imp(server, dir=name)
    assert r.status_code == status, r.text
    assert message in r.json()["error"], r.json()
    assert len(server.get("/workspaces", headers=ADMIN).json()) == before


def test_oversized_template_is_413(server):
    name = write_template("huge", "name: x\ndescription: '" + "a" * (4 * 1024 * 1024 + 10) + "'\nworkspaces: []\n")
    r = imp(server, dir=name)
    assert r.status_code == 413 and r.json()["code"] == "too_large"


def test_dir_errors(server):
    assert imp(server, dir="../etc").json() == {"error": "invalid org directory", "code": "invalid_request"}
    assert imp(server, dir="nope").status_code == 404
    assert imp(server).json()["error"] == "provide 'dir' or 'template'"
    assert imp(server, tree("M"), mode="sync").status_code == 400


def test_templates_are_listed(server):
    write_template("listed", "name: Listed Org\ndescription: for the list\ndefaults: {model: m}\n"
                             "workspaces:\n  - name: A\n    children:\n      - name: B\n        spawning: false\n")
    listed = {t["dir"]: t for t in server.get("/org/templates", headers=ADMIN).json()}
    assert listed["listed"] == {"dir": "listed", "name": "Listed Org", "description": "for the list",
                                "workspaces": 2, "required_env": [], "recommended_env": []}
    assert "huge" not in listed or listed["huge"]  # unreadable ones are skipped, not fatal
    assert server.get("/org/templates").status_code == 401


def test_platform_install_twice_at_once_leaves_one_root(start_colony):
    c = start_colony()
    roots = [c.post("/workspaces", headers=ADMIN, json={"name": f"root{i}", "model": "m"}).json()["id"]
             for i in range(3)]
    tok = c.post("/org/tokens", headers=ADMIN, json={"name": "anchored"}).json()
    c.db.execute(f"UPDATE org_api_tokens SET org_id = '{roots[0]}' WHERE id = '{tok['id']}'")
    for r in roots[:2]:
        c.put(f"/orgs/{r}/plugins/allowlist", headers=ADMIN, json={"plugins": ["git", f"only-{r[:4]}"],
                                                                  "enabled_by": "ops"})
    pid = str(uuid.uuid4())

    def install(_):
        return requests.post(c.url + "/admin/org/platform-agent", headers=ADMIN, json={"id": pid}, timeout=60)

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(install, range(2)))
    assert all(r.status_code == 200 for r in results), [r.text for r in results]
    assert results[0].json() == {"status": "installed", "platform_agent_id": pid, "kind": "platform"}
    rows = c.get("/workspaces", headers=ADMIN).json()
    platform = [w for w in rows if w["kind"] == "platform"]
    assert len(platform) == 1 and platform[0]["id"] == pid and platform[0]["status"] == "offline"
    assert [w["id"] for w in rows if w["parent_id"] is None] == [pid]
    assert all(w["parent_id"] == pid for w in rows if w["id"] in roots)
    assert c.db.query(f"SELECT org_id FROM org_api_tokens WHERE id = '{tok['id']}'") == [[pid]]
    allow = c.get(f"/orgs/{pid}/plugins/allowlist", headers=ADMIN).json()
    assert [p["plugin_name"] for p in allow["plugins"]] == sorted(["git", f"only-{roots[0][:4]}",
                                                                  f"only-{roots[1][:4]}"])
    assert c.get(f"/orgs/{roots[0]}/plugins/allowlist", headers=ADMIN).json()["allow_all"] is True
    # new roots, API or import, land under the platform root; the install is idempotent
    assert c.post("/workspaces", headers=ADMIN, json={"name": "late", "model": "m"}).status_code == 201
    assert install(0).status_code == 200
    assert [w["id"] for w in c.get("/workspaces", headers=ADMIN).json() if w["parent_id"] is None] == [pid]
    assert c.post("/admin/org/platform-agent", headers=ADMIN, json={"id": "nope"}).status_code == 400


def test_allowlist_rules(server):
    org = server.post("/workspaces", headers=ADMIN, json={"name": "AL-" + uuid.uuid4().hex[:6], "model": "m"}).json()
    assert server.get(f"/orgs/{uuid.uuid4()}/plugins/allowlist", headers=ADMIN).json() == {
        "error": "org not found", "code": "not_found"}
    empty = server.get(f"/orgs/{org['id']}/plugins/allowlist", headers=ADMIN).json()
    assert empty == {"org_id": org["id"], "plugins": [], "allow_all": True}
    r = server.put(f"/orgs/{org['id']}/plugins/allowlist", headers=ADMIN, json={"plugins": ["b", "a", "a"],
                                                                                "enabled_by": "me"})
    assert r.status_code == 200
    assert [p["plugin_name"] for p in r.json()["plugins"]] == ["a", "b"] and r.json()["allow_all"] is False
    bad = server.put(f"/orgs/{org['id']}/plugins/allowlist", headers=ADMIN, json={"plugins": ["../x"],
                                                                                  "enabled_by": "me"})
    assert bad.status_code == 400 and bad.json()["plugin_name"] == "../x"
    assert server.put(f"/orgs/{org['id']}/plugins/allowlist", headers=ADMIN,
                      json={"plugins": ["c"]}).json()["error"] == "enabled_by is required"
    assert [p["plugin_name"] for p in server.get(f"/orgs/{org['id']}/plugins/allowlist",
                                                 headers=ADMIN).json()["plugins"]] == ["a", "b"]
    unanchored = server.post("/org/tokens", headers=ADMIN, json={"name": "u"}).json()["auth_token"]
    r = server.get(f"/orgs/{org['id']}/plugins/allowlist", headers={"Authorization": f"Bearer {unanchored}"})
    assert r.status_code == 403 and r.json()["error"] == "org access denied"


def test_cli_import_matches_the_api(new_db, tmp_path):
    db = new_db()
    f = tmp_path / "org.yaml"
    f.write_text("name: CLI Org\ndefaults: {model: m}\nworkspaces:\n  - name: Boss\n    children:\n"
                 "      - name: Worker\n")
    first = run_colony(["import", str(f), "--db", db.url])
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[0] == "CLI Org: 2 created, 0 skipped"
    assert first.stdout.splitlines()[2].strip().startswith("created Worker (")
    second = run_colony(["import", str(f), "--db", db.url])
    assert second.stdout.splitlines()[0] == "CLI Org: 0 created, 2 skipped"
    assert db.query("SELECT count(*) FROM workspaces") == [["2"]]
    bad = run_colony(["import", str(tmp_path / "missing.yaml"), "--db", db.url])
    assert bad.returncode == 1 and "import of" in bad.stderr
    assert run_colony(["import"]).returncode == 2
