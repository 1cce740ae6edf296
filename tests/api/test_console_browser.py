"""The console in a real browser (issue 23): Debian's Chromium, headless, driven over the DevTools protocol
(browser.py) against a real colony on each database. Screenshots go to build/test/artefacts/console/ (browser.ARTEFACTS),
named <test>-<backend>-<step>.png; the 10,000-workspace measurement is written there as first-paint-<backend>.json."""
import json
import time
import uuid

import pytest

from browser import ARTEFACTS, browser_or_fail
from conftest import ADMIN, ADMIN_TOKEN


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def create(c, name, parent=None, **kw):
    body = {"name": name, "model": "m", **kw}
    if parent:
        body["parent_id"] = parent["id"]
    r = c.post("/workspaces", headers=ADMIN, json=body)
    assert r.status_code == 201, r.text
    return {"name": name, **r.json()}


def register(c, w, url):
    r = c.post("/registry/register", headers=bearer(w["auth_token"]),
               json={"id": w["id"], "url": url, "agent_card": {"name": w["name"]}, "delivery_mode": "push"})
    assert r.status_code == 200, r.text


def heartbeat(c, w, task):
    r = c.post("/registry/heartbeat", headers=bearer(w["auth_token"]),
               json={"workspace_id": w["id"], "current_task": task, "active_tasks": 1 if task else 0})
    assert r.status_code == 200, r.text


@pytest.fixture
def browser():
    b = browser_or_fail()
    yield b
    b.close()


def row(w, inner=""):
    return f"document.querySelector('.row[data-id=\"{w['id']}\"] {inner}')"


def sign_in(b, c):
    b.goto(c.url + "/")
    b.wait("!document.getElementById('signin').hidden", what="the sign-in form")
    b.type("#token", ADMIN_TOKEN)
    b.press_enter()
    b.wait("document.getElementById('live').textContent === 'live'", what="the event stream connected")


