"""An attacker's checklist (issue #12): each test tries one way in and asserts the door is shut, changes nothing,
and is counted where an operator would look. Every test runs on SQLite and on PostgreSQL."""
import json
import socket
import uuid

import pytest
import requests

from conftest import ADMIN, free_port, metric, module_colony, wait_for

CARD = {"name": "agent", "skills": []}


def bearer(t):
    return {"Authorization": f"Bearer {t}"}


def create(c, **kw):
    r = c.post("/workspaces", headers=ADMIN, json={"name": "sec-" + uuid.uuid4().hex[:8], "model": "m", **kw})
    assert r.status_code == 201, r.text
    return r.json()


def register(c, wid, url="http://8.8.8.8:9000", headers=None, **kw):
    return c.post("/registry/register", headers=headers or {},
                  json={"id": wid, "agent_card": CARD, "url": url, **kw})


def events(c, wid):
    return c.db.query(f"SELECT type FROM events WHERE workspace_id = '{wid}' ORDER BY id")


def row(c, wid):
    return c.db.query(f"SELECT status, url, agent_card FROM workspaces WHERE id = '{wid}'")


@pytest.fixture(scope="module")
def strict(backend, request, tmp_path_factory):
    """A colony as deployed: --allow-private-agent-urls off (the harness turns it on everywhere else)."""
    c = module_colony(backend, request, tmp_path_factory, env={"ALLOW_PRIVATE_AGENT_URLS": "false"})
    yield c
    assert c.stop() == 0, c.read_log()[-3000:]


# ---- 1. no anonymous takeover of a workspace ------------------------------------------------------------------

def test_anonymous_register_of_an_existing_workspace_is_401_and_leaks_no_secret(server):
    ws = create(server)  # it holds the api token POST /workspaces minted
    before = (row(server, ws["id"]), events(server, ws["id"]))
    refused = metric(server, "colony_registry_refused_total", 'reason="unauthorized"')
    r = register(server, ws["id"])
    assert r.status_code == 401, r.text
    assert r.json() == {"error": "missing workspace auth token", "code": "unauthorized"}
    other = create(server)
    r = register(server, ws["id"], headers=bearer(other["auth_token"]))  # someone else's token
    assert r.status_code == 401 and r.json() == {"error": "invalid workspace auth token", "code": "unauthorized"}
    assert (row(server, ws["id"]), events(server, ws["id"])) == before
    assert metric(server, "colony_registry_refused_total", 'reason="unauthorized"') == refused + 2
    # its own token (and an operator's) still work, and the instance token is handed out then
    r = register(server, ws["id"], headers=bearer(ws["auth_token"]))
    assert r.status_code == 200 and len(r.json()["auth_token"]) == 43 and r.json()["platform_inbound_secret"]


@pytest.mark.parametrize("route, body", [
    ("/registry/heartbeat", {"active_tasks": 7, "error_rate": 0.9}),
    ("/registry/update-card", {"agent_card": {"name": "pwned"}}),
])
def test_anonymous_heartbeat_and_update_card_of_an_existing_workspace_are_401(server, route, body):
    ws = create(server)  # it holds an api token, no instance token yet
    before = (row(server, ws["id"]), events(server, ws["id"]))
    r = server.post(route, json={"workspace_id": ws["id"], **body})
    assert r.status_code == 401 and r.json()["error"] == "missing workspace auth token"
    r = server.post(route, json={"workspace_id": ws["id"], **body}, headers=bearer(create(server)["auth_token"]))
    assert r.status_code == 401 and r.json()["error"] == "invalid workspace auth token"
    assert (row(server, ws["id"]), events(server, ws["id"])) == before
    got = server.get(f"/workspaces/{ws['id']}").json()
    assert got["active_tasks"] == 0 and got["agent_card"] is None


def test_a_workspace_whose_tokens_are_all_revoked_is_not_up_for_grabs(server):
    # Decision: an existing workspace is never adopted anonymously, even with no live token left (revoking every
    # token is how an operator shuts a compromised runtime out); an operator re-provisions it.
    ws = create(server)
    assert register(server, ws["id"], headers=bearer(ws["auth_token"])).status_code == 200
    assert server.post(f"/admin/workspaces/{ws['id']}/revoke-auth-tokens", headers=ADMIN).status_code == 200
    r = register(server, ws["id"])
    assert r.status_code == 401 and r.json() == {"error": "missing workspace auth token", "code": "unauthorized"}
    assert server.post("/registry/heartbeat", json={"workspace_id": ws["id"]}).status_code == 401
    r = register(server, ws["id"], headers=ADMIN)
    assert r.status_code == 200 and len(r.json()["auth_token"]) == 43


