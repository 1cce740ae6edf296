"""CORS for the canvas (a preflight of any path, known or not, so that the browser shows the real answer) and the
anonymous development event stream of `make run` (--dev-open-events), which a page of another site must not read
(issue 23)."""
import json
import signal
import subprocess
import threading

import pytest
import requests
import websocket

from conftest import ADMIN, COLONY, ROOT, SANITIZER_MARKERS, free_port, sanitizer_env

CANVAS = "http://localhost:3000"


# ---- CORS ------------------------------------------------------------------------------------------------------

def test_a_preflight_of_an_unknown_route_gets_cors_so_the_browser_sees_the_404(server):
    r = server.request("OPTIONS", "/no/such/route", headers={
        "Origin": CANVAS, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert r.status_code == 204, r.text
    assert r.headers["Access-Control-Allow-Origin"] == CANVAS
    assert r.headers["Access-Control-Allow-Credentials"] == "true"
    assert r.headers["Access-Control-Allow-Methods"] == "GET, POST, PUT, PATCH, DELETE"
    assert r.headers["Access-Control-Allow-Headers"] == "authorization, content-type"
    assert r.headers["Access-Control-Max-Age"] == "600"
    assert "Content-Length" not in r.headers and "Transfer-Encoding" not in r.headers  # RFC 9110 8.6: not on a 204
    real = server.post("/no/such/route", headers={"Origin": CANVAS}, json={})
    assert real.status_code == 404 and real.json() == {"error": "no route for /no/such/route", "code": "not_found"}
    assert real.headers["Access-Control-Allow-Origin"] == CANVAS and real.headers["Vary"] == "Origin"


def test_an_unknown_route_preflight_from_another_origin_is_refused(server):
    r = server.request("OPTIONS", "/no/such/route", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    assert r.status_code == 403 and r.json()["error"] == "origin not allowed"
    assert "Access-Control-Allow-Origin" not in r.headers


def test_an_options_that_is_no_preflight_stays_a_404(server):
    r = server.request("OPTIONS", "/no/such/route", headers={"Origin": CANVAS})
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert server.request("OPTIONS", "/no/such/route").status_code == 404


def test_the_default_origins_are_the_canvas_dev_servers(server):
    for origin in ("http://localhost:3000", "http://localhost:3001"):
        r = server.get("/workspaces", headers={"Origin": origin, **ADMIN})
        assert r.headers["Access-Control-Allow-Origin"] == origin
        assert "X-Next-Cursor" in r.headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Origin" not in server.get("/health", headers={"Origin": "http://localhost:8000"}).headers


# ---- the anonymous development stream (make run: --dev-open-events) -----------------------------------------

@pytest.fixture
def dev_colony(start_colony):
    return start_colony(args=["--dev-open-events"])


def ws_url(c):
    return c.url.replace("http://", "ws://") + "/ws"


@pytest.mark.parametrize("origin", [None, CANVAS, "http://localhost:3001", "same"])
def test_the_dev_stream_admits_the_canvas_this_server_and_non_browsers(dev_colony, origin):
    if origin == "same":
        origin = dev_colony.url
    kw = {"origin": origin} if origin else {"suppress_origin": True}
    ws = websocket.create_connection(ws_url(dev_colony), timeout=10, **kw)
    try:
        w = dev_colony.post("/workspaces", headers=ADMIN, json={"name": "seen", "model": "m"}).json()
        assert json.loads(ws.recv())["workspace_id"] == w["id"]
    finally:
        ws.close()


@pytest.mark.parametrize("origin", ["https://evil.example", "http://localhost:3000.evil.example", "null",
                                    "http://127.0.0.1:1"])
def test_the_dev_stream_refuses_pages_of_other_sites(dev_colony, origin):
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        websocket.create_connection(ws_url(dev_colony), timeout=10, origin=origin)
    assert e.value.status_code == 403
    # a token is a credential whatever page holds it
    ok = websocket.create_connection(ws_url(dev_colony) + "?token=" + ADMIN["Authorization"][7:], timeout=10,
                                     origin=origin)
    ok.close()


@pytest.mark.parametrize("name", ["evil.example", "localhost.evil.example", "127.0.0.1.evil.example"])
def test_the_dev_stream_refuses_a_dns_rebound_page(dev_colony, name):
    """A site whose name an attacker re-points at 127.0.0.1 after its page loaded: the browser sends that name as
    both Host and Origin, so "the page of this server itself" must be this server under a loopback name only."""
    port = dev_colony.url.rsplit(":", 1)[1]
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        websocket.create_connection(ws_url(dev_colony), timeout=10, host=f"{name}:{port}",
                                    origin=f"http://{name}:{port}")
    assert e.value.status_code == 403


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "LocalHost", "[::1]"])
def test_the_dev_stream_admits_this_servers_own_page_under_a_loopback_name(dev_colony, name):
    port = dev_colony.url.rsplit(":", 1)[1]
    websocket.create_connection(ws_url(dev_colony), timeout=10, host=f"{name}:{port}",
                                origin=f"http://{name}:{port}").close()


@pytest.mark.parametrize("origin", ["https://evil.example", "null"])
def test_a_wildcard_cors_list_never_opens_the_dev_stream(start_colony, origin):
    """CORS_ORIGINS='*' lets any page call the API with its own token; it must not hand the anonymous stream to
    any page (nor to a DNS-rebound one): only an origin listed by name, or this server's own page on loopback."""
    c = start_colony(args=["--dev-open-events", "--cors-origins", "*," + CANVAS])
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        websocket.create_connection(ws_url(c), timeout=10, origin=origin)
    assert e.value.status_code == 403
    port = c.port
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        websocket.create_connection(ws_url(c), timeout=10, host=f"evil.example:{port}",
                                    origin=f"http://evil.example:{port}")
    assert e.value.status_code == 403
    websocket.create_connection(ws_url(c), timeout=10, origin=CANVAS).close()  # listed by name
    websocket.create_connection(ws_url(c), timeout=10, origin=c.url).close()  # its own page
    assert "--cors-origins '*' with --dev-open-events" in c.read_log()  # warned at start


def test_the_null_origin_is_never_reflected(start_colony):
    """`Origin: null` is what sandboxed iframes and file: pages send — any site can produce it."""
    for origins in ("*", "null," + CANVAS):
        c = start_colony(args=["--cors-origins", origins])
        r = c.get("/workspaces", headers={"Origin": "null", **ADMIN})
        assert r.status_code == 200
        assert "Access-Control-Allow-Origin" not in r.headers
        assert "Access-Control-Allow-Credentials" not in r.headers
        r = c.request("OPTIONS", "/workspaces", headers={"Origin": "null", "Access-Control-Request-Method": "GET"})
        assert r.status_code == 403 and "Access-Control-Allow-Origin" not in r.headers
    r = c.get("/health", headers={"Origin": CANVAS})
    assert r.headers["Access-Control-Allow-Origin"] == CANVAS


def test_the_dev_stream_admits_an_ipv4_client_of_a_dual_stack_listener(start_colony):
    """--listen '[::]:port' sees an IPv4 loopback client as ::ffff:127.0.0.1: loopback all the same. (Bound to the
    mapped address itself, so the test listens on loopback only.)"""
    port = free_port()
    start_colony(args=["--dev-open-events", "--listen", f"[::ffff:127.0.0.1]:{port}"])
    websocket.create_connection(f"ws://127.0.0.1:{port}/ws", timeout=10, origin=CANVAS).close()


def test_without_the_flag_the_stream_needs_a_token_from_anywhere(server):
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        websocket.create_connection(ws_url(server), timeout=10, origin=CANVAS)
    assert e.value.status_code == 401


# ---- make run --------------------------------------------------------------------------------------------------

def listening_addresses(port):
    """The local addresses on which something listens on TCP `port` (from /proc/net/tcp and tcp6, hex as stored)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                addr, p = local.split(":")
                if state == "0A" and int(p, 16) == port:
                    found.add(addr)
    return found


def read_lines_until(stream, last_prefix, timeout=60):
    """The lines `stream` writes up to the one starting with `last_prefix`; fails after `timeout` s, never hangs."""
    lines, done = [], threading.Event()

    def reader():
        for line in stream:
            lines.append(line)
            if line.startswith(last_prefix):
                break
        done.set()
    threading.Thread(target=reader, daemon=True).start()
    assert done.wait(timeout), f"no line starting {last_prefix!r} within {timeout} s: {lines}"
    return lines


def test_make_run_starts_the_local_development_posture(new_db, tmp_path):
    """scripts/run.sh (what `make run` runs) on this build: the demo org, loopback only even when PORT is set, the
    canvas's origins, the anonymous event stream for them and for colony's own console, never for another site."""
    port = free_port()
    env = sanitizer_env({"DATABASE_URL": new_db().url, "PORT": str(port), "ADMIN_TOKEN": ADMIN["Authorization"][7:],
                         "COLONY_SECRETS_KEY": "c2VjcmV0cyBrZXkgb2YgdGhlIGNvbG9ueSB0ZXN0cyE="})
    for k in ("COLONY_DEV_OPEN_EVENTS", "CORS_ORIGINS"):
        env.pop(k, None)
    with open(tmp_path / "run.log", "w") as log:
        proc = subprocess.Popen(["bash", str(ROOT / "scripts" / "run.sh"), COLONY], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=log, text=True)
        try:
            lines = read_lines_until(proc.stdout, "colony ")
            url = f"http://127.0.0.1:{port}"
            assert lines == ["console: open the URL below and sign in with the admin token\n",
                             f"colony 0.1.0 listening on {url}\n"]
            assert listening_addresses(port) == {"0100007F"}  # 127.0.0.1 alone, not 0.0.0.0
            assert requests.get(url + "/", timeout=10).headers["Content-Type"] == "text/html; charset=utf-8"
            names = sorted(w["name"] for w in requests.get(url + "/workspaces", headers=ADMIN, timeout=10).json())
            assert names == ["Backend Dev", "Dev Lead", "Frontend Dev", "PM", "QA"]  # the demo org
            for origin in ("http://localhost:3000", "http://localhost:3001", "http://127.0.0.1:3000",
                           "http://127.0.0.1:3001"):
                r = requests.get(url + "/health", headers={"Origin": origin}, timeout=10)
                assert r.headers["Access-Control-Allow-Origin"] == origin
            for origin in (CANVAS, url, None):  # the canvas, the console, a client that is no page
                kw = {"origin": origin} if origin else {"suppress_origin": True}
                websocket.create_connection(url.replace("http", "ws") + "/ws", timeout=10, **kw).close()
            with pytest.raises(websocket.WebSocketBadStatusException) as e:
                websocket.create_connection(url.replace("http", "ws") + "/ws", timeout=10,
                                            origin="https://evil.example")
            assert e.value.status_code == 403
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
            proc.stdout.close()
    text = (tmp_path / "run.log").read_text()
    assert not any(m in text for m in SANITIZER_MARKERS), text[-3000:]
