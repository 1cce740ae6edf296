"""The plugins registry and a workspace's plugins (surface.md §9): the registry read from --plugins-dir, sources,
what a workspace declares, compatibility, install and uninstall as a platform without containers answers them, and
the download the SDK's install_plugin() uses (its own-token rule, the tar.gz it gets, traversal, size)."""
import http.client
import io
import json
import os
import pathlib
import tarfile
import tempfile
import uuid

from conftest import ADMIN
from inbox_util import bearer, create_ws, error

PLUGINS = pathlib.Path(tempfile.mkdtemp(prefix="colony-plugins-"))
SERVER_ARGS = ["--plugins-dir", str(PLUGINS)]


def _plugins():
    a = PLUGINS / "alpha"
    (a / "skills" / "s").mkdir(parents=True)
    (a / "plugin.yaml").write_text("name: ignored\nversion: '1.0'\ndescription: first\nauthor: me\ntags: [x, y]\n"
                                   "skills: [s]\nruntimes: [claude_code]\n")
    (a / "skills" / "s" / "SKILL.md").write_text("skill s\n")
    (a / "bin.dat").write_bytes(bytes(range(256)))
    os.symlink("/etc/passwd", a / "passwd")
    (a / ".git").mkdir()
    (a / ".git" / "HEAD").write_text("ref\n")
    (PLUGINS / "beta").mkdir()
    (PLUGINS / "gamma").mkdir()
    (PLUGINS / "gamma" / "plugin.yaml").write_text("version: 2\nruntimes: [langgraph]\n")
    (PLUGINS / "README").write_text("not a plugin\n")
    (PLUGINS / ".hidden").mkdir()
    (PLUGINS / "huge").mkdir()
    with open(PLUGINS / "huge" / "blob", "wb") as f:  # sparse: 33 MiB of zeros past the 32 MiB archive bound
        f.truncate(33 * 1024 * 1024)


_plugins()

ALPHA = {"name": "alpha", "version": "1.0", "description": "first", "author": "me", "tags": ["x", "y"],
         "skills": ["s"], "runtimes": ["claude_code"]}
BETA = {"name": "beta", "version": None, "description": None, "author": None, "tags": None, "skills": None,
        "runtimes": None}
GAMMA = {"name": "gamma", "version": None, "description": None, "author": None, "tags": None, "skills": None,
         "runtimes": ["langgraph"]}
HUGE = {**BETA, "name": "huge"}


def test_registry_sources_and_runtime_filter(server):
    assert server.get("/plugins").json() == [ALPHA, BETA, GAMMA, HUGE]
    assert server.get("/plugins?runtime=claude-code").json() == [ALPHA, BETA, HUGE]
    assert server.get("/plugins?runtime=langgraph").json() == [BETA, GAMMA, HUGE]
    first = server.get("/plugins?limit=1")
    assert first.json() == [ALPHA]
    assert server.get(f"/plugins?limit=2&cursor={first.headers['X-Next-Cursor']}").json() == [BETA, GAMMA]
    assert server.get("/plugins/sources").json() == {"schemes": ["local"]}


def test_an_empty_registry(start_colony):
    c = start_colony(args=["--plugins-dir", "/nonexistent-plugins"])
    assert c.get("/plugins").json() == []


def org_with_plugins(c, runtime="claude-code"):
    name = "p-" + uuid.uuid4().hex[:6]
    tpl = {"name": name, "defaults": {"model": "m", "plugins": ["alpha", "gamma"]},
           "workspaces": [{"name": name, "runtime": runtime, "plugins": ["missing"]}]}
    r = c.post("/org/import", headers=ADMIN, json={"template": tpl})
    assert r.status_code == 201, r.text
    wid = r.json()["workspaces"][0]["id"]
    tok = c.post(f"/workspaces/{wid}/tokens", headers=ADMIN).json()["auth_token"]
    return {"id": wid, "auth_token": tok}


