"""A workspace's config document, model, abilities and files, kept in the database for a platform without
containers (surface.md §7, data.md §5): exact shapes and errors, the template fallback and the copy at the first
write, the generated config.yaml, path traversal (400), sizes (413) and per-workspace limits under concurrency, and
the WORKSPACE_CONFIG_UPDATED events a runtime reads."""
import http.client
import json
import os
import pathlib
import tempfile
import uuid

import pytest

from conftest import ADMIN
from inbox_util import bearer, create_ws, error, events, race, remove

CONFIGS = pathlib.Path(tempfile.mkdtemp(prefix="colony-configs-"))
SERVER_ARGS = ["--configs-dir", str(CONFIGS)]

SKILL_MD = "---\nname: Review\n---\nreview it\n"
CODER_CONFIG = "name: Coder\ndescription: writes code\nruntime: claude-code\nmodel: sonnet\ntier: 2\nskills: [review]\n"


def _template():
    d = CONFIGS / "coder"
    (d / "skills" / "review").mkdir(parents=True)
    (d / "config.yaml").write_text(CODER_CONFIG)
    (d / "system-prompt.md").write_text("You write code.\n")
    (d / "skills" / "review" / "SKILL.md").write_text(SKILL_MD)
    (d / ".env").write_text("OPENAI_API_KEY=sk-never-shown\n")  # hidden: never served
    (d / "logo.bin").write_bytes(b"\xff\xfe\x00binary")  # not text: never served
    os.symlink("/etc/passwd", d / "passwd.md")  # out of the template: never followed
    (d / ".git").mkdir()
    (d / ".git" / "HEAD").write_text("ref: x\n")


_template()

TEMPLATE_ENTRIES = [
    {"path": "config.yaml", "size": len(CODER_CONFIG), "dir": False},
    {"path": "skills", "size": 0, "dir": True},
    {"path": "skills/review", "size": 0, "dir": True},
    {"path": "skills/review/SKILL.md", "size": len(SKILL_MD), "dir": False},
    {"path": "system-prompt.md", "size": 16, "dir": False},
]


def files_url(w, path=""):
    return f"/workspaces/{w['id']}/files" + (f"/{path}" if path else "")


def put_file(c, w, path, content, root=None, token=None):
    q = f"?root={root}" if root else ""
    return c.put(files_url(w, path) + q, headers=bearer(token or w["auth_token"]), json={"content": content})


def config_events(c, w):
    return [p for t, p in events(c, w["id"], {"WORKSPACE_CONFIG_UPDATED"})]


def raw(c, method, path, token, body=None):
    """A request with the path exactly as written (requests would remove its dot segments first)."""
    conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=30)
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    r = conn.getresponse()
    out = (r.status, json.loads(r.read() or b"null"))
    conn.close()
    return out


# ---- config ------------------------------------------------------------------------------------------------

def test_config_is_a_shallow_merged_object_with_events(server):
    w = create_ws(server)
    url = f"/workspaces/{w['id']}/config"
    assert server.get(url, headers=bearer(w["auth_token"])).json() == {"data": {}}
    r = server.patch(url, headers=bearer(w["auth_token"]), json={"a": 1, "b": {"x": [1, 2]}})
    assert (r.status_code, r.json()) == (200, {"status": "updated"})
    r = server.patch(url, headers=ADMIN, json={"b": 2, "c": None})
    assert r.status_code == 200
    assert server.get(url, headers=ADMIN).json() == {"data": {"a": 1, "b": 2, "c": None}}
    assert config_events(server, w) == [{"kind": "config", "keys": ["a", "b"]}, {"kind": "config", "keys": ["b", "c"]}]


def test_config_refusals_change_nothing(server):
    w = create_ws(server)
    url = f"/workspaces/{w['id']}/config"
    error(server.patch(url, headers=ADMIN, json=[1, 2]), 400,
          "config must be a JSON object (its keys replace the stored ones)")
    r = server.patch(url, headers={**ADMIN, "Content-Type": "application/json"}, data="{nope")
    assert r.status_code == 400 and r.json()["code"] == "invalid_json"
    big = {"k": "x" * (256 * 1024)}
    error(server.patch(url, headers=ADMIN, json=big), 413, "body too large or unreadable")
    other = create_ws(server)
    error(server.patch(url, headers=bearer(other["auth_token"]), json={"a": 1}), 401, "invalid workspace auth token")
    assert server.get(url, headers=ADMIN).json() == {"data": {}}
    assert config_events(server, w) == []
    unknown = str(uuid.uuid4())
    error(server.get(f"/workspaces/{unknown}/config", headers=ADMIN), 404, "workspace not found")
    error(server.patch(f"/workspaces/{unknown}/config", headers=ADMIN, json={"a": 1}), 404, "workspace not found")
    remove(server, w)
    error(server.patch(url, headers=ADMIN, json={"a": 1}), 404, "workspace not found")


