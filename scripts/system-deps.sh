#!/usr/bin/env bash
# System services and packages the test suite uses (DESIGN.md §6), set up when missing:
#   - Debian packages: softhsm2 (PKCS#11 tests), chromium (browser tests, driven by Playwright);
#   - PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379, started if installed but not running.
# Needs root (or sudo) only when something is missing; otherwise it changes nothing. Tests that need a piece this
# script could not provide skip with the reason.
set -uo pipefail

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"; else return 1; fi
}

missing=()
[ -e /usr/lib/softhsm/libsofthsm2.so ] || missing+=(softhsm2)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  echo "system-deps: installing ${missing[*]} (apt)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null \
    || { as_root apt-get update -q >/dev/null && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null; } \
    || echo "system-deps: could not install ${missing[*]}; the tests that need them will be skipped"
fi

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! port_open 5432 && [ -d /etc/postgresql ]; then
  echo "system-deps: starting PostgreSQL"
  as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
fi
if ! port_open 6379 && command -v redis-server >/dev/null 2>&1; then
  echo "system-deps: starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null || true
fi
exit 0
