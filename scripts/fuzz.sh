#!/usr/bin/env bash
# Runs every libFuzzer target built in $1 for FUZZ_SECONDS (default 60) each, under ASan+UBSan. A crash fails.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build/fuzz}" && pwd)
SECONDS_EACH=${FUZZ_SECONDS:-60}
export LSAN_OPTIONS="suppressions=$ROOT/tests/lsan.supp:print_suppressions=0"
for f in "$BUILD"/fuzz_*; do
  [ -x "$f" ] || continue
  name=$(basename "$f")
  corpus="$BUILD/corpus/$name"
  mkdir -p "$corpus"
  echo "== $name for ${SECONDS_EACH}s"
  "$f" -max_total_time="$SECONDS_EACH" -max_len=4096 -print_final_stats=1 "$corpus" 2>&1 | tail -n 12
done
