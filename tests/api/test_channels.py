"""Chat channels (data.md §4.2, surface.md §14, issue 22): the adapters, a workspace's channels (shapes, masked
credentials sealed at rest, bad input), incoming webhooks verified the way each provider signs them (Telegram's secret
header, Slack's HMAC with a timestamp window, Discord's Ed25519), refused when unsigned or stale, deduped on the
provider's update id, relayed to the agent through the A2A path with the reply posted back through the provider's API
(a local stub on 127.0.0.1, reached through the reference's test seams), sends retried with back-off on 429/5xx
(honouring Retry-After), failures as activity rows and metrics."""
import base64
import concurrent.futures
import hashlib
import hmac
import json
import pathlib
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from conftest import ADMIN, SECRETS_KEY, metric, module_colony, run_colony, wait_for

TG_TOKEN = "123456789:AAbbCCddEEffGGhhIIjjKKllMMnn"
SLACK_TOKEN = "xoxb-1111-2222-secretsecret"
SLACK_SIGNING = "8f742231b10e8888abcd99yyyzzz85a5"
TG_SECRET = "hook_secret-1-of-the-tests"
LARK_TOKEN = "vtok-123-of-the-tests"


class Provider:
    """A chat provider's API: records every call; answers a chat's calls from its script of (status, headers, body)
    first (the chat_id of the call: other tests' sends never consume it), then OK."""

    def __init__(self):
        self.calls = []  # (monotonic time, path, headers, json body)
        self.script = {}  # chat_id -> [(status, headers, body)]
        self.lock = threading.Lock()
        prov = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with prov.lock:
                    prov.calls.append((time.monotonic(), self.path, dict(self.headers), json.loads(raw)))
                    planned = prov.script.get(str(prov.calls[-1][3].get("chat_id")), [])
                    planned = planned or prov.script.get(self.path.rsplit("/", 1)[-1], [])
                    status, headers, body = planned.pop(0) if planned else (200, {}, {"ok": True})
                data = json.dumps(body).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def calls_to(self, path_part):
        with self.lock:
            return [c for c in self.calls if path_part in c[1]]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def provider():
    p = Provider()
    yield p
    p.close()


TEMPLATES = pathlib.Path(tempfile.mkdtemp(prefix="colony-channel-templates-"))


@pytest.fixture(scope="module")
def server(backend, request, tmp_path_factory, provider):
    c = module_colony(backend, request, tmp_path_factory,
                      env={"COLONY_CHANNEL_INTERVAL_MS": "50", "A2A_DISPATCH_INTERVAL_MS": "100",
                           "ORG_TEMPLATES_DIR": str(TEMPLATES),
                           "MOLECULE_CHANNELS_TEST_TELEGRAM_API_BASE": provider.url,
                           "MOLECULE_CHANNELS_TEST_WEBHOOK_BASE": provider.url})
    yield c
    assert c.stop() == 0, c.read_log()[-3000:]


def bearer(t):
    return {"Authorization": f"Bearer {t}"}


def ws(c, mode="push"):
    r = c.post("/workspaces", headers=ADMIN, json={"name": "chan-" + uuid.uuid4().hex[:8], "model": "m",
                                                   "delivery_mode": mode})
    assert r.status_code == 201, r.text
    return r.json()


def register(c, w, url):
    r = c.post("/registry/register", headers=bearer(w["auth_token"]),
               json={"id": w["id"], "url": url, "agent_card": {"name": "stub"}})
    assert r.status_code == 200, r.text


def create(c, w, channel_type, config, **extra):
    return c.post(f"/workspaces/{w['id']}/channels", headers=bearer(w["auth_token"]),
                  json={"channel_type": channel_type, "config": config, **extra})


def listed(c, w):
    r = c.get(f"/workspaces/{w['id']}/channels", headers=bearer(w["auth_token"]))
    assert r.status_code == 200, r.text
    return r.json()


def chat():
    return str(int(uuid.uuid4().int % 10**12))


def telegram(c, w, chat_id, **cfg):
    r = create(c, w, "telegram", {"bot_token": TG_TOKEN, "chat_id": chat_id, "webhook_secret": TG_SECRET, **cfg})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def tg_update(chat_id, text, update_id=None, user="alice"):
    return {"update_id": update_id if update_id is not None else int(uuid.uuid4().int % 10**9),
            "message": {"message_id": 1, "chat": {"id": int(chat_id)}, "text": text,
                        "from": {"id": 555, "username": user, "is_bot": False}}}


def slack_headers(body, secret=SLACK_SIGNING, ts=None):
    ts = str(int(time.time()) if ts is None else ts)
    sig = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + sig, "Content-Type": "application/json"}


# ---- adapters and rows ---------------------------------------------------------------------------------------------

def test_adapters_are_listed_by_display_name_with_their_schemas(server):
    r = server.get("/channels/adapters")
    assert r.status_code == 200
    ads = r.json()
    assert [(a["type"], a["display_name"]) for a in ads] == [
        ("discord", "Discord"), ("lark", "Lark / Feishu"), ("slack", "Slack"), ("telegram", "Telegram")]
    tg = ads[3]["config_schema"]
    assert [(f["key"], f["type"], f["required"], f["sensitive"]) for f in tg] == [
        ("bot_token", "password", True, True), ("chat_id", "text", True, False),
        ("webhook_secret", "password", False, True), ("username", "text", False, False)]
    assert tg[0] == {"key": "bot_token", "label": "Bot token", "type": "password", "required": True,
                     "sensitive": True, "placeholder": "123456789:AA…", "help": "From @BotFather"}
    assert {f["key"] for f in ads[1]["config_schema"]} == {"webhook_url", "verify_token", "chat_id", "username"}


def test_create_list_patch_delete_with_credentials_sealed_and_masked(server):
    w = ws(server)
    cid = chat()
    r = create(server, w, "telegram", {"bot_token": TG_TOKEN, "chat_id": cid, "webhook_secret": TG_SECRET},
               allowed_users=["@alice"])
    assert r.status_code == 201, r.text
    ch = r.json()
    assert set(ch) == {"id", "channel_type", "enabled"}
    assert ch["channel_type"] == "telegram" and ch["enabled"] is True
    (row,) = listed(server, w)
    assert set(row) == {"id", "workspace_id", "channel_type", "config", "enabled", "allowed_users", "message_count",
                        "channel_budget", "created_at", "updated_at"}
    assert row["config"] == {"bot_token": "***", "chat_id": cid, "webhook_secret": "***"}
    assert row["allowed_users"] == ["@alice"] and row["message_count"] == 0 and row["channel_budget"] is None
    # at rest: the clear part holds no credential, the sealed part is not the credential in the clear
    stored = server.db.query(f"SELECT channel_config, secrets_key_id FROM workspace_channels WHERE id = '{ch['id']}'")
    assert json.loads(stored[0][0]) == {"chat_id": cid}
    assert len(stored[0][1]) == 16
    raw = server.db.query(f"SELECT count(*) FROM workspace_channels WHERE id = '{ch['id']}'"
                          f" AND channel_config LIKE '%{TG_TOKEN[:9]}%'")
    assert raw == [["0"]]
    # one per type: the second is a conflict naming the first
    r = create(server, w, "telegram", {"bot_token": TG_TOKEN, "chat_id": "1"})
    assert r.status_code == 409
    assert r.json() == {"error": "this workspace already has a telegram channel", "code": "conflict", "id": ch["id"]}
    # the masked config sent back keeps the stored credentials; the chat list changes
    new_chat = chat()
    r = server.patch(f"/workspaces/{w['id']}/channels/{ch['id']}", headers=bearer(w["auth_token"]),
                     json={"config": {**row["config"], "chat_id": new_chat}, "enabled": False, "allowed_users": []})
    assert r.status_code == 200 and r.json() == {"status": "updated"}
    (row,) = listed(server, w)
    assert row["config"] == {"bot_token": "***", "chat_id": new_chat, "webhook_secret": "***"}
    assert row["enabled"] is False and row["allowed_users"] == []
    r = server.delete(f"/workspaces/{w['id']}/channels/{ch['id']}", headers=bearer(w["auth_token"]))
    assert r.status_code == 200 and r.json() == {"status": "deleted"}
    assert listed(server, w) == []
    r = server.delete(f"/workspaces/{w['id']}/channels/{ch['id']}", headers=bearer(w["auth_token"]))
    assert r.status_code == 404 and r.json() == {"error": "channel not found", "code": "not_found"}


