"""Workspace templates (surface.md §8): GET /templates with the reference's item shape and skipping rules, POST
/templates/import (checked whole before anything is written, 409 on a second import, names that try to leave the
directory refused), the templates `make run` ships, and org templates with a node's `template`, `system_prompt` and
`plugins` (workspaces.md §4.2) kept for a created node."""
import os
import pathlib
import shutil
import tempfile
import uuid

import requests

from conftest import ADMIN, ROOT
from inbox_util import bearer, error, mint_org_token, race

CONFIGS = pathlib.Path(tempfile.mkdtemp(prefix="colony-configs-"))
ORGS = pathlib.Path(tempfile.mkdtemp(prefix="colony-orgs-"))
SERVER_ARGS = ["--configs-dir", str(CONFIGS), "--templates-dir", str(ORGS)]


def _write(d, files):
    for rel, text in files.items():
        p = CONFIGS / d / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


_write("alpha", {"config.yaml": "name: Alpha\ndescription: first\ntier: 1\nruntime: langgraph\n"
                                "runtime_config:\n  model: gpt-x\n  provision_timeout_seconds: 90\n"
                                "models: [gpt-x, gpt-y]\nrequired_env: [OPENAI_API_KEY]\nskills: [a, b]\n"
                                "displayable: false\n"})
_write("beta", {"config.yaml": "name: Beta\nruntime: claude-code-default\nmodel: sonnet\n"})
_write("bare", {"config.yaml": "{}\n"})
_write("broken", {"config.yaml": "name: [unclosed\n"})
_write("alien", {"config.yaml": "name: Alien\nruntime: cobol\n"})
_write("noconfig", {"README.md": "not a template\n"})
(CONFIGS / "file.txt").write_text("not a directory\n")


FIXED = {"alpha", "bare", "beta", "broken", "alien", "noconfig"}  # other tests import more into the directory


def test_list_shapes_and_skips(server):
    r = server.get("/templates", headers=ADMIN)
    assert r.status_code == 200
    assert [t for t in r.json() if t["id"] in FIXED] == [
        {"id": "alpha", "name": "Alpha", "description": "first", "tier": 1, "runtime": "langgraph", "model": "gpt-x",
         "models": ["gpt-x", "gpt-y"], "required_env": ["OPENAI_API_KEY"], "skills": ["a", "b"], "skill_count": 2,
         "provision_timeout_seconds": 90, "displayable": False},
        {"id": "bare", "name": "bare", "description": "", "tier": 3, "runtime": "claude-code", "model": "",
         "skills": None, "skill_count": 0},
        {"id": "beta", "name": "Beta", "description": "", "tier": 3, "runtime": "claude-code-default",
         "model": "sonnet", "skills": None, "skill_count": 0},
    ]
    first = server.get("/templates?limit=2", headers=ADMIN)
    assert [t["id"] for t in first.json()] == ["alpha", "bare"]
    rest = server.get(f"/templates?cursor={first.headers['X-Next-Cursor']}", headers=ADMIN).json()
    assert [t["id"] for t in rest if t["id"] in FIXED] == ["beta"]  # broken, alien, noconfig: not templates
    error(server.get("/templates"), 401, "admin auth required")


def test_no_template_cache_to_refresh(server):
    before = sorted(os.listdir(CONFIGS))
    error(server.post("/admin/templates/refresh", headers=ADMIN), 503,
          "template cache refresh is not available: colony fetches no templates; it reads them from --configs-dir",
          "unavailable")
    error(server.post("/admin/templates/refresh", headers=bearer(mint_org_token(server))), 503,
          "template cache refresh is not available: colony fetches no templates; it reads them from --configs-dir")
    error(server.post("/admin/templates/refresh"), 401, "admin auth required")
    assert sorted(os.listdir(CONFIGS)) == before


def test_import_refuses_a_file_and_a_directory_at_one_path(server):
    name = "shape-" + uuid.uuid4().hex[:6]
    for files in ({"a": "x", "a/b": "y"}, {"d/e/f.md": "y", "d/e": "x"}):
        shared = "a" if "a" in files else "d/e"
        error(server.post("/templates/import", headers=ADMIN, json={"name": name, "files": files}), 400,
              f"invalid request body: {shared} is both a file and a directory")
    assert not (CONFIGS / name).exists()
    assert not [p for p in os.listdir(CONFIGS) if p.startswith(".import-")]


