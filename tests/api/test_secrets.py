"""Secrets (data.md §3): the routes and their shapes, global secrets overridden per workspace, values only to the
workspace's own agent, bad input and bounds (under concurrency too), the audit trail, and tamper detection (a value
altered or moved in the database is refused by name, never served). Org import: test_org_env.py; the never-leak
grep: test_secrets_leak.py; keys and rotation: test_secrets_keys.py."""
import collections
import concurrent.futures
import json
import re
import subprocess
import uuid

import pytest
import requests

from conftest import ADMIN, PG_BIN, wait_for

NAME_ERROR = "invalid secret key: use A-Z, 0-9 and _, starting with a letter, at most 128 characters"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def bearer(t):
    return {"Authorization": f"Bearer {t}"}


def new_ws(c, **kw):
    r = c.post("/workspaces", headers=ADMIN, json={"name": "s-" + uuid.uuid4().hex[:8], "model": "m", **kw})
    assert r.status_code == 201, r.text
    return r.json()


def put(c, wid, key, value, headers=ADMIN, method="PUT"):
    return c.request(method, f"/workspaces/{wid}/secrets", headers=headers, json={"key": key, "value": value})


def put_global(c, key, value, path="/settings/secrets", method="PUT"):
    return c.request(method, path, headers=ADMIN, json={"key": key, "value": value})


def values(c, w):
    return c.get(f"/workspaces/{w['id']}/secrets/values", headers=bearer(w["auth_token"]))


def names(rows):
    return [(r["key"], r["scope"]) for r in rows]


def uniq(prefix="K"):
    return f"{prefix}_{uuid.uuid4().hex[:10].upper()}"


def blob(c, table, where):
    fn = "encode(encrypted_value, 'hex')" if c.db.backend == "postgres" else "hex(encrypted_value)"
    return bytes.fromhex(c.db.query(f"SELECT {fn} FROM {table} WHERE {where}")[0][0])


def set_blob(c, table, column, where, b):
    lit = f"decode('{b.hex()}', 'hex')" if c.db.backend == "postgres" else f"X'{b.hex()}'"
    c.db.execute(f"UPDATE {table} SET {column} = {lit} WHERE {where}")


@pytest.fixture(autouse=True)
def no_globals(server):
    """Global secrets are shared by every workspace: each test starts without any."""
    server.db.execute("DELETE FROM global_secrets")


# ---- routes and shapes --------------------------------------------------------------------------------------

def test_workspace_secret_routes_and_shapes(server):
    w = new_ws(server)
    r = put(server, w["id"], "API_KEY", "v1")
    assert r.status_code == 200 and r.json() == {"status": "saved", "key": "API_KEY"}
    first = server.get(f"/workspaces/{w['id']}/secrets", headers=ADMIN).json()
    assert len(first) == 1 and set(first[0]) == {"key", "has_value", "scope", "created_at", "updated_at"}
    assert first[0]["key"] == "API_KEY" and first[0]["has_value"] is True and first[0]["scope"] == "workspace"
    assert RFC3339.match(first[0]["created_at"]) and first[0]["created_at"] == first[0]["updated_at"]
    r = put(server, w["id"], "API_KEY", "v2", method="POST")  # POST and PUT both upsert
    assert r.status_code == 200 and r.json() == {"status": "saved", "key": "API_KEY"}
    again = server.get(f"/workspaces/{w['id']}/secrets", headers=bearer(w["auth_token"])).json()
    assert again[0]["created_at"] == first[0]["created_at"] and again[0]["updated_at"] >= first[0]["updated_at"]
    assert values(server, w).json() == {"API_KEY": "v2"}
    r = server.delete(f"/workspaces/{w['id']}/secrets/API_KEY", headers=bearer(w["auth_token"]))
    assert r.status_code == 200 and r.json() == {"status": "deleted", "key": "API_KEY"}
    r = server.delete(f"/workspaces/{w['id']}/secrets/API_KEY", headers=ADMIN)
    assert r.status_code == 404 and r.json() == {"error": "secret not found", "code": "not_found"}
    assert server.get(f"/workspaces/{w['id']}/secrets", headers=ADMIN).json() == []
    assert values(server, w).json() == {}


def test_global_secret_routes_and_shapes(server):
    for path, method in (("/settings/secrets", "PUT"), ("/settings/secrets", "POST"), ("/admin/secrets", "POST")):
        key = uniq("G")
        r = put_global(server, key, "g", path, method)
        assert r.status_code == 200 and r.json() == {"status": "saved", "key": key, "scope": "global"}
    for path in ("/settings/secrets", "/admin/secrets"):
        rows = server.get(path, headers=ADMIN).json()
        assert len(rows) == 3 and all(set(r) == {"key", "has_value", "created_at", "updated_at", "scope"} and
                                      r["scope"] == "global" and r["has_value"] is True for r in rows)
        assert [r["key"] for r in rows] == sorted(r["key"] for r in rows)
    first, second, third = [r["key"] for r in server.get("/settings/secrets", headers=ADMIN).json()]
    r = server.delete(f"/settings/secrets/{first}", headers=ADMIN)
    assert r.status_code == 200 and r.json() == {"status": "deleted", "key": first, "scope": "global"}
    r = server.delete(f"/admin/secrets/{second}", headers=ADMIN)
    assert r.status_code == 200 and r.json() == {"status": "deleted", "key": second, "scope": "global"}
    r = server.delete(f"/admin/secrets/{second}", headers=ADMIN)
    assert r.status_code == 404 and r.json() == {"error": "secret not found", "code": "not_found"}
    assert [r["key"] for r in server.get("/admin/secrets", headers=ADMIN).json()] == [third]


