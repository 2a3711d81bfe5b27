#!/usr/bin/env bash
# Every GPU figure of bench/RESULTS.md in one run of about 8 minutes on a CUDA machine:
#   tests     the GPU-only tests (compiled Triton kernels, the memory estimates' CUDA check, block swap on CUDA)
#   attention TFLOP/s of each backend at N = 32,760, D = 128, bf16 with fused RoPE, against the best SDPA kernel
#   dit_step  one DiT step at 1.3B size, 832x480x81, random weights, per backend; and with block swap
#   vae       VAE decode peak device memory, 832x480x81
#   fp8       fp8 and scaled fp8 1.3B files: load memory, output against the dequantised model
#   cache     the sampler with step caching against uncached (bench/step_cache.py, when it exists)
# Each part runs under its own time limit; a part that fails or runs out of time is reported and the
# others still run. Results are appended to RESULTS as each part ends: one dated section naming the device.
#
#   bash bench/gpu.sh [--results FILE] [--smoke] [--only PART...]
#
# Without CUDA every part is skipped, saying so, and nothing is written. --smoke runs every part at tiny
# sizes on the CPU instead (seconds to minutes; into a temporary file unless --results), to check the
# script itself: CI runs it so (tests/unit/test_gpu_script.py). PYTHON picks the interpreter (default:
# .host/venv's, else python3).
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
if [ -z "${PYTHON:-}" ]; then
  if [ -x .host/venv/bin/python ]; then PYTHON=.host/venv/bin/python; else PYTHON=python3; fi
fi
results=""
smoke=0
only=()
while [ $# -gt 0 ]; do
  case "$1" in
    --results) results="$2"; shift 2 ;;
    --smoke) smoke=1; shift ;;
    --only) shift; while [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; do only+=("$1"); shift; done ;;
    *) echo "unknown option $1 (use --results FILE, --smoke, --only PART...)" >&2; exit 2 ;;
  esac
done
if [ -z "$results" ]; then  # a smoke run's figures are no GPU figures: never into RESULTS.md unless asked
  if [ "$smoke" = 1 ]; then results=$(mktemp --suffix=.md); else results=bench/RESULTS.md; fi
fi
TOTAL_LIMIT=${GPU_SH_TOTAL_S:-470}  # the whole run stays under 8 minutes
started=$(date +%s)
logs=$(mktemp -d)
cuda=$("$PYTHON" -c "import torch; print(int(torch.cuda.is_available()))" 2>/dev/null || echo 0)
if [ "$cuda" = 1 ]; then
  device=$("$PYTHON" -c "import torch; print(torch.cuda.get_device_name(0))")
elif [ "$smoke" = 1 ]; then
  device="CPU smoke run (tiny sizes; no GPU figures)"
else
  echo "No CUDA device here (PYTHON=$PYTHON): every part of bench/gpu.sh needs one and is skipped."
  echo "Nothing was measured or written. On the CPU, 'bash bench/gpu.sh --smoke' checks the script itself."
  exit 0
fi
header_written=0
failed=()
echo "bench/gpu.sh on $device, results to $results, part logs in $logs"

wanted() {
  [ ${#only[@]} -eq 0 ] && return 0
  local part
  for part in "${only[@]}"; do [ "$part" = "$1" ] && return 0; done
  return 1
}

record() {  # record PART STATUS COMMAND LOG: append the part's figures to the results as they come
  if [ "$header_written" = 0 ]; then
    local title="GPU figures"
    [ "$smoke" = 1 ] && title="bench/gpu.sh smoke run (not GPU figures)"
    printf '\n## %s — `bash bench/gpu.sh` (%s, %s)\n' "$title" "$(date -u +%F)" "$device" >>"$results"
    header_written=1
  fi
  printf '\n### %s — `%s` (%s)\n\n' "$1" "$3" "$2" >>"$results"
  if [ "$1" = tests ]; then
    grep -E "passed|failed|error|skipped" "$4" | tail -n 3 >>"$results"
  else  # the benches print markdown tables and a few lines about them
    grep -vE "^(Traceback|  File |\s*$)" "$4" | tail -n 40 >>"$results"
  fi
}

part() {  # part NAME LIMIT_S COMMAND...: run one part under its limit, log it, record it
  local name=$1 limit=$2
  shift 2
  wanted "$name" || return 0
  local left=$((TOTAL_LIMIT - ($(date +%s) - started)))
  if [ "$left" -lt 10 ]; then
    echo "-- $name: not run, the 8-minute budget is spent"
    failed+=("$name (no time left)")
    return 0
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  echo "-- $name (at most ${limit}s): $*"
  local log="$logs/$name.log" status
  PYTHONUNBUFFERED=1 timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1
  local rc=$?
  case $rc in
    0) status="ok" ;;
    124|137) status="stopped at its ${limit}s limit"; failed+=("$name (time)") ;;
    *) status="failed, exit $rc"; failed+=("$name (exit $rc)") ;;
  esac
  tail -n 25 "$log"
  echo "-- $name: $status"
  record "$name" "$status" "$*" "$log"
}

missing() {  # missing NAME FILE: say which bench does not exist (yet) instead of failing on it
  wanted "$1" || return 0
  echo "-- $1: $2 does not exist in this checkout; not run"
  failed+=("$1 (missing $2)")
  if [ "$header_written" = 1 ]; then printf '\n### %s — not run: %s missing\n' "$1" "$2" >>"$results"; fi
}

# The tests that skip without CUDA (on the CPU they are collected and skipped: the smoke run checks the ids).
gpu_tests=(tests/kernels/test_gpu.py
  tests/unit/test_memory.py::test_the_estimates_bound_the_measured_cuda_peak
  tests/models/test_block_swap.py::test_streamed_blocks_wait_on_the_host_and_the_result_matches)
if [ "$smoke" = 1 ]; then
  part tests 120 "$PYTHON" -m pytest -q -rs "${gpu_tests[@]}"
  part attention 90 "$PYTHON" bench/attention.py --tiny --sdpa-kernels
  part dit_step 120 "$PYTHON" bench/dit_step.py --small --device cpu --backends sdpa --repeats 1 --blocks-on-device 1
  part vae 90 "$PYTHON" bench/vae_memory.py --frames 5 --modes discard --height 32 --width 32 --dim 8
  part fp8 150 "$PYTHON" bench/fp8_memory.py --small
  if [ -f bench/step_cache.py ]; then
    part cache 30 "$PYTHON" bench/step_cache.py --help
  else missing cache bench/step_cache.py; fi
else
  part tests 130 "$PYTHON" -m pytest -q -rs "${gpu_tests[@]}"
  part attention 70 "$PYTHON" bench/attention.py --heads 12 40 --sdpa-kernels
  part dit_step 100 "$PYTHON" bench/dit_step.py --device cuda --size 832x480x81 --blocks-on-device 10
  part vae 50 "$PYTHON" bench/vae_memory.py --device cuda --frames 81 --modes discard
  part fp8 70 "$PYTHON" bench/fp8_memory.py --device cuda
  if [ -f bench/step_cache.py ]; then
    part cache 60 "$PYTHON" bench/step_cache.py --device cuda --small --parts shapes
  else missing cache bench/step_cache.py; fi
fi

echo
echo "bench/gpu.sh done in $(($(date +%s) - started))s on $device; figures in $results"
if [ ${#failed[@]} -gt 0 ]; then
  echo "not complete: ${failed[*]} (part logs in $logs)"
  exit 1
fi
rm -rf "$logs"