def test_declared_plugins_and_compatibility(server):
    w = org_with_plugins(server, runtime="langgraph")
    got = server.get(f"/workspaces/{w['id']}/plugins", headers=bearer(w["auth_token"])).json()
    assert got == [{**ALPHA, "source": "local://alpha", "supported_on_runtime": False},
                   {**GAMMA, "source": "local://gamma", "supported_on_runtime": True},
                   {**BETA, "name": "missing", "source": "local://missing", "supported_on_runtime": True}]
    first = server.get(f"/workspaces/{w['id']}/plugins?limit=2", headers=ADMIN)
    assert [p["name"] for p in first.json()] == ["alpha", "gamma"]
    rest = server.get(f"/workspaces/{w['id']}/plugins?cursor={first.headers['X-Next-Cursor']}", headers=ADMIN)
    assert [p["name"] for p in rest.json()] == ["missing"] and "X-Next-Cursor" not in rest.headers
    error(server.get(f"/workspaces/{w['id']}/plugins?limit=201", headers=ADMIN), 400,
          "limit must be an integer from 1 to 200")
    assert server.get(f"/workspaces/{w['id']}/plugins/available", headers=ADMIN).json() == [BETA, GAMMA, HUGE]
    error(server.get(f"/workspaces/{w['id']}/plugins/compatibility", headers=ADMIN), 400,
          "runtime query parameter is required")
    for rt in ("claude-code", "claude_code"):  # '-' and '_' alike
        assert server.get(f"/workspaces/{w['id']}/plugins/compatibility?runtime={rt}", headers=ADMIN).json() == {
            "target_runtime": rt,
            "compatible": [{"name": "alpha", "runtimes": ["claude_code"]}, {"name": "missing", "runtimes": None}],
            "incompatible": [{"name": "gamma", "runtimes": ["langgraph"]}],
            "all_compatible": False}
    plain = create_ws(server)
    assert server.get(f"/workspaces/{plain['id']}/plugins", headers=ADMIN).json() == []
    assert server.get(f"/workspaces/{plain['id']}/plugins/compatibility?runtime=x", headers=ADMIN).json() == {
        "target_runtime": "x", "compatible": [], "incompatible": [], "all_compatible": True}


def test_install_and_uninstall_answer_as_without_a_container(server):
    w = org_with_plugins(server)
    url = f"/workspaces/{w['id']}/plugins"
    tok = bearer(w["auth_token"])
    error(server.post(url, headers=tok, json={}), 400, "invalid plugin source")
    error(server.post(url, headers=tok, json={"source": "bad source"}), 400, "invalid plugin source")
    error(server.post(url, headers=tok, json={"source": "://x"}), 400, "invalid plugin source")
    body = error(server.post(url, headers=tok, json={"source": "github://acme/tools#v1"}), 400,
                 "failed to resolve plugin source")
    assert body["available_schemes"] == ["local"]
    body = error(server.post(url, headers=tok, json={"source": "local://nope"}), 404,
                 "failed to fetch plugin from local")
    assert body["source"] == "local://nope"
    error(server.post(url, headers=tok, json={"source": "local://beta"}), 503, "workspace container not running")
    error(server.post(url, headers=tok, json={"source": "beta"}), 503, "workspace container not running")
    assert server.put(f"/orgs/{w['id']}/plugins/allowlist", headers=ADMIN,
                      json={"plugins": ["beta"], "enabled_by": "ops"}).status_code == 200
    body = error(server.post(url, headers=tok, json={"source": "alpha"}), 403,
                 "plugin alpha is not in the org's plugin allowlist")
    assert body["plugin"] == "alpha"
    error(server.post(url, headers=tok, json={"source": "beta"}), 503, "workspace container not running")
    error(server.delete(url + "/a..b", headers=tok), 400, "invalid plugin name")
    error(server.delete(url + "/a%2Fb", headers=tok), 400, "invalid plugin name")
    error(server.delete(url + "/alpha", headers=tok), 503, "workspace container not running")
    ext = create_ws(server, runtime="external", model=None)
    body = error(server.post(f"/workspaces/{ext['id']}/plugins", headers=ADMIN, json={"source": "beta"}), 422,
                 "plugin install via push is not supported for external runtimes")
    assert body["hint"]
    error(server.delete(f"/workspaces/{ext['id']}/plugins/beta", headers=ADMIN), 422,
          "plugin uninstall via docker exec is not supported for external runtimes")
    error(server.post(f"/workspaces/{uuid.uuid4()}/plugins", headers=ADMIN, json={"source": "beta"}), 404,
          "workspace not found")


