"""Platform instructions (surface.md §10) and GET /org/identity (§11): the seeded rule, CRUD with the reference's
errors, the order and the markdown a runtime resolves, paging."""
import re
import uuid

from conftest import ADMIN
from inbox_util import RFC3339_MS, bearer, create_ws, error

SEED = "7f3c2a1e-5b6d-4e8f-9a0b-1c2d3e4f5a6b"


def create(c, **body):
    r = c.post("/instructions", headers=ADMIN, json=body)
    assert r.status_code == 201, r.text
    assert set(r.json()) == {"id"}
    return r.json()["id"]


def test_the_seeded_rule(server):
    rows = server.get("/instructions?scope=global", headers=ADMIN).json()
    seed = [r for r in rows if r["id"] == SEED]
    assert seed == [{"id": SEED, "scope": "global", "scope_target": None, "title": "Acknowledge-first responsiveness",
                     "content": seed[0]["content"], "priority": 100, "enabled": True,
                     "created_at": "2026-01-01T00:00:00.000Z", "updated_at": "2026-01-01T00:00:00.000Z"}]
    assert "send_message_to_user" in seed[0]["content"]


def test_create_update_delete_and_errors(server):
    w = create_ws(server)
    iid = create(server, scope="workspace", scope_target=w["id"].upper(), title="Be terse", content="Short.",
                 priority=5)
    row, = [r for r in server.get(f"/instructions?workspace_id={w['id']}", headers=ADMIN).json() if r["id"] == iid]
    assert row["scope_target"] == w["id"] and row["priority"] == 5 and row["enabled"] is True
    assert re.match(RFC3339_MS, row["created_at"]) and row["created_at"] == row["updated_at"]
    r = server.put(f"/instructions/{iid}", headers=ADMIN, json={"content": "Shorter.", "enabled": False})
    assert (r.status_code, r.json()) == (200, {"status": "updated"})
    row, = [r for r in server.get("/instructions?scope=workspace", headers=ADMIN).json() if r["id"] == iid]
    assert (row["title"], row["content"], row["enabled"], row["priority"]) == ("Be terse", "Shorter.", False, 5)
    r = server.delete(f"/instructions/{iid}", headers=ADMIN)
    assert (r.status_code, r.json()) == (200, {"status": "deleted"})
    error(server.delete(f"/instructions/{iid}", headers=ADMIN), 404, "instruction not found")
    error(server.put(f"/instructions/{iid}", headers=ADMIN, json={"title": "x"}), 404, "instruction not found")
    error(server.put("/instructions/not-a-uuid", headers=ADMIN, json={"title": "x"}), 404, "instruction not found")
    for body in ({}, {"scope": "global", "title": "t"}, {"scope": "global", "content": "c"},
                 {"title": "t", "content": "c"}, {"scope": "", "title": "t", "content": "c"}):
        error(server.post("/instructions", headers=ADMIN, json=body), 400, "scope, title, and content are required")
    for scope in ("team", "org", "GLOBAL"):
        error(server.post("/instructions", headers=ADMIN, json={"scope": scope, "title": "t", "content": "c"}), 400,
              "scope must be global or workspace (team scope not yet supported)")
    error(server.post("/instructions", headers=ADMIN, json={"scope": "workspace", "title": "t", "content": "c"}),
          400, "scope_target required for workspace scope")
    error(server.post("/instructions", headers=ADMIN,
                      json={"scope": "workspace", "scope_target": "QA", "title": "t", "content": "c"}), 400,
          "scope_target must be a workspace ID")
    error(server.post("/instructions", headers=ADMIN, json={"scope": "global", "title": "t", "content": "c" * 8193}),
          400, "content exceeds 8192 chars")
    error(server.post("/instructions", headers=ADMIN, json={"scope": "global", "title": "é" * 101, "content": "c"}),
          400, "title exceeds 200 chars")  # 202 bytes: counted in bytes, as the reference
    create(server, scope="global", title="t" * 200, content="c" * 8192)
    iid = create(server, scope="global", title="x", content="y")
    for body in ({"title": 5}, {"enabled": "no"}, {"priority": "high"}, {"title": ""}, {"priority": 2 ** 31}):
        error(server.put(f"/instructions/{iid}", headers=ADMIN, json=body), 400, "invalid request")
    error(server.put(f"/instructions/{iid}", headers=ADMIN, json={"content": "c" * 8193}), 400,
          "content exceeds 8192 chars")
    error(server.get("/instructions"), 401, "admin auth required")
    error(server.post("/instructions", headers=bearer(create_ws(server)["auth_token"]),
                      json={"scope": "global", "title": "t", "content": "c"}), 403, "admin access required")
    error(server.get("/instructions?workspace_id=nope", headers=ADMIN), 400, "invalid workspace ID")


