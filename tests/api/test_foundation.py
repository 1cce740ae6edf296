"""The foundation: health, build info, metrics, routing errors, limits, CORS, request ids, shutdown, CLI."""
import pathlib
import re
import signal
import socket
import time
import uuid

import pytest

from conftest import ADMIN, ADMIN_TOKEN, run_colony, wait_for


def test_health_is_ok_when_the_database_answers(server):
    r = server.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    assert r.headers["Content-Type"].startswith("application/json")


def test_buildinfo_names_version_and_sha(server):
    r = server.get("/buildinfo")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"version", "git_sha"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", body["version"])
    assert re.fullmatch(r"[0-9a-f]{7,40}|unknown", body["git_sha"])


def test_unknown_route_is_a_json_404(server):
    r = server.get("/no/such/thing")
    assert r.status_code == 404
    assert r.json() == {"error": "no route for /no/such/thing", "code": "not_found"}


def test_known_path_wrong_method_is_405_with_allow(server):
    r = server.request("DELETE", "/canvas/viewport")
    assert r.status_code == 405
    assert r.headers["Allow"] == "GET, HEAD, PUT"
    assert r.json() == {"error": "method not allowed; allowed: GET, HEAD, PUT", "code": "method_not_allowed"}


def test_trailing_slash_matches_the_route(server):
    assert server.get("/health/").json() == {"status": "ok"}


def test_invalid_json_is_400_and_writes_nothing(server):
    assert server.put("/canvas/viewport", headers=ADMIN, json={"x": 5, "y": 6, "zoom": 2}).json() == {"status": "saved"}
    for body in (b"{", b"[1,2]", b"", b'{"x": 1, "x": 2}', b"{\"x\": \"\xff\"}", b"\xc3\x28"):
        r = server.put("/canvas/viewport", data=body, headers={"Content-Type": "application/json", **ADMIN})
        assert r.status_code == 400, body
        assert r.json()["code"] == "invalid_json", body
    assert server.get("/canvas/viewport").json() == {"x": 5.0, "y": 6.0, "zoom": 2.0}


def test_invalid_utf8_names_the_problem(server):
    r = server.put("/canvas/viewport", headers=ADMIN, data=b'{"x": 1, "note": "\xed\xa0\x80"}')  # an encoded surrogate
    assert r.status_code == 400
    assert r.json() == {"error": "request body is not valid UTF-8", "code": "invalid_json"}


def test_json_nested_too_deep_is_400(server):
    ok = "[" * 63 + "]" * 63
    deep = "[" * 65 + "]" * 65
    r_ok = server.put("/canvas/viewport", headers=ADMIN, data='{"x": 1, "y": 2, "zoom": 1, "n": %s}' % ok)
    assert r_ok.status_code == 200  # depth 64 with the outer object
    r = server.put("/canvas/viewport", headers=ADMIN, data='{"n": %s}' % deep)
    assert r.status_code == 400
    assert r.json() == {"error": "JSON nested deeper than 64 levels", "code": "invalid_json"}


def test_wrong_field_type_is_400_with_the_reference_message(server):
    r = server.put("/canvas/viewport", headers=ADMIN, json={"x": "left", "y": 1, "zoom": 1})
    assert r.status_code == 400
    assert r.json() == {"error": "invalid viewport data", "code": "invalid_request"}


def test_viewport_defaults_then_round_trips(start_colony):
    c = start_colony()
    assert c.get("/canvas/viewport").json() == {"x": 0, "y": 0, "zoom": 1}
    assert c.put("/canvas/viewport", headers=ADMIN, json={"x": -12.5, "y": 40}).json() == {"status": "saved"}
    assert c.get("/canvas/viewport").json() == {"x": -12.5, "y": 40, "zoom": 0}  # omitted zoom stored as 0


def test_body_over_the_limit_is_a_json_413(start_colony):
    c = start_colony(args=["--max-body", "2048"])
    r = c.put("/canvas/viewport", headers=ADMIN, data=b'{"x":1,"pad":"' + b"a" * 4096 + b'"}')
    assert r.status_code == 413
    assert r.json() == {"error": "request body too large", "code": "too_large"}
    assert c.put("/canvas/viewport", headers=ADMIN, json={"x": 1, "y": 1, "zoom": 1}).status_code == 200