def test_config_documents_are_bounded(server):
    w = create_ws(server)
    url = f"/workspaces/{w['id']}/config"
    chunk = "y" * (200 * 1024)
    for i in range(5):  # 5 x 200 KiB = 1000 KiB: still under the 1 MiB document
        assert server.patch(url, headers=ADMIN, json={f"k{i}": chunk}).status_code == 200
    error(server.patch(url, headers=ADMIN, json={"k5": chunk}), 413, "config document would exceed 1048576 bytes")
    assert sorted(server.get(url, headers=ADMIN).json()["data"]) == ["k0", "k1", "k2", "k3", "k4"]


# ---- model -------------------------------------------------------------------------------------------------

def test_model_get_put_clear(server):
    w = create_ws(server, runtime="external", model=None)
    url = f"/workspaces/{w['id']}/model"
    assert server.get(url, headers=ADMIN).json() == {"model": "", "source": "unresolved"}
    r = server.put(url, headers=bearer(w["auth_token"]), json={"model": "anthropic:claude-opus-4"})
    assert (r.status_code, r.json()) == (200, {"status": "saved", "model": "anthropic:claude-opus-4"})
    assert server.get(url, headers=ADMIN).json() == {"model": "anthropic:claude-opus-4",
                                                     "source": "workspace_secrets"}
    assert server.get(f"/workspaces/{w['id']}").json()["model"] == "anthropic:claude-opus-4"
    r = server.put(url, headers=ADMIN, json={"model": ""})
    assert (r.status_code, r.json()) == (200, {"status": "cleared"})
    assert server.get(url, headers=ADMIN).json() == {"model": "", "source": "unresolved"}
    assert config_events(server, w) == [{"kind": "model", "model": "anthropic:claude-opus-4"},
                                        {"kind": "model", "model": ""}]


def test_model_refusals(server):
    w = create_ws(server)
    url = f"/workspaces/{w['id']}/model"
    error(server.put(f"/workspaces/{w['id'].upper()}/model", headers=ADMIN, json={"model": "x"}), 400,
          "invalid workspace ID")
    error(server.put(url, headers=ADMIN, json={"model": 5}), 400, "invalid request body")
    error(server.put(url, headers=ADMIN, json={"model": "m" * 101}), 400,
          "invalid workspace fields: model must be at most 100 bytes, without CR or LF")
    error(server.put(url, headers=ADMIN, json={"model": "a\nb"}), 400,
          "invalid workspace fields: model must be at most 100 bytes, without CR or LF")
    error(server.put(f"/workspaces/{uuid.uuid4()}/model", headers=ADMIN, json={"model": "x"}), 404,
          "workspace not found")
    assert server.get(url, headers=ADMIN).json() == {"model": "m", "source": "workspace_secrets"}


def test_the_provider_endpoint_is_retired(server):
    w, other = create_ws(server), create_ws(server)
    url = f"/workspaces/{w['id']}/provider"
    retired = {"error": "the provider endpoint is retired: the provider follows from the model; use "
                        "GET/PUT /workspaces/:id/model", "code": "PROVIDER_ENDPOINT_RETIRED", "issue": "internal#718"}
    for method, body in (("GET", None), ("PUT", {"provider": "anthropic"}), ("PUT", None)):
        for headers in (bearer(w["auth_token"]), ADMIN):
            r = server.request(method, url, headers=headers, json=body)
            assert (r.status_code, r.json()) == (410, retired), (method, body)
    # the route's guard still comes first, as the reference's WorkspaceAuth
    error(server.get(url, headers=bearer(other["auth_token"])), 401, "invalid workspace auth token")
    error(server.put(url, json={"provider": "x"}), 401, "missing workspace auth token")
    assert server.get(f"/workspaces/{w['id']}/model", headers=ADMIN).json() == {"model": "m",
                                                                                 "source": "workspace_secrets"}


# ---- abilities ---------------------------------------------------------------------------------------------