def test_global_secrets_are_for_operators(server):
    w = new_ws(server)
    for method, path in (("GET", "/settings/secrets"), ("PUT", "/settings/secrets"), ("POST", "/admin/secrets"),
                         ("GET", "/admin/secrets"), ("DELETE", "/settings/secrets/A"), ("DELETE", "/admin/secrets/A")):
        assert server.request(method, path, json={"key": "A", "value": "x"}).status_code == 401
        r = server.request(method, path, headers=bearer(w["auth_token"]), json={"key": "A", "value": "x"})
        assert r.status_code == 403 and r.json()["error"] == "admin access required"
    assert server.get("/settings/secrets", headers=ADMIN).json() == []
    org = server.post("/org/tokens", headers=ADMIN, json={"name": "secrets"}).json()["auth_token"]
    assert server.put("/settings/secrets", headers=bearer(org), json={"key": "BY_ORG", "value": "x"}).status_code == 200


def test_a_workspace_sees_its_own_over_the_globals(server):
    put_global(server, "ALPHA", "g-alpha")
    put_global(server, "BRAVO", "g-bravo")
    w, other = new_ws(server), new_ws(server)
    put(server, w["id"], "BRAVO", "w-bravo")
    put(server, w["id"], "CHARLIE", "w-charlie")
    listed = server.get(f"/workspaces/{w['id']}/secrets", headers=bearer(w["auth_token"])).json()
    assert names(listed) == [("BRAVO", "workspace"), ("CHARLIE", "workspace"), ("ALPHA", "global")]
    assert values(server, w).json() == {"ALPHA": "g-alpha", "BRAVO": "w-bravo", "CHARLIE": "w-charlie"}
    assert values(server, other).json() == {"ALPHA": "g-alpha", "BRAVO": "g-bravo"}
    assert names(server.get(f"/workspaces/{other['id']}/secrets", headers=ADMIN).json()) == [
        ("ALPHA", "global"), ("BRAVO", "global")]
    # deleting the override brings the global back; changing a global changes what every workspace gets
    server.delete(f"/workspaces/{w['id']}/secrets/BRAVO", headers=ADMIN)
    put_global(server, "ALPHA", "g-alpha-2")
    assert values(server, w).json() == {"ALPHA": "g-alpha-2", "BRAVO": "g-bravo", "CHARLIE": "w-charlie"}
    # a workspace cannot delete a global through its own route
    r = server.delete(f"/workspaces/{w['id']}/secrets/ALPHA", headers=bearer(w["auth_token"]))
    assert r.status_code == 404 and r.json()["error"] == "secret not found"
    assert values(server, other).json() == {"ALPHA": "g-alpha-2", "BRAVO": "g-bravo"}


def test_the_list_pages_through_own_then_global(server):
    w = new_ws(server)
    for k in ("A1", "A2", "A3"):
        put(server, w["id"], k, "w")
    for k in ("A2", "B1", "B2"):
        put_global(server, k, "g")
    seen, url = [], f"/workspaces/{w['id']}/secrets?limit=2"
    while url:
        r = server.get(url, headers=ADMIN)
        assert r.status_code == 200
        assert len(r.json()) <= 2
        seen += names(r.json())
        url = r.headers.get("X-Next-Cursor") and f"/workspaces/{w['id']}/secrets?limit=2&cursor=" + r.headers[
            "X-Next-Cursor"]
    assert seen == [("A1", "workspace"), ("A2", "workspace"), ("A3", "workspace"), ("B1", "global"),
                    ("B2", "global")]
    assert server.get(f"/workspaces/{w['id']}/secrets?limit=513", headers=ADMIN).status_code == 400
    assert server.get(f"/workspaces/{w['id']}/secrets?cursor=zz", headers=ADMIN).status_code == 400
    g = server.get("/settings/secrets?limit=1", headers=ADMIN)
    assert [r["key"] for r in g.json()] == ["A2"]
    g2 = server.get("/settings/secrets?limit=5&cursor=" + g.headers["X-Next-Cursor"], headers=ADMIN)
    assert [r["key"] for r in g2.json()] == ["B1", "B2"] and "X-Next-Cursor" not in g2.headers


