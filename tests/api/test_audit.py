"""The audit ledger (surface.md §3, workspaces.md §7): the writer route, GET with its filters and pages, the HMAC
chains checked against an independent implementation here, a ledger tampered with behind colony's back reported
broken at the right entry, the schema refusing UPDATE and DELETE (purge aside), and verification that hashes each
entry once."""
import hashlib
import hmac
import json
import re

import pytest

from conftest import ADMIN, metric, module_colony, run_colony
from inbox_util import bearer, create_ws, error, mint_org_token, race, remove

PASSPHRASE = "correct horse battery staple"
KEY = hashlib.pbkdf2_hmac("sha256", PASSPHRASE.encode(), b"molecule-audit-ledger-v1", 210000, 32)
DIGEST = "ab" * 32


@pytest.fixture(scope="module")
def server(backend, request, tmp_path_factory):
    """A colony whose ledger key comes from a key file (its trailing newline is not part of the passphrase)."""
    key_file = tmp_path_factory.mktemp("key") / "audit.key"
    key_file.write_text(PASSPHRASE + "\n")
    c = module_colony(backend, request, tmp_path_factory, args=("--audit-key-file", str(key_file)))
    yield c
    assert c.stop() == 0, c.read_log()[-3000:]


def canonical(e):
    """The text the reference signs: compact JSON, keys sorted, Go's escaping of <, >, & and U+2028/U+2029."""
    fields = {k: e[k] for k in ("agent_id", "human_oversight_flag", "id", "input_hash", "model_used", "operation",
                                "output_hash", "prev_hmac", "risk_flag", "session_id")}
    fields["timestamp"] = re.sub(r"\.\d+Z$", "Z", e["timestamp"])
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                    ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


def sign(e):
    return hmac.new(KEY, canonical(e).encode(), "sha256").hexdigest()


def append(c, w, headers=None, expect=201, **fields):
    body = {"agent_id": "agent-1", "session_id": "s-1", "operation": "llm_call", **fields}
    r = c.post(f"/workspaces/{w['id']}/audit", headers=headers or bearer(w["auth_token"]), json=body)
    assert r.status_code == expect, r.text
    return r.json()


def audit(c, w, headers=None, **params):
    r = c.get(f"/workspaces/{w['id']}/audit", headers=headers or bearer(w["auth_token"]), params=params)
    assert r.status_code == 200, r.text
    return r.json()


def behind_the_triggers(c, sql):
    """Run `sql` on colony's database with the append-only triggers out of the way (an attacker with the database's
    keys), then put them back."""
    if c.db.backend == "postgres":
        c.db.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only; " + sql +
                     "; ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only;")
    else:
        triggers = [r[0] for r in c.db.query("SELECT sql FROM sqlite_master WHERE type = 'trigger'"
                                             " AND tbl_name = 'audit_events'")]
        c.db.execute("DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete; " + sql + "; " +
                     "; ".join(triggers) + ";")


def test_an_entry_is_appended_signed_and_chained(server):
    w = create_ws(server)
    first = append(server, w, input_hash=DIGEST, model_used="claude <&> \u2028", human_oversight_flag=True,
                   timestamp="2026-04-17T10:00:00.750+02:00")
    assert set(first) == {"id", "timestamp", "agent_id", "session_id", "operation", "input_hash", "output_hash",
                          "model_used", "human_oversight_flag", "risk_flag", "prev_hmac", "hmac", "workspace_id"}
    assert first["timestamp"] == "2026-04-17T08:00:00.000Z"  # UTC, whole seconds: what the chain signs
    assert (first["prev_hmac"], first["output_hash"], first["risk_flag"]) == (None, None, False)
    assert first["hmac"] == sign(first) and len(first["id"]) == 36
    second = append(server, w, operation="tool_call", id="evt:2", risk_flag=True)
    assert second["prev_hmac"] == first["hmac"] and second["hmac"] == sign(second) and second["id"] == "evt:2"
    other_agent = append(server, w, agent_id="agent-2")
    assert other_agent["prev_hmac"] is None  # one chain per agent
    got = audit(server, w)
    assert got == {"events": [first, second, other_agent], "total": 3, "chain_valid": True}