def test_sign_in_tree_live_status_chat_and_history(start_colony, browser, agent, backend):
    c = start_colony()
    shot = lambda step: browser.screenshot(f"e2e-{backend}-{step}")  # noqa: E731
    org = create(c, "Acme")
    planner = create(c, "Planner", org, delivery_mode="push")
    scout = create(c, "Scout", org)
    register(c, planner, agent.url)

    # a wrong token is refused and nothing is kept
    browser.goto(c.url + "/")
    browser.type("#token", "not-a-token")
    browser.press_enter()
    browser.wait("document.getElementById('signin-error').textContent.includes('401')", what="the refusal")
    assert browser.js("sessionStorage.getItem('colony.token')") is None
    browser.pump()
    assert [p for p in browser.problems if "401" not in p] == []
    browser.problems.clear()  # the browser logs the refused request; nothing else may go wrong

    sign_in(browser, c)
    assert browser.js("sessionStorage.getItem('colony.token')") == ADMIN_TOKEN
    # the feed starts with what happened before the sign-in, newest first
    before = [e["id"] for e in c.get("/events?limit=30", headers=ADMIN).json()]
    assert len(before) == 4  # three workspaces created, Planner registered
    browser.wait(f"document.querySelectorAll('#feed li').length === {len(before)}", what="the recent events")
    assert browser.js("[...document.querySelectorAll('#feed li')].map(li => +li.dataset.eid)") == before
    for w in (org, planner, scout):
        browser.wait(f"{row(w, '.name')}?.textContent === {json.dumps(w['name'])}", what=f"{w['name']} in the tree")
    assert browser.js(f"{row(planner, '.dot')}.className") == "dot s-online"
    assert browser.js(f"{row(scout, '.dot')}.className") == "dot s-awaiting_agent"
    # children are indented under their parent
    assert browser.js(f"parseInt({row(scout)}.style.paddingLeft)") > browser.js(f"parseInt({row(org)}.style.paddingLeft)")
    shot("1-tree")

    # a status change arrives live: Scout's agent registers and starts working
    register(c, scout, agent.url)
    browser.wait(f"{row(scout, '.dot')}.className === 'dot s-online'", what="Scout's dot turning green")
    heartbeat(c, scout, "triaging issue 42")
    browser.wait(f"{row(scout, '.task')}.textContent === 'triaging issue 42'", what="Scout's current task")
    browser.wait(f"{row(scout, '.beat')}.textContent.endsWith('s ago')", what="Scout's last heartbeat")
    browser.wait("[...document.querySelectorAll('#feed b')].some(b => b.textContent === 'TASK_UPDATED')",
                 what="TASK_UPDATED in the feed")
    shot("2-live")

    # chat: send a message to the stub agent and see its reply
    browser.click(f".row[data-id=\"{planner['id']}\"] .name")
    browser.wait("document.getElementById('ws-name').textContent === 'Planner'")
    browser.wait("!document.getElementById('chat-form').hidden", what="the chat form")
    browser.type("#chat-input", "hello from the console")
    browser.press_enter()
    browser.wait("[...document.querySelectorAll('.bubble.agent')].some(b => b.textContent.includes("
                 "'echo: hello from the console'))", what="the agent's reply")
    assert len(agent.delivered) == 1
    sent = agent.delivered[0]["params"]["message"]
    assert sent["parts"] == [{"kind": "text", "text": "hello from the console"}] and sent["role"] == "user"
    shot("3-chat")

    # after a reload the same workspace shows its history (chat-history), signed in from session storage
    browser.reload()
    browser.wait("document.getElementById('ws-name').textContent === 'Planner'", what="Planner selected again")
    browser.wait("document.querySelectorAll('.bubble').length === 2", what="two bubbles from the history")
    bubbles = browser.js("[...document.querySelectorAll('.bubble')].map(b => [b.className, b.lastChild.textContent])")
    assert bubbles == [["bubble user", "hello from the console"], ["bubble agent", "echo: hello from the console"]]
    assert len(agent.delivered) == 1  # a reload sends nothing
    shot("4-history")

    # the activity tab shows the exchange the chat made
    browser.click("#tabs button[data-tab=activity]")
    browser.wait("[...document.querySelectorAll('#view td')].some(td => td.textContent === 'a2a_receive')",
                 what="the a2a_receive row")
    browser.pump()
    assert browser.problems == []


def test_the_stream_resumes_with_since_after_a_reconnect(start_colony, browser, backend):
    c = start_colony()
    w = create(c, "Resumer")
    sign_in(browser, c)
    browser.wait(f"{row(w)} !== null", what="the workspace in the tree")
    # the connection drops; while the console is away the org moves on
    browser.js("colonyConsole.state.sock.close()")
    browser.wait("document.getElementById('live').textContent !== 'live'", what="the console noticing the drop")
    missed = [create(c, f"while-away-{i}") for i in range(3)]
    heartbeat(c, w, "busy while you were away")
    browser.wait("document.getElementById('live').textContent === 'live'", timeout=30, what="the reconnect")
    for m in missed:
        browser.wait(f"{row(m)} !== null", what=f"{m['name']}, created while away, in the tree")
    browser.wait(f"{row(w, '.task')}.textContent === 'busy while you were away'", what="the task set while away")
    ids = browser.js("[...document.querySelectorAll('#feed li')].map(li => Number(li.dataset.eid))")
    assert len(ids) == len(set(ids)), "an event was shown twice"
    assert ids == sorted(ids, reverse=True), "events out of order"
    rows = c.get("/events?limit=1000", headers=ADMIN).json()
    assert sorted(ids) == sorted(r["id"] for r in rows if r["id"] >= min(ids))  # none lost
    url = browser.js("colonyConsole.state.sock.url")
    assert "since=" in url and int(url.split("since=")[1]) >= min(ids) - 1
    browser.screenshot(f"resume-{backend}")
    browser.pump()
    assert browser.problems == []