def test_abilities(server):
    w = create_ws(server)
    url = f"/workspaces/{w['id']}/abilities"
    error(server.patch(url, headers=ADMIN, json={}), 400, "at least one ability field required")
    error(server.patch(url, headers=ADMIN, json={"broadcast_enabled": "yes"}), 400,
          "invalid request body: broadcast_enabled must be a boolean")
    error(server.patch(url, headers=bearer(w["auth_token"]), json={"broadcast_enabled": True}), 403,
          "admin access required")
    error(server.patch("/workspaces/nope/abilities", headers=ADMIN, json={"broadcast_enabled": True}), 400,
          "invalid workspace ID")
    error(server.patch(f"/workspaces/{uuid.uuid4()}/abilities", headers=ADMIN, json={"broadcast_enabled": True}),
          404, "workspace not found")
    before = server.get(f"/workspaces/{w['id']}").json()
    assert (before["broadcast_enabled"], before["talk_to_user_enabled"]) == (False, True)
    r = server.patch(url, headers=ADMIN, json={"broadcast_enabled": True})
    assert (r.status_code, r.json()) == (200, {"status": "updated"})
    after = server.get(f"/workspaces/{w['id']}").json()
    assert (after["broadcast_enabled"], after["talk_to_user_enabled"]) == (True, True)
    server.patch(url, headers=ADMIN, json={"talk_to_user_enabled": False})
    after = server.get(f"/workspaces/{w['id']}").json()
    assert (after["broadcast_enabled"], after["talk_to_user_enabled"]) == (True, False)
    assert config_events(server, w) == []  # as the reference: no event
    remove(server, w)
    error(server.patch(url, headers=ADMIN, json={"broadcast_enabled": False}), 404, "workspace not found")


# ---- files -------------------------------------------------------------------------------------------------

def test_template_files_until_the_first_write_copies_them(server):
    w = create_ws(server, name="Coder")  # its normalised name is the template's directory
    tok = bearer(w["auth_token"])
    listing = server.get(files_url(w) + "?depth=3", headers=tok)
    assert listing.status_code == 200 and listing.json() == TEMPLATE_ENTRIES
    r = server.get(files_url(w, "config.yaml"), headers=tok)
    assert r.json() == {"path": "config.yaml", "content": CODER_CONFIG, "size": len(CODER_CONFIG)}
    for hidden in (".env", "logo.bin", "passwd.md", ".git/HEAD"):
        error(server.get(files_url(w, hidden), headers=tok), 404, "file not found")
    assert server.db.query(f"SELECT count(*) FROM workspace_files WHERE workspace_id = '{w['id']}'") == [["0"]]
    r = put_file(server, w, "notes/todo.md", "- ship\n")
    assert (r.status_code, r.json()) == (200, {"status": "saved", "path": "notes/todo.md"})
    stored = server.db.query(f"SELECT path FROM workspace_files WHERE workspace_id = '{w['id']}' ORDER BY path")
    assert [p for (p,) in stored] == ["config.yaml", "notes/todo.md", "skills/review/SKILL.md", "system-prompt.md"]
    (CONFIGS / "coder" / "system-prompt.md").write_text("changed on disk\n")
    try:  # the workspace's copy is its own now
        assert server.get(files_url(w, "system-prompt.md"), headers=tok).json()["content"] == "You write code.\n"
    finally:
        (CONFIGS / "coder" / "system-prompt.md").write_text("You write code.\n")
    assert [e["path"] for e in server.get(files_url(w) + "?depth=1", headers=tok).json()] == [
        "config.yaml", "notes", "skills", "system-prompt.md"]
    assert config_events(server, w) == [{"kind": "files", "root": "/configs", "paths": ["notes/todo.md"],
                                         "deleted": False}]


def test_a_workspace_naming_its_template_reads_it(server):
    w = create_ws(server, template="coder")
    assert server.get(files_url(w, "skills/review/SKILL.md"), headers=ADMIN).json()["content"] == (
        "---\nname: Review\n---\nreview it\n")


