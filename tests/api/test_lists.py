"""Every list is bounded and paged the same way (README "Lists"): `limit` with the reference's default and a hard
maximum, an opaque `cursor`, the next page in X-Next-Cursor and Link rel="next"; keyset pages, so rows written
while a client pages are neither repeated nor make it skip one; a page also ends at what fits in a body."""
import pathlib
import re
import tempfile
import urllib.parse
import uuid

import pytest

from conftest import ADMIN, ROOT

# a templates directory of our own: names that sort, one unreadable template, and names a URL must escape
TEMPLATES = pathlib.Path(tempfile.mkdtemp(prefix="colony-lists-tpl-"))
for name in ("alpha", "beta & co", "broken", "delta", "\u00e9t\u00e9"):
    (TEMPLATES / name).mkdir()
    text = "name: [unclosed" if name == "broken" else (ROOT / "org-templates/demo/org.yaml").read_text()
    (TEMPLATES / name / "org.yaml").write_text(text)
SERVER_ARGS = ("--templates-dir", str(TEMPLATES))

CURSOR_ERROR = {"error": "cursor is not one this list gave (pass back X-Next-Cursor as it came)",
                "code": "invalid_request"}


def bearer(t):
    return {"Authorization": f"Bearer {t}"}


def new_ws(c, parent=None, **body):
    body = {"name": "ls-" + uuid.uuid4().hex[:10], "model": "m", **body}
    if parent:
        body["parent_id"] = parent["id"]
    r = c.post("/workspaces", headers=ADMIN, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def next_link(r):
    """The Link rel="next" target, checked against X-Next-Cursor; None on the last page."""
    link, cursor = r.headers.get("Link"), r.headers.get("X-Next-Cursor")
    if link is None:
        assert cursor is None
        return None
    m = re.fullmatch(r'<([^>]+)>; rel="next"', link)
    assert m, link
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(m.group(1)).query)
    assert query["cursor"] == [cursor]
    return m.group(1)


def pages(c, path, headers, rows=lambda body: body, **params):
    """Follow a list from `path` to its end; returns its pages (lists of rows)."""
    r = c.get(path, headers=headers, params=params)
    out = []
    while True:
        assert r.status_code == 200, r.text
        out.append(rows(r.json()))
        link = next_link(r)
        if link is None:
            return out
        assert link.startswith(urllib.parse.urlsplit(path).path + "?")
        r = c.get(link, headers=headers)


def flat(ps):
    return [row for p in ps for row in p]


def test_workspaces_page_by_cursor_and_the_default_is_the_whole_org(server):
    made = [new_ws(server) for _ in range(7)]
    whole = server.get("/workspaces", headers=ADMIN)
    assert whole.status_code == 200 and "Link" not in whole.headers and "X-Next-Cursor" not in whole.headers
    everything = whole.json()
    ps = pages(server, "/workspaces", ADMIN, limit=3)
    assert [len(p) for p in ps[:-1]] == [3] * (len(ps) - 1) and 1 <= len(ps[-1]) <= 3
    assert flat(ps) == everything  # same rows, same order, same bodies
    assert {w["id"] for w in made} <= {w["id"] for w in everything}
    # a page that ends exactly at the end says so: no next link
    r = server.get("/workspaces", headers=ADMIN, params={"limit": len(everything)})
    assert r.json() == everything and next_link(r) is None
    # other query parameters stay in the Link
    r = server.get("/workspaces", headers=ADMIN, params={"limit": 2, "x": "keep me"})
    assert "x=keep+me" in r.headers["Link"] or "x=keep%20me" in r.headers["Link"]


def test_rows_created_while_paging_are_never_repeated_and_never_skip_one(server):
    before = [w["id"] for w in server.get("/workspaces", headers=ADMIN).json()]
    first = server.get("/workspaces", headers=ADMIN, params={"limit": 2})
    seen = [w["id"] for w in first.json()]
    link = next_link(first)
    assert link is not None and len(before) > 4
    added = []
    while link:
        added.append(new_ws(server)["id"])  # a concurrent create between every two pages
        r = server.get(link, headers=ADMIN)
        seen += [w["id"] for w in r.json()]
        link = next_link(r)
    assert len(seen) == len(set(seen))
    assert seen[:len(before)] == before  # every row that was there, once, in order
    assert set(seen[len(before):]) <= set(added)  # then (some of) the new ones, created later


