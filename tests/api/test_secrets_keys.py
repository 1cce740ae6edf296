"""The secrets key (data.md §3.2, colony's scheme): no key means no secret stored, never one in plaintext; a key from
the environment or a file; inbound secrets an older colony stored in plaintext sealed on the first start with a key;
`colony secrets rotate-key` moving every value to a new key in one transaction, after which the old key is no longer
needed; nodes reading old and new values while they move."""
import base64
import hashlib
import uuid

import requests

from conftest import ADMIN, SECRETS_KEY, run_colony

KEY2 = base64.b64encode(hashlib.sha256(b"second").digest()).decode()
KEY3 = hashlib.sha256(b"third").hexdigest()  # hex spelling
NO_KEY = {"COLONY_SECRETS_KEY": ""}
MISSING = {"error": "colony has no secrets key, so it stores no secrets (it never stores them in plaintext): set "
                    "COLONY_SECRETS_KEY or --secrets-key-file and restart", "code": "secrets_key_missing"}


def key_id(text):
    """The id colony shows for a key: half of its KDF subkey 3 (BLAKE2b keyed by the key, personal "colonysk")."""
    raw = bytes.fromhex(text) if len(text) == 64 else base64.b64decode(text)
    sub = hashlib.blake2b(b"", digest_size=16, key=raw, salt=(3).to_bytes(8, "little") + bytes(8),
                          person=b"colonysk" + bytes(8)).digest()
    return sub[:8].hex()


def bearer(t):
    return {"Authorization": f"Bearer {t}"}


def new_ws(c, **kw):
    r = c.post("/workspaces", headers=ADMIN, json={"name": "k-" + uuid.uuid4().hex[:8], "model": "m", **kw})
    assert r.status_code == 201, r.text
    return r.json()


def register(c, w):
    return c.post("/registry/register", headers=bearer(w["auth_token"]),
                  json={"id": w["id"], "agent_card": {}, "url": "http://127.0.0.1:9"})


def values(c, w):
    return c.get(f"/workspaces/{w['id']}/secrets/values", headers=bearer(w["auth_token"]))


def key_ids(db):
    return sorted(r[0] for r in db.query("SELECT key_id FROM workspace_secrets UNION ALL SELECT key_id FROM "
                                         "global_secrets UNION ALL SELECT inbound_secret_key_id FROM workspaces "
                                         "WHERE inbound_secret_key_id IS NOT NULL"))


