#!/usr/bin/env bash
# Every test: sets up the local ComfyUI host if needed, then runs unit, kernel and host tests.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/unit -k shape).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$repo/scripts/setup_host.sh"
source "$repo/.host/env"
cd "$repo"
"$COMFY_PYTHON" -m pytest -q "$@"