def test_an_unknown_id_bootstraps_anonymously_but_only_a_few_times_per_address(start_colony):
    c = start_colony(env={"COLONY_BOOTSTRAP_RATE_LIMIT": "2"})
    ids = [str(uuid.uuid4()) for _ in range(3)]
    assert [register(c, w).status_code for w in ids] == [200, 200, 429]
    r = register(c, ids[2])
    assert r.status_code == 429 and r.json()["code"] == "rate_limited" and "auth_token" not in r.json()
    assert 1 <= int(r.headers["Retry-After"]) <= 30
    assert c.get(f"/workspaces/{ids[2]}").status_code == 404  # nothing was created
    assert metric(c, "colony_registry_refused_total", 'reason="rate_limited"') == 2
    assert metric(c, "colony_registry_bootstraps_total") == 2
    # operators are not limited, and the limit is on new ids only
    assert register(c, ids[2], headers=ADMIN).status_code == 200
    assert register(c, str(uuid.uuid4()), headers=ADMIN).status_code == 200


@pytest.mark.parametrize("listen", ["127.0.0.1", "[::ffff:127.0.0.1]"])  # IPv4, and IPv4 on an IPv6 socket
def test_the_bootstrap_limit_is_per_client_address(start_colony, listen):
    import http.client
    port = free_port()  # the later --listen wins over the harness's own
    start_colony(args=["--listen", f"{listen}:{port}"], env={"COLONY_BOOTSTRAP_RATE_LIMIT": "1"})

    def bootstrap(source):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
        conn.request("POST", "/registry/register", json.dumps({"id": str(uuid.uuid4()), "agent_card": CARD,
                                                                "url": "http://8.8.8.8:1"}),
                     {"Content-Type": "application/json"})
        status = conn.getresponse().status
        conn.close()
        return status

    assert [bootstrap("127.0.0.1"), bootstrap("127.0.0.1"), bootstrap("127.0.0.2")] == [200, 429, 200]


def test_a_bad_token_cannot_ride_on_a_good_heartbeat(server):
    # heartbeats read together are written together; a bad token for the same workspace in the same group must not
    # be answered 200, nor move the workspace's status
    import concurrent.futures
    ws = create(server)
    tok = register(server, ws["id"], headers=bearer(ws["auth_token"])).json()["auth_token"]
    jobs = [(tok, 0.0, 200), ("not-" + tok, 0.9, 401)] * 40

    def beat(job):
        return requests.post(server.url + "/registry/heartbeat", headers=bearer(job[0]), timeout=30,
                             json={"workspace_id": ws["id"], "error_rate": job[1]})

    with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
        codes = [r.status_code for r in pool.map(beat, jobs)]
    assert codes == [want for _, _, want in jobs]
    assert ["WORKSPACE_DEGRADED"] not in events(server, ws["id"])
    assert server.get(f"/workspaces/{ws['id']}").json()["status"] == "online"


def test_unknown_ids_are_404_to_heartbeat_and_update_card(server):
    wid = str(uuid.uuid4())
    assert server.post("/registry/heartbeat", json={"workspace_id": wid}).status_code == 404
    assert server.post("/registry/update-card", json={"workspace_id": wid, "agent_card": {}}).status_code == 404
    assert server.get(f"/workspaces/{wid}").status_code == 404


# ---- 2. one outbound-address policy ---------------------------------------------------------------------------

NUMERIC_LOOPBACK = ["http://2130706433:9/", "http://127.1:9/", "http://0x7f000001:9/", "http://0177.0.0.1:9/",
                    "http://0x7f.0.0.1:9/", "http://127.0.0.1.:9/", "http://0:9/", "http://localhost:9/",
                    "http://LocalHost.:9/", "http://agent.localhost:9/", "http://[::1]:9/",
                    "http://[::ffff:127.0.0.1]:9/", "http://[::ffff:7f00:1]:9/", "http://[::127.0.0.1]:9/",
                    "http://[0:0:0:0:0:0:0:1]:9/", "http://10.0.0.1/", "http://0xa.1/", "http://172.16.3.4/",
                    "http://192.168.1.1/", "http://100.64.0.1/", "http://[fd00::1]/"]
NEVER = ["http://169.254.169.254/", "http://2852039166/", "http://0xa9.0xfe.0xa9.0xfe/", "http://0.0.0.0:9/",
         "http://[::]:9/", "http://224.0.0.1/", "http://255.255.255.255/", "http://[fe80::1]/", "http://[ff02::1]/",
         "http://[::ffff:169.254.169.254]/", "http://[64:ff9b::a9fe:a9fe]/", "http://100.100.100.200/",
         "http://192.0.2.1/", "http://240.0.0.1/", "http://[fd00:ec2::254]/"]