def test_without_a_key_nothing_is_stored(start_colony, tmp_path):
    c = start_colony(env=NO_KEY)
    assert "no secrets key (COLONY_SECRETS_KEY or --secrets-key-file)" in c.read_log()
    w = new_ws(c)
    for r in (c.put(f"/workspaces/{w['id']}/secrets", headers=ADMIN, json={"key": "K", "value": "v"}),
              c.put("/settings/secrets", headers=ADMIN, json={"key": "K", "value": "v"}),
              c.post("/workspaces", headers=ADMIN, json={"name": "nk", "model": "m", "secrets": {"K": "v"}})):
        assert r.status_code == 503 and r.json() == MISSING
    assert c.db.query("SELECT count(*) FROM workspaces WHERE name = 'nk'") == [["0"]]
    assert c.db.query("SELECT (SELECT count(*) FROM workspace_secrets) + (SELECT count(*) FROM global_secrets)") == [
        ["0"]]
    # reads need no key while there is nothing to open
    assert c.get(f"/workspaces/{w['id']}/secrets", headers=ADMIN).json() == []
    assert values(c, w).json() == {}
    # no inbound secret is minted: the register answers without one, a push upload says why
    reg = register(c, w)
    assert reg.status_code == 200 and "platform_inbound_secret" not in reg.json()
    r = requests.post(f"{c.url}/workspaces/{w['id']}/chat/uploads", headers=bearer(w["auth_token"]),
                      files=[("files", ("a", b"a", "text/plain"))], timeout=30)
    assert r.status_code == 503 and r.json() == MISSING
    assert c.db.query("SELECT count(*) FROM workspaces WHERE inbound_secret_sealed IS NOT NULL "
                      "OR platform_inbound_secret IS NOT NULL") == [["0"]]
    c.stop()
    # values sealed by a node that has the key are refused by one that has none, not half-served
    k = start_colony(db=c.db)
    assert k.put(f"/workspaces/{w['id']}/secrets", headers=ADMIN, json={"key": "K", "value": "v"}).status_code == 200
    k.stop()
    c2 = start_colony(db=c.db, env=NO_KEY)
    r = values(c2, w)
    assert r.status_code == 503 and r.json() == MISSING
    # the same for an inbound secret sealed by a node that had the key
    w2 = new_ws(c2)
    assert "platform_inbound_secret" not in register(c2, w2).json()
    c2.db.execute(f"UPDATE workspaces SET inbound_secret_sealed = (SELECT encrypted_value FROM workspace_secrets "
                  f"LIMIT 1), inbound_secret_key_id = '{key_id(SECRETS_KEY)}' WHERE id = '{w2['id']}'")
    r = requests.post(f"{c2.url}/workspaces/{w2['id']}/chat/uploads", headers=bearer(w2["auth_token"]),
                      files=[("files", ("a", b"a", "text/plain"))], timeout=30)
    assert r.status_code == 503 and r.json() == MISSING
    assert c2.get(f"/workspaces/{w['id']}/secrets", headers=ADMIN).json()[0]["key"] == "K"
    assert c2.delete(f"/workspaces/{w['id']}/secrets/K", headers=ADMIN).status_code == 200  # deleting needs no key


def test_inbound_secrets_stored_in_plaintext_are_sealed_on_the_first_start_with_a_key(start_colony):
    c = start_colony(env=NO_KEY)
    w = new_ws(c)
    legacy = "legacy-inbound-" + uuid.uuid4().hex
    # what a colony before migration 0023 left behind
    c.db.execute(f"UPDATE workspaces SET platform_inbound_secret = '{legacy}' WHERE id = '{w['id']}'")
    assert register(c, w).json()["platform_inbound_secret"] == legacy  # served as it is until a key is given
    c.stop()
    c2 = start_colony(db=c.db, env=NO_KEY)
    assert "plaintext_inbound_secrets=1" in c2.read_log()
    c2.stop()
    k = start_colony(db=c.db)
    assert 'msg="sealed the inbound secrets an older colony stored in plaintext" count=1' in k.read_log()
    row = k.db.query(f"SELECT platform_inbound_secret, inbound_secret_key_id FROM workspaces WHERE id = '{w['id']}'")
    assert row == [["", key_id(SECRETS_KEY)]]
    assert register(k, w).json()["platform_inbound_secret"] == legacy  # the agent keeps the secret it has
    k.stop()
    again = start_colony(db=c.db)
    assert "sealed the inbound secrets" not in again.read_log()


