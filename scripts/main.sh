#!/usr/bin/env bash
# The main job on a fresh machine: set up the local ComfyUI host, run the default workflow, and print
# where the output went. Pass another workflow file to run that one instead.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$repo/scripts/setup_host.sh"
source "$repo/.host/env"
"$COMFY_PYTHON" "$repo/scripts/run_workflow.py" "${1:-$repo/workflows/Text to video (shapes world).json}"