@pytest.mark.parametrize("body,error", [
    ({"channel_type": "irc", "config": {}}, "unknown channel type (one of discord, lark, slack, telegram)"),
    ({"config": {}}, "unknown channel type (one of discord, lark, slack, telegram)"),
    ({"channel_type": "telegram"}, "invalid config: config must be an object"),
    ({"channel_type": "telegram", "config": {"chat_id": "1"}}, "invalid config: bot_token is required"),
    ({"channel_type": "telegram", "config": {"bot_token": "nope", "chat_id": "1"}},
     "invalid config: bot_token must be a Telegram bot token (<bot id>:<secret>)"),
    ({"channel_type": "slack", "config": {"bot_token": SLACK_TOKEN}},
     "invalid config: slack needs bot_token and channel_id, or webhook_url"),
    ({"channel_type": "discord", "config": {"webhook_url": "https://127.0.0.1/api/webhooks/1/x"}},
     "invalid config: webhook_url must be an https://discord.com/api/webhooks/… URL"),
    ({"channel_type": "telegram", "config": {"bot_token": TG_TOKEN, "chat_id": "1"}, "allowed_users": "x"},
     "allowed_users must be an array of at most 1000 user ids or names"),
])
def test_bad_input_is_refused_and_changes_nothing(server, body, error):
    w = ws(server)
    r = server.post(f"/workspaces/{w['id']}/channels", headers=bearer(w["auth_token"]), json=body)
    assert r.status_code == 400
    assert r.json() == {"error": error, "code": "invalid_request"}
    assert listed(server, w) == []


def test_only_the_workspace_reaches_its_channels(server):
    a, b = ws(server), ws(server)
    cid = telegram(server, a, chat())
    r = server.get(f"/workspaces/{a['id']}/channels", headers=bearer(b["auth_token"]))
    assert r.status_code == 401 and r.json() == {"error": "invalid workspace auth token", "code": "unauthorized"}
    # b's token on its own workspace cannot name a's channel (the reference looks channels up by id only)
    for path in (f"/workspaces/{b['id']}/channels/{cid}/send", f"/workspaces/{b['id']}/channels/{cid}/test"):
        r = server.post(path, headers=bearer(b["auth_token"]), json={"text": "hi"})
        assert r.status_code == 404 and r.json()["error"] == "channel not found"
    r = server.patch(f"/workspaces/{b['id']}/channels/{cid}", headers=bearer(b["auth_token"]), json={"enabled": False})
    assert r.status_code == 404
    assert listed(server, a)[0]["enabled"] is True


def test_discover_lists_a_telegram_bots_chats(server, provider):
    with provider.lock:
        provider.script["getMe"] = [(200, {}, {"ok": True, "result": {"id": 1, "is_bot": True,
                                                                      "username": "colony_bot",
                                                                      "can_read_all_group_messages": False}})]
        provider.script["getUpdates"] = [(200, {}, {"ok": True, "result": [
            {"update_id": 1, "message": {"chat": {"id": -100123, "type": "supergroup", "title": "Team"},
                                         "text": "hi"}},
            {"update_id": 2, "my_chat_member": {"chat": {"id": 42, "type": "private", "first_name": "Ann"}}},
            {"update_id": 3, "message": {"chat": {"id": -100123, "type": "supergroup", "title": "Team"}}}]})]
    r = server.post("/channels/discover", headers=ADMIN, json={"channel_type": "telegram", "bot_token": TG_TOKEN})
    assert r.status_code == 200, r.text
    assert r.json() == {
        "bot_username": "colony_bot",
        "chats": [{"chat_id": "-100123", "type": "supergroup", "title": "Team"},
                  {"chat_id": "42", "type": "private", "title": "Ann"}],
        "can_read_all_group_messages": False,
        "privacy_warning": "Privacy mode is on: in groups the bot sees only commands and messages that mention it. "
                           "Turn it off with @BotFather (/setprivacy) to relay every message.",
        "hint": "Put the chat ids the agent should talk in into chat_id (comma-separated)"}
    assert [c[1] for c in provider.calls_to("/getMe")][-1] == f"/bot{TG_TOKEN}/getMe"
    with provider.lock:
        provider.script["getMe"] = [(401, {}, {"ok": False, "error_code": 401, "description": "Unauthorized"})]
    r = server.post("/channels/discover", headers=ADMIN, json={"bot_token": TG_TOKEN})
    assert r.status_code == 400
    assert r.json() == {"error": "telegram did not accept the bot token: Unauthorized", "code": "invalid_request"}
    for body, error in (({"channel_type": "slack", "bot_token": "x"}, "discover is only supported for telegram"),
                        ({}, "bot_token is required"),
                        ({"bot_token": "1:a/../../x"},
                         "invalid config: bot_token must be a Telegram bot token (<bot id>:<secret>)")):
        r = server.post("/channels/discover", headers=ADMIN, json=body)
        assert r.status_code == 400 and r.json()["error"] == error
    w = ws(server)
    r = server.post("/channels/discover", headers=bearer(w["auth_token"]), json={"bot_token": TG_TOKEN})
    assert r.status_code == 403 and r.json() == {"error": "admin access required", "code": "forbidden"}


# ---- incoming -------------------------------------------------------------------------------------------------------

def test_webhook_errors_unknown_type_bad_json_and_ignored(server):
    r = server.post("/webhooks/irc", data=b"{}")
    assert r.status_code == 404 and r.json() == {"error": "unknown channel type", "code": "not_found"}
    r = server.post("/webhooks/telegram", data=b"{not json")
    assert r.status_code == 400 and r.json() == {"error": "webhook parse failed", "code": "invalid_request"}
    r = server.post("/webhooks/telegram", json={"update_id": 5, "edited_message": {"chat": {"id": 1}}})
    assert r.status_code == 200 and r.json() == {"status": "ignored"}
    r = server.post("/webhooks/telegram", headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET},
                    json=tg_update(chat(), "hello"))
    assert r.status_code == 200 and r.json() == {"status": "no_channel"}


def test_a_webhook_body_past_256_kib_is_refused_before_any_key_is_tried(server):
    big = b'{"type":1,"pad":"' + b"x" * (256 * 1024) + b'"}'
    ts = str(int(time.time()))
    for kind, headers in (("discord", {"X-Signature-Ed25519": "00" * 64, "X-Signature-Timestamp": ts}),
                          ("slack", slack_headers(big)), ("telegram", {})):
        r = server.post(f"/webhooks/{kind}", data=big, headers={**headers, "Content-Type": "application/json"})
        assert r.status_code == 413, (kind, r.status_code, r.text)
        assert r.json() == {"error": "webhook body must be at most 262144 bytes", "code": "too_large"}


