#!/usr/bin/env python3
"""`make bench`: colony measured against references in the same run, so figures are ratios that survive a noisy
machine. Prints a table and writes bench/RESULTS.md; never fails on speed (only on a broken setup).

usage: bench/run.py BUILD_DIR      (env: BENCH_SECONDS per wrk run, default 5)
"""
import asyncio
import base64
import json
import os
import pathlib
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "api"))
from conftest import PgCluster, free_port  # noqa: E402  (the test suite's throwaway cluster and port picker)

BUILD = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "build" / "release").resolve()
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
THREADS = 2
ADMIN = "bench-" + uuid.uuid4().hex
WORKSPACES = 64


def http(method, url, body=None, token=ADMIN):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read() or b"null")


class Proc:
    def __init__(self, argv, env=None):
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                  env={**os.environ, **(env or {})})
        line = self.p.stdout.readline()
        if "listening on" not in line:
            raise SystemExit(f"bench: {argv[0]} did not start: {line!r}")

    def rss_kib(self):
        for line in open(f"/proc/{self.p.pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def stop(self):
        self.p.terminate()
        try:
            self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()
        self.p.stdout.close()


def colony(db, *extra):
    port = free_port()
    proc = Proc([str(BUILD / "colony"), "serve", "--db", db, "--listen", f"127.0.0.1:{port}", "--threads",
                 str(THREADS), "--access-log=false", "--log-level", "error", *extra], env={"ADMIN_TOKEN": ADMIN})
    return proc, f"http://127.0.0.1:{port}"


def wrk(url, lua=None, connections=64):
    argv = ["wrk", f"-t{THREADS}", f"-c{connections}", f"-d{SECONDS}s", "--latency"]
    if lua:
        f = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
        f.write(lua)
        f.close()
        argv += ["-s", f.name]
    out = subprocess.run(argv + [url], capture_output=True, text=True).stdout
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        raise SystemExit(f"bench: {url} answered {bad.group(1)} non-2xx responses:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    return rps, lat.get("50", "?"), lat.get("99", "?")


def heartbeat_lua(pairs, with_token):
    ids = ",".join(f'"{i}"' for i, _ in pairs)
    toks = ",".join(f'"{t}"' for _, t in pairs)
    auth = '["Authorization"] = "Bearer " .. toks[i],' if with_token else ""
    return f"""
local ids = {{{ids}}}
local toks = {{{toks}}}
local i = 0
request = function()
  i = i % #ids + 1
  return wrk.format("POST", "/registry/heartbeat", {{["Content-Type"] = "application/json", {auth}}},
    '{{"workspace_id":"' .. ids[i] .. '","active_tasks":1,"uptime_seconds":10}}')
end
"""


def heartbeat_rows(label, db_factory):
    limit_db, colony_db = db_factory(), db_factory()
    port = free_port()
    lim = Proc([str(BUILD / "limit_server"), str(port), str(THREADS), limit_db])
    pairs = [(str(uuid.uuid4()), "") for _ in range(WORKSPACES)]
    try:
        ref = wrk(f"http://127.0.0.1:{port}/", heartbeat_lua(pairs, False))
    finally:
        lim.stop()
    proc, url = colony(colony_db)
    try:
        pairs = []
        for _ in range(WORKSPACES):
            wid = str(uuid.uuid4())
            tok = http("POST", url + "/registry/register", {"id": wid, "agent_card": {"name": "b"},
                                                            "url": "http://localhost:9"})["auth_token"]
            pairs.append((wid, tok))
        got = wrk(url + "/", heartbeat_lua(pairs, True))
    finally:
        proc.stop()
    return [(f"heartbeat, {label}: limit_server (bare h2o + one upsert)", ref, None),
            (f"heartbeat, {label}: colony POST /registry/heartbeat", got, got[0] / ref[0])]


async def ws_open(port, count):
    conns = []
    for _ in range(count):
        r, w = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
        key = base64.b64encode(os.urandom(16)).decode()
        w.write((f"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
                 f"{key}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer {ADMIN}\r\n\r\n").encode())
        await r.readuntil(b"\r\n\r\n")
        conns.append((r, w))
    return conns


async def read_frame(r):
    b0, b1 = await r.readexactly(2)
    n = b1 & 0x7F
    if n == 126:
        n = int.from_bytes(await r.readexactly(2), "big")
    elif n == 127:
        n = int.from_bytes(await r.readexactly(8), "big")
    return await r.readexactly(n)


async def fanout(port, url, ws_id, subscribers=2000, events=20):
    conns = await ws_open(port, subscribers)
    latencies = []
    loop = asyncio.get_running_loop()
    for i in range(events):
        t0 = time.perf_counter()
        await loop.run_in_executor(None, lambda: http("POST", f"{url}/workspaces/{ws_id}/notify", {"message": f"b{i}"}))
        await asyncio.gather(*(read_frame(r) for r, _ in conns))
        latencies.append((time.perf_counter() - t0) * 1000)
    for _, w in conns:
        w.close()
    return latencies


async def hold(port, count, proc):
    conns = await ws_open(port, count)
    await asyncio.sleep(1)
    rss = proc.rss_kib()
    for _, w in conns:
        w.close()
    return rss


def main():
    if not (BUILD / "limit_server").exists():
        raise SystemExit("bench: build limit_server first (make bench does)")
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="colony-bench-"))
    rows, notes = [], []
    cluster = PgCluster()
    try:
        n = iter(range(1000))
        rows += heartbeat_rows("SQLite", lambda: str(tmp / f"db{next(n)}.sqlite"))
        rows += heartbeat_rows("PostgreSQL", cluster.new_database)

        # a 10,000-workspace org for the list, then fan-out, activity and memory on the same server
        big = tmp / "big.yaml"
        lines = ["name: Big", "defaults: {model: m}", "workspaces:", "  - name: root", "    children:"]
        for d in range(100):
            lines += [f"      - name: d{d}", "        children:"] + [f"          - name: t{d}-{k}" for k in range(99)]
        big.write_text("\n".join(lines) + "\n")
        db = str(tmp / "main.sqlite")
        t0 = time.perf_counter()
        subprocess.run([str(BUILD / "colony"), "import", str(big), "--db", db, "--log-level", "error"], check=True,
                       capture_output=True, env={**os.environ, "ADMIN_TOKEN": ADMIN})
        notes.append(f"importing the 10,000-node org took {(time.perf_counter() - t0) * 1000:.0f} ms")
        proc, url = colony(db)
        port = int(url.rsplit(":", 1)[1])
        try:
            idle = proc.rss_kib()
            listing = wrk(url + "/workspaces", f'wrk.headers["Authorization"] = "Bearer {ADMIN}"', connections=8)
            rows.append(("GET /workspaces (10,000 rows, ~6 MB JSON)", listing, None))
            ref = wrk(url + "/buildinfo")
            rows.append(("GET /buildinfo (routing + JSON, no database)", ref, None))
            ws = http("POST", url + "/workspaces", {"name": "bench", "model": "m"})
            act = wrk(url + f"/workspaces/{ws['id']}/activity",
                      f'wrk.method = "POST"\nwrk.body = \'{{"activity_type":"agent_log","summary":"x"}}\'\n'
                      f'wrk.headers["Content-Type"] = "application/json"\n'
                      f'wrk.headers["Authorization"] = "Bearer {ws["auth_token"]}"')
            rows.append(("POST /workspaces/:id/activity (insert)", act, act[0] / ref[0]))
            lat = asyncio.run(fanout(port, url, ws["id"]))
            lat.sort()
            p50, p99 = statistics.median(lat), lat[min(len(lat) - 1, int(len(lat) * 0.99))]
            notes.append(f"fan-out: one event to 2,000 WebSocket subscribers, time from the request until the last "
                         f"subscriber has it, over {len(lat)} events: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
            held = asyncio.run(hold(port, 10000, proc))
            notes.append(f"resident memory: {idle / 1024:.1f} MiB idle (10,000 workspaces in the database), "
                         f"{held / 1024:.1f} MiB holding 10,000 idle WebSocket subscribers "
                         f"({(held - idle) / 10000:.1f} KiB each)")
        finally:
            proc.stop()
    finally:
        cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    head = (f"{subprocess.run([str(BUILD / 'colony'), 'version'], capture_output=True, text=True).stdout.strip()}"
            f" on {os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}; wrk -t{THREADS} -c64 "
            f"-d{SECONDS}s on the same machine; colony and limit_server with {THREADS} I/O threads")
    table = ["| measurement | req/s | ratio | p50 | p99 |", "| --- | ---: | ---: | ---: | ---: |"]
    for name, (rps, p50, p99), ratio in rows:
        table.append(f"| {name} | {rps:,.0f} | {'' if ratio is None else f'{ratio:.2f}'} | {p50} | {p99} |")
    text = "\n".join([head, "", *table, "", *[f"- {n}" for n in notes]])
    print("\n" + text)
    (ROOT / "bench" / "RESULTS.md").write_text(
        "# Benchmark results\n\nProduced by `make bench` (`bench/run.py build/release`, then `bench/import.sh`). "
        "Ratios compare rows measured in the same run: a heartbeat against `bench/limit_server.c` on the same "
        "database, the activity insert against `GET /buildinfo`.\n\n" + text + "\n")


if __name__ == "__main__":
    main()
