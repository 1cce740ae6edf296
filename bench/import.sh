#!/usr/bin/env bash
# Times the import of a generated 1,000-node org template with `colony import` on a fresh SQLite file (and on
# PostgreSQL when BENCH_PG_URL names an empty database): the first import creates every node in one transaction,
# the second skips them all. Prints milliseconds and nodes per second; never fails on speed.
set -euo pipefail
BIN=${1:-build/release/colony}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$tmp/org.yaml" <<'PY'
import sys
lines = ["name: Bench Org", "defaults: {model: sonnet}", "workspaces:"]
# 1 root, 9 departments, 110 teams per department: 1,000 nodes in all
lines += ["  - name: Root", "    children:"]
count = 1
for d in range(9):
    lines += [f"      - name: dept{d}", "        children:"]
    count += 1
    for t in range(110):
        lines += [f"          - name: team{d}-{t}", "            role: does the work"]
        count += 1
assert count == 1000, count
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PY
run() { # label, db
  local start end
  start=$(date +%s%N)
  "$BIN" import "$tmp/org.yaml" --db "$2" --log-level=error >/dev/null
  end=$(date +%s%N)
  local ms=$(( (end - start) / 1000000 ))
  printf '%-44s %8d ms %10.0f nodes/s\n' "$1" "$ms" "$(awk -v m="$ms" 'BEGIN{print 1000000/(m>0?m:1)}')"
}
echo
echo "org import of a 1,000-node template (colony import, one transaction)"
run "SQLite, first import (1,000 created)" "$tmp/bench.db"
run "SQLite, re-import (1,000 skipped)" "$tmp/bench.db"
if [ -n "${BENCH_PG_URL:-}" ]; then
  run "PostgreSQL, first import (1,000 created)" "$BENCH_PG_URL"
  run "PostgreSQL, re-import (1,000 skipped)" "$BENCH_PG_URL"
fi