def test_telegram_update_is_verified_deduped_relayed_and_answered(server, provider, agent):
    w = ws(server)
    register(server, w, agent.url)
    cid = chat()
    ch = telegram(server, w, cid)
    update = tg_update(cid, "hello agent")
    before = metric(server, "colony_channel_webhooks_total", 'outcome="refused"')
    for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
        r = server.post("/webhooks/telegram", headers=headers, json=update)
        assert r.status_code == 401 and r.json() == {"error": "invalid signature", "code": "unauthorized"}
    assert metric(server, "colony_channel_webhooks_total", 'outcome="refused"') == before + 2
    good = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
    r = server.post("/webhooks/telegram", headers=good, json=update)
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["status"] == "accepted" and first["duplicate"] is False
    mid = first["message_id"]
    # Telegram's retry of the same update: accepted again, nothing new
    r = server.post("/webhooks/telegram", headers=good, json=update)
    assert r.json() == {"status": "accepted", "message_id": mid, "duplicate": True}
    body = wait_for(lambda: agent.deliveries_of(mid))[0]
    msg = body["params"]["message"]
    assert msg["parts"] == [{"kind": "text", "text": "hello agent"}]
    assert msg["metadata"] == {"source": "channel", "channel_type": "telegram", "channel_id": ch, "chat_id": cid,
                               "username": "alice"}
    path = f"/bot{TG_TOKEN}/sendMessage"
    (call,) = wait_for(lambda: [c for c in provider.calls_to(path) if c[3].get("chat_id") == cid])
    assert call[3] == {"chat_id": cid, "text": "echo: hello agent"}
    assert len(agent.deliveries_of(mid)) == 1
    # one inbound and one outbound message counted, each a CHANNEL_MESSAGE
    assert wait_for(lambda: listed(server, w)[0]["message_count"] == 2)
    assert listed(server, w)[0]["last_message_at"] is not None
    ev = server.db.query(f"SELECT payload FROM events WHERE type = 'CHANNEL_MESSAGE'"
                         f" AND workspace_id = '{w['id']}' ORDER BY id")
    assert sorted(json.loads(p[0])["direction"] for p in ev) == ["inbound", "outbound"]


def test_a_busy_agent_answers_later_and_the_reply_still_goes_back(server, provider, agent):
    w = ws(server)
    register(server, w, agent.url)
    r = server.post("/registry/heartbeat", headers=bearer(w["auth_token"]),
                    json={"workspace_id": w["id"], "active_tasks": 1})  # at its maximum (1): queued at once
    assert r.status_code == 200
    agent.mode = "busy"  # and the queue's deliveries find it busy (503) until it frees up
    cid = chat()
    telegram(server, w, cid)
    r = server.post("/webhooks/telegram", headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET},
                    json=tg_update(cid, "when free"))
    mid = r.json()["message_id"]
    wait_for(lambda: server.db.query(f"SELECT status FROM channel_messages WHERE 'channel-' || id = '{mid}'")
             == [["awaiting"]])
    r = server.post("/registry/heartbeat", headers=bearer(w["auth_token"]),
                    json={"workspace_id": w["id"], "active_tasks": 0})
    agent.mode = "echo"
    wait_for(lambda: agent.deliveries_of(mid), timeout=70)  # the busy queue's back-off doubles from 1 s
    want = {"chat_id": cid, "text": "echo: when free"}
    wait_for(lambda: [c for c in provider.calls_to("/sendMessage") if c[3] == want])
    assert len(agent.deliveries_of(mid)) == 1


GOOD_TG = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}


def message_state(c, mid):
    """(status, deadline_at - updated_at, error) of the incoming message whose A2A messageId is `mid`, as text."""
    rows = c.db.query(f"SELECT status, deadline_at - updated_at, error FROM channel_messages"
                      f" WHERE 'channel-' || id = '{mid}'")
    return tuple(rows[0]) if rows else None


def replies_of(c, mid):
    return c.db.query(f"SELECT o.status, o.text FROM channel_outbox o JOIN channel_messages m ON m.id = o.inbound_id"
                      f" WHERE 'channel-' || m.id = '{mid}'")


def inbox_row(c, w, mid):
    """The a2a_receive row that carries message `mid` to a poll-mode agent (what it drains)."""
    rows = c.get(f"/workspaces/{w['id']}/activity", headers=bearer(w["auth_token"]),
                 params={"type": "a2a_receive"}).json()
    return [r for r in rows if r["method"] == "message/send"
            and r["request_body"]["params"]["message"]["messageId"] == mid]


def notify(c, w, text, **extra):
    r = c.post(f"/workspaces/{w['id']}/notify", headers=bearer(w["auth_token"]), json={"message": text, **extra})
    assert r.status_code == 200 and r.json() == {"status": "sent"}, r.text


def test_a_poll_agent_answers_from_its_inbox_and_the_chat_gets_the_reply_once(server, provider):
    w = ws(server, mode="poll")
    cid = chat()
    telegram(server, w, cid)
    mid = server.post("/webhooks/telegram", headers=GOOD_TG, json=tg_update(cid, "are you there?")).json()["message_id"]
    # the agent drains its inbox: the chat's message, from no workspace (as an operator's), named by its messageId
    (row,) = wait_for(lambda: inbox_row(server, w, mid))
    assert row["source_id"] is None and row["response_body"] is None
    msg = row["request_body"]["params"]["message"]
    assert msg["parts"] == [{"kind": "text", "text": "are you there?"}]
    assert msg["metadata"]["source"] == "channel" and msg["metadata"]["chat_id"] == cid
    # it answers the user naming that message, twice (a retry of its own): the chat gets the answer once
    notify(server, w, "yes, here", in_reply_to=mid)
    notify(server, w, "yes, here", in_reply_to=mid)
    want = {"chat_id": cid, "text": "yes, here"}
    wait_for(lambda: replies_of(server, mid) == [["sent", "yes, here"]])
    assert [c[3] for c in provider.calls_to("/sendMessage") if c[3].get("chat_id") == cid] == [want]
    assert message_state(server, mid)[0] == "replied"
    (row,) = inbox_row(server, w, mid)
    assert row["response_body"]["result"]["parts"] == [{"kind": "text", "text": "yes, here"}]
    # the chat history shows the answer under the question, and the retry as a note of its own
    r = server.get(f"/workspaces/{w['id']}/chat-history", headers=bearer(w["auth_token"]))
    assert [(m["role"], m["content"]) for m in r.json()["messages"]] == [
        ("user", "are you there?"), ("agent", "yes, here"), ("agent", "yes, here")]
    wait_for(lambda: listed(server, w)[0]["message_count"] == 2)  # one in, one reply out
    # a notify naming no message of the inbox, or another workspace's, is a plain note; a bad one changes nothing
    other = ws(server, mode="poll")
    notify(server, other, "not yours", in_reply_to=mid)
    for bad in ("", 7, "x" * 1025):
        r = server.post(f"/workspaces/{w['id']}/notify", headers=bearer(w["auth_token"]),
                        json={"message": "m", "in_reply_to": bad})
        assert r.status_code == 400 and r.json() == {
            "error": "in_reply_to must be a message id of 1 to 1024 bytes", "code": "invalid_request"}
    assert replies_of(server, mid) == [["sent", "yes, here"]]