@pytest.mark.parametrize("url", NUMERIC_LOOPBACK + NEVER)
def test_register_refuses_every_spelling_of_a_private_address(strict, url):
    wid = str(uuid.uuid4())
    refused = metric(strict, "colony_outbound_refused_total", 'stage="url"')
    r = register(strict, wid, url=url)
    assert r.status_code == 400, r.text
    assert r.json()["error"].startswith("workspace URL not allowed: address ") and "is in a blocked range" in \
        r.json()["error"]
    assert strict.get(f"/workspaces/{wid}").status_code == 404
    assert metric(strict, "colony_outbound_refused_total", 'stage="url"') == refused + 1


@pytest.mark.parametrize("url", ["http://1.2.3.4.5/", "http://0x/", "http://256.0.0.1/", "http://1.2.3.0400/",
                                 "http://[fe80::1%25eth0]/", "http://ex%61mple.com/", "http://exa mple.com/",
                                 "http://-x-.com/", "http://a..b/", "http://caf\u00e9.example/"])
def test_register_refuses_malformed_hosts(strict, url):
    r = register(strict, str(uuid.uuid4()), url=url)
    assert r.status_code == 400 and r.json()["error"].startswith("workspace URL not allowed: "), r.text


@pytest.mark.parametrize("url", ["http://8.8.8.8:9000/", "https://agent.example.com/a2a", "http://[2001:4860::8888]/",
                                 "http://[64:ff9b::808:808]/"])
def test_public_addresses_and_names_pass_without_a_lookup(strict, url):
    assert register(strict, str(uuid.uuid4()), url=url).status_code == 200


def test_update_card_and_create_apply_the_same_policy(strict):
    ws = create(strict)
    register(strict, ws["id"], headers=bearer(ws["auth_token"]))
    r = strict.post("/registry/update-card", headers=bearer(ws["auth_token"]),
                    json={"workspace_id": ws["id"], "agent_card": {"url": "http://0x7f000001:1/"}})
    assert r.status_code == 400 and r.json()["error"] == "workspace URL not allowed"
    r = strict.post("/workspaces", headers=ADMIN, json={"name": "x-" + uuid.uuid4().hex[:6], "model": "m",
                                                         "url": "http://127.1:8000"})
    assert r.status_code == 400 and r.json()["error"].startswith("unsafe workspace URL: address 127.0.0.1")


def test_poll_mode_accepts_a_placeholder_url(strict):
    wid = str(uuid.uuid4())
    r = register(strict, wid, url="remote://no-inbound", delivery_mode="poll")
    assert r.status_code == 200 and r.json()["delivery_mode"] == "poll"
    assert strict.get(f"/workspaces/{wid}").json()["url"] == "remote://no-inbound"


@pytest.mark.parametrize("spelling", ["127.0.0.1", "2130706433", "127.1", "0x7f000001", "0177.0.0.1", "[::1]",
                                      "localhost"])
def test_a_stored_private_url_is_never_dialled(strict, agent, spelling):
    # the row is written behind colony's back (an old database, another tool): the check at send time and at
    # connect time still refuses, and the local service never sees a byte
    ws = create(strict)
    url = f"http://{spelling}:{agent.port}/"
    strict.db.execute(f"UPDATE workspaces SET url = '{url}', delivery_mode = 'push' WHERE id = '{ws['id']}'")
    refused = metric(strict, "colony_outbound_refused_total", 'stage="url"') + \
        metric(strict, "colony_outbound_refused_total", 'stage="dial"')
    body = {"jsonrpc": "2.0", "id": 1, "method": "message/send",
            "params": {"message": {"role": "user", "parts": [{"kind": "text", "text": "GET /admin"}]}}}
    r = strict.post(f"/workspaces/{ws['id']}/a2a", headers=ADMIN, json=body)
    assert r.status_code == 502 and r.json() == {"error": "workspace URL is not publicly routable",
                                                 "code": "bad_gateway"}, r.text
    assert agent.seen == []
    assert metric(strict, "colony_outbound_refused_total", 'stage="url"') + \
        metric(strict, "colony_outbound_refused_total", 'stage="dial"') == refused + 1


