#!/usr/bin/env bash
# Debian's chromium for the browser tests (tests/browser), installed with apt-get when it is missing;
# nothing to do when it is there. Playwright, which drives it, is a test requirement of the host's
# Python (requirements-test.txt); it never downloads a browser of its own.
#
# Where chromium cannot be installed (no apt-get, not root) this says so and carries on: the browser
# tests then fail with the same reason, so CI goes red rather than skipping them. SPACETIME_BROWSER=0
# skips the install and the tests; SPACETIME_CHROMIUM names another chromium binary.
set -euo pipefail

chromium="${SPACETIME_CHROMIUM:-/usr/bin/chromium}"
[ "${SPACETIME_BROWSER:-1}" = 0 ] && exit 0
[ -x "$chromium" ] && exit 0

if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "[setup] installing Debian's chromium for the browser tests"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; } \
    || echo "[setup] apt-get could not install chromium" >&2
fi
if [ ! -x "$chromium" ]; then
  echo "[setup] WARNING: no chromium at $chromium, and it cannot be installed here (needs apt-get as root):" \
       "the browser tests will fail. Install chromium, point SPACETIME_CHROMIUM at one, or set SPACETIME_BROWSER=0" \
       "to skip them." >&2
fi