def test_a_poll_agent_that_never_answers_lets_the_message_expire(server, provider):
    w = ws(server, mode="poll")
    cid = chat()
    telegram(server, w, cid)
    mid = server.post("/webhooks/telegram", headers=GOOD_TG, json=tg_update(cid, "hello?")).json()["message_id"]
    # it waits as long as a busy agent's queued message would: --a2a-queue-ttl (3600 s) and a minute for the reply
    state = wait_for(lambda: (lambda s: s if s and s[0] == "awaiting" else None)(message_state(server, mid)))
    assert state == ("awaiting", "3660000", "")
    server.db.execute(f"UPDATE channel_messages SET deadline_at = 1 WHERE 'channel-' || id = '{mid}'")
    wait_for(lambda: message_state(server, mid)[0] == "failed")
    assert message_state(server, mid) == ("failed", "", "the agent did not answer in time")
    rows = server.get(f"/workspaces/{w['id']}/activity", headers=bearer(w["auth_token"]),
                      params={"type": "channel"}).json()
    assert [(r["method"], r["summary"], r["status"], r["error_detail"]) for r in rows] == [
        ("receive", "Telegram message not relayed to the agent", "error", "the agent did not answer in time")]
    assert replies_of(server, mid) == []


def test_two_nodes_send_a_poll_agents_reply_once(backend, new_db, start_colony, provider):
    if backend != "postgres":
        pytest.skip("several nodes share a PostgreSQL database; SQLite is a single-node store")
    env = {"COLONY_CHANNEL_INTERVAL_MS": "20", "MOLECULE_CHANNELS_TEST_TELEGRAM_API_BASE": provider.url}
    db = new_db()
    a, b = start_colony(db=db, env=env), start_colony(db=db, env=env)
    w = ws(a, mode="poll")
    cid = chat()
    telegram(a, w, cid)
    mids = [a.post("/webhooks/telegram", headers=GOOD_TG, json=tg_update(cid, f"q{i}")).json()["message_id"]
            for i in range(4)]
    for i, mid in enumerate(mids):  # drained and answered through either node, each answer sent to both
        wait_for(lambda: inbox_row(b, w, mid))
        for node in (b, a) if i % 2 else (a, b):
            notify(node, w, f"a{i}", in_reply_to=mid)
    calls = wait_for(lambda: (lambda c: c if len(c) >= 4 else None)(
        [x for x in provider.calls_to("/sendMessage") if x[3].get("chat_id") == cid]), timeout=30)
    for mid, i in zip(mids, range(4)):
        wait_for(lambda: replies_of(a, mid) == [["sent", f"a{i}"]])
    assert sorted(x[3]["text"] for x in provider.calls_to("/sendMessage") if x[3].get("chat_id") == cid) == \
        ["a0", "a1", "a2", "a3"]
    assert len(calls) == 4


def test_concurrent_retries_of_one_update_make_one_message(server, agent):
    w = ws(server)
    register(server, w, agent.url)
    cid = chat()
    telegram(server, w, cid)
    update = tg_update(cid, "once")
    good = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: server.post("/webhooks/telegram", headers=good, json=update).json(),
                                range(8)))
    assert sorted(a["duplicate"] for a in answers) == [False] + [True] * 7
    assert len({a["message_id"] for a in answers}) == 1
    wait_for(lambda: agent.deliveries_of(answers[0]["message_id"]))
    wait_for(lambda: listed(server, w)[0]["message_count"] == 2)  # one in, one reply out
    assert len(agent.deliveries_of(answers[0]["message_id"])) == 1


def test_telegram_without_a_webhook_secret_takes_no_update(server):
    w = ws(server)
    cid = chat()
    r = create(server, w, "telegram", {"bot_token": TG_TOKEN, "chat_id": cid})
    assert r.status_code == 201
    r = server.post("/webhooks/telegram", headers={"X-Telegram-Bot-Api-Secret-Token": ""}, json=tg_update(cid, "x"))
    assert r.status_code == 401
    r = server.post("/webhooks/telegram", headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET},
                    json=tg_update(cid, "x"))
    assert r.status_code == 401


def test_slug_selects_the_agent_among_channels_of_one_chat(server, agent):
    cid = chat()
    a, b = ws(server), ws(server)
    register(server, a, agent.url)
    telegram(server, a, cid, username="Research")
    telegram(server, b, cid, username="Writer")
    good = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
    r = server.post("/webhooks/telegram", headers=good, json=tg_update(cid, "[Nobody] hi"))
    assert r.json() == {"status": "unknown_agent", "requested_slug": "Nobody",
                        "available_slugs": ["[Research]", "[Writer]"]}
    r = server.post("/webhooks/telegram", headers=good, json=tg_update(cid, "[research]  find it"))
    mid = r.json()["message_id"]
    body = wait_for(lambda: agent.deliveries_of(mid))[0]
    assert body["params"]["message"]["parts"][0]["text"] == "find it"


def test_slack_signature_replay_window_and_threaded_reply(server, provider, agent):
    w = ws(server)
    register(server, w, agent.url)
    cid = "C" + uuid.uuid4().hex[:10].upper()
    r = create(server, w, "slack", {"bot_token": SLACK_TOKEN, "channel_id": cid, "signing_secret": SLACK_SIGNING})
    assert r.status_code == 201, r.text
    hs = json.dumps({"type": "url_verification", "challenge": "chal-123"}).encode()
    r = server.post("/webhooks/slack", data=hs, headers=slack_headers(hs))
    assert r.status_code == 200 and r.json() == {"challenge": "chal-123"}
    ev = json.dumps({"type": "event_callback", "event_id": "Ev" + uuid.uuid4().hex,
                     "event": {"type": "message", "channel": cid, "user": "U1", "text": "status?",
                               "ts": "171.1", "thread_ts": "170.5"}}).encode()
    refused = [
        {"Content-Type": "application/json"},                                        # unsigned
        slack_headers(ev, secret="another-secret"),                                   # signed by someone else
        slack_headers(ev, ts=int(time.time()) - 301),                                # a replay past the window
        slack_headers(ev, ts=int(time.time()) + 301),                                # from the future
        {**slack_headers(ev), "X-Slack-Request-Timestamp": str(int(time.time()) - 1)},  # timestamp moved
    ]
    for h in refused:
        r = server.post("/webhooks/slack", data=ev, headers=h)
        assert r.status_code == 401 and r.json() == {"error": "invalid signature", "code": "unauthorized"}, h
    r = server.post("/webhooks/slack", data=ev, headers=slack_headers(ev, ts=int(time.time()) - 290))
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    mid = r.json()["message_id"]
    wait_for(lambda: agent.deliveries_of(mid))
    (call,) = wait_for(lambda: [c for c in provider.calls_to("/api/chat.postMessage") if c[3].get("channel") == cid])
    assert call[3] == {"channel": cid, "thread_ts": "170.5", "text": "echo: status?"}
    assert call[2]["Authorization"] == f"Bearer {SLACK_TOKEN}"


def test_discord_interaction_is_verified_with_ed25519(server, provider, agent):
    key = Ed25519PrivateKey.generate()
    pub = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    w = ws(server)
    register(server, w, agent.url)
    dchan = chat()
    hook = "/api/webhooks/1/tok-" + uuid.uuid4().hex
    r = create(server, w, "discord", {"webhook_url": "https://discord.com" + hook, "public_key": pub,
                                      "channel_id": dchan, "username": "Colony"})
    assert r.status_code == 201, r.text

    def signed(body, k=key, ts=None):
        ts = str(int(time.time()) if ts is None else ts)
        return {"X-Signature-Ed25519": k.sign(ts.encode() + body).hex(), "X-Signature-Timestamp": ts,
                "Content-Type": "application/json"}

    ping = b'{"type":1}'
    r = server.post("/webhooks/discord", data=ping, headers=signed(ping))
    assert r.status_code == 200 and r.json() == {"type": 1}
    for h in ({}, signed(ping, k=Ed25519PrivateKey.generate()), signed(ping, ts=int(time.time()) - 400)):
        r = server.post("/webhooks/discord", data=ping, headers=h)
        assert r.status_code == 401 and r.json() == {"error": "invalid signature", "code": "unauthorized"}
    cmd = json.dumps({"type": 2, "id": "I" + uuid.uuid4().hex, "channel_id": dchan,
                      "member": {"user": {"id": "7", "username": "bob"}},
                      "data": {"name": "ask", "options": [{"type": 3, "name": "q", "value": "why?"}]}}).encode()
    r = server.post("/webhooks/discord", data=cmd, headers=signed(cmd))
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    body = wait_for(lambda: agent.deliveries_of(r.json()["message_id"]))[0]
    assert body["params"]["message"]["parts"][0]["text"] == "why?"
    # the reply goes to the channel's webhook (under the test seam), never pinging @everyone
    (call,) = wait_for(lambda: provider.calls_to(hook))
    assert call[1] == hook
    assert call[3] == {"content": "echo: why?", "allowed_mentions": {"parse": []}, "username": "Colony"}