def test_create_stores_secrets_with_the_workspace(server):
    w = new_ws(server, secrets={"OPENAI_API_KEY": "sk-create", "OTHER": "o"})
    assert values(server, w).json() == {"OPENAI_API_KEY": "sk-create", "OTHER": "o"}
    # a retry with the same id finds the row and stores nothing more
    wid = str(uuid.uuid4())
    body = {"id": wid, "name": "s-" + uuid.uuid4().hex[:8], "model": "m", "secrets": {"FIRST": "1"}}
    assert server.post("/workspaces", headers=ADMIN, json=body).status_code == 201
    body["secrets"] = {"SECOND": "2"}
    assert server.post("/workspaces", headers=ADMIN, json=body).status_code == 200
    assert names(server.get(f"/workspaces/{wid}/secrets", headers=ADMIN).json()) == [("FIRST", "workspace")]
    before = server.db.query("SELECT count(*) FROM workspaces")
    for bad in ({"lower": "x"}, {"OK": ""}, {"OK": 1}, ["OK"], {"OK": "v" * 65537}):
        r = server.post("/workspaces", headers=ADMIN, json={"name": "s-" + uuid.uuid4().hex[:8], "model": "m",
                                                            "secrets": bad})
        assert r.status_code == 400 and r.json()["error"].startswith("invalid workspace payload: secrets must map")
    assert server.db.query("SELECT count(*) FROM workspaces") == before


def test_purge_deletes_the_workspace_secrets(server):
    name = "purged-" + uuid.uuid4().hex[:6]
    w = new_ws(server, name=name, secrets={"GONE": "x"})
    r = server.delete(f"/workspaces/{w['id']}?purge=true", headers={**ADMIN, "X-Confirm-Name": name})
    assert r.status_code == 200, r.text
    assert server.db.query(f"SELECT count(*) FROM workspace_secrets WHERE workspace_id = '{w['id']}'") == [["0"]]


# ---- who may read values ------------------------------------------------------------------------------------

def test_values_go_only_to_the_workspace_own_agent(server):
    put_global(server, "SHARED", "s")
    w, other = new_ws(server), new_ws(server)
    put(server, w["id"], "MINE", "m")
    url = f"/workspaces/{w['id']}/secrets/values"
    assert server.get(url, headers=bearer(w["auth_token"])).json() == {"MINE": "m", "SHARED": "s"}
    r = server.get(url)
    assert r.status_code == 401 and r.json() == {"error": "missing workspace auth token", "code": "unauthorized"}
    r = server.get(url, headers=bearer(other["auth_token"]))
    assert r.status_code == 401 and r.json() == {"error": "invalid workspace auth token", "code": "unauthorized"}
    # an operator does not read the values of a workspace that holds a live token ...
    org = server.post("/org/tokens", headers=ADMIN, json={"name": "values"}).json()["auth_token"]
    for h in (ADMIN, bearer(org)):
        r = server.get(url, headers=h)
        assert r.status_code == 401 and r.json() == {"error": "invalid workspace auth token", "code": "unauthorized"}
        # ... nor through another spelling of the path
        assert server.get(url + "/", headers=h).status_code == 401
    # ... only of one that holds none yet (the reference's bootstrap)
    assert server.post(f"/admin/workspaces/{w['id']}/revoke-auth-tokens", headers=ADMIN).status_code == 200
    assert server.get(url, headers=ADMIN).json() == {"MINE": "m", "SHARED": "s"}
    # the list is names only, to anyone the workspace route admits
    listed = server.get(f"/workspaces/{other['id']}/secrets", headers=bearer(other["auth_token"]))
    assert listed.status_code == 200 and names(listed.json()) == [("SHARED", "global")]
    assert set(listed.json()[0]) == {"key", "has_value", "scope", "created_at", "updated_at"}
    assert server.get(f"/workspaces/{other['id']}/secrets", headers=bearer(w["auth_token"])).status_code == 401
    r = put(server, other["id"], "X", "y", headers=bearer(w["auth_token"]))
    assert r.status_code == 401
    r = server.delete(f"/workspaces/{other['id']}/secrets/X", headers=bearer(w["auth_token"]))
    assert r.status_code == 401


# ---- bad input ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("body,message", [
    ({"key": "GOOD"}, "invalid request body"),
    ({"value": "v"}, "invalid request body"),
    ({"key": "", "value": "v"}, "invalid request body"),
    ({"key": "GOOD", "value": ""}, "invalid request body"),
    ({"key": "GOOD", "value": 5}, "invalid request body"),
    ({"key": ["GOOD"], "value": "v"}, "invalid request body"),
    ({"key": "lower_case", "value": "v"}, NAME_ERROR),
    ({"key": "1LEADING", "value": "v"}, NAME_ERROR),
    ({"key": "_LEADING", "value": "v"}, NAME_ERROR),
    ({"key": "HAS-DASH", "value": "v"}, NAME_ERROR),
    ({"key": "HAS SPACE", "value": "v"}, NAME_ERROR),
    ({"key": "ÜNICODE", "value": "v"}, NAME_ERROR),
    ({"key": "A" * 129, "value": "v"}, NAME_ERROR),
    ({"key": "GOOD", "value": "v" * 65537}, "secret value must be at most 65536 bytes"),
])
def test_bad_writes_are_400_and_store_nothing(server, body, message):
    w = new_ws(server)
    for path in (f"/workspaces/{w['id']}/secrets", "/settings/secrets"):
        r = server.put(path, headers=ADMIN, json=body)
        assert r.status_code == 400 and r.json() == {"error": message, "code": "invalid_request"}
    assert server.get(f"/workspaces/{w['id']}/secrets", headers=ADMIN).json() == []


