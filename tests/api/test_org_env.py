"""Org import and secrets (workspaces.md §4.2-4.3): required_env checked before anything is created (412 listing what
is missing), and a template directory's .env files, which satisfy a node's requirements and become its secrets."""
import json
import pathlib
import tempfile
import uuid

import pytest

from conftest import ADMIN, SECRETS_KEY, run_colony
from test_secrets import put_global

TEMPLATES = pathlib.Path(tempfile.mkdtemp(prefix="colony-env-templates-"))
SERVER_ARGS = ["--templates-dir", str(TEMPLATES)]


@pytest.fixture(autouse=True)
def no_globals(server):
    server.db.execute("DELETE FROM global_secrets")


def write_template(name, text, files=None):
    d = TEMPLATES / name
    d.mkdir(exist_ok=True)
    (d / "org.yaml").write_text(text)
    for rel, content in (files or {}).items():
        (d / rel).parent.mkdir(parents=True, exist_ok=True)
        (d / rel).write_text(content)
    return name


def ws_count(c):
    return int(c.db.query("SELECT count(*) FROM workspaces")[0][0])


def test_required_env_is_412_listing_what_is_missing_and_creates_nothing(server):
    p = uuid.uuid4().hex[:6]
    template = {"name": f"Env {p}", "defaults": {"model": "m"},
                "required_env": ["ZULU_KEY", "ALPHA_KEY", {"any_of": ["OPENAI_API_KEY", "ANTHROPIC_API_KEY"]},
                                 {"any_of": ["ALPHA_KEY", "OTHER"]}, "not-a-name", "ZULU_KEY"],
                "workspaces": [{"name": f"Lead {p}", "required_env": ["LEAD_ONLY"],
                                "children": [{"name": "Off", "spawning": False, "required_env": ["NEVER"]}]}]}
    before = ws_count(server)
    r = server.post("/org/import", headers=ADMIN, json={"template": template})
    assert r.status_code == 412
    assert r.json() == {
        "error": "missing required environment variables", "code": "precondition_failed",
        "missing_env": ["ALPHA_KEY", "ZULU_KEY", {"any_of": ["ANTHROPIC_API_KEY", "OPENAI_API_KEY"]}],
        "required_env": ["ALPHA_KEY", "LEAD_ONLY", "ZULU_KEY", {"any_of": ["ANTHROPIC_API_KEY", "OPENAI_API_KEY"]}],
        "template": f"Env {p}",
        "suggestion": "set the missing names as global secrets (PUT /settings/secrets) and import again"}
    assert ws_count(server) == before
    for k in ("ALPHA_KEY", "ZULU_KEY", "ANTHROPIC_API_KEY"):
        put_global(server, k, "set")
    r = server.post("/org/import", headers=ADMIN, json={"template": template})
    assert r.status_code == 412 and r.json() == {
        "error": "missing per-workspace required environment variables", "code": "precondition_failed",
        "missing_workspace_env": [{"workspace": f"Lead {p}", "files_dir": "", "unsatisfied": ["LEAD_ONLY"]}],
        "template": f"Env {p}",
        "suggestion": "set the missing names as global secrets (PUT /settings/secrets), or in the template's .env "
                      "or the workspace's <files_dir>/.env, and import again"}
    assert ws_count(server) == before
    put_global(server, "LEAD_ONLY", "set")
    r = server.post("/org/import", headers=ADMIN, json={"template": template})
    assert r.status_code == 201 and r.json()["created"] == 1
    # each attempt is paired in the telemetry, the failures with their message
    done = [json.loads(x[0]) for x in server.db.query(
        "SELECT payload FROM structure_events WHERE event_type = 'org.import.completed' ORDER BY created_at, id")]
    assert [d["error"] for d in done if d["name"] == f"Env {p}"] == [
        "missing required environment variables", "missing per-workspace required environment variables", ""]


def test_bad_required_env_is_400(server):
    for req, msg in (([{"any_of": []}], "required_env[0].any_of must name at least one variable"),
                     ([5], "required_env[0] must be a name or {any_of: [names]}"),
                     ([{"any_of": ["A"], "x": 1}], "required_env[0] must be a name or {any_of: [names]}"),
                     ([{"any_of": [1]}], "required_env[0].any_of must be a list of names")):
        r = server.post("/org/import", headers=ADMIN, json={"template": {
            "name": "bad", "defaults": {"model": "m"}, "required_env": req, "workspaces": [{"name": "x"}]}})
        assert r.status_code == 400 and r.json()["error"] == msg, r.text