def test_rotation_moves_every_value_to_the_new_key(start_colony, tmp_path):
    c = start_colony()
    w = new_ws(c, secrets={"OWN": "own-value"})
    c.put("/settings/secrets", headers=ADMIN, json={"key": "GLOBAL", "value": "global-value"})
    inbound = register(c, w).json()["platform_inbound_secret"]
    c.stop()
    assert key_ids(c.db) == [key_id(SECRETS_KEY)] * 3
    db = ["--db", c.db.url]
    # both keys are needed
    r = run_colony(["secrets", "rotate-key", *db], env={"COLONY_SECRETS_KEY": KEY2})
    assert r.returncode == 2 and "rotate-key needs the new key" in r.stderr
    assert run_colony(["secrets", "rotate", *db], env={"COLONY_SECRETS_KEY": KEY2}).returncode == 2
    # the old key given as a file, the new one in the environment
    old_file = tmp_path / "old.key"
    old_file.write_text(SECRETS_KEY + "\n")
    old_file.chmod(0o600)
    r = run_colony(["secrets", "rotate-key", *db, "--secrets-old-key-file", str(old_file)],
                   env={"COLONY_SECRETS_KEY": KEY2})
    assert r.returncode == 0, r.stderr
    assert r.stdout == (f"re-sealed under key {key_id(KEY2)}: 1 workspace secrets, 1 global secrets, 1 inbound "
                        f"secrets, 0 channels' credentials (0 were under it already)\n")
    assert key_ids(c.db) == [key_id(KEY2)] * 3
    assert c.db.query("SELECT count(*) FROM structure_events WHERE event_type = 'secret.rotate'") == [["1"]]
    # the old key is no longer needed
    n = start_colony(db=c.db, env={"COLONY_SECRETS_KEY": KEY2})
    assert values(n, w).json() == {"GLOBAL": "global-value", "OWN": "own-value"}
    assert register(n, w).json()["platform_inbound_secret"] == inbound
    n.stop()
    # and it no longer opens anything: the node says so at start, and refuses rather than guess
    o = start_colony(db=c.db)
    assert f"key_id={key_id(KEY2)} values=3" in o.read_log()
    r = values(o, w)
    assert r.status_code == 500 and r.json()["failed_keys"] == ["global:GLOBAL", "workspace:OWN"]
    o.stop()
    # a second rotation to the same key has nothing to do
    r = run_colony(["secrets", "rotate-key", *db], env={"COLONY_SECRETS_KEY": KEY2, "COLONY_SECRETS_OLD_KEY": KEY3})
    assert r.returncode == 0
    assert "0 workspace secrets, 0 global secrets, 0 inbound secrets, 0 channels' credentials (3 were" in r.stdout


def test_a_rotation_that_cannot_open_a_value_changes_nothing(start_colony):
    c = start_colony()
    ws = [new_ws(c, secrets={"A": "a", "B": "b"}) for _ in range(3)]
    c.put("/settings/secrets", headers=ADMIN, json={"key": "G", "value": "g"})
    c.stop()
    victim = ws[1]["id"]
    c.db.execute(f"UPDATE workspace_secrets SET key = 'C' WHERE workspace_id = '{victim}' AND key = 'B'")  # moved
    before = c.db.query("SELECT id, key_id FROM workspace_secrets ORDER BY id")
    r = run_colony(["secrets", "rotate-key", "--db", c.db.url],
                   env={"COLONY_SECRETS_KEY": KEY2, "COLONY_SECRETS_OLD_KEY": SECRETS_KEY})
    assert r.returncode == 1
    assert r.stderr.splitlines()[-1] == (
        f"colony: rotate-key failed: the workspace secret C of workspace {victim} does not open (sealed under key "
        f"{key_id(SECRETS_KEY)}, but altered or moved); nothing was rotated")
    assert c.db.query("SELECT id, key_id FROM workspace_secrets ORDER BY id") == before
    assert set(key_ids(c.db)) == {key_id(SECRETS_KEY)}
    # a value under a key that was not given stops it too
    c.db.execute(f"UPDATE workspace_secrets SET key = 'B' WHERE workspace_id = '{victim}' AND key = 'C'")
    r = run_colony(["secrets", "rotate-key", "--db", c.db.url],
                   env={"COLONY_SECRETS_KEY": KEY2, "COLONY_SECRETS_OLD_KEY": KEY3})
    assert r.returncode == 1 and f"(sealed under key {key_id(SECRETS_KEY)}, which was not given)" in r.stderr
    assert set(key_ids(c.db)) == {key_id(SECRETS_KEY)}


