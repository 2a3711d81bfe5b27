"""bench/gpu.sh, prepared on the CPU so that time on a GPU is spent running it: its CPU modes end to end, a
part's failure or time limit not stopping the others, and its GPU commands naming tests and options that
exist (the GPU tests themselves skip without CUDA)."""
import os
import pathlib
import re
import shlex
import subprocess
import sys

import pytest
import torch

REPO = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bench" / "gpu.sh"
PARTS = ["tests", "attention", "dit_step", "vae", "fp8", "cache"]
no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU behaviour")


def run(*args, python=sys.executable, timeout=900, **env):
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHON": python, **env}, cwd=REPO)


@no_cuda
def test_without_cuda_every_part_is_skipped_and_nothing_written(tmp_path):
    results = tmp_path / "results.md"
    done = run("--results", str(results))
    assert done.returncode == 0, done.stderr
    assert "No CUDA device here" in done.stdout and "skipped" in done.stdout
    assert not results.exists()


@no_cuda
def test_smoke_run_runs_every_part_on_the_cpu(tmp_path):
    results = tmp_path / "results.md"
    done = run("--smoke", "--results", str(results))
    assert done.returncode == 0, done.stdout + done.stderr
    text = results.read_text()
    assert text.startswith("\n## bench/gpu.sh smoke run (not GPU figures) — `bash bench/gpu.sh` (")
    for part in PARTS:
        assert f"### {part} — `" in text and f"-- {part}: ok" in done.stdout, part
    assert "| sdpa (flash_attention) |" in text  # each part's table lands in the results
    assert "(block swap)" in text and "bars (rel L2 ≤ 1e-3, finite): met" in text


def test_a_failing_part_does_not_stop_the_others(tmp_path):
    results = tmp_path / "results.md"
    done = run("--smoke", "--results", str(results), python="false")
    assert done.returncode == 1
    for part in PARTS:
        assert f"-- {part}: failed, exit 1" in done.stdout, part
    assert "not complete: tests (exit 1) attention (exit 1)" in done.stdout
    assert results.read_text().count("(failed, exit 1)") == len(PARTS)


def test_parts_stop_at_their_limits_and_the_total_budget(tmp_path):
    slow = tmp_path / "slow_python"
    slow.write_text('#!/bin/sh\n[ "$1" = -c ] && { echo 0; exit; }\nsleep 60\n')  # no CUDA; every part hangs
    slow.chmod(0o755)
    done = run("--smoke", "--results", str(tmp_path / "results.md"), python=str(slow), GPU_SH_TOTAL_S="12")
    assert done.returncode == 1
    # the limit is what is left of the 12 s when the part starts (10 to 12 s: seconds may tick before it)
    assert re.search(r"-- tests: stopped at its 1[0-2]s limit", done.stdout), done.stdout
    assert "-- attention: not run, the 8-minute budget is spent" in done.stdout


def test_only_runs_the_parts_named(tmp_path):
    done = run("--smoke", "--results", str(tmp_path / "results.md"), "--only", "cache")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "-- cache: ok" in done.stdout and "-- tests" not in done.stdout


def gpu_commands():
    """The GPU branch's bench commands, as argument lists after "$PYTHON"."""
    text = SCRIPT.read_text()
    start = text.index("\nelse\n  part tests")
    branch = text[start:text.index("\nfi\n", start)]
    return [shlex.split(line.split('"$PYTHON"', 1)[1]) for line in branch.splitlines() if '"$PYTHON" bench/' in line]


def test_gpu_tests_are_collected_and_skip_without_cuda():
    text = SCRIPT.read_text()
    ids = re.findall(r"tests/\S+", text[text.index("gpu_tests=("):text.index(")", text.index("gpu_tests=("))])
    assert len(ids) == 3
    collected = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", *ids], cwd=REPO, capture_output=True,
                               text=True, timeout=600)
    assert collected.returncode == 0, collected.stdout[-2000:]
    if not torch.cuda.is_available():
        assert " passed" not in collected.stdout and " skipped" in collected.stdout


def test_gpu_commands_name_options_that_exist():
    commands = gpu_commands()
    assert {c[0] for c in commands} >= {"bench/attention.py", "bench/dit_step.py", "bench/vae_memory.py",
                                        "bench/fp8_memory.py"}
    for command in commands:
        script = REPO / command[0]
        if not script.exists():
            continue  # another helper's bench not there yet: the script says it is missing
        options = subprocess.run([sys.executable, str(script), "--help"], cwd=REPO, capture_output=True, text=True,
                                 timeout=300).stdout
        for option in (arg for arg in command[1:] if arg.startswith("--")):
            assert re.search(rf"{option}\b", options), f"{command[0]} has no {option}"
