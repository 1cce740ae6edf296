"""Bundles (workspaces.md §8, surface.md §12): the export's shape, the round trip of the demo org between two fresh
colonies (equal modulo ids), imports through the one resolver (a retry and concurrent imports converge on one tree),
malformed bundles refused with the path of the problem and nothing created, and no secret or token in an export."""
import json
import uuid

import pytest

from conftest import ADMIN, ROOT
from inbox_util import bearer, create_ws, error, events, mint_org_token, race, remove

DIRS = ["--templates-dir", str(ROOT / "org-templates"), "--configs-dir", str(ROOT / "workspace-configs-templates")]
DEVELOPER = ROOT / "workspace-configs-templates" / "developer"


def export(c, wid, headers=ADMIN):
    r = c.get(f"/bundles/export/{wid}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def import_bundle(c, b):
    r = c.post("/bundles/import", headers=ADMIN, json=b)
    assert r.status_code == 201, r.text
    return r.json()


def without_ids(b):
    return {**{k: v for k, v in b.items() if k != "id"}, "sub_workspaces": [without_ids(s) for s in b["sub_workspaces"]]}


def count_workspaces(c):
    return int(c.db.query("SELECT count(*) FROM workspaces")[0][0])


def test_demo_round_trip(start_colony):
    a = start_colony(args=DIRS)
    r = a.post("/org/import", headers=ADMIN, json={"dir": "demo"})
    assert r.status_code == 201, r.text
    ids = {w["name"]: w["id"] for w in r.json()["workspaces"]}
    first = export(a, ids["PM"])
    assert list(first) == ["schema", "id", "name", "description", "tier", "model", "system_prompt", "skills", "tools",
                           "prompts", "sub_workspaces", "agent_card", "author", "version"]
    assert (first["schema"], first["id"], first["name"], first["tier"], first["model"], first["author"],
            first["version"], first["agent_card"], first["tools"], first["skills"], first["system_prompt"]) == (
        "1.0", ids["PM"], "PM", 2, "sonnet", "", "1.0.0", None, [], [], "")
    assert first["description"] == "Product manager - owns the roadmap and delegates the work"
    assert list(first["prompts"]) == ["config.yaml"] and 'name: "PM"' in first["prompts"]["config.yaml"]
    assert [s["name"] for s in first["sub_workspaces"]] == ["Dev Lead", "QA"]  # by name
    lead = first["sub_workspaces"][0]
    assert [s["name"] for s in lead["sub_workspaces"]] == ["Backend Dev", "Frontend Dev"]
    backend = lead["sub_workspaces"][0]  # the developer template, read from the configs directory
    assert backend["system_prompt"] == (DEVELOPER / "system-prompt.md").read_text()
    assert backend["prompts"] == {"config.yaml": (DEVELOPER / "config.yaml").read_text()}
    assert backend["skills"] == [{"id": "code-review", "name": "Code review",
                                  "description": "Review a change for correctness, tests and clarity before it ships",
                                  "files": {"SKILL.md": (DEVELOPER / "skills/code-review/SKILL.md").read_text()}}]
    # into a fresh colony that has no templates at all: the bundle carries everything
    b = start_colony()
    result = import_bundle(b, first)
    assert (result["name"], result["status"], "skipped" in result) == ("PM", "provisioning", False)
    assert [k["name"] for k in result["children"]] == ["Dev Lead", "QA"]
    assert [k["status"] for k in result["children"][0]["children"]] == ["provisioning", "provisioning"]
    second = export(b, result["workspace_id"])
    assert without_ids(second) == without_ids(first)
    rows = {r[0]: r[1:] for r in b.db.query("SELECT name, runtime, model, tier, status, role, source_bundle_id"
                                            " FROM workspaces")}
    assert rows["Frontend Dev"] == ["langgraph", "sonnet", "2", "provisioning", "Writes the canvas and the UI",
                                    ids["Frontend Dev"]]
    assert rows["QA"][:2] == ["claude-code", "haiku"] and rows["PM"][5] == ids["PM"]
    assert events(b, result["workspace_id"], {"WORKSPACE_PROVISIONING"}) == [(
        "WORKSPACE_PROVISIONING", {"name": "PM", "tier": 2, "runtime": "claude-code", "source_bundle_id": ids["PM"]})]
    # a retry converges: everything is skipped, nothing new, and the export is the same document
    before = count_workspaces(b)
    again = import_bundle(b, first)
    assert again["skipped"] is True and again["workspace_id"] == result["workspace_id"]
    assert all(k["skipped"] for k in again["children"])
    assert count_workspaces(b) == before
    assert export(b, result["workspace_id"]) == second


def test_concurrent_imports_make_one_tree(server):
    tag = uuid.uuid4().hex[:6]
    b = {"schema": "1.0", "name": f"root-{tag}", "sub_workspaces": [
        {"name": "a", "sub_workspaces": [{"name": "a1"}, {"name": "a2"}]}, {"name": "b"}]}
    results = race(6, lambda i: server.post("/bundles/import", headers=ADMIN, json=b))
    assert [r.status_code for r in results] == [201] * 6
    bodies = [r.json() for r in results]
    assert len({body["workspace_id"] for body in bodies}) == 1
    creators = [body for body in bodies if "skipped" not in body]
    assert len(creators) == 1 and all("skipped" not in k for k in creators[0]["children"])
    rows = server.db.query(f"SELECT count(*) FROM workspaces WHERE status <> 'removed' AND (name = 'root-{tag}'"
                           f" OR parent_id = '{bodies[0]['workspace_id']}')")
    assert rows == [["3"]]


def test_roots_join_the_platform_root(server):
    platform = str(uuid.uuid4())
    assert server.post("/admin/org/platform-agent", headers=ADMIN, json={"id": platform}).status_code == 200
    r = import_bundle(server, {"name": "under-platform-" + uuid.uuid4().hex[:6]})
    assert server.get(f"/workspaces/{r['workspace_id']}").json()["parent_id"] == platform


BAD = [
    ({"schema": "2.0", "name": "x"}, 'invalid bundle: schema: unsupported bundle schema "2.0" (colony reads "1.0")'),
    ({"schema": 1, "name": "x"}, "invalid bundle: schema must be a string"),
    ({"name": "a", "id": "1", "sub_workspaces": [{"name": "b", "id": "2", "sub_workspaces": [{"name": "c", "id": "1"}]}]},
     'invalid bundle: sub_workspaces[0].sub_workspaces[0].id: cycle: "1" is the id of an enclosing bundle'),
    ({"name": "a", "sub_workspaces": [{"name": "b", "id": "x"}, {"name": "c", "id": "x"}]},
     'invalid bundle: duplicate bundle id "x" (each workspace of a bundle has its own)'),
    ({"name": "a", "sub_workspaces": [{"name": "b"}, {"name": "c"}, {"name": "b"}]},
     'invalid bundle: sub_workspaces[2].name: duplicate sibling name "b"'),
    ({"name": "a", "foo": 1}, 'invalid bundle: unknown key "foo" at the bundle\'s top'),
    ({"name": "a", "sub_workspaces": [{"name": "b", "skills": [{"id": "s", "bar": 1}]}]},
     'invalid bundle: unknown key "bar" at sub_workspaces[0].skills[0]'),
    ({"name": "a", "tools": [{"id": "t", "config": {}, "x": 1}]}, 'invalid bundle: unknown key "x" at tools[0]'),
    ({"name": "a", "sub_workspaces": [{"name": "b", "prompts": {"n/a.md": "x", "n": "y"}}]},
     "invalid bundle: sub_workspaces[0].prompts: n is both a file and a directory"),
    ({"name": "a", "sub_workspaces": [{"name": "b", "tools": [{"id": "t", "config": {"blob": "x" * (1 << 20)}}]}]},
     "invalid bundle: sub_workspaces[0].tools would make a config document over 1048576 bytes"),
    ({"name": "a", "prompts": {"big.md": "x" * (1024 * 1024 + 1)}},
     'invalid bundle: prompts["big.md"] is larger than 1048576 bytes'),
    ({"name": "a", "system_prompt": "x" * (1024 * 1024 + 1)}, "invalid bundle: system_prompt is larger than 1048576 bytes"),
    ({"name": "r", "sub_workspaces": [{"name": f"n{i}"} for i in range(5000)]},
     "invalid bundle: sub_workspaces[4999]: a bundle holds at most 5000 workspaces"),
    ({"name": "a", "prompts": {"../x.md": "y"}}, 'invalid bundle: prompts["../x.md"]: invalid path'),
    ({"name": "a", "prompts": {"/etc/x": "y"}}, 'invalid bundle: prompts["/etc/x"]: invalid path'),
    ({"name": "a", "prompts": {".env": "A=1"}}, 'invalid bundle: prompts[".env"]: hidden files are not carried by bundles'),
    ({"name": "a", "prompts": {"skills/x/SKILL.md": "y"}},
     'invalid bundle: prompts["skills/x/SKILL.md"]: skill files belong in `skills`'),
    ({"name": "a", "system_prompt": "p", "prompts": {"system-prompt.md": "q"}},
     'invalid bundle: prompts["system-prompt.md"]: a second file at system-prompt.md'),
    ({"name": "a", "skills": [{"id": "../a"}]}, "invalid bundle: skills[0].id must name a skill directory (one path part)"),
    ({"name": "a", "skills": [{"id": "s", "files": {"../../x": ""}}]},
     'invalid bundle: skills[0].files["../../x"]: invalid path'),
    ({"name": "a", "skills": [{"id": "s"}, {"id": "s"}]}, 'invalid bundle: skills[1].id: a second skill "s"'),
    ({"name": "a", "tier": 9}, "invalid bundle: tier must be an integer from 1 to 4"),
    ({"name": "a", "tier": "x"}, "invalid bundle: tier must be an integer from 1 to 4"),
    ({"name": "a", "agent_card": [1]}, "invalid bundle: agent_card must be an object or null"),
    ({"name": "a", "prompts": {"config.yaml": "runtime: cobol\n"}},
     'invalid bundle: prompts["config.yaml"]: unsupported runtime "cobol"'),
    ({"name": "a", "sub_workspaces": [{"description": "x"}]}, "invalid bundle: sub_workspaces[0].name: bundle name is required"),
    ({"name": "a{b}"}, "invalid bundle: the bundle: name must not contain any of { } [ ] | > * & !"),
    ({"name": "   "}, "bundle name is required"),
    ({}, "bundle name is required"),
    ([1], "invalid bundle: the bundle must be an object"),
]


def nested(depth):
    b = {"name": "leaf"}
    for i in range(depth):
        b = {"name": f"n{i}", "sub_workspaces": [b]}
    return b


@pytest.mark.parametrize("body,message", BAD + [(nested(24), "invalid bundle: " + ".".join(
    ["sub_workspaces[0]"] * 24) + " is nested deeper than 24 levels")], ids=range(len(BAD) + 1))
def test_malformed_bundles_create_nothing(server, body, message):
    before = count_workspaces(server)
    r = server.post("/bundles/import", headers=ADMIN, json=body)
    error(r, 400, message[:255] if len(message) > 255 else message)
    assert count_workspaces(server) == before


def test_malformed_bytes(server):
    before = count_workspaces(server)
    r = server.post("/bundles/import", headers={**ADMIN, "Content-Type": "application/json"},
                    data=b'{"name": "ok", "description": "caf\xc3"}')
    error(r, 400, "invalid bundle: invalid UTF-8 at byte 34")
    r = server.post("/bundles/import", headers={**ADMIN, "Content-Type": "application/json"}, data=b'{"name": ')
    assert r.status_code == 400 and r.json()["error"].startswith("invalid bundle: invalid JSON at line 1")
    r = server.post("/bundles/import", headers={**ADMIN, "Content-Type": "application/json"},
                    data=b'{"name": "a\\u0000b"}')
    assert r.status_code == 400 and r.json()["error"].startswith("invalid bundle: invalid JSON")
    r = server.post("/bundles/import", headers={**ADMIN, "Content-Type": "application/json"},
                    data=b'{"name": "a", "name": "b"}')
    assert r.status_code == 400 and "duplicate" in r.json()["error"]
    error(server.post("/bundles/import", headers=ADMIN), 400, "invalid bundle: request body is empty")
    assert count_workspaces(server) == before


def test_what_a_bundle_carries_comes_back(server):
    tag = uuid.uuid4().hex[:6]
    b = {"schema": "1.0", "id": "src-1", "name": f"carrier-{tag}", "description": "carries things", "tier": 1,
         "model": "", "system_prompt": "Be kind.",
         "skills": [{"id": "plan", "name": "Plan", "description": "plans", "files": {"notes/a.md": "a"}}],
         "tools": [{"id": "search", "config": {"depth": 2}}],
         "prompts": {"config.yaml": "name: x\nruntime: langgraph\nruntime_config:\n  model: gpt-4o\n", "extra.md": "e"},
         "sub_workspaces": [], "agent_card": {"name": "carrier", "skills": []}, "author": "someone", "version": "2.0"}
    r = import_bundle(server, b)
    wid = r["workspace_id"]
    row = server.get(f"/workspaces/{wid}").json()
    assert (row["runtime"], row["model"], row["tier"], row["role"], row["agent_card"]) == (
        "langgraph", "gpt-4o", 1, "carries things", {"name": "carrier", "skills": []})
    assert server.get(f"/workspaces/{wid}/config", headers=ADMIN).json() == {
        "data": {"tools": [{"id": "search", "config": {"depth": 2}}]}}
    out = export(server, wid)
    skill_md = '---\nname: "Plan"\ndescription: "plans"\n---\n'
    assert (out["model"], out["system_prompt"], out["tools"], out["agent_card"]) == (
        "gpt-4o", "Be kind.", b["tools"], b["agent_card"])
    assert out["prompts"] == b["prompts"]
    assert out["skills"] == [{"id": "plan", "name": "Plan", "description": "plans",
                              "files": {"SKILL.md": skill_md, "notes/a.md": "a"}}]
    assert (out["author"], out["version"]) == ("", "1.0.0")  # not kept, as the reference


def test_exports_never_hold_secrets_or_tokens(server, agent):
    root = create_ws(server)
    child = create_ws(server, parent=root)
    reg = server.post("/registry/register", headers=bearer(child["auth_token"]),
                      json={"id": child["id"], "agent_card": {"name": "c"}, "url": agent.url}).json()
    minted = server.post(f"/workspaces/{child['id']}/tokens", headers=ADMIN).json()["auth_token"]
    org = mint_org_token(server)
    for path, content in ((".env", "OPENAI_API_KEY=sk-live-0123456789abcdef"), (".auth_token", child["auth_token"]),
                          ("sub/.secret", "hidden-value-42"), ("ok.md", "visible")):
        assert server.put(f"/workspaces/{child['id']}/files/{path}", headers=ADMIN,
                          json={"content": content}).status_code == 200
    server.patch(f"/workspaces/{child['id']}/config", headers=ADMIN, json={"api_key": "cfg-secret-777"})
    assert server.post(f"/workspaces/{child['id']}/secrets", headers=ADMIN,
                       json={"key": "OPENAI_API_KEY", "value": "sk-workspace-secret-9876"}).status_code in (200, 201)
    assert server.put("/settings/secrets", headers=ADMIN,
                      json={"key": "GLOBAL_TOKEN", "value": "global-secret-5432"}).status_code in (200, 201)
    text = server.get(f"/bundles/export/{root['id']}", headers=ADMIN).text
    hashes = [h for (h,) in server.db.query("SELECT token_hash FROM workspace_auth_tokens")]
    assert len(reg["platform_inbound_secret"]) >= 32
    for needle in [root["auth_token"], child["auth_token"], minted, org, reg["platform_inbound_secret"],
                   "sk-workspace-secret-9876", "global-secret-5432", "OPENAI_API_KEY", "GLOBAL_TOKEN",
                   "sk-live-0123456789abcdef", "hidden-value-42", "cfg-secret-777", ".env", ".auth_token", *hashes]:
        assert needle not in text, needle
    assert '"ok.md":"visible"' in text.replace(" ", "")


def test_export_errors_and_status(server):
    error(server.get(f"/bundles/export/{uuid.uuid4()}", headers=ADMIN), 404, "bundle not found")
    error(server.get("/bundles/export/not-a-uuid", headers=ADMIN), 404, "bundle not found")
    w = create_ws(server)
    kid = create_ws(server, parent=w)
    gone = create_ws(server, parent=w)
    remove(server, gone)
    error(server.get(f"/bundles/export/{w['id']}", headers=bearer(w["auth_token"])), 403, "admin access required")
    assert [s["name"] for s in export(server, w["id"])["sub_workspaces"]] == [kid["name"]]
    remove(server, kid)
    assert export(server, kid["id"])["name"] == kid["name"]  # the root is read whatever its status
    error(server.post("/bundles/import", json={"name": "x"}), 401, "admin auth required")


def test_an_export_past_32_mib_is_413(server):
    root = create_ws(server)
    kids = [create_ws(server, parent=root) for _ in range(3)]
    mib = "x" * (1024 * 1024)
    for k in kids:  # 11 MiB each (a bulk write stays under the 16 MiB body): 33 MiB in all
        r = server.put(f"/workspaces/{k['id']}/files", headers=ADMIN,
                       json={"files": {f"f{i}.md": mib for i in range(11)}})
        assert r.status_code == 200, r.text
    error(server.get(f"/bundles/export/{root['id']}", headers=ADMIN), 413, "bundle larger than 33554432 bytes")
    assert len(export(server, kids[0]["id"])["prompts"]) == 12  # one of them alone fits (and its config.yaml)
