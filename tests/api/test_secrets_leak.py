"""A secret's value shows nowhere but in …/secrets/values: not in any response (errors included), the log, an event,
an audit row, or the database in clear — whichever path stored it (data.md §3.5)."""
import pathlib
import subprocess
import tempfile
import uuid

from conftest import ADMIN, PG_BIN
from test_secrets import bearer, new_ws, put, put_global, values

TEMPLATES = pathlib.Path(tempfile.mkdtemp(prefix="colony-leak-templates-"))
SERVER_ARGS = ["--templates-dir", str(TEMPLATES)]


def write_template(name, text, files=None):
    d = TEMPLATES / name
    d.mkdir(exist_ok=True)
    (d / "org.yaml").write_text(text)
    for rel, content in files.items():
        (d / rel).write_text(content)
    return name


def test_a_value_shows_nowhere_but_in_its_values(server, backend):
    marker = "MARKER" + uuid.uuid4().hex  # every value below contains it
    put_global(server, "LEAK_GLOBAL", marker + "-global")
    w = new_ws(server, secrets={"LEAK_CREATE": marker + "-create"})
    put(server, w["id"], "LEAK_PUT", marker + "-put")
    name = write_template("leak-" + uuid.uuid4().hex[:6], "name: Leak\ndefaults: {model: m}\nworkspaces:\n"
                          "  - name: Leaky\n", {".env": f"LEAK_ENV={marker}-env\n"})
    imported = server.post("/org/import", headers=ADMIN, json={"dir": name})
    leaky = imported.json()["workspaces"][0]["id"]
    bodies = [imported.text]
    # refusals that carry a value
    for method, path, body in (
            ("PUT", f"/workspaces/{w['id']}/secrets", {"key": "bad name", "value": marker}),
            ("PUT", f"/workspaces/{w['id']}/secrets", {"key": marker, "value": marker}),
            ("PUT", f"/workspaces/{w['id']}/secrets", {"key": "LONG", "value": marker * 2000}),
            ("PUT", "/settings/secrets", {"key": "x", "value": marker}),
            ("POST", "/workspaces", {"name": "leak-" + uuid.uuid4().hex[:6], "model": "m",
                                     "secrets": {"bad name": marker}}),
            ("POST", "/workspaces", {"name": "leak-" + uuid.uuid4().hex[:6], "model": "m",
                                     "secrets": {marker: "x"}})):
        r = server.request(method, path, headers=ADMIN, json=body)
        assert r.status_code == 400
        bodies.append(r.text)
    # malformed bodies: the JSON parser's message would quote a short token of them (a password-sized value)
    short = "pw" + uuid.uuid4().hex[:8]
    for raw in ('{"key": "K", "value": "' + short, '{"key": "K", "value": "' + short + '" "x"}',
                '{"key": "K", "value": "' + short + '", "value": "x"}', short, '{"secrets": {"K": ' + short + '}}'):
        for path in (f"/workspaces/{w['id']}/secrets", "/settings/secrets", "/workspaces"):
            r = server.post(path, headers={**ADMIN, "Content-Type": "application/json"}, data=raw)
            assert r.status_code == 400 and r.json()["code"] == "invalid_json"
            assert short not in r.text and r.json()["error"].startswith("invalid JSON at line 1 column ")
    bad_env = write_template("leakbad-" + uuid.uuid4().hex[:6], "name: L\ndefaults: {model: m}\nworkspaces:\n"
                             "  - name: N\n", {".env": f"A='{marker}\n"})
    bodies.append(server.post("/org/import", headers=ADMIN, json={"dir": bad_env}).text)
    reg = server.post("/registry/register", headers=bearer(w["auth_token"]),
                      json={"id": w["id"], "agent_card": {"name": "leak"}, "url": "http://127.0.0.1:9"})
    bodies.append(reg.text)
    # every read a canvas, an operator or an agent makes
    for h in (ADMIN, bearer(w["auth_token"])):
        for path in ("/workspaces", f"/workspaces/{w['id']}", f"/workspaces/{w['id']}/state",
                     f"/workspaces/{w['id']}/secrets", f"/workspaces/{leaky}/secrets", "/settings/secrets",
                     "/admin/secrets", "/events", f"/events/{w['id']}", f"/workspaces/{w['id']}/activity",
                     f"/workspaces/{w['id']}/chat-history", f"/workspaces/{w['id']}/tokens",
                     f"/workspaces/{w['id']}/delegations", "/org/templates", "/metrics", "/health",
                     f"/registry/{w['id']}/peers", f"/registry/discover/{w['id']}", "/admin/delegations"):
            bodies.append(server.get(path, headers={**h, "X-Workspace-ID": w["id"]}).text)
    for b in bodies:
        assert marker not in b
    # the audit and event tables
    for table, cols in (("structure_events", "event_type, payload"), ("events", "type, payload")):
        assert not [r for r in server.db.query(f"SELECT {cols} FROM {table}") if marker in "|".join(r)]
    # the database at rest: no value in clear anywhere in it
    if backend == "sqlite":
        raw = b"".join(pathlib.Path(server.db.path + suffix).read_bytes() for suffix in ("", "-wal")
                       if pathlib.Path(server.db.path + suffix).exists())
    else:
        raw = subprocess.run([str(PG_BIN / "pg_dump"), "-h", "127.0.0.1", "-p", str(server.db.cluster.port), "-U",
                              "postgres", server.db.url.rsplit("/", 1)[1]], capture_output=True, check=True).stdout
        assert b"LEAK_PUT" in raw  # the dump holds the rows...
    assert marker.encode() not in raw  # ...and never a value in clear
    log = server.read_log()
    assert marker not in log
    # where it does show: the agent's own values, each of them
    got = values(server, w).json()
    assert got["LEAK_PUT"] == marker + "-put" and got["LEAK_CREATE"] == marker + "-create"
    assert got["LEAK_GLOBAL"] == marker + "-global"
    server.post(f"/admin/workspaces/{leaky}/revoke-auth-tokens", headers=ADMIN)
    assert server.get(f"/workspaces/{leaky}/secrets/values", headers=ADMIN).json()["LEAK_ENV"] == marker + "-env"
    assert marker not in server.read_log()