def test_import_then_conflict(server):
    name = "My Team-Lead " + uuid.uuid4().hex[:6].upper()
    want = name.lower().replace(" ", "-")
    r = server.post("/templates/import", headers=ADMIN,
                    json={"name": name, "files": {"system-prompt.md": "lead well", "guide.md": "g",
                                                  "skills/plan/SKILL.md": "plan", "notes/x.txt": "x"}})
    assert (r.status_code, r.json()) == (201, {"status": "imported", "id": want, "name": name})
    d = CONFIGS / want
    assert sorted(str(p.relative_to(d)) for p in d.rglob("*") if p.is_file()) == [
        "config.yaml", "guide.md", "notes/x.txt", "skills/plan/SKILL.md", "system-prompt.md"]
    assert (d / "config.yaml").read_text() == (
        f'name: "{name}"\ndescription: ""\nversion: "1.0.0"\ntier: 3\nruntime: "claude-code"\n'
        'model: "anthropic:claude-haiku-4-5-20251001"\nprompt_files:\n  - "guide.md"\n  - "system-prompt.md"\n'
        'skills:\n  - "plan"\nrequired_env:\n  - "ANTHROPIC_API_KEY"\na2a:\n  port: 8000\n')
    again = server.post("/templates/import", headers=ADMIN, json={"name": name, "files": {"a.md": "other"}})
    assert again.status_code == 409 and again.json() == {"error": "template already exists", "code": "conflict",
                                                         "id": want}
    assert not (d / "a.md").exists()
    listed = [t for t in server.get("/templates", headers=ADMIN).json() if t["id"] == want]
    assert listed == [{"id": want, "name": name, "description": "", "tier": 3, "runtime": "claude-code",
                       "model": "anthropic:claude-haiku-4-5-20251001", "required_env": ["ANTHROPIC_API_KEY"],
                       "skills": ["plan"], "skill_count": 1}]


def test_import_keeps_a_given_config_and_normalises_names(server):
    tag = uuid.uuid4().hex[:6]
    r = server.post("/templates/import", headers=ADMIN,
                    json={"name": f"Ünïcode & Co_ {tag}", "files": {"config.yaml": "name: mine\n"}})
    assert r.status_code == 201 and r.json()["id"] == f"ncode--co_-{tag}"
    assert (CONFIGS / f"ncode--co_-{tag}" / "config.yaml").read_text() == "name: mine\n"
    shutil.rmtree(CONFIGS / "unnamed", ignore_errors=True)  # the other backend's run made it
    r = server.post("/templates/import", headers=ADMIN, json={"name": "!!!", "files": {}})
    assert r.status_code == 201 and r.json()["id"] == "unnamed"


def test_bad_imports_write_nothing(server):
    before = sorted(os.listdir(CONFIGS))
    for name in ("../escape", "a/b", "a\\b", "..", "x..y"):
        error(server.post("/templates/import", headers=ADMIN, json={"name": name, "files": {"a.md": "a"}}), 400,
              "invalid template name")
    error(server.post("/templates/import", headers=ADMIN, json={"files": {}}), 400, "invalid request body")
    error(server.post("/templates/import", headers=ADMIN, json={"name": "t1", "files": ["a"]}), 400,
          "invalid request body: files must be an object of path: content")
    for bad in ("../x.md", "/abs.md", "a/../../b", "a//b", "", ".."):
        error(server.post("/templates/import", headers=ADMIN,
                          json={"name": "partial", "files": {"good.md": "g", bad: "b"}}), 400,
              f"invalid request body: {bad}: invalid path")
    error(server.post("/templates/import", headers=ADMIN,
                      json={"name": "partial", "files": {"good.md": "g", "big.md": "x" * (1024 * 1024 + 1)}}), 413,
          "big.md: file exceeds 1048576 bytes")
    error(server.post("/templates/import", headers=ADMIN,
                      json={"name": "partial", "files": {f"f{i}.md": "x" for i in range(201)}}), 400,
          "too many files (201), max 200")
    assert sorted(os.listdir(CONFIGS)) == before  # no partial directory, no staging left behind


def test_concurrent_imports_of_one_name_make_one_template(server):
    name = "race-" + uuid.uuid4().hex[:6]
    codes = race(8, lambda i: server.post("/templates/import", headers=ADMIN,
                                          json={"name": name, "files": {"who.md": str(i)}}).status_code)
    assert sorted(codes) == [201] + [409] * 7
    assert sorted(os.listdir(CONFIGS / name)) == ["config.yaml", "who.md"]
    assert not [p for p in os.listdir(CONFIGS) if p.startswith(".import-")]


