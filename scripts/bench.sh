#!/usr/bin/env bash
# `make bench`: throughput of colony's request path on this machine, with wrk on loopback. Benchmarks print a
# table; they never fail on speed. The reference row is the cheapest route colony has (GET /buildinfo: routing,
# JSON, logging, no database), so the other rows read as a ratio to it on the same machine in the same run.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build/release}" && pwd)
DURATION=${BENCH_SECONDS:-5}
CONNS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-2}
command -v wrk >/dev/null || { echo "bench: wrk is missing (scripts/deps.sh installs it)"; exit 1; }

tmp=$(mktemp -d)
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export ADMIN_TOKEN="bench-$(date +%s%N)"
"$BUILD/colony" serve --db "$tmp/bench.db" --listen "127.0.0.1:$port" --threads "$THREADS" --access-log=false \
  >"$tmp/out" 2>"$tmp/log" &
pid=$!
for _ in $(seq 50); do grep -q listening "$tmp/out" && break; sleep 0.1; done

cat >"$tmp/put.lua" <<'LUA'
wrk.method = "PUT"
wrk.body = '{"x": 1.5, "y": -2, "zoom": 1}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("ADMIN_TOKEN")
LUA

run() { # name, path, [lua]
  local out rps p50 p99
  out=$(wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency ${3:+-s "$3"} "http://127.0.0.1:$port$2")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  echo "$1|$rps|$p50|$p99"
}

ref=$(run "GET /buildinfo (reference)" /buildinfo)
# every row must be a 2xx: a bench that measures refusals measures nothing
for path in /buildinfo /health /canvas/viewport; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port$path")
  [ "$code" = 200 ] || { echo "bench: GET $path answered $code"; exit 1; }
done
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: Bearer $ADMIN_TOKEN" \
  -d '{"x":1,"y":2,"zoom":1}' "http://127.0.0.1:$port/canvas/viewport")
[ "$code" = 200 ] || { echo "bench: PUT /canvas/viewport answered $code"; exit 1; }
rows=("$ref" "$(run "GET /health (db read)" /health)" "$(run "GET /canvas/viewport (db read)" /canvas/viewport)"
      "$(run "PUT /canvas/viewport (db write)" /canvas/viewport "$tmp/put.lua")")
ref_rps=$(cut -d'|' -f2 <<<"$ref")
echo
echo "colony $("$BUILD/colony" version | cut -d' ' -f2) on $(nproc) cores, SQLite, wrk -t2 -c$CONNS -d${DURATION}s, $THREADS I/O threads"
printf '%-36s %12s %9s %9s %9s\n' route "req/s" "vs ref" p50 p99
for r in "${rows[@]}"; do
  IFS='|' read -r name rps p50 p99 <<<"$r"
  printf '%-36s %12s %8.2fx %9s %9s\n' "$name" "$rps" "$(awk -v a="$rps" -v b="$ref_rps" 'BEGIN{print a/b}')" "$p50" "$p99"
done
bash "$ROOT/bench/import.sh" "$BUILD/colony"