def test_a_runtime_may_sign_its_own_entries_and_name_the_head_it_follows(server):
    w = create_ws(server)
    head = append(server, w)
    claim = {"id": "rt-1", "timestamp": "2026-05-01T00:00:00Z", "agent_id": "agent-1", "session_id": "s-1",
             "operation": "task_end", "input_hash": None, "output_hash": DIGEST, "model_used": None,
             "human_oversight_flag": False, "risk_flag": False, "prev_hmac": head["hmac"]}
    claim["hmac"] = sign({**claim, "timestamp": "2026-05-01T00:00:00.000Z"})
    got = append(server, w, **claim)
    assert got["hmac"] == claim["hmac"] and got["prev_hmac"] == head["hmac"]
    # a stale head is a conflict (another entry came first); a wrong signature is refused; so is a reused id
    error(server.post(f"/workspaces/{w['id']}/audit", headers=bearer(w["auth_token"]),
                      json={**claim, "id": "rt-2", "hmac": None}), 409, "prev_hmac is not the head of the agent's chain")
    error(server.post(f"/workspaces/{w['id']}/audit", headers=bearer(w["auth_token"]),
                      json={**claim, "id": "rt-3", "prev_hmac": got["hmac"], "hmac": "0" * 64}), 400,
          "hmac does not match the entry (is the ledger passphrase the same?)")
    error(server.post(f"/workspaces/{w['id']}/audit", headers=bearer(w["auth_token"]),
                      json={"agent_id": "x", "session_id": "", "operation": "op", "prev_hmac": None, "id": "rt-1"}),
          409, "audit event id already exists")
    # prev_hmac null claims the first entry of a chain
    fresh = append(server, w, agent_id="agent-9", prev_hmac=None)
    assert fresh["prev_hmac"] is None
    assert audit(server, w)["total"] == 3


@pytest.mark.parametrize("body,message", [
    ({"session_id": "s", "operation": "op"}, "agent_id is required"),
    ({"agent_id": "", "session_id": "s", "operation": "op"}, "agent_id is required"),
    ({"agent_id": "a", "operation": "op"}, "session_id is required"),
    ({"agent_id": "a", "session_id": "s"}, "operation is required"),
    ({"agent_id": "a", "session_id": "s", "operation": "two words"},
     "operation must be 1 to 64 characters of A-Z a-z 0-9 . _ : -"),
    ({"agent_id": "a\nb", "session_id": "s", "operation": "op"},
     "agent_id must be at most 256 bytes without control characters"),
    ({"agent_id": "a" * 257, "session_id": "s", "operation": "op"},
     "agent_id must be at most 256 bytes without control characters"),
    ({"agent_id": "a", "session_id": "s", "operation": "op", "input_hash": "AB" * 32},
     "input_hash and output_hash must be SHA-256 digests in lower-case hex"),
    ({"agent_id": "a", "session_id": "s", "operation": "op", "output_hash": "abc"},
     "input_hash and output_hash must be SHA-256 digests in lower-case hex"),
    ({"agent_id": "a", "session_id": "s", "operation": "op", "id": "has space"},
     "id must be 1 to 256 characters of A-Z a-z 0-9 . _ : -"),
    ({"agent_id": "a", "session_id": "s", "operation": "op", "timestamp": "yesterday"},
     "timestamp must be RFC 3339 (e.g. 2026-04-17T00:00:00Z)"),
    ({"agent_id": "a", "session_id": "s", "operation": "op", "timestamp": "1969-12-31T23:59:59Z"},
     "timestamp must be between 1970 and 9999"),
    ({"agent_id": 7, "session_id": "s", "operation": "op"}, "agent_id must be a string"),
    ({"agent_id": "a", "session_id": "s", "operation": "op", "risk_flag": "yes"}, "risk_flag must be a boolean"),
])
def test_bad_entries_are_refused_and_write_nothing(server, body, message):
    w = create_ws(server)
    error(server.post(f"/workspaces/{w['id']}/audit", headers=bearer(w["auth_token"]), json=body), 400, message)
    assert server.db.query(f"SELECT count(*) FROM audit_events WHERE workspace_id = '{w['id']}'") == [["0"]]


def test_filters_pages_and_bad_dates(server):
    w = create_ws(server)
    at = lambda h: f"2026-04-17T{h:02d}:00:00Z"
    made = [append(server, w, timestamp=at(h), agent_id=a, session_id=s)
            for h, a, s in ((1, "a", "s1"), (2, "b", "s1"), (3, "a", "s2"), (4, "a", "s1"), (5, "b", "s2"))]
    ids = lambda got: [e["id"] for e in got["events"]]
    assert ids(audit(server, w)) == [e["id"] for e in made]
    got = audit(server, w, agent_id="a")
    assert ids(got) == [made[0]["id"], made[2]["id"], made[3]["id"]] and got["total"] == 3
    assert ids(audit(server, w, session_id="s2")) == [made[2]["id"], made[4]["id"]]
    got = audit(server, w, **{"from": at(2), "to": at(4)})  # from inclusive, to exclusive
    assert ids(got) == [made[1]["id"], made[2]["id"]] and got["total"] == 2
    assert audit(server, w, **{"from": "2026-04-17T03:00:00.5+00:00"})["total"] == 2
    assert audit(server, w, agent_id="nobody") == {"events": [], "total": 0, "chain_valid": True}
    # pages: limit + cursor (or the reference's offset); total counts every match
    got = audit(server, w, limit=2)
    assert ids(got) == [made[0]["id"], made[1]["id"]] and got["total"] == 5
    r = server.get(f"/workspaces/{w['id']}/audit", headers=bearer(w["auth_token"]), params={"limit": 2})
    cursor = r.headers["X-Next-Cursor"]
    got = audit(server, w, limit=2, cursor=cursor)
    assert ids(got) == [made[2]["id"], made[3]["id"]]
    assert ids(audit(server, w, limit=2, offset=4)) == [made[4]["id"]]
    for params, message in (({"from": "17/04/2026"}, "from must be RFC 3339 (e.g. 2026-04-17T00:00:00Z)"),
                            ({"to": "2026-04-17"}, "to must be RFC 3339 (e.g. 2026-04-17T23:59:59Z)"),
                            ({"limit": "0"}, "limit must be an integer from 1 to 500"),
                            ({"limit": "501"}, "limit must be an integer from 1 to 500"),
                            ({"offset": "-1"}, "offset must be an integer from 0 to 2147483647"),
                            ({"offset": "1", "cursor": cursor}, "offset and cursor cannot be combined: follow the cursor")):
        error(server.get(f"/workspaces/{w['id']}/audit", headers=bearer(w["auth_token"]), params=params), 400,
              message)