def test_a_discord_application_and_channel_route_to_one_channel_only(server, agent):
    """A Discord public key is public: a second workspace claiming the same application key and channel id would
    receive the first one's interactions. The claim is refused (409, naming nothing of the other workspace), on
    create and on patch, also for a key given in another case; a different key or channel is free."""
    key = Ed25519PrivateKey.generate()
    pub = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    dchan, other = chat(), chat()
    victim, attacker = ws(server), ws(server)
    register(server, victim, agent.url)
    cfg = {"webhook_url": "https://discord.com/api/webhooks/1/v-" + uuid.uuid4().hex, "public_key": pub,
           "channel_id": dchan}
    r = create(server, victim, "discord", cfg)
    assert r.status_code == 201, r.text
    evil = {"webhook_url": "https://discord.com/api/webhooks/9/attacker", "public_key": pub.upper(),
            "channel_id": f"{other}, {dchan}"}
    r = create(server, attacker, "discord", evil)
    assert r.status_code == 409, r.text
    assert r.json() == {"error": "a channel of this Discord application already listens to that channel",
                        "code": "conflict"}
    assert listed(server, attacker) == []
    r = create(server, attacker, "discord", {**evil, "channel_id": other})
    assert r.status_code == 201, r.text
    ch = r.json()["id"]
    r = server.patch(f"/workspaces/{attacker['id']}/channels/{ch}", headers=bearer(attacker["auth_token"]),
                     json={"config": {**evil, "webhook_url": "***"}})
    assert r.status_code == 409 and r.json()["code"] == "conflict", r.text
    assert listed(server, attacker)[0]["config"]["channel_id"] == other
    # the victim's interaction reaches the victim
    cmd = json.dumps({"type": 2, "id": "I" + uuid.uuid4().hex, "channel_id": dchan,
                      "member": {"user": {"id": "7", "username": "bob"}},
                      "data": {"name": "ask", "options": [{"type": 3, "name": "q", "value": "mine"}]}}).encode()
    ts = str(int(time.time()))
    r = server.post("/webhooks/discord", data=cmd, headers={"X-Signature-Ed25519": key.sign(ts.encode() + cmd).hex(),
                                                            "X-Signature-Timestamp": ts,
                                                            "Content-Type": "application/json"})
    assert r.status_code == 200 and r.json()["status"] == "accepted", r.text
    assert r.json()["message_id"].startswith("channel-")
    body = wait_for(lambda: agent.deliveries_of(r.json()["message_id"]))[0]
    assert body["params"]["message"]["parts"][0]["text"] == "mine"
    # deleting the victim's channel frees the claim
    vid = listed(server, victim)[0]["id"]
    assert server.delete(f"/workspaces/{victim['id']}/channels/{vid}",
                         headers=bearer(victim["auth_token"])).status_code == 200
    r = server.patch(f"/workspaces/{attacker['id']}/channels/{ch}", headers=bearer(attacker["auth_token"]),
                     json={"config": {**evil, "webhook_url": "***"}})
    assert r.status_code == 200, r.text


def test_a_sender_another_channel_of_the_chat_allows_does_not_fall_through_to_it(server, agent):
    """allowed_users of the channel a message is for decides: a sender it refuses is ignored, not handed to the
    next channel of the same chat that would take them."""
    first, second = ws(server), ws(server)
    register(server, first, agent.url)
    register(server, second, agent.url)
    cid = chat()
    r = create(server, first, "telegram", {"bot_token": TG_TOKEN, "chat_id": cid, "webhook_secret": TG_SECRET},
               allowed_users=["@carol"])
    assert r.status_code == 201, r.text
    telegram(server, second, cid)
    r = server.post("/webhooks/telegram", headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET},
                    json=tg_update(cid, "hello"))
    assert r.status_code == 200 and r.json() == {"status": "ignored"}, r.text


def test_lark_event_with_its_verification_token_round_trips(server, provider, agent):
    w = ws(server)
    register(server, w, agent.url)
    hook = "/open-apis/bot/v2/hook/" + uuid.uuid4().hex
    oc = "oc_" + uuid.uuid4().hex
    r = create(server, w, "lark", {"webhook_url": "https://open.feishu.cn" + hook, "verify_token": LARK_TOKEN,
                                   "chat_id": oc})
    assert r.status_code == 201, r.text

    def event(token):
        return {"schema": "2.0", "header": {"event_id": "E" + uuid.uuid4().hex, "token": token,
                                            "event_type": "im.message.receive_v1"},
                "event": {"sender": {"sender_id": {"open_id": "ou_1"}},
                          "message": {"chat_id": oc, "message_type": "text",
                                      "content": json.dumps({"text": "@_user_1 ping"})}}}

    r = server.post("/webhooks/lark", json={"type": "url_verification", "token": LARK_TOKEN, "challenge": "c-9"})
    assert r.status_code == 200 and r.json() == {"challenge": "c-9"}
    r = server.post("/webhooks/lark", json={"type": "url_verification", "token": "nope", "challenge": "c-9"})
    assert r.status_code == 401
    r = server.post("/webhooks/lark", json=event("nope"))
    assert r.status_code == 401 and r.json() == {"error": "invalid signature", "code": "unauthorized"}
    r = server.post("/webhooks/lark", json=event(LARK_TOKEN))
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    (call,) = wait_for(lambda: provider.calls_to(hook))
    assert call[3] == {"msg_type": "text", "content": {"text": "echo: ping"}}


def test_a_removed_workspaces_channels_send_nothing_more_and_are_gone(server, provider):
    """DELETE /workspaces/:id closes its queued sends (failed, "workspace removed") and its open incoming messages
    in the same transaction: no retry goes out, no reply of a relay in flight is posted; its channels answer 404."""
    from agent_stub import AgentStub
    slow = AgentStub()
    slow.mode, slow.slow_s = "slow", 3
    try:
        w = ws(server)
        name = server.get(f"/workspaces/{w['id']}", headers=ADMIN).json()["name"]
        register(server, w, slow.url)
        cid = chat()
        ch = telegram(server, w, cid)
        with provider.lock:
            provider.script[cid] = [(503, {}, {"ok": False})] * 20
        assert send(server, w, ch, "before removal").status_code == 200
        wait_for(lambda: [c for c in provider.calls_to("/sendMessage") if c[3].get("chat_id") == cid])
        r = server.post("/webhooks/telegram", headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET},
                        json=tg_update(cid, "in flight"))
        assert r.status_code == 200 and r.json()["status"] == "accepted", r.text
        wait_for(lambda: slow.seen)
        r = server.delete(f"/workspaces/{w['id']}", headers={**ADMIN, "X-Confirm-Name": name})
        assert r.status_code == 200, r.text
        assert server.db.query(f"SELECT status, last_error FROM channel_outbox WHERE channel_id = '{ch}'") == \
            [["failed", "workspace removed"]]
        assert server.db.query(f"SELECT status, error FROM channel_messages WHERE channel_id = '{ch}'") == \
            [["failed", "workspace removed"]]
        r = server.get(f"/workspaces/{w['id']}/channels", headers=ADMIN)
        assert r.status_code == 404 and r.json() == {"error": "workspace not found", "code": "not_found"}, r.text
        r = server.post(f"/workspaces/{w['id']}/channels/{ch}/send", headers=ADMIN, json={"text": "x"})
        assert r.status_code == 404, r.text
    finally:
        slow.close()