def test_the_development_flag_admits_loopback_but_never_metadata(server, agent):
    # the harness runs colony with --allow-private-agent-urls
    for url in ["http://127.0.0.1:9/", "http://10.1.2.3/", "http://localhost:9/", "http://[fd12::1]/"]:
        assert register(server, str(uuid.uuid4()), url=url).status_code == 200, url
    for url in ["http://169.254.169.254/", "http://0.0.0.0:9/", "http://[::]/", "http://224.0.0.1/",
                "http://[fe80::1]/", "http://100.100.100.200/", "http://[::ffff:127.0.0.1]:9/"]:
        r = register(server, str(uuid.uuid4()), url=url)
        assert r.status_code == 400, (url, r.text)


# ---- 4. removed workspaces disclose nothing -------------------------------------------------------------------

def test_peers_and_discover_of_a_removed_workspace_are_410(server):
    root = create(server)
    gone = create(server, parent_id=root["id"])
    sib = create(server, parent_id=root["id"])
    register(server, sib["id"], headers=bearer(sib["auth_token"]), url="http://8.8.4.4:8000")
    gone_name = server.get(f"/workspaces/{gone['id']}").json()["name"]
    assert server.delete(f"/workspaces/{gone['id']}", headers={**ADMIN, "X-Confirm-Name": gone_name}).status_code == 200
    for h in ({}, ADMIN, bearer(gone["auth_token"])):
        r = server.get(f"/registry/{gone['id']}/peers", headers=h)
        assert r.status_code == 410 and r.json() == {"error": "workspace removed", "code": "gone"}, r.text
    r = server.get(f"/registry/discover/{gone['id']}", headers={**bearer(sib["auth_token"]), "X-Workspace-ID": sib["id"]})
    assert r.status_code == 410 and r.json() == {"error": "workspace removed", "code": "gone"}
    r = server.get(f"/registry/discover/{sib['id']}", headers={"X-Workspace-ID": gone["id"]})
    assert r.status_code == 410 and "url" not in r.text
    r = server.post("/registry/check-access", json={"caller_id": gone["id"], "target_id": sib["id"]})
    assert r.status_code == 200 and r.json() == {"allowed": False}
    # the removed row itself is an operator's to read
    r = server.get(f"/workspaces/{gone['id']}?include_removed=true")
    assert r.status_code == 410 and "agent_card" not in r.json()
    assert server.get(f"/workspaces/{gone['id']}?include_removed=true", headers=ADMIN).json()["status"] == "removed"


# ---- 5. message dedupe is per sender --------------------------------------------------------------------------

def family(c, agent, mode="push"):
    boss = create(c, delivery_mode="poll")
    a, b = create(c, parent_id=boss["id"]), create(c, parent_id=boss["id"])
    target = create(c, parent_id=boss["id"], delivery_mode=mode)
    if mode == "push":
        r = register(c, target["id"], headers=bearer(target["auth_token"]), url=f"http://127.0.0.1:{agent.port}")
        assert r.status_code == 200, r.text
    return a, b, target


def say(c, frm, to, text, mid):
    h = {**bearer(frm["auth_token"]), "X-Workspace-ID": frm["id"]} if frm else ADMIN
    body = {"jsonrpc": "2.0", "id": 1, "method": "message/send",
            "params": {"message": {"role": "user", "messageId": mid, "parts": [{"kind": "text", "text": text}]}}}
    return c.post(f"/workspaces/{to['id']}/a2a", headers=h, json=body)


def test_a_sibling_reusing_a_message_id_gets_its_own_answer(server, agent):
    a, b, target = family(server, agent)
    mid = "m-" + uuid.uuid4().hex
    r = say(server, a, target, "from a", mid)
    assert r.json()["result"]["parts"][0]["text"] == "echo: from a"
    r = say(server, b, target, "from b", mid)  # b must neither read a's answer nor be swallowed
    assert r.status_code == 200 and r.json()["result"]["parts"][0]["text"] == "echo: from b", r.text
    assert [d["params"]["message"]["parts"][0]["text"] for d in agent.deliveries_of(mid)] == ["from a", "from b"]
    # a retry by the same sender is still answered from its stored reply, not delivered twice
    assert say(server, a, target, "from a", mid).json()["result"]["parts"][0]["text"] == "echo: from a"
    assert len(agent.deliveries_of(mid)) == 2


def test_a_sibling_reusing_a_message_id_reaches_a_poll_inbox(server, agent):
    a, b, target = family(server, agent, mode="poll")
    mid = "m-" + uuid.uuid4().hex
    assert say(server, a, target, "from a", mid).status_code == 200
    assert say(server, b, target, "from b", mid).status_code == 200
    assert say(server, b, target, "from b", mid).status_code == 200  # b's own retry converges
    rows = server.get(f"/workspaces/{target['id']}/activity?type=a2a_receive",
                      headers=bearer(target["auth_token"])).json()
    got = sorted((r["source_id"], r["request_body"]["params"]["message"]["parts"][0]["text"]) for r in rows)
    assert got == sorted([(a["id"], "from a"), (b["id"], "from b")])