def test_bounds_and_bodies(server):
    w = new_ws(server)
    assert put(server, w["id"], "A" * 128, "v" * 65536).status_code == 200  # both at their bound
    assert values(server, w).json() == {"A" * 128: "v" * 65536}
    for raw in (b'{"key": "K", "value": "a\\u0000b"}', b'{"key": "K", "value": "\xff"}', b'not json',
                b'{"key": "K", "value": "v", "key": "L"}'):
        r = server.put(f"/workspaces/{w['id']}/secrets", headers={**ADMIN, "Content-Type": "application/json"},
                       data=raw)
        assert r.status_code == 400 and r.json()["code"] == "invalid_json"
    assert names(server.get(f"/workspaces/{w['id']}/secrets", headers=ADMIN).json()) == [("A" * 128, "workspace")]
    for bad in ("lower", "1X", "A-B", "A" * 129, "%C3%9C"):
        for path in (f"/workspaces/{w['id']}/secrets/{bad}", f"/settings/secrets/{bad}"):
            r = server.delete(path, headers=ADMIN)
            assert r.status_code == 400 and r.json()["error"] == NAME_ERROR
    for path in ("/workspaces/not-a-uuid/secrets", "/workspaces/not-a-uuid/secrets/values"):
        assert server.get(path, headers=ADMIN).json() == {"error": "invalid workspace ID", "code": "invalid_request"}


def test_missing_and_removed_workspaces_are_404(server):
    gone = new_ws(server, name="gone-" + uuid.uuid4().hex[:6])
    put(server, gone["id"], "LEFT", "v")
    r = server.delete(f"/workspaces/{gone['id']}", headers={**ADMIN, "X-Confirm-Name": gone_name(server, gone)})
    assert r.status_code == 200, r.text
    for wid in (str(uuid.uuid4()), gone["id"]):
        for r in (put(server, wid, "K", "v"), server.get(f"/workspaces/{wid}/secrets", headers=ADMIN),
                  server.get(f"/workspaces/{wid}/secrets/values", headers=ADMIN),
                  server.delete(f"/workspaces/{wid}/secrets/K", headers=ADMIN)):
            assert r.status_code == 404 and r.json() == {"error": "workspace not found", "code": "not_found"}
    # a removed workspace keeps its rows (as the reference) but nobody reads or writes them through the API
    assert server.db.query(f"SELECT key FROM workspace_secrets WHERE workspace_id = '{gone['id']}'") == [["LEFT"]]


def gone_name(c, w):
    return c.db.query(f"SELECT name FROM workspaces WHERE id = '{w['id']}'")[0][0]


def test_a_scope_holds_at_most_256(server):
    w = new_ws(server)
    for i in range(256):
        assert put(server, w["id"], f"K{i}", "v").status_code == 200
    r = put(server, w["id"], "ONE_MORE", "v")
    assert r.status_code == 409 and r.json() == {
        "error": "too many secrets: a workspace holds at most 256; delete some first", "code": "conflict"}
    assert put(server, w["id"], "K7", "changed").status_code == 200  # an existing name is not one more
    assert len(server.get(f"/workspaces/{w['id']}/secrets", headers=ADMIN).json()) == 256
    assert values(server, w).json()["K7"] == "changed"


def test_concurrent_writers_never_pass_the_cap(server):
    w = new_ws(server)
    for i in range(250):
        put(server, w["id"], f"K{i}", "v")
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        codes = list(pool.map(lambda i: put(server, w["id"], f"RACE{i}", "v").status_code, range(20)))
    assert sorted(codes) == [200] * 6 + [409] * 14
    assert server.db.query(f"SELECT count(*) FROM workspace_secrets WHERE workspace_id = '{w['id']}'") == [["256"]]
    for i in range(250):
        put_global(server, f"G{i}", "v")
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        codes = list(pool.map(lambda i: put_global(server, f"GRACE{i}", "v").status_code, range(20)))
    assert sorted(codes) == [200] * 6 + [409] * 14
    assert server.db.query("SELECT count(*) FROM global_secrets") == [["256"]]


