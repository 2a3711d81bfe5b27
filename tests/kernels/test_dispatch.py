"""`attention`'s choice of backend: logged once per caller, never switched silently, clear refusals."""
import importlib.util
import logging

import pytest
import torch

from spacetime import kernels
from spacetime.kernels import BACKEND_NAMES, BackendUnavailable, RopeGrid, attention, available_backends
from spacetime.kernels import adapters, backends
from spacetime.kernels.reference import reference_attention

from .checks import DEVICE, needs_triton, random_key_mask, random_qkv, relative_error


pytestmark = pytest.mark.usefixtures("fresh_backend_choices")

@pytest.fixture
def no_interpreter(monkeypatch):
    monkeypatch.setattr(backends, "triton_interpreting", lambda: False)


def announcements(caplog):
    return [record.getMessage() for record in caplog.records if record.name == "spacetime.attention"]


def test_backend_is_logged_once_per_caller(caplog):
    q, k, v = random_qkv(1, 16, 2, 64)
    with caplog.at_level(logging.INFO, logger="spacetime.attention"):
        for _ in range(3):
            attention(q, k, v, backend="sdpa", caller="dit")
        attention(q, k, v, caller="vae")
    lines = announcements(caplog)
    assert len(lines) == 2
    assert lines[0].startswith("dit uses attention backend 'sdpa'")
    assert lines[1].startswith("vae uses attention backend") and "requested 'auto'" in lines[1]


def test_auto_uses_sdpa_off_cuda_and_says_why(caplog):
    q, k, v = random_qkv(1, 16, 2, 64)
    with caplog.at_level(logging.INFO, logger="spacetime.attention"):
        out = attention(q.cpu(), k.cpu(), v.cpu())
    assert "'sdpa'" in announcements(caplog)[0] and "only on CUDA" in announcements(caplog)[0]
    assert relative_error(out, reference_attention(q.cpu(), k.cpu(), v.cpu())) <= 1e-5


def test_triton_on_cpu_without_interpreter_refuses_and_says_what_to_do(no_interpreter):
    q, k, v = (x.cpu() for x in random_qkv(1, 16, 2, 64))
    with pytest.raises(BackendUnavailable, match="needs a CUDA device; this tensor is on cpu — choose sdpa, "
                                                 "or set TRITON_INTERPRET=1"):
        attention(q, k, v, backend="triton")


def test_unknown_backend_lists_the_choices():
    q, k, v = random_qkv(1, 16, 2, 64)
    with pytest.raises(ValueError, match="choose one of auto, sdpa, triton, triton-int8, sageattention, flash_attn"):
        attention(q, k, v, backend="flash")


@pytest.mark.parametrize("name", ["sageattention", "flash_attn"])
def test_missing_package_backend_says_how_to_install(name):
    if importlib.util.find_spec(name) is not None:
        pytest.skip(f"{name} is installed here")
    q, k, v = random_qkv(1, 16, 2, 64)
    with pytest.raises(BackendUnavailable, match=f"{name} is not installed .*pip install"):
        attention(q, k, v, backend=name)


def test_available_backends_name_every_backend_with_reasons(no_interpreter):
    infos = {info.name: info for info in available_backends("cpu")}
    assert tuple(infos) == BACKEND_NAMES
    assert infos["sdpa"].available and infos["auto"].available and "sdpa" in infos["auto"].reason
    assert not infos["triton"].available and "CUDA" in infos["triton"].reason
    assert all(info.reason for info in infos.values() if not info.available)


def test_masked_calls_of_a_backend_without_masks_go_to_sdpa_and_say_so(monkeypatch, caplog):
    monkeypatch.setattr(adapters.FlashAttnBackend, "unavailable_reason", lambda self, *call: None)
    q, k, v = random_qkv(1, 16, 2, 64, keys=24)
    mask = random_key_mask(1, 24)
    with caplog.at_level(logging.INFO, logger="spacetime.attention"):
        out = attention(q, k, v, key_mask=mask, backend="flash_attn", caller="cross")
    assert "cross uses attention backend 'sdpa' (requested 'flash_attn'" in announcements(caplog)[0]
    assert "takes no key mask" in announcements(caplog)[0]
    assert relative_error(out, reference_attention(q, k, v, key_mask=mask)) <= 1e-5


@needs_triton
@pytest.mark.parametrize("backend, bound", [("triton", 1e-5), ("triton-int8", 0.05)])
def test_triton_backends_through_attention(backend, bound):
    grid = RopeGrid(2, 3, 5)
    q, k, v = random_qkv(1, grid.tokens, 2, 64)
    out = attention(q, k, v, rope=grid, backend=backend)
    assert relative_error(out, reference_attention(q, k, v, rope=grid)) <= bound


def test_inputs_that_cannot_work_are_refused_with_the_fix():
    q, k, v = random_qkv(1, 16, 2, 64, keys=8)
    with pytest.raises(ValueError, match="pass rope=None for cross-attention"):
        attention(q, k, v, rope=RopeGrid(1, 4, 4))
    with pytest.raises(ValueError, match="key_mask must be a bool tensor"):
        attention(q, k, v, key_mask=torch.ones(1, 8, device=DEVICE))
    with pytest.raises(ValueError, match=r"shaped \[batch, tokens, heads, head_dim\]"):
        attention(q[0], k, v)
