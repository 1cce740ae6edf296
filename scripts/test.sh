#!/usr/bin/env bash
# Runs the whole suite against the sanitizer build in $1 (default build/test): source checks, the cmocka unit
# tests, then the API tests (pytest) on SQLite and PostgreSQL. Ends with one line "N passed, N failed" and exits
# non-zero when anything failed.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build/test}" && pwd)
export LSAN_OPTIONS="suppressions=$ROOT/tests/lsan.supp:print_suppressions=0"
export ASAN_OPTIONS="detect_leaks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export COLONY_BIN="$BUILD/colony"
passed=0 failed=0

echo "== source checks"
if bash "$ROOT/scripts/check_sources.sh"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

echo "== unit tests (cmocka, ASan+UBSan)"
for t in "$BUILD"/test_*; do
  [ -x "$t" ] || continue
  out=$("$t" 2>&1); rc=$?
  p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\./\1/p' <<<"$out" | tail -1)
  f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s), listed below:/\1/p' <<<"$out" | tail -1)
  p=${p:-0} f=${f:-0}
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi # crashed, or a sanitizer report after the cases passed
  [ "$f" -ne 0 ] && echo "$out"
  echo "$(basename "$t"): $p passed, $f failed"
  passed=$((passed + p)) failed=$((failed + f))
done

echo "== API tests (pytest; each runs on SQLite and on PostgreSQL)"
junit="$BUILD/pytest-junit.xml"
rm -f "$junit"
(cd "$ROOT/tests/api" && /usr/bin/python3 -m pytest -q -p no:cacheprovider --junitxml="$junit" ${PYTEST_ARGS:-})
read -r p f < <(/usr/bin/python3 - "$junit" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception:
    print(0, 1); sys.exit()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
tests = sum(int(s.get("tests", 0)) for s in suites)
bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
skipped = sum(int(s.get("skipped", 0)) for s in suites)
print(tests - bad - skipped, bad if tests else 1)
PY
)
passed=$((passed + p)) failed=$((failed + f))

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
