#!/usr/bin/env bash
# Every test: sets up the local ComfyUI host (and chromium) if needed, then runs unit, kernel, host and
# browser tests.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/unit -k shape).
# SPACETIME_HOST=.host-0.33.0 runs them on another host instead, one made by
# `scripts/setup_host.sh TARBALL` beforehand.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export SPACETIME_HOST="${SPACETIME_HOST:-.host}"
if [ "$SPACETIME_HOST" = .host ]; then
  bash "$repo/scripts/setup_host.sh"
fi
bash "$repo/scripts/setup_browser.sh"  # chromium for tests/browser
[ -f "$repo/$SPACETIME_HOST/env" ] || { echo "no host set up in $SPACETIME_HOST (run scripts/setup_host.sh)" >&2; exit 1; }
source "$repo/$SPACETIME_HOST/env"
cd "$repo"
"$COMFY_PYTHON" -m pytest -q "$@"