def test_access(server):
    w, other = create_ws(server), create_ws(server)
    append(server, w)
    path = f"/workspaces/{w['id']}/audit"
    error(server.get(path), 401, "missing workspace auth token")
    error(server.get(path, headers=bearer(other["auth_token"])), 401, "invalid workspace auth token")
    error(server.post(path, json={"agent_id": "a", "session_id": "s", "operation": "op"}), 401,
          "missing workspace auth token")
    error(server.post(path, json={"agent_id": "a", "session_id": "s", "operation": "op"},
                      headers=bearer(other["auth_token"])), 401, "invalid workspace auth token")
    assert audit(server, w, headers=ADMIN)["total"] == 1
    assert audit(server, other)["total"] == 0  # isolation
    error(server.get("/workspaces/00000000-0000-4000-8000-000000000000/audit", headers=ADMIN), 404,
          "workspace not found")
    error(server.get("/workspaces/nope/audit", headers=ADMIN), 400, "invalid workspace ID")
    remove(server, w)
    error(server.post(path, headers=ADMIN, json={"agent_id": "a", "session_id": "s", "operation": "op"}), 404,
          "workspace not found")
    assert audit(server, w, headers=ADMIN)["total"] == 1  # an operator still reads a removed workspace's ledger


def chain(c, w, entries):
    return [append(c, w, agent_id=a, operation=f"op{i}") for i, a in enumerate(entries)]


def test_an_entry_changed_behind_colonys_back_breaks_the_chain_at_that_entry(server):
    w = create_ws(server)
    made = chain(server, w, ["a", "b", "a", "a", "b", "a"])
    target = made[3]  # agent a's third entry
    behind_the_triggers(server, f"UPDATE audit_events SET output_hash = '{DIGEST}' WHERE id = '{target['id']}'")
    got = audit(server, w)
    assert got["chain_valid"] is False
    assert got["chain_break"] == {"id": target["id"], "agent_id": "a", "reason": "hmac does not match the entry"}
    assert got["total"] == 6 and got["events"][3]["output_hash"] == DIGEST
    # it stays broken, whoever asks and whatever the filter
    assert audit(server, w, headers=ADMIN, agent_id="b")["chain_valid"] is False


def test_an_entry_deleted_behind_colonys_back_breaks_the_link_after_it(server):
    w = create_ws(server)
    made = chain(server, w, ["a", "a", "a", "a"])
    behind_the_triggers(server, f"DELETE FROM audit_events WHERE id = '{made[1]['id']}'")
    got = audit(server, w)
    assert got["chain_valid"] is False
    assert got["chain_break"] == {"id": made[2]["id"], "agent_id": "a",
                                  "reason": "prev_hmac does not link to the agent's previous entry"}


def test_verification_is_incremental_and_a_full_one_finds_what_it_skipped(server):
    w = create_ws(server)
    made = chain(server, w, ["a"] * 30)
    before = metric(server, "colony_audit_entries_verified_total")
    assert audit(server, w)["chain_valid"] is True
    assert metric(server, "colony_audit_entries_verified_total") == before + 30
    assert audit(server, w)["chain_valid"] is True
    assert metric(server, "colony_audit_entries_verified_total") == before + 30  # nothing hashed again
    append(server, w)
    assert audit(server, w)["chain_valid"] is True
    assert metric(server, "colony_audit_entries_verified_total") == before + 31  # only the new entry
    # an entry already verified is not hashed again by an ordinary read (the schema refuses changes): a full
    # verification, for operators, re-hashes everything and records the break, which then stays
    behind_the_triggers(server, f"UPDATE audit_events SET session_id = 'forged' WHERE id = '{made[7]['id']}'")
    assert audit(server, w)["chain_valid"] is True
    error(server.get(f"/workspaces/{w['id']}/audit", headers=bearer(w["auth_token"]), params={"verify": "full"}),
          403, "a full verification of the ledger is for operators (admin or org token)")
    org = mint_org_token(server)
    got = audit(server, w, headers=bearer(org), verify="full")
    assert got["chain_valid"] is False and got["chain_break"]["id"] == made[7]["id"]
    assert metric(server, "colony_audit_entries_verified_total") == before + 31 + 31
    assert audit(server, w)["chain_break"]["id"] == made[7]["id"]