def test_the_streamed_workspace_has_the_reference_shape(server):
    """workspaces.md §3.2: every key, value and type as the reference builds it, for rows of every kind of value."""
    parent = new_ws(server, role="lead", tier=2, budget_limit=1234, canvas={"x": 12.5, "y": -3})
    child = new_ws(server, parent, runtime="external", external=True, url="https://agent.example/a")
    card = {"name": "caf\u00e9 \u2028 \"q\" \\ \u0001 \U0001F600", "skills": [{"id": 1, "r": 0.1}], "n": None}
    r = server.post("/registry/register", headers=bearer(child["auth_token"]),
                    json={"id": child["id"], "url": "https://agent.example/a", "agent_card": card})
    assert r.status_code == 200, r.text
    server.db.execute(f"UPDATE workspaces SET compute = '{{ \"cpu\" : 2 }}', current_task = 'tab\tnew\nline',"
                      f" last_error_rate = 0.25 WHERE id = '{child['id']}'")
    rows = {w["id"]: w for w in server.get("/workspaces", headers=ADMIN).json()}
    p, c = rows[parent["id"]], rows[child["id"]]
    keys = ["id", "name", "role", "tier", "status", "kind", "agent_card", "url", "parent_id", "active_tasks",
            "max_concurrent_tasks", "last_error_rate", "uptime_seconds", "runtime", "delivery_mode", "model", "x", "y",
            "collapsed", "broadcast_enabled", "talk_to_user_enabled", "compute", "workspace_access", "created_at",
            "updated_at", "last_heartbeat_at", "current_task", "last_sample_error", "workspace_dir", "budget_limit", "monthly_spend"]
    assert list(p) == keys and list(c) == keys
    stamp = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
    assert all(stamp.fullmatch(w[k]) for w in (p, c) for k in ("created_at", "updated_at"))
    # colony adds last_heartbeat_at (the console shows it on every row): null until a runtime registers
    assert p["last_heartbeat_at"] is None and stamp.fullmatch(c["last_heartbeat_at"])
    assert {k: p[k] for k in keys if k not in ("id", "created_at", "updated_at", "parent_id", "name",
                                                "last_heartbeat_at")} == {
        "role": "lead", "tier": 2, "status": "awaiting_agent", "kind": "workspace", "agent_card": None, "url": "",
        "active_tasks": 0, "max_concurrent_tasks": 1, "last_error_rate": 0.0, "uptime_seconds": 0,
        "runtime": "claude-code", "delivery_mode": "push", "model": "m", "x": 12.5, "y": -3.0, "collapsed": False,
        "broadcast_enabled": False, "talk_to_user_enabled": True, "compute": {}, "workspace_access": "none",
        "current_task": "", "last_sample_error": "", "workspace_dir": None, "budget_limit": 1234, "monthly_spend": 0}
    assert (c["parent_id"], c["role"], c["budget_limit"], c["status"], c["url"], c["runtime"]) == \
        (parent["id"], None, None, "online", "https://agent.example/a", "external")
    assert c["agent_card"]["skills"] == [{"id": 1, "r": 0.1}] and c["agent_card"]["n"] is None
    assert c["agent_card"]["name"] == card["name"] and c["compute"] == {"cpu": 2}
    assert c["current_task"] == "tab\tnew\nline" and c["last_error_rate"] == 0.25
    assert isinstance(p["x"], float) and isinstance(p["tier"], int) and isinstance(p["collapsed"], bool)
    # the same writer serves GET /workspaces/:id: the keys they share agree
    one = server.get(f"/workspaces/{child['id']}").json()
    assert {k: one[k] for k in keys if k in one} == {k: c[k] for k in keys if k in one}


@pytest.mark.parametrize("path, maximum", [
    ("/workspaces", 20000), ("/events", 1000), ("/org/tokens", 500), ("/admin/delegations", 1000),
    ("/org/templates", 1000),
])
def test_bad_limits_and_cursors_are_400_and_change_nothing(server, path, maximum):
    for bad in ("0", "-1", "abc", "1.5", str(maximum + 1), "99999999999999999999"):
        r = server.get(path, headers=ADMIN, params={"limit": bad})
        assert r.status_code == 400 and r.json() == {"error": f"limit must be an integer from 1 to {maximum}",
                                                     "code": "invalid_request"}, (bad, r.text)
    # a name cursor (/org/templates) is the name in hex: NUL and invalid UTF-8 are refused too, not sent to the
    # database (PostgreSQL answered 503 to a cursor of "ff")
    names = ("00", "ff", "c0af", "eda080", "61e282") if path == "/org/templates" else ()
    for bad in ("", "x", "1.2.3", "1.not-a-uuid", "1." + "0" * 36, "abc" * 300, "1 2", "%00", "12.zz") + names:
        r = server.get(path, headers=ADMIN, params={"cursor": bad})
        assert r.status_code == 400 and r.json() == CURSOR_ERROR, (bad, r.text)
    assert server.get(path, headers=ADMIN, params={"limit": maximum}).status_code == 200


