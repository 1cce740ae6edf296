#!/usr/bin/env bash
# `make run`: colony on SQLite (./colony.db, or $DATABASE_URL) with the demo org, in a local development posture,
# printing its URL (the console). Without ADMIN_TOKEN in the environment a fresh one is generated for this run and
# printed once. Without a secrets key (COLONY_SECRETS_KEY or COLONY_SECRETS_KEY_FILE) the first run makes one in
# ./colony.secrets.key, readable by its owner only, and later runs use it. Ctrl-C stops colony.
set -euo pipefail
BIN=${1:-build/release/colony}
if [ -z "${ADMIN_TOKEN:-}" ]; then
  ADMIN_TOKEN=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
  export ADMIN_TOKEN
  echo "admin token for this run: $ADMIN_TOKEN   (export ADMIN_TOKEN to choose your own)"
fi
if [ -z "${COLONY_SECRETS_KEY:-}" ] && [ -z "${COLONY_SECRETS_KEY_FILE:-}" ]; then
  COLONY_SECRETS_KEY_FILE=./colony.secrets.key
  if [ ! -e "$COLONY_SECRETS_KEY_FILE" ]; then # noclobber: two first runs at once never overwrite each other's key
    (umask 077 && set -o noclobber && head -c 32 /dev/urandom | base64 > "$COLONY_SECRETS_KEY_FILE") 2>/dev/null || true
    echo "secrets key generated in $COLONY_SECRETS_KEY_FILE (keep it with the database: the secrets cannot be read without it)"
  fi
  export COLONY_SECRETS_KEY_FILE
fi
# local development: agents on this machine (loopback, private ranges) are reachable; never metadata addresses
export ALLOW_PRIVATE_AGENT_URLS=${ALLOW_PRIVATE_AGENT_URLS:-true}
# the Molecule canvas works unchanged: loopback only (PORT picks the port, never the address), its dev servers'
# origins, and its anonymous event stream (admitted from loopback, for those origins and colony's console only)
export COLONY_LISTEN=127.0.0.1:${PORT:-8080}
export CORS_ORIGINS=${CORS_ORIGINS:-http://localhost:3000,http://localhost:3001,http://127.0.0.1:3000,http://127.0.0.1:3001}
export COLONY_DEV_OPEN_EVENTS=${COLONY_DEV_OPEN_EVENTS:-true}
# the demo org: idempotent, so a second `make run` finds it there and creates nothing
"$BIN" import org-templates/demo/org.yaml "${@:2}" --access-log=false >/dev/null
echo "console: open the URL below and sign in with the admin token"
exec "$BIN" serve "${@:2}"