def test_a_sibling_reusing_a_message_id_gets_its_own_queue_row(server, agent):
    a, b, target = family(server, agent)
    agent.mode = "busy"
    mid = "m-" + uuid.uuid4().hex
    qa = say(server, a, target, "from a", mid).json()["queue_id"]
    qb = say(server, b, target, "from b", mid).json()["queue_id"]
    assert qa != qb
    assert say(server, a, target, "from a", mid).json()["queue_id"] == qa
    # operators (admin or org tokens) are one sender class
    qo = say(server, None, target, "from ops", mid).json()["queue_id"]
    assert qo not in (qa, qb) and say(server, None, target, "from ops", mid).json()["queue_id"] == qo
    agent.mode = "echo"
    wait_for(lambda: len(agent.deliveries_of(mid)) == 3, timeout=30)
    texts = sorted(d["params"]["message"]["parts"][0]["text"] for d in agent.deliveries_of(mid))
    assert texts == ["from a", "from b", "from ops"]


# ---- 6. no request smuggling ----------------------------------------------------------------------------------

def raw_exchange(c, data):
    """Send raw bytes; read until colony closes the connection (or 5 s pass). Returns (bytes, closed)."""
    s = socket.create_connection(("127.0.0.1", c.port))
    s.settimeout(5)
    s.sendall(data)
    out, closed = b"", False
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                closed = True
                break
            out += chunk
    except socket.timeout:
        pass
    s.close()
    return out, closed


SMUGGLED = b"GET /workspaces HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + ADMIN["Authorization"][7:].encode() + \
    b"\r\n\r\n"


@pytest.mark.parametrize("framing", [
    b"Content-Length: 2\r\nContent-Length: %d\r\n",
    b"Content-Length: %d\r\nContent-Length: 2\r\n",
    b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n",
    b"Transfer-Encoding: chunked\r\nContent-Length: %d\r\n",
    b"Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n",
])
def test_ambiguous_framing_is_400_and_closes_the_connection(server, framing):
    body = b"0\r\n\r\n" + SMUGGLED
    head = b"POST /registry/check-access HTTP/1.1\r\nHost: x\r\n" + (framing.replace(b"%d", str(len(body)).encode()))
    out, closed = raw_exchange(server, head + b"\r\n" + body)
    assert closed, out
    assert out.count(b"HTTP/1.1 ") == 1, out  # the hidden request is never answered
    status, _, rest = out.partition(b"\r\n")
    assert status == b"HTTP/1.1 400 Bad Request", out
    assert json.loads(rest.split(b"\r\n\r\n", 1)[1]) == {
        "error": "ambiguous request framing (conflicting Content-Length / Transfer-Encoding)", "code": "invalid_request"}
    assert metric(server, "colony_http_framing_refused_total") >= 1


def test_repeated_equal_content_length_is_still_served(server):
    body = json.dumps({"caller_id": str(uuid.uuid4()), "target_id": str(uuid.uuid4())}).encode()
    head = b"POST /registry/check-access HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n" \
        b"Content-Length: %d\r\n\r\n" % (len(body), len(body))
    out, _ = raw_exchange(server, head + body)
    assert out.startswith(b"HTTP/1.1 200 OK"), out


# ---- 8. status codes and error texts that match the reference -------------------------------------------------

def test_another_workspaces_token_is_401_not_403(server):
    a, b = create(server), create(server)
    for method, path in [("PATCH", f"/workspaces/{b['id']}"), ("GET", f"/workspaces/{b['id']}/tokens"),
                         ("GET", f"/workspaces/{b['id']}/state"), ("GET", f"/workspaces/{b['id']}/activity")]:
        r = server.request(method, path, headers=bearer(a["auth_token"]), json={"name": "hijack"})
        assert r.status_code == 401, (path, r.text)
        assert r.json() == {"error": "invalid workspace auth token", "code": "unauthorized"}


def test_bad_activity_type_and_limits(server):
    ws = create(server)
    h = bearer(ws["auth_token"])
    r = server.post(f"/workspaces/{ws['id']}/activity", headers=h, json={"activity_type": "rootkit"})
    assert r.status_code == 400 and r.json()["error"] == (
        "invalid activity_type, must be one of: a2a_send, a2a_receive, task_update, agent_log, skill_promotion, "
        "memory_write, error")
    for bad in ["abc", "-1", "0", "1e3", "5x"]:
        r = server.get(f"/workspaces/{ws['id']}/activity?limit={bad}", headers=h)
        assert r.status_code == 400 and r.json()["error"] == "limit must be an integer from 1 to 500", bad