def test_activity_pages_both_ways_and_keeps_its_filters(server):
    w = new_ws(server)
    h = bearer(w["auth_token"])
    ids = [server.post(f"/workspaces/{w['id']}/activity", headers=h,
                       json={"activity_type": "agent_log" if i % 3 else "task_update", "summary": f"s{i}"}).json()["id"]
           for i in range(10)]
    path = f"/workspaces/{w['id']}/activity"
    newest = pages(server, path, h, limit=3)
    assert [len(p) for p in newest] == [3, 3, 3, 1]
    assert [r["id"] for r in flat(newest)] == ids[::-1]
    # oldest first after since_id: the Link carries the position and drops since_id
    r = server.get(path, headers=h, params={"since_id": ids[1], "limit": 4})
    assert [x["id"] for x in r.json()] == ids[2:6]
    assert "since_id" not in next_link(r)
    rest = pages(server, next_link(r), h)
    assert [x["id"] for x in flat(rest)] == ids[6:]
    # a filter stays in force on every page
    logs = pages(server, path, h, type="agent_log", limit=2)
    assert [x["id"] for x in flat(logs)] == [i for k, i in enumerate(ids) if k % 3][::-1]
    # rows reported while paging back are not repeated: they are newer than the cursor
    first = server.get(path, headers=h, params={"limit": 4})
    for i in range(3):
        server.post(path, headers=h, json={"activity_type": "agent_log", "summary": f"late{i}"})
    later = pages(server, next_link(first), h)
    assert [x["id"] for x in first.json() + flat(later)] == ids[::-1]
    r = server.get(path, headers=h, params={"since_id": ids[0], "cursor": "1.5"})
    assert r.status_code == 400 and r.json() == {"error": "since_id and cursor cannot be combined: follow the cursor",
                                                 "code": "invalid_request"}
    for bad in ("2.5", "1", "1.x", "1.5.5"):
        r = server.get(path, headers=h, params={"cursor": bad})
        assert r.status_code == 400 and r.json() == CURSOR_ERROR, bad


def test_a_page_ends_at_what_fits_in_a_body(server):
    """32 MiB a page: rows of 2 MiB each come 15 to a page, with a cursor to the rest, none lost or repeated."""
    w = new_ws(server)
    h = bearer(w["auth_token"])
    big = "x" * (1024 * 1024 - 64)
    ids = [server.post(f"/workspaces/{w['id']}/activity", headers=h,
                       json={"activity_type": "agent_log", "summary": str(i), "request_body": big,
                             "response_body": big}).json()["id"] for i in range(18)]
    ps = pages(server, f"/workspaces/{w['id']}/activity", h, limit=100)
    assert len(ps) == 2 and 0 < len(ps[1]) < len(ps[0])
    assert [r["id"] for r in flat(ps)] == ids[::-1]


def test_events_history_pages_back_by_id(server):
    w = new_ws(server)
    h = bearer(w["auth_token"])
    for i in range(6):
        server.post(f"/workspaces/{w['id']}/activity", headers=h, json={"activity_type": "agent_log", "summary": str(i)})
    whole = server.get(f"/events/{w['id']}", headers=ADMIN).json()
    assert next_link(server.get(f"/events/{w['id']}", headers=ADMIN)) is None
    ps = pages(server, f"/events/{w['id']}", ADMIN, limit=2)
    assert len(ps) == (len(whole) + 1) // 2 and flat(ps) == whole and [e["id"] for e in whole] == sorted((e["id"] for e in whole), reverse=True)
    assert set(whole[0]) == {"id", "event_type", "workspace_id", "payload", "created_at"}
    assert whole[0]["payload"]["summary"] == "5"
    # every event, 3 a page: ids strictly decrease across pages
    ids = [e["id"] for e in flat(pages(server, "/events", ADMIN, limit=50))]
    assert ids == sorted(set(ids), reverse=True)


def test_tokens_page_and_a_mint_while_paging_repeats_nothing(server):
    w = new_ws(server)
    own = bearer(w["auth_token"])
    path = f"/workspaces/{w['id']}/tokens"
    for _ in range(6):
        assert server.post(path, headers=own).status_code == 201
    whole = server.get(path, headers=own).json()
    assert whole["count"] == 7
    # the reference's offset still works, but not with a cursor
    assert server.get(path, headers=own, params={"offset": 5}).json() == {"tokens": whole["tokens"][5:], "count": 2}
    first = server.get(path, headers=own, params={"limit": 3})
    assert first.json()["count"] == 3
    r = server.get(path, headers=own, params={"offset": 1, "cursor": first.headers["X-Next-Cursor"]})
    assert r.status_code == 400 and r.json() == {"error": "offset and cursor cannot be combined: follow the cursor",
                                                 "code": "invalid_request"}
    assert server.post(path, headers=own).status_code == 201  # newer than every row: on no later page
    rest = pages(server, next_link(first), own, rows=lambda b: b["tokens"])
    assert [t["id"] for t in first.json()["tokens"] + flat(rest)] == [t["id"] for t in whole["tokens"]]
    # org tokens
    for _ in range(3):
        assert server.post("/org/tokens", headers=ADMIN, json={"name": "ls"}).status_code == 200
    allt = server.get("/org/tokens", headers=ADMIN).json()["tokens"]
    assert flat(pages(server, "/org/tokens", ADMIN, rows=lambda b: b["tokens"], limit=2)) == allt