def test_a_verification_mark_forged_in_the_database_is_ignored(server):
    w = create_ws(server)
    made = chain(server, w, ["a", "a", "a"])
    behind_the_triggers(server, f"UPDATE audit_events SET operation = 'forged' WHERE id = '{made[2]['id']}'")
    # someone without the key claims everything is verified: the mark's own MAC does not match, so it is ignored
    server.db.execute(f"INSERT INTO audit_verified (workspace_id, verified_seq, verified_at, mac)"
                      f" VALUES ('{w['id']}', 999999999, 0, '{'0' * 64}')")
    got = audit(server, w)
    assert got["chain_valid"] is False and got["chain_break"]["id"] == made[2]["id"]


def test_the_schema_refuses_updates_and_deletes_but_a_purge_takes_the_ledger(server):
    w = create_ws(server)
    made = chain(server, w, ["a", "a"])
    with pytest.raises(Exception):
        server.db.execute(f"UPDATE audit_events SET operation = 'x' WHERE id = '{made[0]['id']}'")
    with pytest.raises(Exception):
        server.db.execute(f"DELETE FROM audit_events WHERE id = '{made[0]['id']}'")
    with pytest.raises(Exception):  # no fork: two entries cannot follow the same head
        server.db.execute(f"INSERT INTO audit_events (id, workspace_id, timestamp, agent_id, session_id, operation,"
                          f" prev_hmac, hmac) VALUES ('fork', '{w['id']}', 0, 'a', 's', 'op', '{made[0]['hmac']}',"
                          f" 'x')")
    assert [r[0] for r in server.db.query(f"SELECT operation FROM audit_events WHERE workspace_id = '{w['id']}'"
                                          " ORDER BY seq")] == ["op0", "op1"]
    remove(server, w)  # a soft removal keeps the ledger
    assert server.db.query(f"SELECT count(*) FROM audit_events WHERE workspace_id = '{w['id']}'") == [["2"]]
    remove(server, w, purge=True)
    assert server.db.query(f"SELECT count(*) FROM audit_events WHERE workspace_id = '{w['id']}'") == [["0"]]


def test_concurrent_appends_of_one_agent_make_one_straight_chain(server):
    w = create_ws(server)
    made = race(16, lambda i: append(server, w, operation=f"op{i}"))
    rows = server.db.query(f"SELECT prev_hmac, hmac FROM audit_events WHERE workspace_id = '{w['id']}' ORDER BY seq")
    assert len(rows) == 16 and rows[0][0] == ""
    assert all(rows[i][0] == rows[i - 1][1] for i in range(1, 16))
    assert {e["hmac"] for e in made} == {r[1] for r in rows}
    assert audit(server, w)["chain_valid"] is True


def test_the_key_from_the_environment_is_the_same_key(start_colony):
    c = start_colony(env={"AUDIT_LEDGER_SALT": PASSPHRASE})
    w = create_ws(c)
    e = append(c, w)
    assert e["hmac"] == sign(e)


def test_without_a_key_there_is_no_ledger(start_colony):
    c = start_colony()
    w = create_ws(c)
    assert audit(c, w) == {"events": [], "total": 0, "chain_valid": None}
    r = c.post(f"/workspaces/{w['id']}/audit", headers=bearer(w["auth_token"]),
               json={"agent_id": "a", "session_id": "s", "operation": "op"})
    error(r, 503, "audit ledger key not configured (set AUDIT_LEDGER_SALT or --audit-key-file)",
          "platform_misconfigured")


def test_an_unusable_key_file_stops_colony_at_start(tmp_path):
    r = run_colony(["serve", "--db", str(tmp_path / "x.db"), "--audit-key-file", str(tmp_path / "missing")])
    assert r.returncode == 2 and "cannot read --audit-key-file" in r.stderr
    empty = tmp_path / "empty.key"
    empty.write_text("\n")
    r = run_colony(["serve", "--db", str(tmp_path / "x.db"), "--audit-key-file", str(empty)])
    assert r.returncode == 2 and "--audit-key-file must hold 1 to 4096 bytes of passphrase" in r.stderr
