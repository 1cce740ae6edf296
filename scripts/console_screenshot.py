#!/usr/bin/env python3
"""The README's screenshot (docs/console.png): against a fresh `make run` (the demo org), bring the org to life through
the public API (agents register and heartbeat with tasks, a chat exchange, an approval), then photograph the console
in headless Chromium (tests/api/browser.py).

    ADMIN_TOKEN=demo make run    # in one terminal, on a fresh ./colony.db
    scripts/console_screenshot.py http://127.0.0.1:8080 demo docs/console.png
"""
import json
import pathlib
import shutil
import sys
import time

import requests

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests" / "api"))
from browser import Browser  # noqa: E402

URL, TOKEN, OUT = sys.argv[1:4]
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


def call(method, path, headers=ADMIN, **kw):
    r = requests.request(method, URL + path, headers=headers, timeout=30, **kw)
    r.raise_for_status()
    return r.json()


ws = {w["name"]: w["id"] for w in call("GET", "/workspaces")}


def come_alive(name, task):
    """The agent registers (with the operator's token) and heartbeats; its instance token, for what it does next."""
    reg = call("POST", "/registry/register", json={"id": ws[name], "url": "remote://no-inbound", "delivery_mode": "poll",
                                                   "agent_card": {"name": name}})
    call("POST", "/registry/heartbeat", json={"workspace_id": ws[name], "current_task": task, "active_tasks": int(bool(task))})
    return {"Authorization": f"Bearer {reg['auth_token']}"} if "auth_token" in reg else ADMIN


pm = come_alive("PM", "planning the v2 launch")
lead = come_alive("Dev Lead", "reviewing the API design")
come_alive("Backend Dev", "implementing /billing")
come_alive("QA", "")
call("POST", f"/workspaces/{ws['PM']}/a2a", json={"jsonrpc": "2.0", "id": "1", "method": "message/send", "params": {
    "message": {"role": "user", "messageId": "demo-1", "parts": [{"kind": "text", "text": "Where are we with the v2 launch?"}]}}})
call("POST", f"/workspaces/{ws['PM']}/notify", headers=pm, json={
    "message": "Backend is on /billing, the API design is in review; QA starts Thursday. One approval waits for you."})
call("POST", f"/workspaces/{ws['Dev Lead']}/approvals", headers=lead,
     json={"action": "merge the API design", "reason": "reviewed by Backend Dev"})

b = Browser(width=1440, height=860)
try:
    b.goto(URL + "/")
    b.js(f"sessionStorage.setItem('colony.token', {json.dumps(TOKEN)}); location.hash = {json.dumps(ws['PM'])}")
    b.reload()
    b.wait("document.querySelectorAll('.bubble').length === 2", what="PM's chat")
    b.wait("document.getElementById('inbox-count').textContent === '(1)'", what="the approval in the inbox")
    call("POST", "/registry/heartbeat", json={"workspace_id": ws["Frontend Dev"]})  # a status change, live
    b.wait(f"document.querySelector('.row[data-id=\"{ws['Frontend Dev']}\"] .dot').className === 'dot s-online'",
           what="Frontend Dev coming online")
    time.sleep(1)  # let the page settle before the photograph (not a test)
    b.pump()
    assert b.problems == [], b.problems
    shutil.copy(b.screenshot("readme"), OUT)
finally:
    b.close()
