"""CORS for the canvas (a preflight of any path, known or not, so that the browser shows the real answer) and the
anonymous development event stream of `make run` (--dev-open-events), which a page of another site must not read
(issue 23)."""
import json

import pytest
import websocket

from conftest import ADMIN

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


def test_without_the_flag_the_stream_needs_a_token_from_anywhere(server):
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        websocket.create_connection(ws_url(server), timeout=10, origin=CANVAS)
    assert e.value.status_code == 401