def test_delegation_routes_validate_and_normalise_ids(server):
    boss = create(server)
    kid = create(server, parent_id=boss["id"], delivery_mode="poll")
    up = boss["id"].upper()
    r = server.post(f"/workspaces/{up}/delegate", headers=ADMIN, json={"target_id": kid["id"], "task": "t"})
    assert r.status_code == 202, r.text
    listed = server.get(f"/workspaces/{up}/delegations", headers=ADMIN).json()
    assert [d["source_id"] for d in listed] == [boss["id"]]
    assert server.get(f"/workspaces/{boss['id']}/delegations", headers=ADMIN).json() == listed
    for path in ["/workspaces/not-a-uuid/delegations", "/workspaces/not-a-uuid/delegations/record"]:
        r = server.request("GET" if path.endswith("delegations") else "POST", path, headers=ADMIN, json={})
        assert r.status_code == 400 and r.json()["error"] == "invalid workspace ID", (path, r.text)
    r = server.post(f"/workspaces/{boss['id']}/delegations/nope/update", headers=ADMIN, json={"status": "failed"})
    assert r.status_code == 400 and r.json()["error"] == "invalid delegation ID"


@pytest.mark.parametrize("path", ["/health", "/metrics", "/buildinfo", "/canvas/viewport"])
def test_head_answers_like_get_without_a_body(server, path):
    get = server.get(path)
    head = server.request("HEAD", path)
    assert head.status_code == get.status_code == 200
    assert head.content == b"" and head.headers["Content-Type"] == get.headers["Content-Type"]


def test_head_on_authenticated_and_unknown_routes(server):
    ws = create(server)
    r = server.request("HEAD", f"/workspaces/{ws['id']}/state", headers=bearer(ws["auth_token"]))
    assert r.status_code == 200 and r.content == b""
    assert server.request("HEAD", f"/workspaces/{ws['id']}/state").status_code == 401
    assert server.request("HEAD", "/nowhere").status_code == 404
    r = server.request("HEAD", "/registry/register")
    assert r.status_code == 405 and r.headers["Allow"] == "POST"
    assert "HEAD" in server.request("POST", "/health").headers["Allow"]


@pytest.mark.parametrize("payload", ['{"name": "a\\u0000b", "model": "m"}', '{"name": "ok", "model": "m\\u0000"}'])
def test_nul_in_a_json_string_is_400(server, payload):
    before = server.db.query("SELECT count(*) FROM workspaces")
    r = server.post("/workspaces", headers={**ADMIN, "Content-Type": "application/json"}, data=payload)
    assert r.status_code == 400 and r.json()["code"] == "invalid_json" and "\\u0000" in r.json()["error"]
    assert server.db.query("SELECT count(*) FROM workspaces") == before


def test_nul_in_a_yaml_template_is_400_not_cut(start_colony, tmp_path):
    (tmp_path / "evil").mkdir()
    (tmp_path / "evil" / "org.yaml").write_text('name: evil\nworkspaces:\n  - name: "adm\\0in"\n    model: m\n')
    c = start_colony(args=["--templates-dir", str(tmp_path)])
    r = c.post("/org/import", headers=ADMIN, json={"dir": "evil"})
    assert r.status_code == 400 and "NUL" in r.json()["error"], r.text
    assert c.db.query("SELECT count(*) FROM workspaces WHERE name LIKE 'adm%'") == [["0"]]


def test_error_bodies_never_carry_invalid_utf8(server):
    out, _ = raw_exchange(server, b"GET /nope\xff\xfe/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 404")
    assert json.loads(body.decode("utf-8")) == {"error": "no route for /nope\ufffd\ufffd/x", "code": "not_found"}
    ws = create(server)
    r = server.get(f"/workspaces/{ws['id']}/activity?since_id=%FF%FEx", headers=bearer(ws["auth_token"]))
    assert r.status_code == 410
    assert r.json()["error"] == "since_id cursor not found (\ufffd\ufffdx); omit since_id to reset"
    # and PostgreSQL, which refuses invalid UTF-8, never sees it: a filter that matches nothing, not a 503
    for q in ["activity?type=%FF", "session-search?q=%C3"]:
        r = server.get(f"/workspaces/{ws['id']}/{q}", headers=bearer(ws["auth_token"]))
        assert r.status_code == 200 and r.json() == [], (q, r.text)