def test_symlinks_inside_a_template_are_not_followed(server):
    # a read serves what the listing shows: a link to a hidden file, or through a linked directory, is not a file
    d = CONFIGS / "linky"
    if not d.exists():  # once for both backends
        (d / "sub").mkdir(parents=True)
        (d / "config.yaml").write_text("name: Linky\n")
        (d / ".env").write_text("OPENAI_API_KEY=sk-linked\n")
        (d / "sub" / "x.md").write_text("x\n")
        os.symlink(".env", d / "notes.md")
        os.symlink("sub", d / "alias")
        os.symlink("sub/x.md", d / "y.md")
    w = create_ws(server, template="linky")
    tok = bearer(w["auth_token"])
    listing = server.get(files_url(w) + "?depth=3", headers=tok)
    assert [e["path"] for e in listing.json()] == ["config.yaml", "sub", "sub/x.md"]
    for link in ("notes.md", "alias/x.md", "y.md"):
        r = server.get(files_url(w, link), headers=tok)
        assert (r.status_code, r.json()) == (404, {"error": "file not found", "code": "not_found"}), link
    assert server.get(files_url(w, "sub/x.md"), headers=tok).json()["content"] == "x\n"


def test_a_symlinked_configs_dir_is_followed(start_colony, tmp_path):
    # the operator's --configs-dir may itself be a link (a deployment's usual layout); only what lies beneath it is
    # read without following links
    link = tmp_path / "configs-link"
    os.symlink(CONFIGS, link)
    c = start_colony(args=["--configs-dir", str(link)])
    w = create_ws(c, template="coder")
    r = c.get(files_url(w, "config.yaml"), headers=ADMIN)
    assert (r.status_code, r.json()) == (200, {"path": "config.yaml", "content": CODER_CONFIG,
                                               "size": len(CODER_CONFIG)})
    by_name = create_ws(c, name="Coder")
    assert c.get(files_url(by_name) + "?depth=3", headers=ADMIN).json() == TEMPLATE_ENTRIES


def test_a_template_found_by_the_name_its_config_says(server):
    # no directory by the workspace's (normalised) name: the template whose config.yaml names it, looked for in the
    # first 8 KiB of each (colony reads no more of them on this path, which every files request may take)
    for d, text in (("dir-x", "description: x\nname: Special Agent\n"),
                    ("dir-late", "#" + "x" * 8192 + "\nname: Late Agent\n")):
        (CONFIGS / d).mkdir(exist_ok=True)
        (CONFIGS / d / "config.yaml").write_text(text)
    w = create_ws(server, name="Special Agent")
    assert server.get(files_url(w, "config.yaml"), headers=ADMIN).json()["content"] == (
        "description: x\nname: Special Agent\n")
    late = create_ws(server, name="Late Agent")
    assert server.get(files_url(late, "config.yaml"), headers=ADMIN).json()["content"].startswith('name: "Late Agent"')


def test_generated_config_until_one_is_saved(server):
    w = create_ws(server, name="Lonely", role="keeps to itself", tier=2)
    tok = bearer(w["auth_token"])
    generated = ('name: "Lonely"\ndescription: "keeps to itself"\nversion: "1.0.0"\ntier: 2\n'
                 'runtime: "claude-code"\nmodel: "m"\nprompt_files: []\nskills: []\na2a:\n  port: 8000\n')
    assert server.get(files_url(w), headers=tok).json() == [
        {"path": "config.yaml", "size": len(generated), "dir": False}]
    assert server.get(files_url(w, "config.yaml"), headers=tok).json() == {
        "path": "config.yaml", "content": generated, "size": len(generated)}
    error(server.get(files_url(w, "system-prompt.md"), headers=tok), 404,
          "file not found (container offline, no template)")
    error(server.delete(files_url(w, "config.yaml"), headers=tok), 404, "file not found")
    assert put_file(server, w, "system-prompt.md", "Be brief.").status_code == 200
    regenerated = generated.replace("prompt_files: []", 'prompt_files:\n  - "system-prompt.md"')
    assert server.get(files_url(w, "config.yaml"), headers=tok).json()["content"] == regenerated
    error(server.get(files_url(w, "other.md"), headers=tok), 404, "file not found")
    assert put_file(server, w, "config.yaml", "name: mine\n").status_code == 200
    assert server.get(files_url(w, "config.yaml"), headers=tok).json()["content"] == "name: mine\n"
    r = server.delete(files_url(w, "config.yaml"), headers=tok)
    assert (r.status_code, r.json()) == (200, {"status": "deleted", "path": "config.yaml"})
    assert server.get(files_url(w, "config.yaml"), headers=tok).json()["content"] == regenerated
    assert config_events(server, w)[-1] == {"kind": "files", "root": "/configs", "paths": ["config.yaml"],
                                            "deleted": True}


