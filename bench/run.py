#!/usr/bin/env python3
"""`make bench`: every row of issue #14's benchmark in one run, written to bench/RESULTS.md with the git sha it
measured and the machine it ran on. Figures that depend on the machine are ratios against a reference measured in
the same run with the same load generator (wrk): colony's heartbeat against bench/limit_server.c on the same
database, colony relaying A2A against calling bench/echo_agent.c directly (and h2o's own reverse proxy in front of
it, the ceiling of any relay on the engine), the activity insert against the heartbeat. Each step starts its own servers (readiness by polling, never a fixed sleep) and stops them; a step that
fails is reported in RESULTS.md with its reason and the others still run. Never fails on speed; exits 1 only when
a step failed.

usage: bench/run.py BUILD_DIR   (BUILD_DIR holds colony, limit_server, echo_agent, proxy_limit, ws_subscribers)
env:   BENCH_SECONDS  seconds per wrk run (default 5)
       BENCH_ONLY     comma-separated step names to run (default: all; see steps()); RESULTS.md is then left alone
"""
import asyncio
import concurrent.futures
import json
import math
import os
import pathlib
import platform
import re
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "api"))
from conftest import PgCluster, free_port  # noqa: E402  (the test suite's throwaway cluster and port picker)

BUILD = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "build" / "release").resolve()
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
ONLY = {s for s in os.environ.get("BENCH_ONLY", "").split(",") if s}
THREADS = 2            # I/O threads of every server, and wrk threads
CONNECTIONS = 64       # wrk connections of the throughput rows
AGENTS = 256           # workspaces heartbeating / logging activity (disjoint halves per wrk thread)
LIMIT_WRITERS = 1      # the limit server's writer threads: 2-4 were no faster on either database, and had worse p99
FANOUT_SUBSCRIBERS, FANOUT_EVENTS = 2000, 100
IDLE_SUBSCRIBERS = 10000
PROBE_CONNECTIONS, PROBE_PACE_S = 8, 0.005
START_TIMEOUT_S = 30
ADMIN = "bench-" + uuid.uuid4().hex
OLD_LIST_MS = 330      # GET /workspaces on 10,000 rows before issue #14

TMP = None             # this run's scratch directory (databases, logs, wrk scripts), removed at the end
LIVE = []              # every process started and not yet stopped: stopped on any exit


# ---- processes ------------------------------------------------------------------------------------------------

def clean_env(extra=None):
    """The caller's environment without anything that configures colony (flags set what the bench needs)."""
    drop = ("COLONY_", "A2A_", "DELEGATION_", "UPLOAD_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop) and k not in (
        "DATABASE_URL", "PORT", "ADMIN_TOKEN", "CORS_ORIGINS", "ALLOW_PRIVATE_AGENT_URLS", "ORG_TEMPLATES_DIR",
        "REMOTE_LIVENESS_STALE_AFTER")}
    env.update(extra or {})
    return env