def test_many_new_workspaces_cost_no_request_each_and_sign_out_stops_everything(start_colony, browser, backend):
    """Review of issue 23: the first subscription names no `since` (the server picks a settled "now"; the recent
    events are merged in after, so an event of a transaction still open on PostgreSQL is not skipped); 200 workspaces
    created while the console is open cost a bounded number of requests, not one GET /workspaces/:id each (and a
    reindex each); sign-out forgets the org and the feed, and signing in again does not show the feed twice."""
    c = start_colony()
    root = create(c, "Root")
    sign_in(browser, c)
    assert "since=" not in browser.js("colonyConsole.state.sock.url")
    browser.wait(f"{row(root)} !== null", what="the root in the tree")
    browser.js("performance.setResourceTimingBufferSize(100000); performance.clearResourceTimings()")
    t0 = time.monotonic()
    made = [create(c, f"bulk-{i}", root) for i in range(200)]
    browser.wait("colonyConsole.state.ws.size === 201", timeout=60, what="the 200 new workspaces known")
    browser.wait(f"{row(made[0])} !== null", what="a new workspace in the tree")
    elapsed = time.monotonic() - t0
    urls = browser.js("performance.getEntriesByType('resource').map(e => new URL(e.name).pathname)")
    one_each = [u for u in urls if u.startswith("/workspaces/") and u.count("/") == 2]
    lists = [u for u in urls if u == "/workspaces"]
    assert len(one_each) <= 10, f"{len(one_each)} GET /workspaces/:id for 200 new workspaces"
    assert len(lists) <= elapsed + 2, f"{len(lists)} list reloads in {elapsed:.1f} s"
    heartbeat_ws = made[0]  # in view
    register(c, heartbeat_ws, "http://127.0.0.1:9")
    heartbeat(c, heartbeat_ws, "from the payload")
    browser.wait(f"{row(heartbeat_ws, '.task')}?.textContent === 'from the payload'", what="the task from the event")
    feed_ids = browser.js("[...document.querySelectorAll('#feed li')].map(li => Number(li.dataset.eid))")
    assert feed_ids == sorted(set(feed_ids), reverse=True)

    browser.click("#signout")
    browser.wait("!document.getElementById('signin').hidden", what="the sign-in form after sign-out")
    assert browser.js("document.querySelectorAll('#feed li').length") == 0
    assert browser.js("colonyConsole.state.ws.size") == 0
    sign_in(browser, c)
    browser.wait("colonyConsole.state.ws.size === 201", what="the org again")
    browser.wait("document.querySelectorAll('#feed li').length > 0", what="the feed again")
    again = browser.js("[...document.querySelectorAll('#feed li')].map(li => Number(li.dataset.eid))")
    assert again == sorted(set(again), reverse=True), "the feed shows events twice after signing in again"
    recent = [e["id"] for e in c.get("/events?limit=30", headers=ADMIN).json()]
    assert again[:len(recent)] == recent
    browser.pump()
    assert browser.problems == []


def test_the_inbox_approves_and_answers(start_colony, browser, backend):
    c = start_colony()
    w = create(c, "Deployer")
    tok = bearer(w["auth_token"])
    ap = c.post(f"/workspaces/{w['id']}/approvals", headers=tok, json={"action": "deploy to production",
                                                                       "reason": "release 1.2"}).json()
    ut = c.post(f"/workspaces/{w['id']}/user-tasks", headers=tok, json={"title": "rotate the API key"}).json()
    sign_in(browser, c)
    browser.wait("document.querySelectorAll('#view .item').length === 2", what="two items in the org inbox")
    browser.screenshot(f"inbox-{backend}")
    assert browser.js("[...document.querySelectorAll('#view .item .title')].map(t => t.textContent)") == [
        "deploy to production", "rotate the API key"]  # approvals first, then user tasks
    browser.click("#view .item:first-child button.primary")  # Approve
    browser.wait("document.querySelectorAll('#view .item').length === 1", what="the approval leaving the inbox")
    browser.click("#view .item button.primary")  # Done
    browser.wait("document.querySelectorAll('#view .item').length === 0", what="the task leaving the inbox")
    approvals = c.get(f"/workspaces/{w['id']}/approvals", headers=ADMIN).json()
    assert [(a["id"], a["status"], a["decided_by"]) for a in approvals] == [(ap["approval_id"], "approved", "console")]
    tasks = c.get(f"/workspaces/{w['id']}/user-tasks", headers=ADMIN).json()
    assert [(t["id"], t["status"], t["resolved_by"]) for t in tasks] == [(ut["user_task_id"], "done", "console")]
    # a request asked while the page is open arrives live
    rq = c.post(f"/workspaces/{w['id']}/requests", headers=tok,
                json={"kind": "task", "recipient_type": "user", "title": "which region?"}).json()
    browser.wait("document.querySelectorAll('#view .item').length === 1", what="the request arriving live")
    browser.type("#view .item input", "eu-west, please")
    browser.click("#view .item .acts button:last-child")
    browser.wait(f"""fetch('/requests/{rq['request_id']}', {{headers: {{Authorization: 'Bearer {ADMIN_TOKEN}'}}}})
                     .then(r => r.json()).then(j => j.messages.length === 1 && j.messages[0].body)""",
                 what="the answer stored on the request")
    browser.pump()
    assert browser.problems == []


