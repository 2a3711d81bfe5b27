"""bench/attention.py runs on GPU machines only; here its options and its --tiny smoke mode must work."""
import pathlib
import subprocess
import sys

import pytest
import torch

from .checks import needs_triton

BENCH = pathlib.Path(__file__).resolve().parents[2] / "bench" / "attention.py"


def run_bench(*args):
    return subprocess.run([sys.executable, str(BENCH), *args], capture_output=True, text=True, timeout=120)


def test_help_lists_the_options():
    result = run_bench("--help")
    assert result.returncode == 0 and "--tiny" in result.stdout and "--heads" in result.stdout


@needs_triton
def test_tiny_run_prints_a_row_per_backend():
    result = run_bench("--tiny")
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    assert [row.split(" | ")[0] for row in rows[1:]] == ["| sdpa", "| triton", "| triton-int8"]
    assert "failed" not in result.stdout


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_without_cuda_it_exits_with_a_reason():
    result = run_bench("--heads", "1")
    assert result.returncode == 1 and "needs CUDA" in result.stderr