def test_delegations_page_newest_first(server):
    boss = new_ws(server, delivery_mode="poll")
    kids = [new_ws(server, boss, delivery_mode="poll") for _ in range(2)]
    h = bearer(boss["auth_token"])
    dids = []
    for i in range(5):
        did = str(uuid.uuid4())
        r = server.post(f"/workspaces/{boss['id']}/delegations/record", headers=h,
                        json={"target_id": kids[i % 2]["id"], "task": f"task {i}", "delegation_id": did})
        assert r.status_code == 202, r.text
        dids.append(did)
    path = f"/workspaces/{boss['id']}/delegations"
    whole = server.get(path, headers=h).json()
    ps = pages(server, path, h, limit=2)
    assert [len(p) for p in ps] == [2, 2, 1] and flat(ps) == whole
    assert sorted(d["delegation_id"] for d in whole) == sorted(dids)
    admin = pages(server, "/admin/delegations", ADMIN, rows=lambda b: b["delegations"], limit=2)
    mine = [d["delegation_id"] for d in flat(admin) if d["caller_id"] == boss["id"]]
    assert mine == [d["delegation_id"] for d in whole]
    r = server.get("/admin/delegations", headers=ADMIN, params={"limit": 2})
    assert r.json()["count"] == 2 and r.json()["limit"] == 2 and r.json()["status"] == "in_flight"


def test_peers_page_in_family_order_and_the_filter_never_stalls(server):
    boss = new_ws(server)
    me = new_ws(server, boss)
    sibs = [new_ws(server, boss) for _ in range(4)]
    kids = [new_ws(server, me) for _ in range(3)]
    h = bearer(me["auth_token"])
    path = f"/registry/{me['id']}/peers"
    whole = server.get(path, headers=h).json()

    def by_creation(ws):  # the keyset order inside a group: (created_at, id); two creates may share a millisecond
        ids = "', '".join(w["id"] for w in ws)
        return [r[0] for r in server.db.query(f"SELECT id FROM workspaces WHERE id IN ('{ids}') ORDER BY created_at, id")]

    assert [p["id"] for p in whole] == by_creation(sibs) + by_creation(kids) + [boss["id"]]
    assert set(whole[0]) == {"id", "name", "role", "tier", "status", "agent_card", "url", "parent_id", "active_tasks"}
    assert flat(pages(server, path, h, limit=2)) == whole
    # a filter that matches only the last row still reaches it: pages of non-matching rows move the cursor on
    ps = pages(server, path, h, limit=1, q=whole[-1]["name"].upper())
    assert [p["id"] for p in flat(ps)] == [boss["id"]] and len(ps) == len(whole)


def test_chat_history_and_session_search_page_back(server):
    w = new_ws(server)
    h = bearer(w["auth_token"])
    for i in range(5):
        server.post(f"/workspaces/{w['id']}/notify", headers=h, json={"message": f"note {i}"})
    path = f"/workspaces/{w['id']}/chat-history"
    whole = server.get(path, headers=h).json()
    assert whole["reached_end"] is True and [m["content"] for m in whole["messages"]] == [f"note {i}" for i in range(5)]
    ps = pages(server, path, h, rows=lambda b: (b["reached_end"], [m["content"] for m in b["messages"]]), limit=2)
    assert ps == [(False, ["note 3", "note 4"]), (False, ["note 1", "note 2"]), (True, ["note 0"])]
    found = pages(server, f"/workspaces/{w['id']}/session-search", h, q="note", limit=2)
    assert [len(p) for p in found] == [2, 2, 1]
    assert [x["content"] for x in flat(found)] == [f"Agent message: note {i}" for i in range(4, -1, -1)]


def test_templates_page_by_name(server):
    whole = server.get("/org/templates", headers=ADMIN).json()
    assert [t["dir"] for t in whole] == ["alpha", "beta & co", "delta", "\u00e9t\u00e9"]  # the broken one skipped
    ps = pages(server, "/org/templates", ADMIN, limit=2)
    assert [[t["dir"] for t in p] for p in ps] == [["alpha", "beta & co"], ["delta"], ["\u00e9t\u00e9"]]
    assert flat(pages(server, "/org/templates", ADMIN, limit=1)) == whole