def test_a_writer_waits_while_another_holds_the_scope(server, backend):
    """The cap is exact on PostgreSQL too: a writer of a scope waits for another transaction that holds it (the
    workspace row; the globals' lock), then counts what that one committed."""
    if backend != "postgres":
        pytest.skip("SQLite has one writer at a time")
    w = new_ws(server)
    for i in range(255):
        put(server, w["id"], f"K{i}", "v")
    for i in range(255):
        put_global(server, f"G{i}", "v")
    dbname = server.db.url.rsplit("/", 1)[1]
    row = "decode(repeat('00', 41), 'hex'), 2, '0000000000000000', 0, 0"
    holders = (
        (f"UPDATE workspaces SET updated_at = updated_at WHERE id = '{w['id']}';"
         f"INSERT INTO workspace_secrets VALUES ('{uuid.uuid4()}', '{w['id']}', 'LAST', {row});",
         lambda: put(server, w["id"], "ONE_MORE", "v"),
         f"SELECT count(*) FROM workspace_secrets WHERE workspace_id = '{w['id']}'"),
        (f"SELECT pg_advisory_xact_lock({0x636f6c676c62});"
         f"INSERT INTO global_secrets VALUES ('{uuid.uuid4()}', 'GLAST', {row});",
         lambda: put_global(server, "GONE_MORE", "v"),
         "SELECT count(*) FROM global_secrets"))
    for hold, write, count in holders:
        psql = subprocess.Popen([str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(server.db.cluster.port), "-U",
                                 "postgres", "-d", dbname, "-At", "-v", "ON_ERROR_STOP=1"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            psql.stdin.write(f"BEGIN; {hold} SELECT 'held';\n")
            psql.stdin.flush()
            while psql.stdout.readline().strip() != "held":
                pass
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                pending = pool.submit(write)
                wait_for(lambda: server.db.query(f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{dbname}'"
                                                 f" AND wait_event_type = 'Lock'") == [["1"]])
                psql.stdin.write("COMMIT;\n")
                psql.stdin.close()
                r = pending.result(timeout=30)
            psql.wait(timeout=30)
        finally:
            if psql.poll() is None:
                psql.kill()
                psql.wait()
        assert r.status_code == 409, r.text
        assert server.db.query(count) == [["256"]]


def test_concurrent_registers_agree_on_one_inbound_secret(server):
    w = new_ws(server)
    body = {"id": w["id"], "agent_card": {}, "url": "http://127.0.0.1:9"}
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        got = list(pool.map(lambda _: server.post("/registry/register", headers=bearer(w["auth_token"]),
                                                   json=body).json()["platform_inbound_secret"], range(10)))
    assert len(set(got)) == 1


# ---- audit --------------------------------------------------------------------------------------------------

def audit_rows(c, wid=None):
    where = f"workspace_id = '{wid}'" if wid else "workspace_id IS NULL"
    return [(r[0], json.loads(r[1])) for r in c.db.query(
        f"SELECT event_type, payload FROM structure_events WHERE event_type LIKE 'secret.%' AND {where}"
        f" ORDER BY created_at, id")]


def test_every_change_is_audited_without_the_value(server):
    w = new_ws(server)
    put(server, w["id"], "AUDITED", "first-value")
    put(server, w["id"], "AUDITED", "first-value", headers=bearer(w["auth_token"]))
    put(server, w["id"], "AUDITED", "second-value")
    server.delete(f"/workspaces/{w['id']}/secrets/AUDITED", headers=ADMIN)
    rows = audit_rows(server, w["id"])  # rows of one millisecond have no order: compare them as sets
    assert sorted(t for t, _ in rows) == ["secret.delete", "secret.set", "secret.set", "secret.set"]
    sets = [p for t, p in rows if t == "secret.set"]
    assert [p for t, p in rows if t == "secret.delete"] == [
        {"key": "AUDITED", "scope": "workspace", "actor_kind": "admin", "actor": None}]
    by_admin = [p for p in sets if p["actor_kind"] == "admin"]
    by_self = [p for p in sets if p["actor_kind"] == "workspace"]
    assert len(by_admin) == 2 and len(by_self) == 1 and by_self[0]["actor"] == w["id"]
    assert all(set(p) == {"key", "scope", "actor_kind", "actor", "value_hash"} and p["key"] == "AUDITED" and
               p["scope"] == "workspace" and re.fullmatch(r"[0-9a-f]{8}", p["value_hash"]) for p in sets)
    # the same value gives the same fingerprint, another value another: it says a value changed, not what it is
    assert sorted(collections.Counter(p["value_hash"] for p in sets).values()) == [1, 2]
    assert by_self[0]["value_hash"] in {p["value_hash"] for p in by_admin}
    org = server.post("/org/tokens", headers=ADMIN, json={"name": "audit"}).json()
    server.put("/settings/secrets", headers=bearer(org["auth_token"]), json={"key": "G_AUDITED", "value": "g"})
    (kind, p), = [r for r in audit_rows(server) if r[1]["key"] == "G_AUDITED"]
    assert kind == "secret.set" and p["scope"] == "global" and p["actor_kind"] == "org"
    assert p["actor"] == org["prefix"]
    log = server.read_log()
    assert f'event=secret.set scope=workspace workspace={w["id"]} key=AUDITED actor_kind=workspace' in log
    assert "first-value" not in log and "second-value" not in log


def test_the_admin_token_does_not_write_the_platform_agent_own_secrets(start_colony):
    c = start_colony()
    pid = str(uuid.uuid4())
    assert c.post("/admin/org/platform-agent", headers=ADMIN, json={"id": pid}).status_code == 200
    r = put(c, pid, "MODEL", "x")
    assert r.status_code == 403 and r.json() == {
        "error": "the admin token cannot write the platform agent's own secrets; use an org API token",
        "code": "CONCIERGE_SELF_WRITE_BLOCKED"}
    assert c.get(f"/workspaces/{pid}/secrets", headers=ADMIN).json() == []
    assert audit_rows(c, pid) == [("secret.set.refused", {"key": "MODEL", "scope": "workspace", "actor_kind": "admin",
                                                           "actor": None, "reason": "CONCIERGE_SELF_WRITE_BLOCKED"})]
    org = c.post("/org/tokens", headers=ADMIN, json={"name": "concierge"}).json()["auth_token"]
    assert put(c, pid, "MODEL", "x", headers=bearer(org)).status_code == 200
    assert put(c, new_ws(c)["id"], "MODEL", "x").status_code == 200  # any other workspace


def test_operator_writes_wait_for_an_approval_with_the_gate_on(start_colony, new_db):
    db = new_db()
    first = start_colony(db=db)
    w = new_ws(first)
    approver = first.post("/org/tokens", headers=ADMIN, json={"name": "approver"}).json()["auth_token"]
    first.stop()
    c = start_colony(db=db, args=("--approval-gate", "true"))
    value = "gated-" + uuid.uuid4().hex
    r = put(c, w["id"], "GATED", value)
    assert r.status_code == 202, r.text
    aid = r.json()["approval_id"]
    assert r.json() == {"status": "pending_approval", "approval_id": aid, "action": "secret_write",
                        "reason": "write secret GATED"}
    assert put(c, w["id"], "GATED", value).json()["approval_id"] == aid  # the same write asks once
    assert put(c, w["id"], "GATED", "other").json()["approval_id"] != aid  # another value is another write
    assert put(c, w["id"], "GATED", value, headers=bearer(approver)).json()["approval_id"] != aid  # another asker
    assert c.get(f"/workspaces/{w['id']}/secrets", headers=ADMIN).json() == []
    # what operators see of it names the write, never the value
    for path in ("/approvals/pending", f"/workspaces/{w['id']}/approvals", f"/events/{w['id']}"):
        assert value not in c.get(path, headers=ADMIN).text
    assert not [r for r in c.db.query("SELECT context, reason FROM approval_requests") if value in "|".join(r)]
    decide = lambda h: c.post(f"/workspaces/{w['id']}/approvals/{aid}/decide", headers=h,
                              json={"decision": "approved"})
    assert decide(bearer(w["auth_token"])).status_code == 403  # not the workspace it writes to
    assert decide(ADMIN).status_code == 403  # not the credential that asked
    assert decide(bearer(approver)).status_code == 200
    r = put(c, w["id"], "GATED", value)
    assert r.status_code == 200 and r.json() == {"status": "saved", "key": "GATED"}
    assert values(c, w).json() == {"GATED": value}
    assert put(c, w["id"], "GATED", value).status_code == 202  # an approval is used once
    # the workspace's own agent writes its secrets without one; globals are not gated (as the reference)
    assert put(c, w["id"], "SELF", "x", headers=bearer(w["auth_token"])).status_code == 200
    assert put_global(c, "NOT_GATED", "x").status_code == 200
    assert 'colony_approval_gate_total{outcome="approved"} 1' in c.get("/metrics").text


# ---- tamper detection ---------------------------------------------------------------------------------------

def test_an_altered_or_moved_value_is_never_served(server):
    before = metric(server, "colony_secrets_decrypt_failures_total")
    put_global(server, "GLOBAL_ONE", "global-plain")
    a, b = new_ws(server), new_ws(server)
    put(server, a["id"], "SAME", "a-plain")
    put(server, a["id"], "OTHER", "a-other")
    put(server, b["id"], "SAME", "b-plain")
    assert values(server, b).json() == {"GLOBAL_ONE": "global-plain", "SAME": "b-plain"}
    failed = {"error": "one or more secrets failed to decrypt; refusing to return partial bundle", "code": "internal"}
    # a's ciphertext of SAME copied into b's row of SAME (same name, same key, another workspace)
    where_b = f"workspace_id = '{b['id']}' AND key = 'SAME'"
    set_blob(server, "workspace_secrets", "encrypted_value", where_b,
             blob(server, "workspace_secrets", f"workspace_id = '{a['id']}' AND key = 'SAME'"))
    r = values(server, b)
    assert r.status_code == 500 and r.json() == {**failed, "failed_keys": ["workspace:SAME"]}
    # within one workspace, OTHER's ciphertext under SAME's name
    original = blob(server, "workspace_secrets", f"workspace_id = '{a['id']}' AND key = 'SAME'")
    where_a = f"workspace_id = '{a['id']}' AND key = 'SAME'"
    set_blob(server, "workspace_secrets", "encrypted_value", where_a,
             blob(server, "workspace_secrets", f"workspace_id = '{a['id']}' AND key = 'OTHER'"))
    assert values(server, a).json()["failed_keys"] == ["workspace:SAME"]
    # one flipped bit
    flipped = bytearray(original)
    flipped[30] ^= 1
    set_blob(server, "workspace_secrets", "encrypted_value", where_a, bytes(flipped))
    assert values(server, a).json()["failed_keys"] == ["workspace:SAME"]
    set_blob(server, "workspace_secrets", "encrypted_value", where_a, original)
    assert values(server, a).json() == {"GLOBAL_ONE": "global-plain", "OTHER": "a-other", "SAME": "a-plain"}
    # a global altered, and a workspace value moved into the global of the same... both named, nothing served
    g = bytearray(blob(server, "global_secrets", "key = 'GLOBAL_ONE'"))
    g[-1] ^= 0x80
    set_blob(server, "global_secrets", "encrypted_value", "key = 'GLOBAL_ONE'", bytes(g))
    r = values(server, a)
    assert r.status_code == 500 and r.json() == {**failed, "failed_keys": ["global:GLOBAL_ONE"]}
    r = values(server, b)
    assert r.json() == {**failed, "failed_keys": ["global:GLOBAL_ONE", "workspace:SAME"]}
    # an unknown key id is a failure too, never a guess
    server.db.execute(f"UPDATE workspace_secrets SET key_id = 'ffffffffffffffff' WHERE {where_a}")
    assert values(server, a).json()["failed_keys"] == ["global:GLOBAL_ONE", "workspace:SAME"]
    # logged once per failing value, by name, never with what it holds
    log = server.read_log()
    lines = [l for l in log.splitlines() if "secret failed to decrypt" in l and f"workspace={b['id']}" in l]
    assert len(lines) == 3  # two reads of b: SAME, then GLOBAL_ONE and SAME
    assert f"scope=workspace workspace={b['id']} key=SAME key_id=" in lines[0]
    for plain in ("a-plain", "b-plain", "a-other", "global-plain"):
        assert plain not in log
    assert metric(server, "colony_secrets_decrypt_failures_total") - before == 8  # one per value refused


def metric(c, name):
    line, = [l for l in c.get("/metrics").text.splitlines() if l.startswith(name + " ")]
    return int(line.split()[1])


def test_the_inbound_secret_is_sealed_and_bound_to_its_workspace(server):
    a, b = new_ws(server), new_ws(server)
    secrets = {}
    for w in (a, b):
        reg = server.post("/registry/register", headers=bearer(w["auth_token"]),
                          json={"id": w["id"], "agent_card": {}, "url": "http://127.0.0.1:9"}).json()
        secrets[w["id"]] = reg["platform_inbound_secret"]
        assert len(reg["platform_inbound_secret"]) == 43
        row = server.db.query(f"SELECT platform_inbound_secret, inbound_secret_key_id FROM workspaces "
                              f"WHERE id = '{w['id']}'")
        assert row[0][0] == "" and len(row[0][1]) == 16  # no plaintext; the id of the key that sealed it
        sealed = blob_inbound(server, w["id"])
        assert len(sealed) == 43 + 40 and reg["platform_inbound_secret"].encode() not in sealed
    again = server.post("/registry/register", headers=bearer(a["auth_token"]),
                        json={"id": a["id"], "agent_card": {}, "url": "http://127.0.0.1:9"}).json()
    assert again["platform_inbound_secret"] == secrets[a["id"]]
    # b's sealed secret copied onto a does not open as a's: the register leaves it out, the log names it
    set_blob(server, "workspaces", "inbound_secret_sealed", f"id = '{a['id']}'", blob_inbound(server, b["id"]))
    moved = server.post("/registry/register", headers=bearer(a["auth_token"]),
                        json={"id": a["id"], "agent_card": {}, "url": "http://127.0.0.1:9"})
    assert moved.status_code == 200 and "platform_inbound_secret" not in moved.json()
    assert f"scope=inbound workspace={a['id']} key=platform_inbound_secret" in server.read_log()
    r = requests.post(f"{server.url}/workspaces/{a['id']}/chat/uploads", headers=bearer(a["auth_token"]),
                      files=[("files", ("a", b"a", "text/plain"))], timeout=30)
    assert r.status_code == 500 and r.json() == {"error": "the workspace's inbound secret failed to decrypt",
                                                 "code": "internal"}


def blob_inbound(c, wid):
    fn = "encode(inbound_secret_sealed, 'hex')" if c.db.backend == "postgres" else "hex(inbound_secret_sealed)"
    return bytes.fromhex(c.db.query(f"SELECT {fn} FROM workspaces WHERE id = '{wid}'")[0][0])


# ---- §3.4 guard 1: no provider key of its own for a workspace whose LLM billing is platform-managed ----------

def refused_key(key, w, by):
    return {"error": f"{key} cannot be set on this workspace: its LLM billing is platform-managed (by {by}), so the "
                     "platform supplies the provider credentials",
            "code": "platform_managed_llm_key", "key": key, "workspace_id": w["id"]}


def billing(c, w, mode):
    r = c.put(f"/admin/workspaces/{w['id']}/llm-billing-mode", headers=ADMIN, json={"mode": mode})
    assert r.status_code == 200, r.text


def test_a_platform_managed_workspace_holds_no_provider_key(server):
    w = new_ws(server)
    assert put(server, w["id"], "ANTHROPIC_API_KEY", "sk-byok").status_code == 200  # byok by default
    billing(server, w, "platform_managed")
    for key, headers, method in (("OPENAI_API_KEY", ADMIN, "PUT"), ("OPENAI_BASE_URL", ADMIN, "POST"),
                                 ("ANTHROPIC_API_KEY", bearer(w["auth_token"]), "PUT"),  # its own agent too
                                 ("ZAI_API_KEY", ADMIN, "PUT"), ("AI_GATEWAY_API_KEY", ADMIN, "PUT")):
        r = put(server, w["id"], key, "sk-refused", headers=headers, method=method)
        assert (r.status_code, r.json()) == (400, refused_key(key, w, "its override")), key
    # nothing stored or changed: the key set while it was byok stays as it was
    assert values(server, w).json() == {"ANTHROPIC_API_KEY": "sk-byok"}
    assert "sk-refused" not in server.read_log()
    # other keys, deletes, the globals and other workspaces are not its concern
    assert put(server, w["id"], "GITHUB_TOKEN", "x").status_code == 200
    assert put(server, w["id"], "OPENAI_API_KEY_2", "x").status_code == 200  # a name is matched whole
    assert server.delete(f"/workspaces/{w['id']}/secrets/ANTHROPIC_API_KEY", headers=ADMIN).status_code == 200
    assert put_global(server, "XAI_API_KEY", "x").status_code == 200
    assert put(server, new_ws(server)["id"], "XAI_API_KEY", "x").status_code == 200
    for mode in ("byok", "disabled", None):  # only platform-managed billing refuses them
        billing(server, w, mode)
        assert put(server, w["id"], "OPENAI_API_KEY", f"sk-{mode}").status_code == 200, mode
    assert server.delete("/settings/secrets/XAI_API_KEY", headers=ADMIN).status_code == 200


def test_the_deployment_default_and_the_order_of_the_guards(start_colony):
    c = start_colony(args=("--approval-gate", "true"),
                     env={"MOLECULE_LLM_BASE_URL": "http://127.0.0.1:9/v1", "MOLECULE_LLM_USAGE_TOKEN": "t"})
    w = new_ws(c)
    # guard 1 answers before the approval gate (guard 3): a refused key asks no one for an approval
    r = put(c, w["id"], "ANTHROPIC_API_KEY", "sk-x")
    assert (r.status_code, r.json()) == (400, refused_key("ANTHROPIC_API_KEY", w, "the deployment's default"))
    assert c.get("/approvals/pending", headers=ADMIN).json() == []
    r = put(c, w["id"], "ANTHROPIC_API_KEY", "sk-x", headers=bearer(w["auth_token"]))
    assert (r.status_code, r.json()) == (400, refused_key("ANTHROPIC_API_KEY", w, "the deployment's default"))
    assert put(c, w["id"], "PLAIN", "x", headers=bearer(w["auth_token"])).status_code == 200
    # a byok override lets the workspace bring its own key (an operator's write still waits for its approval)
    billing(c, w, "byok")
    assert put(c, w["id"], "ANTHROPIC_API_KEY", "sk-x").status_code == 202
    assert put(c, w["id"], "ANTHROPIC_API_KEY", "sk-own", headers=bearer(w["auth_token"])).status_code == 200
    assert values(c, w).json() == {"ANTHROPIC_API_KEY": "sk-own", "PLAIN": "x"}


def test_an_approved_provider_key_is_refused_once_billing_turned_platform_managed(start_colony, new_db):
    db = new_db()
    first = start_colony(db=db)
    w = new_ws(first)
    approver = first.post("/org/tokens", headers=ADMIN, json={"name": "approver"}).json()["auth_token"]
    first.stop()
    c = start_colony(db=db, args=("--approval-gate", "true"))
    r = put(c, w["id"], "OPENAI_API_KEY", "sk-late")
    assert r.status_code == 202, r.text
    aid = r.json()["approval_id"]
    assert c.post(f"/workspaces/{w['id']}/approvals/{aid}/decide", headers=bearer(approver),
                  json={"decision": "approved"}).status_code == 200
    billing(c, w, "platform_managed")  # between the approval and the write it allows
    r = put(c, w["id"], "OPENAI_API_KEY", "sk-late")
    assert (r.status_code, r.json()) == (400, refused_key("OPENAI_API_KEY", w, "its override"))
    assert c.get(f"/workspaces/{w['id']}/secrets", headers=ADMIN).json() == []
