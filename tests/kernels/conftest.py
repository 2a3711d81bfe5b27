"""Run the Triton kernels in Triton's CPU interpreter when there is no GPU.

Triton fixes interpreted-or-compiled when a kernel is decorated, i.e. when spacetime.kernels.flash is
first imported, and spacetime.kernels imports it only on the first Triton attention call, never at import.
pytest imports every conftest.py while collecting, before any test runs, so setting the variable here
precedes every Triton call of the session, whichever test files imported spacetime.kernels earlier. It
stays set for the session; no other code launches Triton kernels on a machine without a GPU.
With a GPU it is left unset, so the same tests run compiled on CUDA tensors.
"""
import os

import pytest
import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")


@pytest.fixture
def fresh_backend_choices():
    """Backends chosen and announced afresh for the test, so each test sees its own log line."""
    from spacetime import kernels

    kernels._resolve.cache_clear()
    kernels._announced.clear()
    yield
    kernels._resolve.cache_clear()
    kernels._announced.clear()