def test_a_query_parameter_that_does_not_decode_is_400_on_every_route(server):
    """A NUL (or a malformed escape) made the parameter read as absent: ?q=%00alpha listed everything and
    ?namespace=%00 read every namespace. Refused once, for every route, before the handler runs."""
    ws = create(server)
    h = bearer(ws["auth_token"])
    assert server.post(f"/workspaces/{ws['id']}/memories", headers=h,
                       json={"content": "beta fact", "scope": "LOCAL"}).status_code == 201
    for path, query, name in [
        ("v2/memories", "q=%00alpha", "q"), ("v2/memories", "namespace=%00", "namespace"),
        ("memories", "q=%00", "q"), ("activity", "type=a%00b", "type"), ("activity", "limit=1&x%00y=1", "x%00y"),
    ]:
        r = server.get(f"/workspaces/{ws['id']}/{path}?{query}", headers=h)
        assert (r.status_code, r.json()) == (400, {
            "error": f'query parameter "{name}" does not decode: a malformed %-escape or a NUL byte',
            "code": "invalid_request"}), (path, query, r.text)
    r = server.get(f"/org/templates?limit=%00", headers=ADMIN)  # an operator's list, a public one: the same
    assert r.status_code == 400 and r.json()["code"] == "invalid_request"
    assert server.get("/health?x=%00").status_code == 400
    for query, name in ((b"q=alpha%", "q"), (b"%zz=1", "%zz")):  # raw: a client library would re-escape them
        out, _ = raw_exchange(server, b"GET /workspaces/" + ws["id"].encode() + b"/v2/memories?" + query +
                              b" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + ws["auth_token"].encode() +
                              b"\r\nConnection: close\r\n\r\n")
        head, _, body = out.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400") and json.loads(body)["error"] == (
            f'query parameter "{name}" does not decode: a malformed %-escape or a NUL byte'), out
    # what decodes is untouched: an escaped percent sign, '+' as a space, a name without a value
    r = server.get(f"/workspaces/{ws['id']}/v2/memories?q=beta+%25&flag", headers=h)
    assert r.status_code == 200 and [m["content"] for m in r.json()["memories"]] == ["beta fact"]


# ---- 3. revocation bites at once, live streams included --------------------------------------------------------

import time  # noqa: E402  (the stream tests below)

import websocket  # noqa: E402

from conftest import ADMIN_TOKEN  # noqa: E402


def ws_open(c, token, **kw):
    url = c.url.replace("http://", "ws://") + "/ws"
    return websocket.create_connection(url, timeout=10, header=[f"Authorization: Bearer {token}"], **kw)


def close_frame(ws, timeout=5):
    """The close code and reason the server sends (frames before it are skipped)."""
    ws.settimeout(timeout)
    while True:
        opcode, data = ws.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return int.from_bytes(data[:2], "big"), data[2:].decode()


def sse_open(c, wid, token):
    r = requests.get(f"{c.url}/workspaces/{wid}/events/stream", headers=bearer(token), stream=True, timeout=10)
    assert r.status_code == 200
    return r


def sse_end(r):
    """The last line of an event stream, read until the server ends it."""
    last = None
    for line in r.iter_lines(decode_unicode=True):
        if line:
            last = line
    return last


def test_a_revoked_token_closes_its_live_streams_within_seconds(server):
    ws = create(server)
    minted = server.post(f"/admin/workspaces/{ws['id']}/tokens", headers=ADMIN).json()
    org = server.post("/org/tokens", headers=ADMIN, json={"name": "canvas-" + uuid.uuid4().hex[:6]}).json()
    agent_ws, org_ws = ws_open(server, minted["auth_token"]), ws_open(server, org["auth_token"])
    sse = sse_open(server, ws["id"], minted["auth_token"])
    keep = ws_open(server, ws["auth_token"])  # the workspace's other token is not revoked: its stream lives on
    revoked = metric(server, "colony_event_streams_revoked_total")
    t = time.time()
    assert server.delete(f"/workspaces/{ws['id']}/tokens/{minted['id']}", headers=ADMIN).status_code == 200
    assert close_frame(agent_ws) == (4001, "credential revoked or workspace removed")
    assert sse_end(sse) == ": closed: credential revoked or workspace removed"
    assert time.time() - t < 4
    assert server.delete(f"/org/tokens/{org['id']}", headers=ADMIN).status_code == 200
    assert close_frame(org_ws) == (4001, "credential revoked or workspace removed")
    assert metric(server, "colony_event_streams_revoked_total") == revoked + 3
    # the untouched token's stream still delivers
    server.post(f"/workspaces/{ws['id']}/notify", headers=bearer(ws["auth_token"]), json={"message": "still here"})
    keep.settimeout(5)
    frame = json.loads(keep.recv())
    assert frame["event"] == "AGENT_MESSAGE" and frame["payload"]["message"] == "still here"
    for s in (agent_ws, org_ws, keep):
        s.close()