# ---- outgoing -------------------------------------------------------------------------------------------------------

def send(c, w, ch, text="hi"):
    return c.post(f"/workspaces/{w['id']}/channels/{ch}/send", headers=bearer(w["auth_token"]), json={"text": text})


def test_send_goes_to_each_chat_and_text_is_required(server, provider):
    w = ws(server)
    c1, c2 = chat(), chat()
    ch = telegram(server, w, f"{c1}, {c2}")
    r = server.post(f"/workspaces/{w['id']}/channels/{ch}/send", headers=bearer(w["auth_token"]), json={})
    assert r.status_code == 400 and r.json() == {"error": "text is required", "code": "invalid_request"}
    r = send(server, w, ch, "to both")
    assert r.status_code == 200 and r.json() == {"status": "sent"}
    for cid in (c1, c2):
        wait_for(lambda: [c for c in provider.calls_to("/sendMessage") if c[3] == {"chat_id": cid, "text": "to both"}])
    r = server.post(f"/workspaces/{w['id']}/channels/{ch}/test", headers=bearer(w["auth_token"]))
    assert r.status_code == 200 and r.json() == {"status": "ok", "message": "test message sent"}
    wait_for(lambda: listed(server, w)[0]["message_count"] == 4)


def test_budget_refuses_sends_but_not_tests(server):
    w = ws(server)
    ch = telegram(server, w, chat())
    server.db.execute(f"UPDATE workspace_channels SET channel_budget = 0 WHERE id = '{ch}'")
    r = send(server, w, ch)
    assert r.status_code == 429
    assert r.json() == {"error": "channel budget exceeded", "code": "channel_budget_exceeded"}
    r = server.post(f"/workspaces/{w['id']}/channels/{ch}/test", headers=bearer(w["auth_token"]))
    assert r.status_code == 200


def test_429_and_5xx_are_retried_with_back_off_honouring_retry_after(server, provider):
    w = ws(server)
    cid = chat()
    ch = telegram(server, w, cid)
    retried = metric(server, "colony_channel_sends_total", 'outcome="retried"')
    with provider.lock:
        provider.script[cid] = [(429, {"Retry-After": "2"}, {"ok": False, "description": "Too Many Requests"}),
                                (502, {}, {"ok": False})]
    assert send(server, w, ch, "persist").status_code == 200
    calls = wait_for(lambda: (lambda c: c if len(c) == 3 else None)(
        [c for c in provider.calls_to("/sendMessage") if c[3].get("chat_id") == cid]), timeout=30)
    # the 429 asked for 2 s; the 502 had none: the back-off's first step (1 s)
    assert calls[1][0] - calls[0][0] >= 1.9
    assert calls[2][0] - calls[1][0] >= 0.9
    assert [c[3]["text"] for c in calls] == ["persist"] * 3
    assert metric(server, "colony_channel_sends_total", 'outcome="retried"') == retried + 2
    wait_for(lambda: listed(server, w)[0]["message_count"] == 1)


def test_a_refused_send_is_an_activity_row_and_a_metric_without_the_token(server, provider):
    w = ws(server)
    cid = chat()
    ch = telegram(server, w, cid)
    failed = metric(server, "colony_channel_sends_total", 'outcome="failed"')
    with provider.lock:
        provider.script[cid] = [(400, {}, {"ok": False, "description": f"Bad Request: chat not found ({TG_TOKEN})"})]
    assert send(server, w, ch, "lost").status_code == 200

    def row():
        rows = server.get(f"/workspaces/{w['id']}/activity", headers=bearer(w["auth_token"])).json()
        return [r for r in rows if r["activity_type"] == "channel"]

    (act,) = wait_for(row)
    assert act["method"] == "send" and act["status"] == "error"
    assert act["summary"] == "Telegram send failed"
    assert act["error_detail"] == "HTTP 400: Bad Request: chat not found ([REDACTED])"
    assert TG_TOKEN not in json.dumps(act) and TG_TOKEN not in server.read_log()
    assert metric(server, "colony_channel_sends_total", 'outcome="failed"') == failed + 1
    assert listed(server, w)[0]["message_count"] == 0


def test_credentials_need_a_key_and_follow_a_key_rotation(start_colony, provider, tmp_path):
    env = {"COLONY_CHANNEL_INTERVAL_MS": "50", "MOLECULE_CHANNELS_TEST_TELEGRAM_API_BASE": provider.url}
    nokey = start_colony(env={**env, "COLONY_SECRETS_KEY": ""})
    w = ws(nokey)
    r = create(nokey, w, "telegram", {"bot_token": TG_TOKEN, "chat_id": "1"})
    assert r.status_code == 503 and r.json()["code"] == "secrets_key_missing"
    assert listed(nokey, w) == []
    nokey.stop()
    c = start_colony(db=nokey.db, env=env)
    cid = chat()
    ch = telegram(c, w, cid)
    c.stop()
    key2 = base64.b64encode(hashlib.sha256(b"channels").digest()).decode()
    old = tmp_path / "old.key"
    old.write_text(SECRETS_KEY + "\n")
    old.chmod(0o600)
    r = run_colony(["secrets", "rotate-key", "--db", c.db.url, "--secrets-old-key-file", str(old)],
                   env={"COLONY_SECRETS_KEY": key2})
    assert r.returncode == 0, r.stderr
    assert ", 1 channels' credentials (" in r.stdout
    n = start_colony(db=c.db, env={**env, "COLONY_SECRETS_KEY": key2})
    assert send(n, w, ch, "after rotation").status_code == 200
    wait_for(lambda: [x for x in provider.calls_to(f"/bot{TG_TOKEN}/sendMessage")
                      if x[3] == {"chat_id": cid, "text": "after rotation"}])
    n.stop()
    # a node holding only the old key cannot tell a good webhook from a bad one: 503, not 401
    o = start_colony(db=c.db, env=env)
    r = o.post("/webhooks/telegram", headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET},
               json=tg_update(cid, "hello"))
    assert r.status_code == 503, r.text
    assert r.json() == {"error": "the channel's credentials do not open with this node's secrets key",
                        "code": "secrets_key_missing"}


def test_two_nodes_send_each_message_once_in_order(backend, new_db, start_colony, provider):
    if backend != "postgres":
        pytest.skip("several nodes share a PostgreSQL database; SQLite is a single-node store")
    env = {"COLONY_CHANNEL_INTERVAL_MS": "20", "MOLECULE_CHANNELS_TEST_TELEGRAM_API_BASE": provider.url}
    db = new_db()
    a, b = start_colony(db=db, env=env), start_colony(db=db, env=env)
    w = ws(a)
    cid = chat()
    ch = telegram(a, w, cid)
    texts = [f"m{i}" for i in range(6)]
    for i, t in enumerate(texts):  # queued alternately on both nodes: both couriers race for the destination
        assert send(a if i % 2 == 0 else b, w, ch, t).status_code == 200
    calls = wait_for(lambda: (lambda c: c if len(c) >= 6 else None)(
        [x for x in provider.calls_to("/sendMessage") if x[3].get("chat_id") == cid]), timeout=40)
    assert [x[3]["text"] for x in calls] == texts
    # never two at once to one chat: Telegram's per-chat pace (1 s) between any two
    assert all(calls[i + 1][0] - calls[i][0] >= 0.95 for i in range(5))
    wait_for(lambda: listed(a, w)[0]["message_count"] == 6)
    assert len([x for x in provider.calls_to("/sendMessage") if x[3].get("chat_id") == cid]) == 6