def test_first_paint_with_10000_workspaces(start_colony, browser, backend):
    c = start_colony()
    teams = [{"name": f"team-{t}", "children": [{"name": f"agent-{t}-{i}"} for i in range(99)]} for t in range(100)]
    # 1 + 100 + 9,900 = 10,001 workspaces, in one import
    tpl = {"name": "big", "defaults": {"model": "m"}, "workspaces": [{"name": "big-root", "children": teams}]}
    r = c.http.post(c.url + "/org/import", headers=ADMIN, json={"template": tpl}, timeout=600)
    assert r.status_code in (200, 201), r.text[:500]
    total = len(c.get("/workspaces", headers=ADMIN).json())
    assert total == 1 + 100 + 100 * 99
    browser.goto(c.url + "/")
    browser.js(f"sessionStorage.setItem('colony.token', {json.dumps(ADMIN_TOKEN)})")
    browser.reload()
    browser.wait("performance.getEntriesByName('colony:tree').length === 1", timeout=60, what="the tree rendered")
    m = browser.js("""(() => {
        const nav = performance.getEntriesByType('navigation')[0];
        const at = (n) => performance.getEntriesByName(n)[0].startTime;
        const fcp = performance.getEntriesByName('first-contentful-paint')[0];
        return {first_contentful_paint_ms: fcp ? fcp.startTime : null, dom_content_loaded_ms: nav.domContentLoadedEventEnd,
                org_loaded_ms: at('colony:org-loaded'), tree_painted_ms: at('colony:tree'),
                render_ms: at('colony:tree') - at('colony:org-loaded'), rows_in_page: document.querySelectorAll('.row').length,
                workspaces_known: colonyConsole.state.ws.size};
    })()""")
    m["workspaces"] = total
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    (ARTEFACTS / f"first-paint-{backend}.json").write_text(json.dumps(m, indent=2) + "\n")
    print(f"\nconsole with {total} workspaces ({backend}): {m}")
    assert m["workspaces_known"] == total
    browser.screenshot(f"first-paint-{backend}-tree")
    # lazy: only the rows in view (and a margin) exist, whatever the size of the org
    assert 0 < m["rows_in_page"] <= 60
    # scrolling to the end renders the last rows in place of the first
    browser.js("document.getElementById('tree').scrollTop = 1e9")
    browser.wait("[...document.querySelectorAll('.row .name')].some(n => n.textContent === 'agent-99-98')",
                 what="the last workspace after scrolling")
    assert browser.js("document.querySelectorAll('.row').length") <= 60
    # filtering works on the whole org
    browser.type("#filter", "agent-42-7")
    browser.wait("document.querySelectorAll('.row').length === 11", what="the 11 names matching agent-42-7")
    browser.screenshot(f"first-paint-{backend}-filter")
    browser.pump()
    assert browser.problems == []