def test_org_nodes_keep_their_system_prompt_over_their_template_and_declare_plugins(server):
    _write("writer", {"config.yaml": "name: Writer\n", "style.md": "short sentences\n"})
    org = "org-" + uuid.uuid4().hex[:6]
    tpl = {"name": org, "defaults": {"model": "m", "plugins": ["lint", "fmt", "docs"]},
           "workspaces": [{"name": org, "template": "writer", "system_prompt": "You write.", "plugins": ["!fmt", "x"],
                           "children": [{"name": "plain"}]}]}
    r = server.post("/org/import", headers=ADMIN, json={"template": tpl})
    assert r.status_code == 201, r.text
    root, plain = r.json()["workspaces"]
    files = server.get(f"/workspaces/{root['id']}/files", headers=ADMIN).json()
    assert [f["path"] for f in files] == ["config.yaml", "style.md", "system-prompt.md"]
    assert server.get(f"/workspaces/{root['id']}/files/system-prompt.md", headers=ADMIN).json()["content"] == (
        "You write.")
    assert [p["name"] for p in server.get(f"/workspaces/{root['id']}/plugins", headers=ADMIN).json()] == [
        "docs", "lint", "x"]
    assert [p["name"] for p in server.get(f"/workspaces/{plain['id']}/plugins", headers=ADMIN).json()] == [
        "docs", "fmt", "lint"]
    assert server.db.query(f"SELECT count(*) FROM workspace_files WHERE workspace_id = '{plain['id']}'") == [["0"]]
    # a re-import changes nothing of what exists
    server.put(f"/workspaces/{root['id']}/files/system-prompt.md", headers=ADMIN, json={"content": "edited"})
    assert server.post("/org/import", headers=ADMIN, json={"template": tpl}).json()["skipped"] == 2
    assert server.get(f"/workspaces/{root['id']}/files/system-prompt.md", headers=ADMIN).json()["content"] == "edited"
    bad = {**tpl, "workspaces": [{"name": "b" + org, "plugins": ["../evil"]}]}
    error(server.post("/org/import", headers=ADMIN, json={"template": bad}), 400,
          "workspaces[0].plugins[0]: invalid plugin name")


def test_the_shipped_templates_are_listed(start_colony):
    c = start_colony(args=["--configs-dir", str(ROOT / "workspace-configs-templates"),
                           "--templates-dir", str(ROOT / "org-templates")])
    assert [t["dir"] for t in c.get("/org/templates", headers=ADMIN).json()] == ["demo"]
    assert [t["id"] for t in c.get("/templates", headers=ADMIN).json()] == ["developer"]


def test_a_fifo_in_an_operator_directory_blocks_nothing(start_colony, tmp_path):
    # a named pipe where a file is expected is refused at once (opened without blocking, then not a regular file):
    # before, opening it parked a worker until some writer came along
    cfg, plg, orgs = tmp_path / "cfg", tmp_path / "plg", tmp_path / "orgs"
    for d in (cfg / "piped", cfg / "tpl", plg / "piped", orgs / "piped"):
        d.mkdir(parents=True)
    (cfg / "tpl" / "config.yaml").write_text("name: Tpl\n")
    for fifo in (cfg / "piped" / "config.yaml", cfg / "tpl" / "fifo.md", plg / "piped" / "plugin.yaml",
                 orgs / "piped" / "org.yaml"):
        os.mkfifo(fifo)
    c = start_colony(args=["--configs-dir", str(cfg), "--plugins-dir", str(plg), "--templates-dir", str(orgs)])

    def call(method, path, **kw):  # a deadline: a blocked worker fails the test instead of hanging it
        return requests.request(method, c.url + path, headers=ADMIN, timeout=10, **kw)

    assert [t["id"] for t in call("GET", "/templates").json()] == ["tpl"]
    w = call("POST", "/workspaces", json={"name": "Tpl2", "model": "m", "template": "tpl"}).json()
    r = call("GET", f"/workspaces/{w['id']}/files/fifo.md")
    assert (r.status_code, r.json()) == (404, {"error": "file not found", "code": "not_found"})
    assert [e["path"] for e in call("GET", f"/workspaces/{w['id']}/files").json()] == ["config.yaml"]
    stray = call("POST", "/workspaces", json={"name": "Nobody", "model": "m"}).json()  # its name is looked up in every config.yaml
    assert call("GET", f"/workspaces/{stray['id']}/files/config.yaml").status_code == 200
    assert call("GET", "/plugins").json() == [  # as a plugin without a plugin.yaml
        {"name": "piped", "version": None, "description": None, "author": None, "tags": None, "skills": None,
         "runtimes": None}]
    assert call("GET", "/org/templates").json() == []
    r = call("POST", "/org/import", json={"dir": "piped"})
    assert (r.status_code, r.json()["code"]) == (404, "not_found"), r.text