# ---- channels declared in org templates ------------------------------------------------------------------------------

def admin_channels(c, wid):
    """A workspace's channels by type (created in one import, they may share a millisecond: their ids order them)."""
    r = c.get(f"/workspaces/{wid}/channels", headers=ADMIN)
    assert r.status_code == 200, r.text
    return sorted(r.json(), key=lambda ch: ch["channel_type"])


def test_org_template_channels_are_created_with_their_node_or_skipped_with_a_reason(server, provider):
    p = uuid.uuid4().hex[:6]
    cid = chat()
    d = TEMPLATES / f"chan-{p}"
    (d / "team").mkdir(parents=True)
    (d / ".env").write_text(f"TG_TOKEN={TG_TOKEN}\n")
    (d / "team" / ".env").write_text(f"HOOK_SECRET={TG_SECRET}\n")
    assert server.put("/settings/secrets", headers=ADMIN,
                      json={"key": "CHAN_SLACK_SIGNING", "value": SLACK_SIGNING}).status_code == 200
    (d / "org.yaml").write_text(f"""
name: Chan {p}
defaults: {{model: m}}
workspaces:
  - name: Lead {p}
    files_dir: team
    channels:
      - type: telegram
        config: {{bot_token: "${{TG_TOKEN}}", chat_id: {cid}, webhook_secret: "${{HOOK_SECRET}}"}}
        allowed_users: ["@alice"]
      - type: slack
        config: {{bot_token: {SLACK_TOKEN}, channel_id: C1, signing_secret: "${{CHAN_SLACK_SIGNING}}"}}
        enabled: false
      - type: discord
        config: {{webhook_url: "https://discord.com/api/webhooks/1/${{NOPE}}"}}
      - type: irc
        config: {{}}
      - config: {{bot_token: "${{TG_TOKEN}}"}}
      - type: lark
        config: {{webhook_url: "https://127.0.0.1/${{TG_TOKEN}}"}}
      - type: telegram
        config: {{bot_token: "${{TG_TOKEN}}", chat_id: "1"}}
      - type: slack
        config: {{webhook_url: "https://hooks.slack.com/services/x"}}
        allowed_users: ["{'u' * 129}"]
    children:
      - name: Plain
""")
    r = server.post("/org/import", headers=ADMIN, json={"dir": f"chan-{p}"})
    assert r.status_code == 201, r.text
    lead, plain = r.json()["workspaces"]
    assert lead["channels"] == ["telegram", "slack"]
    skip = lambda t, why: {"workspace": f"Lead {p}", "type": t, "reason": why}  # noqa: E731
    assert lead["channels_skipped"] == [
        skip("discord", "config.webhook_url: ${NOPE} is not set (in the template's .env files or the secrets)"),
        skip("irc", "unknown channel type (one of discord, lark, slack, telegram)"),
        skip("", "type is required"),
        skip("lark", "invalid config: webhook_url must be an https://open.feishu.cn/open-apis/bot/… or "
                     "open.larksuite.com URL"),
        skip("telegram", "this workspace already has a telegram channel"),
        skip("slack", "allowed_users[0] must be a non-empty string of at most 128 bytes"),
    ]
    assert TG_TOKEN not in r.text and TG_SECRET not in r.text and SLACK_SIGNING not in r.text
    assert set(plain) == {"id", "name", "tier", "parent_id"}
    # the same rows as the API makes: masked, sealed at rest, and working
    sl, tg = admin_channels(server, lead["id"])
    assert (tg["channel_type"], tg["enabled"], tg["allowed_users"]) == ("telegram", True, ["@alice"])
    assert tg["config"] == {"bot_token": "***", "chat_id": cid, "webhook_secret": "***"}
    assert (sl["channel_type"], sl["enabled"], sl["allowed_users"]) == ("slack", False, [])
    assert sl["config"] == {"bot_token": "***", "channel_id": "C1", "signing_secret": "***"}
    stored = server.db.query(f"SELECT channel_config FROM workspace_channels WHERE workspace_id = '{lead['id']}'")
    assert sorted((json.loads(row[0]) for row in stored), key=json.dumps) == \
        sorted([{"chat_id": cid}, {"channel_id": "C1"}], key=json.dumps)
    assert admin_channels(server, plain["id"]) == []
    r = server.post(f"/workspaces/{lead['id']}/channels/{tg['id']}/send", headers=ADMIN, json={"text": "imported"})
    assert r.status_code == 200
    wait_for(lambda: [c for c in provider.calls_to(f"/bot{TG_TOKEN}/sendMessage")
                      if c[3] == {"chat_id": cid, "text": "imported"}])
    r = server.post("/webhooks/telegram", headers=GOOD_TG, json=tg_update(cid, "hi", user="alice"))
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    # a re-import (even with other values) applies nothing to the nodes that exist
    (d / ".env").write_text("TG_TOKEN=999:changed\n")
    r = server.post("/org/import", headers=ADMIN, json={"dir": f"chan-{p}"})
    assert r.status_code == 201 and r.json()["created"] == 0
    assert all(set(w) == {"id", "name", "tier", "parent_id", "skipped"} for w in r.json()["workspaces"])
    assert [(c["id"], c["config"], c["updated_at"]) for c in admin_channels(server, lead["id"])] == \
        [(c["id"], c["config"], c["updated_at"]) for c in (sl, tg)]
    assert server.db.query(f"SELECT count(*) FROM workspace_channels WHERE workspace_id = '{lead['id']}'") == [["2"]]


def test_inline_template_channels_take_global_secrets_and_bad_shapes_are_refused(server):
    p = uuid.uuid4().hex[:6]
    assert server.put("/settings/secrets", headers=ADMIN, json={"key": "CHAN_TG_GLOBAL", "value": TG_TOKEN}
                      ).status_code == 200

    def tpl(channels):
        return {"name": f"Inline {p}", "defaults": {"model": "m"},
                "workspaces": [{"name": f"Solo {p}", "channels": channels}]}

    for channels, error in (
            ([{"type": "telegram", "config": {"chat_id": [1]}}],
             "workspaces[0].channels[0].config.chat_id must be a string"),
            ([{"type": "telegram", "token": "x"}], 'unknown key "token" in workspaces[0].channels[0]'),
            (["telegram"], "workspaces[0].channels[0] must be a mapping"),
            ([{"type": "telegram", "config": "x"}], "workspaces[0].channels[0].config must be a mapping"),
            ([{"type": "slack"}] * 17, "workspaces[0].channels: at most 16 channels")):
        r = server.post("/org/import", headers=ADMIN, json={"template": tpl(channels)})
        assert r.status_code == 400 and r.json() == {"error": error, "code": "invalid_request"}, r.text
    assert not [w for w in server.get("/workspaces", headers=ADMIN).json() if w["name"] == f"Solo {p}"]
    r = server.post("/org/import", headers=ADMIN, json={"mode": "reconcile", "template": tpl(
        [{"type": "telegram", "config": {"bot_token": "${CHAN_TG_GLOBAL}", "chat_id": -100200300}, "enabled": True}])})
    assert r.status_code == 201, r.text
    (solo,) = r.json()["workspaces"]
    assert solo["channels"] == ["telegram"] and "channels_skipped" not in solo
    (ch,) = admin_channels(server, solo["id"])
    assert ch["config"] == {"bot_token": "***", "chat_id": "-100200300"}


