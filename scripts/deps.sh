#!/usr/bin/env bash
# Install what colony needs to build, run and test on Debian 12, from Debian's own packages. Idempotent and quiet:
# it installs only what is missing. Run as root (or with sudo available).
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libh2o-evloop-dev libwslay-dev libssl-dev libjansson-dev libyaml-dev libsqlite3-dev sqlite3
  libpq-dev libsodium-dev zlib1g-dev
  tzdata
  libcmocka-dev clang-14 libclang-rt-14-dev
  postgresql-15 postgresql-client-15
  python3 python3-pytest python3-requests python3-websocket python3-yaml
  wrk curl
  chromium fonts-dejavu-core  # the console's browser tests (headless, driven over the DevTools protocol)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps.sh: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