class Proc:
    """A server started with its readiness line awaited (with a deadline) and its port polled until it answers."""

    def __init__(self, name, argv, port, env=None, health=None):
        self.name, self.port = name, port
        self.log = TMP / f"{name}-{port}.log"
        with open(self.log, "w") as log:
            self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, env=clean_env(env), text=True)
        LIVE.append(self)
        deadline = time.monotonic() + START_TIMEOUT_S
        line = ""
        while "listening on" not in line:
            left = deadline - time.monotonic()
            if left <= 0 or self.p.poll() is not None:
                self.stop()
                raise RuntimeError(f"{name} did not start: {line.strip()!r} {self.log_tail()}")
            if select.select([self.p.stdout], [], [], min(left, 0.5))[0]:
                line = self.p.stdout.readline()
        poll_until(lambda: http_ok(f"http://127.0.0.1:{port}{health}") if health else tcp_ok(port),
                   f"{name} answering on port {port}")

    def log_tail(self):
        try:
            return "log: " + self.log.read_text(errors="replace")[-1500:].strip()
        except OSError:
            return ""

    def rss_kib(self):
        for line in open(f"/proc/{self.p.pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError(f"{self.name} has no VmRSS")

    def died(self):
        """Why the process ended by itself, or None while it runs."""
        rc = self.p.poll()
        if rc is None:
            return None
        how = f"killed by signal {-rc} ({signal.Signals(-rc).name})" if rc < 0 else f"exited with {rc}"
        return f"{self.name} {how} during the step; {self.log_tail()}"

    def stop(self):
        if self in LIVE:
            LIVE.remove(self)
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.p.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        died = self.died()
        self.stop()
        if died is None and self.p.returncode not in (0, -signal.SIGTERM):  # crashed while stopping
            died = f"{self.name} ended with {self.p.returncode} when asked to stop; {self.log_tail()}"
        if died and exc is None:
            raise RuntimeError(died)
        if died:  # the step failed because the server died: say so first
            raise RuntimeError(f"{died}; the step saw {type(exc).__name__}: {exc}") from exc


def poll_until(fn, what, timeout=START_TIMEOUT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.02)
    raise RuntimeError(f"timed out waiting for {what}")


def tcp_ok(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def http_ok(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def colony(db, *extra):
    port = free_port()
    argv = [str(BUILD / "colony"), "serve", "--db", db, "--listen", f"127.0.0.1:{port}", "--threads", str(THREADS),
            "--access-log=false", "--log-level", "error",
            "--allow-private-agent-urls",                       # the A2A row's echo agent is on loopback
            "--events-max-streams", str(IDLE_SUBSCRIBERS + 1000),  # the subscriber rows: one admin token, 10,000
            "--events-max-streams-per-token", str(IDLE_SUBSCRIBERS + 1000), *extra]
    proc = Proc("colony", argv, port, env={"ADMIN_TOKEN": ADMIN}, health="/health")
    proc.url = f"http://127.0.0.1:{port}"
    return proc


def http(method, url, body=None, token=ADMIN, raw=False, timeout=120):
    data = body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            out = r.read()
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"{method} {url} answered {e.code}: {e.read()[:300]!r}") from None
    return out if raw else json.loads(out or b"null")


# ---- load -----------------------------------------------------------------------------------------------------

def lua_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def wrk(url, requests, connections=CONNECTIONS):
    """wrk against url cycling through `requests` [(method, path, headers, body)]; each wrk thread takes its own
    share (request k goes to thread k mod the thread count), so no two threads send the same workspace's requests.
    Returns (req/s, p50 ms, p99 ms, note)."""
    rows = ",\n".join("{%s, %s, {%s}, %s}" % (lua_str(m), lua_str(p), ", ".join(
        f"[{lua_str(k)}] = {lua_str(v)}" for k, v in h.items()), lua_str(b) if b is not None else "nil")
        for m, p, h, b in requests)
    script = TMP / f"wrk-{uuid.uuid4().hex[:8]}.lua"
    threads = min(THREADS, connections)
    script.write_text(f"""
local reqs = {{
{rows}
}}
local n = 0
function setup(thread) thread:set("tid", n); n = n + 1 end
local mine, i = {{}}, 0
function init(args)
  for k = tid + 1, #reqs, {threads} do
    local r = reqs[k]
    mine[#mine + 1] = wrk.format(r[1], r[2], r[3], r[4])
  end
  if #mine == 0 then mine[1] = wrk.format(reqs[1][1], reqs[1][2], reqs[1][3], reqs[1][4]) end
end
request = function()
  i = i % #mine + 1
  return mine[i]
end
""")
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{SECONDS:g}s", "--latency", "--timeout", "30s", "-s",
            str(script), url]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=SECONDS + 60).stdout
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    total = re.search(r"(\d+) requests in", out)
    if bad or not total or int(total.group(1)) == 0:
        raise RuntimeError(f"wrk {url}: {bad.group(1) + ' non-2xx answers' if bad else 'no answers'}: {out[-600:]}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {k: to_ms(v) for k, v in re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M)}
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if errors and sum(map(int, errors.groups())) > int(total.group(1)) // 100:  # connections dropped under load
        raise RuntimeError(f"wrk {url}: {errors.group(0)} in {total.group(1)} requests")
    return rps, lat.get("50"), lat.get("99"), errors.group(0) if errors else ""


def to_ms(v):
    n, unit = re.match(r"([\d.]+)(us|ms|s|m)", v).groups()
    return float(n) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def register_agents(url, count=AGENTS):
    """`count` push workspaces registered by the operator (a new id registered with the admin token mints its
    token: no anonymous bootstrap, so the per-address limit does not apply). [(id, token)]"""
    def one(_):
        wid = str(uuid.uuid4())
        r = http("POST", url + "/registry/register",
                 {"id": wid, "url": "http://127.0.0.1:9", "agent_card": {"name": "bench"}, "delivery_mode": "push"})
        return wid, r["auth_token"]
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        return list(ex.map(one, range(count)))


def heartbeat_requests(agents):
    return [("POST", "/registry/heartbeat",
             {"Content-Type": "application/json", "Authorization": f"Bearer {tok}"},
             json.dumps({"workspace_id": wid, "active_tasks": 1, "uptime_seconds": 10}, separators=(",", ":")))
            for wid, tok in agents]


# ---- results --------------------------------------------------------------------------------------------------

ROWS = []      # (row, measured, target, met: True/False/None)
DETAILS = []   # lines
FAILURES = []  # (step, reason)
RETRIED = []   # lines: a step that failed once and passed when run again


def row(name, measured, target="", met=None):
    ROWS.append((name, measured, target, met))
    print(f"  {name}: {measured}" + (f"  [target {target}: {'met' if met else 'NOT met'}]" if target else ""),
          flush=True)


def fmt_rate(rps, p50, p99):
    return f"{rps:,.0f} req/s, p50 {p50:.2f} ms, p99 {p99:.2f} ms"


def one_line(text):
    return " / ".join(line.strip() for line in text.strip().splitlines() if line.strip())


def percentile(values, p):
    s = sorted(values)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


# ---- steps ----------------------------------------------------------------------------------------------------

def step_heartbeat(label, new_db):
    """colony's heartbeat and activity insert between two runs of limit_server with byte-identical heartbeat
    requests (both servers up, only the one under load busy): the limit is the mean of the runs before and after,
    so a machine that gets busier or quieter during the step moves both sides."""
    port = free_port()
    writers = LIMIT_WRITERS
    with Proc("limit_server", [str(BUILD / "limit_server"), str(port), str(THREADS), str(writers), new_db()],
              port), colony(new_db()) as c:
        agents = register_agents(c.url)
        before = wrk(f"http://127.0.0.1:{port}", heartbeat_requests(agents))
        hb = wrk(c.url, heartbeat_requests(agents))
        act = wrk(c.url, [("POST", f"/workspaces/{wid}/activity",
                           {"Content-Type": "application/json", "Authorization": f"Bearer {tok}"},
                           '{"activity_type":"agent_log","summary":"bench"}') for wid, tok in agents])
        after = wrk(f"http://127.0.0.1:{port}", heartbeat_requests(agents))
    lim = tuple((x + y) / 2 for x, y in zip(before[:3], after[:3])) + (f"{before[3]} {after[3]}".strip(),)
    ratio = hb[0] / lim[0]
    row(f"heartbeat / limit, {label}", f"{ratio:.2f}× ({hb[0]:,.0f} vs {lim[0]:,.0f} req/s; p99 {hb[2]:.2f} vs "
        f"{lim[2]:.2f} ms)", "≥ 0.8×", ratio >= 0.8)
    DETAILS.append(f"heartbeat, {label}: colony POST /registry/heartbeat {fmt_rate(*hb[:3])}; limit_server "
                   f"({writers} writer{'s' if writers > 1 else ''}) {fmt_rate(*before[:3])} before colony's run and "
                   f"{fmt_rate(*after[:3])} after it (the ratio uses their mean). {AGENTS} workspaces, "
                   f"each heartbeat with its own token. {hb[3]} {lim[3]}".strip())
    aratio = act[0] / hb[0]
    row(f"activity insert / heartbeat, {label}", f"{aratio:.2f}× ({act[0]:,.0f} vs {hb[0]:,.0f} req/s; p99 "
        f"{act[2]:.2f} vs {hb[2]:.2f} ms)", "≥ 0.5×", aratio >= 0.5)
    DETAILS.append(f"activity, {label}: POST /workspaces/:id/activity (agent_log, each workspace with its own "
                   f"token) {fmt_rate(*act[:3])}. {act[3]}".strip())
    if ratio > 1.0:
        DETAILS.append(f"WARNING: colony beat the limit server on {label} ({ratio:.2f}×): the limit is not a limit.")


def org_template(nodes, name):
    """A tree of `nodes` workspaces, three levels: one root, ~sqrt(nodes) departments, their teams spread evenly."""
    depts = round(math.sqrt(nodes))
    teams = nodes - 1 - depts
    root = {"name": "root", "children": [
        {"name": f"d{d}", "children": [{"name": f"t{d}-{t}"} for t in range(teams // depts + (d < teams % depts))]}
        for d in range(depts)]}
    return json.dumps({"template": {"name": name, "defaults": {"model": "m"}, "workspaces": [root]}}).encode()


def timed_import(url, body, nodes, expect):
    t0 = time.perf_counter()
    r = http("POST", url + "/org/import", body)
    ms = (time.perf_counter() - t0) * 1000
    if r.get(expect) != nodes:
        raise RuntimeError(f"import of {nodes} nodes: expected {expect}={nodes}, got created={r.get('created')} "
                           f"skipped={r.get('skipped')}")
    return ms


def step_import(label, new_db):
    """POST /org/import of 1,000 and 10,000 nodes, each on a fresh database: the first creates them all, the
    repeat skips them all. Timed at the client (request sent to answer read). On SQLite the 10,000-node server
    then serves the list row."""
    for nodes in (1000, 10000):
        with colony(new_db()) as c:
            body = org_template(nodes, f"bench-{nodes}")
            first = timed_import(c.url, body, nodes, "created")
            repeat = timed_import(c.url, body, nodes, "skipped")
            target = nodes == 10000 and label == "SQLite"
            row(f"import {nodes:,} nodes, {label}: first / repeat", f"{first:,.0f} ms / {repeat:,.0f} ms",
                "first < 1 s" if target else "", first < 1000 if target else None)
            if nodes == 10000 and label == "SQLite":
                try:
                    list_row(c)
                except Exception as e:  # noqa: BLE001  (reported as its own failure; the imports still count)
                    FAILURES.append(("list", f"{type(e).__name__}: {e}"))


def list_row(c):
    raw = http("GET", c.url + "/workspaces", raw=True)
    doc = json.loads(raw)
    items = doc if isinstance(doc, list) else next((v for v in doc.values() if isinstance(v, list)), [])
    req = [("GET", "/workspaces", {"Authorization": f"Bearer {ADMIN}"}, None)]
    _, p50, p99, note1 = wrk(c.url, req, connections=1)  # latency: one request at a time
    rps, _, _, note8 = wrk(c.url, req, connections=8)     # throughput: 8 at a time
    faster = OLD_LIST_MS / p50
    row("GET /workspaces, 10,000 rows in the database", f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, {rps:,.1f} req/s "
        f"(speed-up {faster:.1f}× over the old {OLD_LIST_MS} ms)", f"≥ 10× faster than {OLD_LIST_MS} ms (p50 ≤ "
        f"{OLD_LIST_MS / 10:.0f} ms)", faster >= 10)
    DETAILS.append(f"list: GET /workspaces with its default query answers {len(items):,} workspaces in "
                   f"{len(raw):,} bytes; latency with one connection, req/s with 8. {note1} {note8}".strip())


async def probe_buildinfo(port, action):
    """GET /buildinfo on PROBE_CONNECTIONS keep-alive connections, each request timed on its own (paced, so the
    probe does not eat the CPU the import needs), while `action` runs in a thread. A connection that breaks is
    counted and opened again. Returns (latencies in ms of the requests that overlapped the action, the breaks
    during the action, action's result, action's ms)."""
    samples, breaks, stop = [], [], asyncio.Event()
    req = b"GET /buildinfo HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

    async def conn():
        while not stop.is_set():
            r, w = await asyncio.open_connection("127.0.0.1", port)
            try:
                while not stop.is_set():
                    t0 = time.perf_counter()
                    w.write(req)
                    head = await r.readuntil(b"\r\n\r\n")
                    if not head.startswith(b"HTTP/1.1 200"):
                        raise RuntimeError(f"/buildinfo answered {head[:40]!r}")
                    await r.readexactly(int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1)))
                    samples.append((t0, time.perf_counter()))
                    await asyncio.sleep(PROBE_PACE_S)
            except (ConnectionError, asyncio.IncompleteReadError) as e:
                breaks.append((time.perf_counter(), f"{type(e).__name__} after {time.perf_counter() - t0:.3f} s"))
            finally:
                w.close()

    tasks = [asyncio.create_task(conn()) for _ in range(PROBE_CONNECTIONS)]
    while len(samples) < 10 * PROBE_CONNECTIONS:  # every connection is open and answering
        if any(t.done() for t in tasks):
            break
        await asyncio.sleep(PROBE_PACE_S)
    t_start = time.perf_counter()
    result = await asyncio.get_running_loop().run_in_executor(None, action)
    t_end = time.perf_counter()
    stop.set()
    await asyncio.gather(*tasks)
    during = [(b - a) * 1000 for a, b in samples if a < t_end and b > t_start]
    return during, [why for t, why in breaks if t_start <= t <= t_end], result, (t_end - t_start) * 1000


def step_buildinfo(label, new_db):
    with colony(new_db()) as c:
        body = org_template(5000, "bench-5000")
        during, broke, raw, ms = asyncio.run(probe_buildinfo(
            c.port, lambda: http("POST", c.url + "/org/import", body, raw=True)))
    created = json.loads(raw).get("created")
    if created != 5000 or not during:
        raise RuntimeError(f"import created {created} of 5000, {len(during)} probes during it")
    worst = max(during)
    row(f"worst GET /buildinfo during a 5,000-node import, {label}", f"{worst:.1f} ms (p99 "
        f"{percentile(during, 99):.1f} ms)" + (f"; {len(broke)} probe connections broke" if broke else ""),
        "< 100 ms", worst < 100 and not broke)
    DETAILS.append(f"/buildinfo probe, {label}: {len(during):,} requests on {PROBE_CONNECTIONS} keep-alive "
                   f"connections (each paced {PROBE_PACE_S * 1000:g} ms apart) overlapped the {ms:,.0f} ms import; "
                   f"median {percentile(during, 50):.2f} ms, worst {worst:.1f} ms"
                   + (f"; connections broken during it: {'; '.join(broke)}." if broke else "."))


def subscribers(port, count, *mode):
    p = subprocess.Popen([str(BUILD / "ws_subscribers"), str(port), ADMIN, str(count), *mode], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return p


def step_fanout():
    with colony(str(TMP / f"fanout-{uuid.uuid4().hex[:6]}.db")) as c:
        ws = http("POST", c.url + "/workspaces", {"name": "fanout", "model": "m"})
        p = subscribers(c.port, FANOUT_SUBSCRIBERS, "fanout", str(FANOUT_EVENTS), ws["id"])
        try:
            out, err = p.communicate(timeout=300)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        if p.returncode != 0:
            raise RuntimeError(f"ws_subscribers exited {p.returncode}: {one_line(err)} {c.log_tail()}")
    lat = [float(m) for m in re.findall(r"^latency_ms \d+ ([\d.]+)$", out, re.M)]
    if len(lat) != FANOUT_EVENTS:
        raise RuntimeError(f"{len(lat)} of {FANOUT_EVENTS} events measured: {one_line(err)}")
    p50, p99 = percentile(lat, 50), percentile(lat, 99)
    row(f"fan-out of one event to {FANOUT_SUBSCRIBERS:,} WebSocket subscribers", f"p50 {p50:.1f} ms, p99 {p99:.1f} "
        "ms", "p99 < 50 ms", p99 < 50)
    DETAILS.append(f"fan-out: {FANOUT_EVENTS} notifies one after the other (after 3 not counted), each timed from "
                   f"writing POST /workspaces/:id/notify until the last of {FANOUT_SUBSCRIBERS:,} /ws subscribers "
                   f"(admin token, bench/ws_subscribers.c, epoll) has read its frame; max {max(lat):.1f} ms. "
                   f"{one_line(err)}")


def settled_rss(proc):
    """RSS once it stops moving (three reads 100 ms apart within 1% of each other, at most 5 s)."""
    last, deadline = [], time.monotonic() + 5
    while time.monotonic() < deadline:
        last = (last + [proc.rss_kib()])[-3:]
        if len(last) == 3 and max(last) - min(last) <= max(last) // 100:
            break
        time.sleep(0.1)
    return last[-1]


def step_memory():
    with colony(str(TMP / f"memory-{uuid.uuid4().hex[:6]}.db")) as c:
        idle = settled_rss(c)
        p = subscribers(c.port, IDLE_SUBSCRIBERS, "hold")
        try:
            deadline = time.monotonic() + 120
            line = ""
            while not line.startswith("ready"):
                if time.monotonic() > deadline or p.poll() is not None:
                    why = p.stderr.read() if p.poll() is not None else ""
                    raise RuntimeError(f"subscribers not ready: {line!r} {one_line(why)}")
                if select.select([p.stdout], [], [], 1)[0]:
                    line = p.stdout.readline()
            held = settled_rss(c)
        finally:
            p.stdin.close()
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    each = (held - idle) / IDLE_SUBSCRIBERS
    row("resident memory: idle / with 10,000 idle WebSocket subscribers",
        f"{idle / 1024:.1f} MiB / {held / 1024:.1f} MiB ({each:.1f} KiB per subscriber)", "< 100 MiB with them",
        held < 100 * 1024)


def step_a2a():
    agent_port, proxy_port = free_port(), free_port()
    with Proc("echo_agent", [str(BUILD / "echo_agent"), str(agent_port), str(THREADS)], agent_port) as agent, \
            Proc("proxy_limit", [str(BUILD / "proxy_limit"), str(proxy_port), str(THREADS), str(agent_port)],
                 proxy_port) as proxy, \
            colony(str(TMP / f"a2a-{uuid.uuid4().hex[:6]}.db")) as c:
        ws = http("POST", c.url + "/workspaces", {"name": "echo", "model": "m", "delivery_mode": "push"})
        http("POST", c.url + "/registry/register", {"id": ws["id"], "url": f"http://127.0.0.1:{agent.port}",
                                                    "agent_card": {"name": "echo"}, "delivery_mode": "push"},
             token=ws["auth_token"])
        body = json.dumps({"jsonrpc": "2.0", "id": "1", "method": "message/send", "params": {"message": {
            "role": "user", "parts": [{"kind": "text", "text": "ping"}]}}})
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {ADMIN}"}
        for url in (f"{c.url}/workspaces/{ws['id']}/a2a", f"http://127.0.0.1:{proxy.port}/"):
            reply = http("POST", url, body.encode())
            if (reply.get("result") or {}).get("messageId") != "echo-reply":  # relayed, not queued or refused
                raise RuntimeError(f"{url} did not relay the echo agent's answer: {json.dumps(reply)[:300]}")
        relay = wrk(c.url, [("POST", f"/workspaces/{ws['id']}/a2a", headers, body)])
        proxied = wrk(f"http://127.0.0.1:{proxy.port}", [("POST", "/", headers, body)])
        direct = wrk(f"http://127.0.0.1:{agent.port}", [("POST", "/", headers, body)])
    ratio = relay[0] / direct[0]
    row("A2A relay / direct (message/send to a local echo agent)", f"{ratio:.2f}× ({relay[0]:,.0f} vs "
        f"{direct[0]:,.0f} req/s; p99 {relay[2]:.2f} vs {direct[2]:.2f} ms)", "≥ 0.7×", ratio >= 0.7)
    row("h2o reverse proxy / direct (the ceiling of any relay on this engine and machine)",
        f"{proxied[0] / direct[0]:.2f}× ({proxied[0]:,.0f} req/s; p99 {proxied[2]:.2f} ms); colony relay / proxy "
        f"{relay[0] / proxied[0]:.2f}×", "", None)
    DETAILS.append(f"A2A: colony POST /workspaces/:id/a2a (admin caller, push target) {fmt_rate(*relay[:3])}; "
                   f"bench/proxy_limit.c (h2o's reverse proxy, keep-alive to the agent) {fmt_rate(*proxied[:3])}; "
                   f"bench/echo_agent.c called directly {fmt_rate(*direct[:3])}. {relay[3]} {proxied[3]} "
                   f"{direct[3]}".strip())


# ---- memory: recall over 100,000 memories, commit against the activity insert ----------------------------------

RECALL_RECORDS, RECALL_VOCAB, RECALL_QUERIES = 100_000, 5000, 500


def recall_corpus(rnd):
    """A vocabulary of pseudo-words used with Zipf's law (the shape of natural text), memories of 8 to 40 words."""
    syllables = [c + v for c in "bcdfghjklmnprstvw" for v in "aeiou"]
    vocab = list(dict.fromkeys("".join(rnd.choice(syllables) for _ in range(rnd.randint(2, 4)))
                               for _ in range(2 * RECALL_VOCAB)))[:RECALL_VOCAB]
    weights = [1 / (r + 1) for r in range(len(vocab))]
    cum, total = [], 0.0
    for w_ in weights:
        total += w_
        cum.append(total)
    docs = [" ".join(rnd.choices(vocab, cum_weights=cum, k=rnd.randint(8, 40))) for _ in range(RECALL_RECORDS)]
    return vocab, docs


def step_recall(label, new_db):
    """GET /workspaces/:id/v2/memories?q=<two words>&limit=10 over 100,000 memories, all in the three namespaces
    the searching workspace reads (every match is a candidate: the worst case for the ranking), one connection,
    queries of two words of Zipf ranks 10..1,000 (so a query finds from a handful to thousands of memories); then
    POST /workspaces/:id/memories against POST /workspaces/:id/activity, same workspaces, same wrk."""
    import random
    rnd = random.Random(16)
    vocab, docs = recall_corpus(rnd)
    with colony(new_db()) as c:
        root = http("POST", c.url + "/workspaces", {"name": "recall-root", "model": "m"})
        me = http("POST", c.url + "/workspaces", {"name": "recall-agent", "model": "m", "parent_id": root["id"]})
        where = [("LOCAL", "recall-agent"), ("TEAM", "recall-agent"), ("GLOBAL", "recall-root")]
        t0 = time.perf_counter()
        for start in range(0, RECALL_RECORDS, 10000):
            batch = [{"content": d, "scope": where[i % 3][0], "workspace_name": where[i % 3][1]}
                     for i, d in enumerate(docs[start:start + 10000], start)]
            r = http("POST", c.url + "/admin/memories/import", batch)
            if r.get("imported") != len(batch):
                raise RuntimeError(f"import of memories: {r}")
        load_s = time.perf_counter() - t0
        queries = [f"{vocab[rnd.randint(10, 1000)]} {vocab[rnd.randint(10, 1000)]}" for _ in range(RECALL_QUERIES)]
        auth = {"Authorization": f"Bearer {me['auth_token']}"}
        counts = []
        for q in queries[:50]:  # how many memories the queries find (the full list, by pages of 100)
            found, cursor = 0, None
            while True:
                path = f"/workspaces/{me['id']}/v2/memories?limit=100&q={urllib.parse.quote(q)}" + \
                    (f"&cursor={cursor}" if cursor else "")
                req = urllib.request.Request(c.url + path, headers=auth)
                with urllib.request.urlopen(req, timeout=60) as resp:
                    found += len(json.loads(resp.read())["memories"])
                    cursor = resp.headers.get("x-next-cursor")
                if not cursor:
                    break
            counts.append(found)
        reqs = [("GET", f"/workspaces/{me['id']}/v2/memories?q={urllib.parse.quote(q)}&limit=10", auth, None)
                for q in queries]
        recall = wrk(c.url, reqs, connections=1)
        agents = register_agents(c.url)
        commit = wrk(c.url, [("POST", f"/workspaces/{wid}/memories",
                              {"Content-Type": "application/json", "Authorization": f"Bearer {tok}"},
                              '{"content":"the staging cluster is deployed from the release branch","scope":"LOCAL"}')
                             for wid, tok in agents])
        act = wrk(c.url, [("POST", f"/workspaces/{wid}/activity",
                           {"Content-Type": "application/json", "Authorization": f"Bearer {tok}"},
                           '{"activity_type":"agent_log","summary":"bench"}') for wid, tok in agents])
    target = 10 if label == "SQLite" else 20
    row(f"memory recall over 100,000 memories, {label} (two words, limit 10)",
        f"p50 {recall[1]:.2f} ms, p99 {recall[2]:.2f} ms, {recall[0]:,.0f} req/s on one connection",
        f"p99 < {target} ms", recall[2] < target)
    ratio = commit[0] / act[0]
    row(f"memory commit / activity insert, {label}", f"{ratio:.2f}× ({commit[0]:,.0f} vs {act[0]:,.0f} req/s; p99 "
        f"{commit[2]:.2f} vs {act[2]:.2f} ms)", "≥ 0.5×", ratio >= 0.5)
    counts.sort()
    DETAILS.append(f"memory, {label}: 100,000 memories (8-40 words of a {RECALL_VOCAB:,}-word Zipf vocabulary) loaded "
                   f"through POST /admin/memories/import in {load_s:.1f} s, a third each in the workspace's own, "
                   f"team and org namespaces; {RECALL_QUERIES} two-word queries (ranks 10-1,000) found a median "
                   f"{counts[len(counts) // 2]:,} memories each (max {counts[-1]:,}); recall {fmt_rate(*recall[:3])} "
                   f"on one connection. Commit: POST /workspaces/:id/memories (LOCAL, {AGENTS} workspaces, each "
                   f"with its own token) {fmt_rate(*commit[:3])}; activity {fmt_rate(*act[:3])}. "
                   f"{recall[3]} {commit[3]} {act[3]}".strip())


# ---- the run --------------------------------------------------------------------------------------------------

def sqlite_db():
    return str(TMP / f"db-{uuid.uuid4().hex[:8]}.sqlite")


def steps(cluster):
    pg = cluster.new_database if cluster is not None else None
    return [
        ("heartbeat-sqlite", lambda: step_heartbeat("SQLite", sqlite_db)),
        ("heartbeat-pg", lambda: step_heartbeat("PostgreSQL", pg)),
        ("import-sqlite", lambda: step_import("SQLite", sqlite_db)),
        ("import-pg", lambda: step_import("PostgreSQL", pg)),
        ("buildinfo-sqlite", lambda: step_buildinfo("SQLite", sqlite_db)),
        ("buildinfo-pg", lambda: step_buildinfo("PostgreSQL", pg)),
        ("fanout", step_fanout),
        ("memory", step_memory),
        ("a2a", step_a2a),
        ("recall-sqlite", lambda: step_recall("SQLite", sqlite_db)),
        ("recall-pg", lambda: step_recall("PostgreSQL", pg)),
    ]


def run_step(name, fn, attempts=2):
    """Run one step; a failure is retried once on fresh servers (and said in the details, with its reason), a
    second failure is reported and the run goes on."""
    for attempt in range(1, attempts + 1):
        print(f"bench: {name}" + (f" (attempt {attempt})" if attempt > 1 else ""), flush=True)
        rows, details = len(ROWS), len(DETAILS)
        try:
            fn()
            return
        except Exception as e:  # noqa: BLE001  (one step's failure is reported; the rest still runs)
            traceback.print_exc()
            why = f"{type(e).__name__}: {e}"
            del ROWS[rows:], DETAILS[details:]
            if attempt == attempts:
                FAILURES.append((name, why))
            else:
                RETRIED.append(f"{name}: the first attempt failed and was run again: {why}")
        finally:
            stop_everything()


def raise_nofile():
    """10,000 subscribers need as many descriptors in colony and in the client (both inherit this)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 65536
    for limits in ((max(hard, want), max(hard, want)), (hard, hard)):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, limits)
            break
        except (ValueError, OSError):
            continue
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft < IDLE_SUBSCRIBERS + 1000:
        print(f"bench: open-file limit {soft} is below what {IDLE_SUBSCRIBERS:,} subscribers need", file=sys.stderr)


def stop_everything(*_):
    for p in list(LIVE):
        try:
            p.stop()
        except Exception:  # noqa: BLE001  (best effort on the way out)
            pass


def git(*args):
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True).stdout.strip()


def header(started, elapsed):
    sha = git("rev-parse", "HEAD") or "unknown"
    dirty = [l for l in git("status", "--porcelain").splitlines() if not l.endswith("bench/RESULTS.md")]
    version = subprocess.run([str(BUILD / "colony"), "version"], capture_output=True, text=True).stdout.strip()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
    return [
        f"- commit: `{sha}`{' with uncommitted changes' if dirty else ''}; binary: `{version}`",
        f"- machine: {os.cpu_count()} cores ({cpu}), {mem / 1048576:.0f} GiB, {platform.system()} "
        f"{platform.release()}; load average at start {started[1]}",
        f"- run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started[0]))}, {elapsed:.0f} s; wrk "
        f"-t{THREADS} -c{CONNECTIONS} -d{SECONDS:g}s on the same machine; every server with {THREADS} I/O threads, "
        f"colony with its default worker pools",
    ]


def write_results(started, elapsed):
    table = ["| row | measured | target | met |", "| --- | --- | --- | --- |"]
    for name, measured, target, met in ROWS:
        table.append(f"| {name} | {measured} | {target} | {'' if met is None else 'yes' if met else '**no**'} |")
    for step, reason in FAILURES:
        table.append(f"| {step} | **failed**: {one_line(reason)[:300]} | | **no** |")
    text = "\n".join([
        "# Benchmark results", "",
        "Written by `make bench` (`bench/run.py`); do not edit by hand. Ratios compare two servers measured in the "
        "same run with the same load generator, so they survive a noisy machine better than absolute figures.", "",
        *header(started, elapsed), "", *table, "", "## How each row was measured", "",
        *[f"- {d}" for d in DETAILS],
        "- import: POST /org/import of an inline template (root, departments, teams), timed at the client, on a "
        "fresh database per size; the repeat imports the same template again (every node skipped).",
        "- memory: VmRSS of colony (fresh SQLite database) once it settles, idle and then holding "
        f"{IDLE_SUBSCRIBERS:,} /ws subscribers (bench/ws_subscribers.c hold) that have all been upgraded.",
        "- limit_server: see the comment at the top of bench/limit_server.c for what it does and does not do.",
        *([""] + ["## Steps that failed once", ""] + [f"- {one_line(r)}" for r in RETRIED] if RETRIED else []),
        *([""] + ["## Failures", ""] + [f"- {s}: {one_line(r)}" for s, r in FAILURES] if FAILURES else []), ""])
    print("\n" + text)
    if ONLY:  # a partial run (development) leaves the committed results alone
        print("bench: BENCH_ONLY set, bench/RESULTS.md not written")
    else:
        (ROOT / "bench" / "RESULTS.md").write_text(text)


def main():
    global TMP
    for tool in ("colony", "limit_server", "echo_agent", "proxy_limit", "ws_subscribers"):
        if not (BUILD / tool).exists():
            raise SystemExit(f"bench: {BUILD / tool} is missing (make bench builds it)")
    if shutil.which("wrk") is None:
        raise SystemExit("bench: wrk is missing (make deps installs it)")
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(130))
    raise_nofile()
    TMP = pathlib.Path(tempfile.mkdtemp(prefix="colony-bench-"))
    started = (time.time(), " ".join(open("/proc/loadavg").read().split()[:3]))
    t0 = time.monotonic()
    cluster = None
    try:
        try:
            if not ONLY or any(n.endswith("-pg") for n in ONLY):
                cluster = PgCluster()
        except Exception as e:  # noqa: BLE001  (the PostgreSQL steps report it; SQLite still runs)
            FAILURES.append(("PostgreSQL cluster", f"could not start: {e}"))
        for name, fn in steps(cluster):
            if ONLY and name not in ONLY:
                continue
            if name.endswith("-pg") and cluster is None:
                FAILURES.append((name, "no PostgreSQL cluster"))
                continue
            run_step(name, fn)
    finally:
        stop_everything()
        if cluster is not None:
            try:
                cluster.stop()
            except Exception as e:  # noqa: BLE001
                FAILURES.append(("PostgreSQL cluster", f"could not stop: {e}"))
        write_results(started, time.monotonic() - t0)
        shutil.rmtree(TMP, ignore_errors=True)
    sys.exit(1 if FAILURES else 0)


if __name__ == "__main__":
    main()