def test_order_resolve_and_pages(server):
    w, other = create_ws(server), create_ws(server)
    tag = uuid.uuid4().hex[:6]
    g_low = create(server, scope="global", title=f"g-low {tag}", content="gl", priority=-1)
    mine = create(server, scope="workspace", scope_target=w["id"], title=f"mine {tag}", content="m", priority=50)
    create(server, scope="workspace", scope_target=other["id"], title=f"theirs {tag}", content="t")
    off = create(server, scope="workspace", scope_target=w["id"], title=f"off {tag}", content="o")
    server.put(f"/instructions/{off}", headers=ADMIN, json={"enabled": False})
    g_high = create(server, scope="global", title=f"g-high {tag}", content="gh", priority=1000)
    rows = server.get(f"/instructions?workspace_id={w['id']}", headers=ADMIN).json()
    mine_rows = [r["id"] for r in rows if r["id"] in (g_low, mine, g_high, off)]
    assert mine_rows == [g_high, g_low, mine]  # globals first, each scope by priority (disabled ones left out)
    assert rows[-1]["id"] == mine and all(r["scope"] == "global" for r in rows[:-1])
    md = server.get(f"/workspaces/{w['id']}/instructions/resolve", headers=bearer(w["auth_token"])).json()
    assert md["workspace_id"] == w["id"]
    text = md["instructions"]
    assert text.startswith("\n## Platform-Wide Rules\n\n") and text.count("## Platform-Wide Rules") == 1
    assert text.endswith(f"\n## Role-Specific Rules\n\n### mine {tag}\nm\n\n")
    assert text.index(f"### g-high {tag}\ngh\n\n") < text.index(f"### g-low {tag}\ngl\n\n")
    assert f"theirs {tag}" not in text and f"off {tag}" not in text
    # every row, by scope, then priority: pages follow that order without repeats
    every = server.get("/instructions", headers=ADMIN).json()
    pages, cursor = [], None
    while True:
        r = server.get("/instructions?limit=2" + (f"&cursor={cursor}" if cursor else ""), headers=ADMIN)
        pages += r.json()
        cursor = r.headers.get("X-Next-Cursor")
        if not cursor:
            break
    assert [r["id"] for r in pages] == [r["id"] for r in every]
    scopes = [r["scope"] for r in every]
    assert scopes == sorted(scopes)
    error(server.get("/instructions?cursor=zzz", headers=ADMIN), 400,
          "cursor is not one this list gave (pass back X-Next-Cursor as it came)")


def test_resolve_with_no_rules_is_empty(start_colony):
    c = start_colony()
    w = create_ws(c)
    assert c.delete(f"/instructions/{SEED}", headers=ADMIN).status_code == 200
    assert c.get(f"/workspaces/{w['id']}/instructions/resolve", headers=ADMIN).json() == {
        "workspace_id": w["id"], "instructions": ""}
    error(c.get(f"/workspaces/{uuid.uuid4()}/instructions/resolve", headers=ADMIN), 404, "workspace not found")


def test_org_identity(start_colony):
    c = start_colony(env={"MOLECULE_ORG_NAME": "Acme", "MOLECULE_ORG_SLUG": "acme", "MOLECULE_ORG_ID": "org-1",
                          "OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": "sk-not-shown"})
    r = c.get("/org/identity")
    assert (r.status_code, r.json()) == (200, {"name": "Acme", "slug": "acme", "org_id": "org-1",
                                               "platform_managed_available": True})
    assert "sk-not-shown" not in r.text
    bare = start_colony()
    assert bare.get("/org/identity").json() == {"name": "", "slug": "", "org_id": "",
                                                "platform_managed_available": False}
    half = start_colony(env={"MOLECULE_LLM_BASE_URL": "http://127.0.0.1:9"})  # a proxy without a token: not enough
    assert half.get("/org/identity").json()["platform_managed_available"] is False