def untar(data):
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as t:
        return {m.name: (t.extractfile(m).read() if m.isfile() else None) for m in t.getmembers()}


def test_download_with_its_own_token(server):
    w = org_with_plugins(server)
    url = f"/workspaces/{w['id']}/plugins/alpha/download"
    r = server.get(url, headers=bearer(w["auth_token"]))
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/gzip"
    assert r.headers["Content-Disposition"] == 'attachment; filename="alpha.tar.gz"'
    assert (r.headers["X-Plugin-Name"], r.headers["X-Plugin-Source"]) == ("alpha", "local://alpha")
    assert untar(r.content) == {"bin.dat": bytes(range(256)), "plugin.yaml": (PLUGINS / "alpha" / "plugin.yaml")
                                .read_bytes(), "skills": None, "skills/s": None, "skills/s/SKILL.md": b"skill s\n"}
    # the workspace holds live tokens: only its own opens the download, not an operator's, not another's
    error(server.get(url, headers=ADMIN), 401, "invalid workspace auth token")
    other = create_ws(server)
    error(server.get(url, headers=bearer(other["auth_token"])), 401, "invalid workspace auth token")
    error(server.get(url), 401, "missing workspace auth token")
    r = server.get(url + "?source=local://alpha", headers=bearer(w["auth_token"]))
    assert r.status_code == 200
    body = error(server.get(url + "?source=local://beta", headers=bearer(w["auth_token"])), 400,
                 "plugin source resolves to another plugin")
    assert (body["resolved_name"], body["requested_name"]) == ("beta", "alpha")
    body = error(server.get(url + "?source=github://a/b", headers=bearer(w["auth_token"])), 400,
                 "failed to resolve plugin source")
    assert body["available_schemes"] == ["local"]
    for bad in ("a..b", "..", "%2e%2e", "a%5Cb", "a%2Fb", "..%2F..%2Fetc"):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)  # the path as written
        conn.request("GET", f"/workspaces/{w['id']}/plugins/{bad}/download", headers=bearer(w["auth_token"]))
        r = conn.getresponse()
        assert (r.status, json.loads(r.read())["error"]) == (400, "invalid plugin name"), bad
        conn.close()
    body = error(server.get(f"/workspaces/{w['id']}/plugins/nope/download", headers=bearer(w["auth_token"])), 404,
                 "failed to fetch plugin from local")
    assert body["source"] == "local://nope"
    error(server.get(f"/workspaces/{w['id']}/plugins/huge/download", headers=bearer(w["auth_token"])), 413,
          "staged plugin exceeds size limit")


def test_download_by_an_operator_when_the_workspace_holds_no_token(server):
    w = org_with_plugins(server)
    assert server.post(f"/admin/workspaces/{w['id']}/revoke-auth-tokens", headers=ADMIN).status_code == 200
    r = server.get(f"/workspaces/{w['id']}/plugins/beta/download", headers=ADMIN)
    assert r.status_code == 200 and untar(r.content) == {}


def test_the_allowlist_of_a_deep_workspace_is_its_org_roots(server):
    # the walk up to the org root has no depth bound: 70 levels down, the root's allowlist applies, not a mid-tree one
    chain = [create_ws(server)]
    for _ in range(69):
        chain.append(create_ws(server, parent=chain[-1]))
    leaf = chain[-1]
    assert server.put(f"/orgs/{chain[0]['id']}/plugins/allowlist", headers=ADMIN,
                      json={"plugins": ["beta"], "enabled_by": "ops"}).status_code == 200
    body = error(server.post(f"/workspaces/{leaf['id']}/plugins", headers=bearer(leaf["auth_token"]),
                             json={"source": "alpha"}), 403, "plugin alpha is not in the org's plugin allowlist")
    assert body["plugin"] == "alpha"
    # and the cycle check of a parent change walks as far: the root may not move under its own leaf
    error(server.patch(f"/workspaces/{chain[0]['id']}", headers=ADMIN, json={"parent_id": leaf["id"]}), 400,
          "parent change would create a cycle")