def raw_exchange(port, head):
    """Send raw request bytes, return the response bytes until the server closes or the JSON body is complete."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(head)
    data = b""
    while not (b"\r\n\r\n" in data and data.endswith(b"}")):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return data


def test_default_body_limit_is_16_mib(server):
    limit = 16 * 1024 * 1024
    over = raw_exchange(server.port, b"PUT /canvas/viewport HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n"
                        b"Content-Length: %d\r\n\r\n" % (ADMIN_TOKEN.encode(), limit + 1))
    assert over.startswith(b"HTTP/1.1 413 ")
    assert over.endswith(b'{"error":"request body too large","code":"too_large"}')
    at = server.put("/canvas/viewport", headers=ADMIN, data=b'{"x":1,"y":2,"zoom":3}' + b" " * (limit - 22))
    assert at.status_code == 200


def test_request_id_is_echoed_or_generated(server):
    r = server.get("/health", headers={"X-Request-Id": "abc-123.trace"})
    assert r.headers["X-Request-Id"] == "abc-123.trace"
    generated = server.get("/health").headers["X-Request-Id"]
    assert uuid.UUID(generated).version == 4
    replaced = server.get("/health", headers={"X-Request-Id": "bad id with spaces"}).headers["X-Request-Id"]
    assert uuid.UUID(replaced).version == 4


def test_cors_preflight_for_an_allowed_origin(server):
    r = server.request("OPTIONS", "/canvas/viewport", headers={
        "Origin": "http://localhost:3000", "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "content-type, authorization"})
    assert r.status_code == 204
    assert r.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert r.headers["Access-Control-Allow-Credentials"] == "true"
    assert r.headers["Access-Control-Allow-Methods"] == "GET, HEAD, PUT"
    assert r.headers["Access-Control-Allow-Headers"] == "content-type, authorization"


def test_cors_refuses_other_origins(server):
    r = server.request("OPTIONS", "/health", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    assert r.status_code == 403
    assert r.json()["code"] == "forbidden"
    plain = server.get("/health", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in plain.headers
    allowed = server.get("/health", headers={"Origin": "http://localhost:3001"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://localhost:3001"
    assert allowed.headers["Vary"] == "Origin"


def test_cors_origins_are_configurable(start_colony):
    c = start_colony(env={"CORS_ORIGINS": "https://canvas.example.com"})
    r = c.get("/health", headers={"Origin": "https://canvas.example.com"})
    assert r.headers["Access-Control-Allow-Origin"] == "https://canvas.example.com"
    assert "Access-Control-Allow-Origin" not in c.get("/health", headers={"Origin": "http://localhost:3000"}).headers


def parse_metrics(text):
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def test_metrics_count_requests_by_route_and_code(start_colony):
    c = start_colony()
    for _ in range(3):
        c.get("/health")
    c.get("/nowhere")
    r = c.get("/metrics")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    m = parse_metrics(r.text)
    assert m['colony_http_requests_total{method="GET",route="/health",code="200"}'] == 3
    assert m['colony_http_requests_total{method="any",route="unmatched",code="404"}'] == 1
    assert m['colony_http_request_duration_seconds_count{method="GET",route="/health"}'] == 3
    assert m['colony_http_request_duration_seconds_bucket{method="GET",route="/health",le="+Inf"}'] == 3
    assert m["colony_db_errors_total"] == 0
    assert any(k.startswith("colony_build_info{version=") and v == 1 for k, v in m.items())
    assert "# TYPE colony_http_request_duration_seconds histogram" in r.text


def test_health_is_503_when_the_database_fails(start_colony, backend):
    c = start_colony()
    assert c.get("/health").status_code == 200
    if backend == "postgres":  # the database disappears under the running server
        name = c.db.url.rsplit("/", 1)[1]
        c.db.cluster.psql("postgres", f"DROP DATABASE {name} WITH (FORCE)")
    else:  # an embedded file cannot go away while open; make the query health runs fail instead
        c.db.execute("ALTER TABLE schema_migrations RENAME TO schema_migrations_gone")
    # a prober checks every second; /health answers from its last outcome, so it is wrong for at most that long
    wait_for(lambda: c.get("/health").status_code == 503, timeout=5)
    r = c.get("/health")
    assert r.json() == {"error": "database unavailable", "code": "unavailable"}
    metrics = parse_metrics(c.get("/metrics").text)
    assert metrics["colony_db_errors_total"] >= 1 and metrics["colony_db_up"] == 0
    if backend == "sqlite":
        c.db.execute("ALTER TABLE schema_migrations_gone RENAME TO schema_migrations")
        wait_for(lambda: c.get("/health").status_code == 200, timeout=5)  # and recovers with the database


def test_graceful_shutdown_finishes_the_in_flight_request(start_colony):
    c = start_colony()
    body = b'{"x": 7, "y": 8, "zoom": 1.5}'
    s = socket.create_connection(("127.0.0.1", c.port))
    s.sendall(b"PUT /canvas/viewport HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
              b"Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n" % (ADMIN_TOKEN.encode(), len(body)) + body[:10])
    time.sleep(0.3)
    c.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert c.proc.poll() is None, "colony exited with a request in flight"
    with pytest.raises(OSError):  # no new connections once stopping
        socket.create_connection(("127.0.0.1", c.port), timeout=2).recv(1)
    s.sendall(body[10:])
    response = b""
    while b"\r\n\r\n" not in response or not response.endswith(b"}"):
        chunk = s.recv(4096)
        if not chunk:
            break
        response += chunk
    s.close()
    assert response.startswith(b"HTTP/1.1 200 ")
    assert response.endswith(b'{"status":"saved"}')
    assert c.stop(timeout=15) == 0
    assert 'msg="stopped" clean=true' in c.log_path.read_text()
    rows = c.db.query("SELECT x, y, zoom FROM canvas_viewport")
    assert [[float(v) for v in row] for row in rows] == [[7.0, 8.0, 1.5]]


def test_sigint_stops_cleanly_with_idle_connections(start_colony):
    c = start_colony()
    idle = socket.create_connection(("127.0.0.1", c.port))  # a keep-alive client that says nothing
    c.get("/health")
    started = time.monotonic()
    assert c.stop(sig=signal.SIGINT) == 0
    assert time.monotonic() - started < 5
    idle.close()
    rows = c.db.query("SELECT count(*) FROM nodes WHERE stopped_at IS NOT NULL")
    assert rows == [["1"]]


MIGRATIONS_DIR = pathlib.Path(__file__).resolve().parents[2] / "src" / "store" / "migrations"
# what schema_migrations must record: one name per migration, driver variants ("x.pg.sql") counted once as "x.sql"
EMBEDDED = sorted({re.sub(r"\.(pg|sqlite)\.sql$", ".sql", p.name) for p in MIGRATIONS_DIR.glob("*.sql")})


def test_migrate_is_idempotent(new_db):
    db = new_db()
    first = run_colony(["migrate", "--db", db.url])
    assert first.returncode == 0, first.stderr
    assert f"applied={len(EMBEDDED)}" in first.stderr
    second = run_colony(["migrate", "--db", db.url])
    assert second.returncode == 0, second.stderr
    assert "applied=0" in second.stderr
    names = [r[0] for r in db.query("SELECT filename FROM schema_migrations ORDER BY filename")]
    assert names == EMBEDDED


def test_a_failing_migration_is_rolled_back_and_refuses_to_start(new_db):
    db = new_db()
    # 0001 creates `meta` and then `nodes`: a `nodes` that is already there makes its second statement fail
    db.execute("CREATE TABLE nodes (id TEXT)")
    r = run_colony(["migrate", "--db", db.url])
    assert r.returncode == 1
    assert "migration 0001_foundation.sql failed" in r.stderr
    assert re.search(r"nodes.*already exists", r.stderr), r.stderr
    tables = db.query("SELECT name FROM sqlite_master WHERE type='table'" if db.backend == "sqlite" else
                      "SELECT tablename FROM pg_tables WHERE schemaname='public'")
    assert sorted(t[0] for t in tables) == ["nodes", "schema_migrations"]  # `meta` was rolled back
    assert db.query("SELECT count(*) FROM schema_migrations") == [["0"]]
    serve = run_colony(["serve", "--db", db.url, "--listen", "127.0.0.1:0"])
    assert serve.returncode == 1
    assert "migration 0001_foundation.sql failed" in serve.stderr


@pytest.mark.parametrize("args, message", [
    (["serve", "--threads", "abc"], 'invalid value for --threads (flag): "abc"'),
    (["serve", "--threads", "999"], "expected an integer from 0 to 256"),
    (["serve", "--max-body=12"], "invalid value for --max-body"),
    (["serve", "--access-log", "maybe"], "expected true or false"),
    (["serve", "--log-level", "loud"], 'invalid value for --log-level: "loud"'),
    (["serve", "--bogus"], 'unknown option "--bogus"'),
    (["frobnicate"], 'unknown command "frobnicate"'),
])
def test_bad_flags_exit_2_with_one_line(args, message):
    r = run_colony(args)
    assert r.returncode == 2
    assert message in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_bad_env_value_exits_2():
    r = run_colony(["serve"], env={"COLONY_THREADS": "lots"})
    assert r.returncode == 2
    assert 'invalid value for --threads (COLONY_THREADS): "lots"' in r.stderr


def test_version_and_help():
    v = run_colony(["version"])
    assert v.returncode == 0 and re.match(r"colony \d+\.\d+\.\d+ \(", v.stdout)
    h = run_colony(["--help"])
    assert h.returncode == 0
    for flag in ("--listen", "--db", "--threads", "--max-body", "--cors-origins", "DATABASE_URL", "COLONY_LISTEN"):
        assert flag in h.stdout


def test_listen_address_from_environment(new_db):
    import subprocess
    from conftest import COLONY, free_port, sanitizer_env
    port = free_port()
    db = new_db()
    p = subprocess.Popen([COLONY, "serve", "--db", db.url], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         env=sanitizer_env({"COLONY_LISTEN": f"127.0.0.1:{port}"}), text=True)
    try:
        assert p.stdout.readline().strip().endswith(f"http://127.0.0.1:{port}")
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=20) == 0
        p.stdout.close()


def test_a_hung_database_fails_fast_and_what_needs_none_keeps_answering(start_colony, backend):
    """Issue 13 item 7: with PostgreSQL frozen (SIGSTOP), /health turns 503 within seconds, /buildinfo and /metrics
    answer at once (they never wait for the database), a route that needs the database fails with 503 after
    --db-timeout-ms instead of hanging, and everything recovers when the database does."""
    if backend != "postgres":
        pytest.skip("an embedded file cannot hang like a server")
    import requests
    c = start_colony(args=["--db-timeout-ms", "2000"])
    assert c.get("/health").status_code == 200
    cluster = c.db.cluster
    cluster.pause()
    try:
        start = time.time()
        wait_for(lambda: requests.get(c.url + "/health", timeout=2).status_code == 503, timeout=5)
        assert time.time() - start < 5
        for path in ("/buildinfo", "/metrics"):
            t = time.time()
            assert requests.get(c.url + path, timeout=2).status_code == 200
            assert time.time() - t < 1.0, path
        t = time.time()
        r = requests.get(c.url + "/workspaces", headers=ADMIN, timeout=20)
        assert r.status_code == 503, r.text
        assert r.json()["code"] == "unavailable"
        assert time.time() - t < 10
    finally:
        cluster.resume()
    wait_for(lambda: requests.get(c.url + "/health", timeout=5).status_code == 200, timeout=20)
    wait_for(lambda: requests.get(c.url + "/workspaces", headers=ADMIN, timeout=20).status_code == 200, timeout=30)