def test_delete_a_directory(server):
    w = create_ws(server)
    for p in ("skills/a/SKILL.md", "skills/a/x.md", "skills/ab/SKILL.md"):
        assert put_file(server, w, p, p).status_code == 200
    r = server.delete(files_url(w, "skills/a"), headers=ADMIN)
    assert (r.status_code, r.json()) == (200, {"status": "deleted", "path": "skills/a"})
    assert [e["path"] for e in server.get(files_url(w) + "?depth=5", headers=ADMIN).json()] == [
        "config.yaml", "skills", "skills/ab", "skills/ab/SKILL.md"]


def test_listing_directories_depth_and_pages(server):
    w = create_ws(server)
    for p in ("a.md", "b/c.md", "b/d/e.md", "b/.git/config", "node_modules/x.js"):
        put_file(server, w, p, "x")
    url = files_url(w)
    assert [e["path"] for e in server.get(url + "?path=b", headers=ADMIN).json()] == ["b/c.md", "b/d"]
    assert [e["path"] for e in server.get(url + "?path=b&depth=2", headers=ADMIN).json()] == [
        "b/c.md", "b/d", "b/d/e.md"]
    first = server.get(url + "?depth=5&limit=2", headers=ADMIN)
    assert [e["path"] for e in first.json()] == ["a.md", "b"]
    cursor = first.headers["X-Next-Cursor"]
    assert first.headers["Link"] == f"</workspaces/{w['id']}/files?depth=5&limit=2&cursor={cursor}>; rel=\"next\""
    rest = server.get(url + f"?depth=5&limit=10&cursor={cursor}", headers=ADMIN)
    assert [e["path"] for e in rest.json()] == ["b/c.md", "b/d", "b/d/e.md", "config.yaml"]
    assert "X-Next-Cursor" not in rest.headers
    error(server.get(url + "?depth=6", headers=ADMIN), 400, "depth must be an integer from 1 to 5")
    error(server.get(url + "?path=../b", headers=ADMIN), 400, "invalid path")


@pytest.mark.parametrize("path", ["../etc/passwd", "a/../../b", "%2e%2e/x", "a/%2E%2E/%2e%2e/b", "..%2F..%2Fetc",
                                  "./a", "a/.", "..", "a%5Cb", "a%01b", "x" * 256])
def test_traversal_and_bad_paths_are_400(server, path):
    w = create_ws(server)
    for method, body in (("GET", None), ("PUT", {"content": "x"}), ("DELETE", None)):
        status, answer = raw(server, method, files_url(w, path), w["auth_token"], body)
        assert (status, answer["error"]) == (400, "invalid path"), method
    assert server.db.query(f"SELECT count(*) FROM workspace_files WHERE workspace_id = '{w['id']}'") == [["0"]]


def test_roots(server):
    w = create_ws(server, name="Coder-roots", template="coder")
    assert put_file(server, w, "notes.txt", "in /workspace", root="/workspace").status_code == 200
    assert server.get(files_url(w, "notes.txt") + "?root=/workspace", headers=ADMIN).json()["content"] == (
        "in /workspace")
    assert server.get(files_url(w) + "?root=/workspace", headers=ADMIN).json() == [
        {"path": "notes.txt", "size": 13, "dir": False}]
    error(server.get(files_url(w, "config.yaml") + "?root=/home", headers=ADMIN), 404, "file not found")
    assert server.get(files_url(w) + "?root=/home", headers=ADMIN).json() == []
    # /configs still shows the template: nothing was written there
    assert server.get(files_url(w) + "?depth=3", headers=ADMIN).json() == TEMPLATE_ENTRIES
    error(server.get(files_url(w) + "?root=/agent-home", headers=ADMIN), 501,
          "/agent-home is not served by this platform", "not_implemented")
    error(server.get(files_url(w) + "?root=/etc", headers=ADMIN), 400,
          "invalid root: must be one of /configs, /workspace, /home, /plugins")


def test_sizes_413_and_nothing_written(server):
    w = create_ws(server)
    error(put_file(server, w, "big.md", "x" * (1024 * 1024 + 1)), 413, "file exceeds 1048576 bytes")
    assert put_file(server, w, "max.md", "x" * (1024 * 1024)).status_code == 200
    r = server.put(files_url(w), headers=ADMIN, json={"files": {"a.md": "a", "b.md": "x" * (1024 * 1024 + 1)}})
    error(r, 413, "b.md: file exceeds 1048576 bytes")
    assert [p for (p,) in server.db.query(
        f"SELECT path FROM workspace_files WHERE workspace_id = '{w['id']}'")] == ["max.md"]