def test_nodes_read_old_and_new_values_while_they_move(start_colony):
    c = start_colony()
    w = new_ws(c, secrets={"BEFORE": "sealed-under-the-old-key"})
    c.stop()
    n = start_colony(db=c.db, env={"COLONY_SECRETS_KEY": KEY2, "COLONY_SECRETS_OLD_KEY": SECRETS_KEY})
    assert n.put(f"/workspaces/{w['id']}/secrets", headers=ADMIN, json={"key": "AFTER", "value": "new"}).status_code \
        == 200
    assert values(n, w).json() == {"AFTER": "new", "BEFORE": "sealed-under-the-old-key"}
    assert sorted(r[0] for r in c.db.query("SELECT key_id FROM workspace_secrets")) == sorted(
        [key_id(SECRETS_KEY), key_id(KEY2)])
    # the rotation runs while the node serves
    r = run_colony(["secrets", "rotate-key", "--db", c.db.url],
                   env={"COLONY_SECRETS_KEY": KEY2, "COLONY_SECRETS_OLD_KEY": SECRETS_KEY})
    assert r.returncode == 0 and "1 workspace secrets" in r.stdout and "(1 were under it already)" in r.stdout
    assert values(n, w).json() == {"AFTER": "new", "BEFORE": "sealed-under-the-old-key"}
    assert set(key_ids(c.db)) == {key_id(KEY2)}


def test_key_configuration(new_db, tmp_path, start_colony):
    db = new_db()
    migrate = ["migrate", "--db", db.url]
    r = run_colony(migrate, env={"COLONY_SECRETS_KEY": "not-a-key-at-all"})
    assert r.returncode == 2
    assert r.stderr == ("colony: COLONY_SECRETS_KEY: a secrets key is 32 random bytes, written as 64 hex digits or "
                        "in base64 (e.g. `head -c 32 /dev/urandom | base64`)\n")
    raw32 = "0123456789abcdef0123456789abcdef"  # the reference took 32 raw characters as a key; colony does not
    assert run_colony(migrate, env={"COLONY_SECRETS_KEY": raw32}).returncode == 2
    f = tmp_path / "k"
    f.write_text(KEY3)
    f.chmod(0o600)
    r = run_colony(migrate, env={"COLONY_SECRETS_KEY": SECRETS_KEY, "COLONY_SECRETS_KEY_FILE": str(f)})
    assert r.returncode == 2 and r.stderr == "colony: set COLONY_SECRETS_KEY or --secrets-key-file, not both\n"
    r = run_colony([*migrate, "--secrets-key-file", str(tmp_path / "missing")])
    assert r.returncode == 2 and "cannot open the secrets key file" in r.stderr
    r = run_colony(migrate, env={"COLONY_SECRETS_OLD_KEY": SECRETS_KEY})
    assert r.returncode == 2 and "an old secrets key needs a different current one" in r.stderr
    r = run_colony(migrate, env={"COLONY_SECRETS_OLD_KEY": SECRETS_KEY, "COLONY_SECRETS_KEY": SECRETS_KEY})
    assert r.returncode == 2
    bad = tmp_path / "bad"
    bad.write_text("x" * 10)
    r = run_colony([*migrate, "--secrets-key-file", str(bad)])
    assert r.returncode == 2 and "does not hold a key" in r.stderr and "xxxxxxxxxx" not in r.stderr
    # a key file given by flag; one other users can read is used, with a warning
    r = run_colony([*migrate, "--secrets-key-file", str(f)])
    assert r.returncode == 0 and f"key_id={key_id(KEY3)}" in r.stderr and "chmod 600" not in r.stderr
    f.chmod(0o644)
    c = start_colony(db=db, args=["--secrets-key-file", str(f)], env=NO_KEY)
    assert "the secrets key file can be read by other users; chmod 600 it" in c.read_log()
    w = new_ws(c)
    assert c.put(f"/workspaces/{w['id']}/secrets", headers=ADMIN, json={"key": "K", "value": "v"}).status_code == 200
    assert key_ids(db) == [key_id(KEY3)]
    for text in (SECRETS_KEY, KEY2, KEY3, raw32):
        assert text not in c.read_log()