def test_removing_a_workspace_closes_its_agents_streams(server):
    ws = create(server)
    agent_ws = ws_open(server, ws["auth_token"])
    sse = sse_open(server, ws["id"], ws["auth_token"])
    name = server.get(f"/workspaces/{ws['id']}").json()["name"]
    r = server.delete(f"/workspaces/{ws['id']}?confirm=true", headers={**ADMIN, "X-Confirm-Name": name})
    assert r.status_code == 200, r.text
    assert close_frame(agent_ws) == (4001, "credential revoked or workspace removed")
    assert sse_end(sse) == ": closed: credential revoked or workspace removed"
    agent_ws.close()


# ---- 7. bounded subscribers --------------------------------------------------------------------------------------

def ws_handshake(c, token):
    """A WebSocket handshake over plain HTTP: the response, whatever it is (101 leaves the socket open)."""
    return requests.get(c.url + "/ws", headers={"Connection": "Upgrade", "Upgrade": "websocket",
                                                 "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                                                 "Sec-WebSocket-Version": "13", **bearer(token)},
                        timeout=10, stream=True)


def test_event_streams_are_capped_per_token_and_per_node(start_colony):
    c = start_colony(args=["--events-max-streams-per-token", "3", "--events-max-streams", "5"])
    org = c.post("/org/tokens", headers=ADMIN, json={"name": "o"}).json()["auth_token"]
    mine = [ws_open(c, ADMIN_TOKEN) for _ in range(3)]
    r = ws_handshake(c, ADMIN_TOKEN)  # a fourth for one token
    assert r.status_code == 429 and r.json() == {"error": "too many event streams for this credential",
                                                 "code": "rate_limited"}
    others = [ws_open(c, org) for _ in range(2)]  # five open on this node now
    r = ws_handshake(c, org)
    assert r.status_code == 429 and r.json() == {"error": "too many event streams on this server",
                                                 "code": "rate_limited"}
    ws = c.post("/workspaces", headers=ADMIN, json={"name": "capped", "model": "m"}).json()
    r = requests.get(f"{c.url}/workspaces/{ws['id']}/events/stream", headers=bearer(ws["auth_token"]), timeout=10)
    assert r.status_code == 429  # server-sent events count against the same caps
    assert metric(c, "colony_event_streams_refused_total", 'reason="credential_limit"') == 1
    assert metric(c, "colony_event_streams_refused_total", 'reason="node_limit"') == 2
    mine.pop().close()  # a closed stream gives its slot back
    again = wait_for(lambda: ws_handshake(c, ADMIN_TOKEN).status_code == 101 or None, timeout=5)
    assert again
    for s in mine + others:
        s.close()


def test_subscribers_that_never_read_cannot_make_memory_grow(start_colony):
    """Subscribers that never read (the review grew colony from 21 MiB to over 1 GiB with 500 of them) hold only
    what the node's budget allows: rendered events are shared by reference, at most one write per subscriber is in
    flight, and when the events pinned by stalled writes pass --events-memory-max, those subscribers are cut off.
    Here each group of subscribers joins just before a different ~200 KB event, so each group pins its own."""
    budget = 24 << 20
    c = start_colony(args=["--events-memory-max", str(budget), "--events-max-streams-per-token", "1000"])
    sink = c.post("/workspaces", headers=ADMIN, json={"name": "sink", "model": "m"}).json()
    assert c.post("/registry/register", headers=bearer(sink["auth_token"]),
                  json={"id": sink["id"], "delivery_mode": "poll", "agent_card": CARD}).status_code == 200
    idle, peak = [], 0
    for i in range(120):  # 120 events of ~200 KB: 24 MB of events, 2.4 GB if each of 480 subscribers copied them
        idle += [ws_open(c, ADMIN_TOKEN, sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),)) for _ in range(4)]
        msg = {"jsonrpc": "2.0", "id": i, "method": "message/send",
               "params": {"message": {"role": "user", "messageId": str(uuid.uuid4()),
                                      "parts": [{"kind": "text", "text": "x" * 200_000}]}}}
        assert c.post(f"/workspaces/{sink['id']}/a2a", headers=ADMIN, json=msg).status_code == 200
        peak = max(peak, metric(c, "colony_event_memory_bytes"))
    assert peak <= budget + (4 << 20)  # the budget, give or take the events that arrived since the last check
    assert metric(c, "colony_event_subscribers_dropped_total") > 0
    for s in idle:
        s.close()
    wait_for(lambda: metric(c, "colony_websocket_connections_active") == 0, timeout=30)