def test_the_cli_import_creates_template_channels_and_names_the_skipped(new_db, tmp_path):
    db = new_db()
    f = tmp_path / "org.yaml"
    f.write_text(f"name: CLI Chan\ndefaults: {{model: m}}\nworkspaces:\n  - name: Boss\n    channels:\n"
                 f"      - {{type: telegram, config: {{bot_token: '{TG_TOKEN}', chat_id: 1}}}}\n"
                 f"      - {{type: irc}}\n")
    env = {"COLONY_SECRETS_KEY": SECRETS_KEY}
    first = run_colony(["import", str(f), "--db", db.url], env=env)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0] == "CLI Chan: 1 created, 0 skipped" and lines[1].startswith("  created Boss (")
    assert lines[2:] == ["    telegram channel created",
                         "    irc channel skipped: unknown channel type (one of discord, lark, slack, telegram)"]
    assert TG_TOKEN not in first.stdout
    second = run_colony(["import", str(f), "--db", db.url], env=env)
    assert second.stdout.splitlines()[0] == "CLI Chan: 0 created, 1 skipped" and len(second.stdout.splitlines()) == 2
    assert db.query("SELECT channel_type FROM workspace_channels") == [["telegram"]]


def test_a_destination_told_to_wait_holds_back_no_other_destination(server, provider):
    """A chat answering 429 Retry-After: 3600 with more messages queued than the courier looks at in one turn must
    not hide other workspaces' sends: due work is looked for per destination whose pace has passed."""
    a, b = ws(server), ws(server)
    ca, cb = chat(), chat()
    cha, chb = telegram(server, a, ca), telegram(server, b, cb)
    with provider.lock:
        provider.script[ca] = [(429, {"Retry-After": "3600"},
                                {"ok": False, "description": "Too Many Requests", "parameters": {"retry_after": 3600}})]
    for i in range(70):
        assert send(server, a, cha, f"a{i}").status_code == 200
    wait_for(lambda: [c for c in provider.calls_to("/sendMessage") if c[3].get("chat_id") == ca])
    assert send(server, b, chb, "b's turn").status_code == 200
    wait_for(lambda: [c for c in provider.calls_to("/sendMessage") if c[3] == {"chat_id": cb, "text": "b's turn"}])
    assert [c[3]["text"] for c in provider.calls_to("/sendMessage") if c[3].get("chat_id") == ca] == ["a0"]


def test_a_hanging_agent_holds_at_most_a_few_relays_and_no_other_workspace(server, provider, agent):
    """One workspace's slow agent with many incoming messages gets at most 8 relays in flight; its backlog neither
    fills the courier nor hides another workspace's message, whose reply goes out meanwhile."""
    from agent_stub import AgentStub
    slow = AgentStub()
    slow.mode, slow.slow_s = "slow", 20
    try:
        a, b = ws(server), ws(server)
        register(server, a, slow.url)
        register(server, b, agent.url)
        ca, cb = chat(), chat()
        telegram(server, a, ca)
        telegram(server, b, cb)
        good = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
        for i in range(20):
            r = server.post("/webhooks/telegram", headers=good, json=tg_update(ca, f"a{i}"))
            assert r.status_code == 200 and r.json()["status"] == "accepted", r.text
        wait_for(lambda: len(slow.seen) >= 8)
        r = server.post("/webhooks/telegram", headers=good, json=tg_update(cb, "b's question"))
        assert r.status_code == 200 and r.json()["status"] == "accepted", r.text
        wait_for(lambda: [c for c in provider.calls_to("/sendMessage")
                          if c[3] == {"chat_id": cb, "text": "echo: b's question"}])
        assert len(slow.seen) == 8
    finally:
        slow.close()


def test_a_disabled_channel_sends_nothing_and_its_queue_waits(server, provider):
    """send and test on a disabled channel are a 409; what was queued before it was disabled waits (it is not
    posted, nor failed) and goes out once the channel is enabled again."""
    w = ws(server)
    cid = chat()
    ch = telegram(server, w, cid)
    url = f"/workspaces/{w['id']}/channels/{ch}"
    with provider.lock:
        provider.script[cid] = [(429, {"Retry-After": "1"}, {"ok": False, "description": "Too Many Requests"})]
    assert send(server, w, ch, "queued").status_code == 200
    wait_for(lambda: [c for c in provider.calls_to("/sendMessage") if c[3].get("chat_id") == cid])
    assert server.patch(url, headers=bearer(w["auth_token"]), json={"enabled": False}).status_code == 200
    for path, body in (("/send", {"text": "x"}), ("/test", None)):
        r = server.post(url + path, headers=bearer(w["auth_token"]), json=body)
        assert r.status_code == 409 and r.json() == {"error": "channel is disabled", "code": "conflict"}, r.text
    # the retry is due a second after the 429: a disabled channel's row is not taken
    wait_for(lambda: server.db.query(f"SELECT count(*) FROM channel_outbox WHERE channel_id = '{ch}'"
                                     f" AND status = 'pending' AND next_attempt_at < {int(time.time() * 1000) - 1500}")
             == [["1"]], timeout=30)
    assert len([c for c in provider.calls_to("/sendMessage") if c[3].get("chat_id") == cid]) == 1
    assert server.patch(url, headers=bearer(w["auth_token"]), json={"enabled": True}).status_code == 200
    wait_for(lambda: listed(server, w)[0]["message_count"] == 1)
    assert [c[3]["text"] for c in provider.calls_to("/sendMessage") if c[3].get("chat_id") == cid] == ["queued"] * 2


class RawAgent:
    """An agent answering every message with these bytes, whatever they are."""

    def __init__(self, body):
        raw = body

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize("text", [b'"before\\u0000after"', b'"bad \xff\xfe bytes"', b'"x\\ud800y"'])
def test_an_unreadable_agent_reply_is_an_activity_row_and_a_metric(server, provider, text):
    """A reply colony cannot read (a NUL, invalid UTF-8, a lone surrogate) is not dropped silently: the relay fails
    with a `channel` activity row saying why, and colony_channel_relays_failed_total counts it; nothing is posted."""
    agent = RawAgent(b'{"jsonrpc":"2.0","id":"x","result":{"role":"agent","messageId":"r","parts":[{"kind":"text",'
                     b'"text":' + text + b'}]}}')
    try:
        w = ws(server)
        register(server, w, agent.url)
        cid = chat()
        telegram(server, w, cid)
        failed = metric(server, "colony_channel_relays_failed_total", "")
        r = server.post("/webhooks/telegram", headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET},
                        json=tg_update(cid, "say something odd"))
        assert r.status_code == 200 and r.json()["status"] == "accepted", r.text

        def row():
            rows = server.get(f"/workspaces/{w['id']}/activity", headers=bearer(w["auth_token"])).json()
            return [r for r in rows if r["activity_type"] == "channel"]

        (act,) = wait_for(row)
        assert act["method"] == "receive" and act["status"] == "error"
        assert act["summary"] == "Telegram message not relayed to the agent"
        assert act["error_detail"] == ("the agent's reply could not be read (not valid JSON text: a NUL, invalid"
                                       " UTF-8 or a lone surrogate); nothing was posted to the chat")
        assert metric(server, "colony_channel_relays_failed_total", "") == failed + 1
        assert not [c for c in provider.calls_to("/sendMessage") if c[3].get("chat_id") == cid]
    finally:
        agent.close()
