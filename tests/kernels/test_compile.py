"""The kernels compile for Ampere, Ada and Hopper GPUs, within shared memory and without spilling (no GPU
needed: see gpu_compile.py)."""
import importlib.util
import pathlib
import subprocess
import sys

import pytest

from .checks import needs_triton

SCRIPT = pathlib.Path(__file__).with_name("gpu_compile.py")


@needs_triton
@pytest.mark.skipif(importlib.util.find_spec("triton.backends.nvidia") is None,
                    reason="this triton has no NVIDIA backend")
def test_kernels_compile_for_nvidia_gpus():
    result = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
