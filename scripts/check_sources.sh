#!/usr/bin/env bash
# Source hygiene that the compiler does not enforce: banned calls, and layers that point one way only
# (api -> model -> store -> base). Prints each violation; exits 1 if there is any.
set -uo pipefail
cd "$(dirname "$0")/.."
bad=0
report() { echo "check_sources: $1"; echo "$2" | sed 's/^/  /'; bad=1; }

hits=$(grep -rnE '\b(strcpy|strcat|sprintf|vsprintf|gets|strtok|atoi|atol|atof)\s*\(' src --include='*.c' --include='*.h')
[ -n "$hits" ] && report "banned calls (use the bounded forms)" "$hits"

hits=$(grep -rnE '\b(malloc|calloc|realloc)\s*\(' src --include='*.c' | grep -v '^src/base/' | grep -v 'sqlite3_malloc')
[ -n "$hits" ] && report "raw allocation outside base/ (use arena_* or x*alloc)" "$hits"

for dir in base store; do
  hits=$(grep -rnE '#include "(api|http|model|jobs|bus)/' "src/$dir")
  [ -n "$hits" ] && report "src/$dir reaches up a layer" "$hits"
done
hits=$(grep -rnE '#include "(api|model|store|jobs)/' src/http)
[ -n "$hits" ] && report "src/http knows the database or the domain (it gets a per-thread context instead)" "$hits"
hits=$(grep -rnE '#include "(api|http|jobs)/' src/model)
[ -n "$hits" ] && report "src/model knows HTTP" "$hits"
hits=$(grep -rnE '#include "store/' src/api)
[ -n "$hits" ] && [ -n "$(grep -v 'store/db.h' <<<"$hits")" ] && report "src/api reaches into store/" "$hits"
hits=$(grep -rnlE '\b(SELECT|INSERT INTO|UPDATE [a-z_]+ SET|DELETE FROM)\b' src/api src/http)
[ -n "$hits" ] && report "SQL outside model/ and store/" "$hits"

[ "$bad" -eq 0 ] && echo "check_sources: ok"
exit "$bad"
