#!/usr/bin/env bash
# `make run`: colony on SQLite (./colony.db by default, or $DATABASE_URL), printing its URL. Ctrl-C stops it.
set -euo pipefail
BIN=${1:-build/release/colony}
exec "$BIN" serve "${@:2}"