def test_workspace_totals_hold_under_concurrency(server):
    w = create_ws(server)
    bodies = [{"files": {f"batch{i}/f{k}.md": "x" * 1024 for k in range(30)}} for i in range(20)]
    results = race(20, lambda i: server.put(files_url(w), headers=ADMIN, json=bodies[i]).status_code)
    ok = results.count(200)
    assert set(results) <= {200, 413} and ok >= 1 and results.count(413) >= 1, results
    (count,), = server.db.query(f"SELECT count(*) FROM workspace_files WHERE workspace_id = '{w['id']}'")
    assert int(count) == 30 * ok + 1 <= 500  # each accepted batch whole, plus the generated config.yaml
    assert 500 - int(count) < 30  # and every batch that fitted was accepted


def test_bulk_replace(server):
    w = create_ws(server)
    r = server.put(files_url(w), headers=bearer(w["auth_token"]),
                   json={"files": {"system-prompt.md": "hi", "skills/s/SKILL.md": "s"}})
    assert (r.status_code, r.json()) == (200, {"status": "replaced", "workspace": w["id"], "files": 2,
                                               "source": "database"})
    listing = [e["path"] for e in server.get(files_url(w) + "?depth=3", headers=ADMIN).json()]
    assert listing == ["config.yaml", "skills", "skills/s", "skills/s/SKILL.md", "system-prompt.md"]
    assert server.db.query(f"SELECT count(*) FROM workspace_files WHERE workspace_id = '{w['id']}'"
                           " AND path = 'config.yaml'") == [["1"]]  # stored, not shown
    stored = server.get(files_url(w, "config.yaml"), headers=ADMIN).json()["content"]
    assert 'prompt_files:\n  - "system-prompt.md"' in stored and 'skills:\n  - "s"' in stored
    error(server.put(files_url(w), headers=ADMIN, json={"files": {"ok.md": "x", "../no.md": "y"}}), 400,
          "invalid request body: ../no.md: invalid path")
    error(server.put(files_url(w), headers=ADMIN, json={"files": {f"f{i}": "x" for i in range(201)}}), 400,
          "too many files (201), max 200")
    error(server.put(files_url(w), headers=ADMIN, json={"files": ["a"]}), 400,
          "invalid request body: files must be an object of path: content")
    error(server.put(files_url(w), headers=ADMIN, json={"files": {"a.md": 1}}), 400,
          'invalid request body: files["a.md"] must be a string')
    assert "ok.md" not in [e["path"] for e in server.get(files_url(w), headers=ADMIN).json()]


def test_a_file_and_a_directory_cannot_share_a_path(server):
    w = create_ws(server)
    tok = w["auth_token"]
    assert put_file(server, w, "a", "file").status_code == 200
    error(put_file(server, w, "a/b", "under a file"), 400, "invalid request body: a is both a file and a directory")
    assert put_file(server, w, "d/e/f.md", "deep").status_code == 200
    for path in ("d", "d/e"):
        error(put_file(server, w, path, "over a directory"), 400,
              f"invalid request body: {path} is both a file and a directory")
    error(server.put(files_url(w), headers=bearer(tok), json={"files": {"x.md": "x", "x.md/y": "y"}}), 400,
          "invalid request body: x.md is both a file and a directory")
    error(server.put(files_url(w), headers=bearer(tok), json={"files": {"ok.md": "x", "a/c": "y"}}), 400,
          "invalid request body: a is both a file and a directory")  # with what is stored already
    assert put_file(server, w, "a-b/c", "a sibling, not a child").status_code == 200
    rows = server.db.query(f"SELECT path FROM workspace_files WHERE workspace_id = '{w['id']}' ORDER BY path")
    assert [p for (p,) in rows] == ["a", "a-b/c", "d/e/f.md"]


def test_file_auth_and_removed_workspaces(server):
    w, other = create_ws(server), create_ws(server)
    error(put_file(server, w, "a.md", "x", token=other["auth_token"]), 401, "invalid workspace auth token")
    error(server.get(files_url(w), headers=bearer(other["auth_token"])), 401, "invalid workspace auth token")
    error(server.get(files_url(w)), 401, "missing workspace auth token")
    assert put_file(server, w, "a.md", "x").status_code == 200
    remove(server, w)
    error(server.get(files_url(w, "a.md"), headers=ADMIN), 404, "workspace not found")
    error(put_file(server, w, "b.md", "x", token=ADMIN["Authorization"].split()[1]), 404, "workspace not found")
    error(server.get(f"/workspaces/{uuid.uuid4()}/files", headers=ADMIN), 404, "workspace not found")