def test_env_files_satisfy_node_requirements_and_become_its_secrets(server):
    p = uuid.uuid4().hex[:6]
    name = write_template(f"envorg-{p}", f"""
name: EnvOrg {p}
defaults: {{model: m}}
workspaces:
  - name: Root {p}
    files_dir: root
    required_env: [ORG_WIDE, {{any_of: [ROOT_TOKEN, NOPE]}}]
    children:
      - name: Child
        files_dir: agents/child
        required_env: [CHILD_KEY]
      - name: Plain
""", {".env": "# the org's\nORG_WIDE=org-value\nSHARED=from-org\n",
      "root/.env": "export ROOT_TOKEN='root value'\nSHARED=\"from root\\n\"\n",
      "agents/child/.env": "CHILD_KEY=child-value # comment\n"})
    r = server.post("/org/import", headers=ADMIN, json={"dir": name})
    assert r.status_code == 201, r.text
    ids = {w["name"]: w["id"] for w in r.json()["workspaces"]}

    def vals(wid):
        server.post(f"/admin/workspaces/{wid}/revoke-auth-tokens", headers=ADMIN)
        return server.get(f"/workspaces/{wid}/secrets/values", headers=ADMIN).json()

    assert vals(ids[f"Root {p}"]) == {"ORG_WIDE": "org-value", "ROOT_TOKEN": "root value", "SHARED": "from root\n"}
    assert vals(ids["Child"]) == {"CHILD_KEY": "child-value", "ORG_WIDE": "org-value", "SHARED": "from-org"}
    assert vals(ids["Plain"]) == {"ORG_WIDE": "org-value", "SHARED": "from-org"}
    # a re-import skips existing nodes and stores nothing on them
    (TEMPLATES / name / ".env").write_text("ORG_WIDE=changed\n")
    assert server.post("/org/import", headers=ADMIN, json={"dir": name}).json()["skipped"] == 3
    assert vals(ids["Plain"])["ORG_WIDE"] == "org-value"
    # without the file, the node's requirement is missing
    (TEMPLATES / name / "agents/child/.env").unlink()
    server.db.execute(f"DELETE FROM workspaces WHERE parent_id = '{ids[f'Root {p}']}' AND name = 'Child'")
    r = server.post("/org/import", headers=ADMIN, json={"dir": name})
    assert r.status_code == 412 and r.json()["missing_workspace_env"] == [
        {"workspace": "Child", "files_dir": "agents/child", "unsatisfied": ["CHILD_KEY"]}]


def test_env_file_errors_name_the_line_never_the_value(server):
    name = write_template("envbad-" + uuid.uuid4().hex[:6], "name: B\ndefaults: {model: m}\nworkspaces:\n"
                          "  - name: N\n    files_dir: n\n", {"n/.env": "GOOD=1\nbad line with SECRETVALUE\n"})
    r = server.post("/org/import", headers=ADMIN, json={"dir": name})
    assert r.status_code == 400 and "line 2: expected NAME=value" in r.json()["error"]
    assert "SECRETVALUE" not in r.text
    for fd in ("../up", "/abs", "a/../../b"):
        tpl = write_template("envdir-" + uuid.uuid4().hex[:6], f"name: D\ndefaults: {{model: m}}\nworkspaces:\n"
                             f"  - name: N\n    files_dir: '{fd}'\n")
        r = server.post("/org/import", headers=ADMIN, json={"dir": tpl})
        assert r.status_code == 400 and r.json()["error"] == (
            "workspaces[0]: files_dir must be a relative path inside the template directory")




def test_the_cli_import_checks_required_env_and_reads_env_files(new_db, tmp_path):
    db = new_db()
    f = tmp_path / "org.yaml"
    f.write_text("name: CLI Env\ndefaults: {model: m}\nrequired_env: [CLI_NEEDED]\nworkspaces:\n  - name: Boss\n")
    env = {"COLONY_SECRETS_KEY": SECRETS_KEY}
    r = run_colony(["import", str(f), "--db", db.url], env=env)
    assert r.returncode == 1
    assert r.stderr.splitlines()[-1] == (f"colony: import of {f} failed: missing required environment variables: "
                                         f"[\"CLI_NEEDED\"]")
    assert db.query("SELECT count(*) FROM workspaces") == [["0"]]
    f.write_text("name: CLI Env\ndefaults: {model: m}\nworkspaces:\n  - name: Boss\n    required_env: [CLI_NEEDED]\n")
    (tmp_path / ".env").write_text("CLI_NEEDED=from-the-file\n")
    r = run_colony(["import", str(f), "--db", db.url], env=env)
    assert r.returncode == 0, r.stderr
    assert db.query("SELECT key FROM workspace_secrets") == [["CLI_NEEDED"]]
    # without a key the .env values cannot be stored, so nothing is created
    db2 = new_db()
    r = run_colony(["import", str(f), "--db", db2.url])
    assert r.returncode == 1 and "colony has no secrets key" in r.stderr
    assert db2.query("SELECT count(*) FROM workspaces") == [["0"]]
