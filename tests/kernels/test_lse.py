"""`attention(..., return_lse=True)`: each row's log-sum-exp of scores, what ring attention merges by.

Every backend that returns one (sdpa by torch maths, the Triton kernels) against the float64 reference,
including a row whose keys are all masked (−inf, zero output); backends that cannot hand the call to sdpa.
"""
import logging

import pytest
import torch

from spacetime.kernels import attention
from spacetime.kernels.reference import reference_attention

from .checks import DEVICE, needs_triton, random_qkv


def masked_case():
    q, k, v = random_qkv(2, 45, 2, 64, keys=83)
    mask = torch.ones(2, 83, dtype=torch.bool)
    mask[0, 60:] = False
    mask[1] = False  # nothing to attend: lse −inf, output zeros
    return q, k, v, mask.to(DEVICE)


@pytest.mark.parametrize("backend", ["sdpa", pytest.param("triton", marks=needs_triton)])
def test_lse_matches_reference(backend):
    q, k, v, mask = masked_case()
    out, lse = attention(q, k, v, key_mask=mask, backend=backend, return_lse=True)
    expected, expected_lse = reference_attention(q, k, v, key_mask=mask, return_lse=True)
    assert lse.shape == (2, 45, 2) and lse.dtype == torch.float32
    assert (out.double() - expected).abs().max() < 1e-5
    assert (lse[0].double() - expected_lse[0]).abs().max() < 1e-5
    assert torch.isneginf(lse[1]).all() and torch.isneginf(expected_lse[1]).all()
    assert (out[1] == 0).all()


def test_lse_is_the_log_of_the_softmax_denominator():
    q, k, v = random_qkv(1, 10, 2, 16, keys=7)
    _, lse = reference_attention(q, k, v, return_lse=True)
    scores = torch.einsum("bqhd,bkhd->bqhk", q.double(), k.double()) / 4
    assert torch.allclose(lse, scores.exp().sum(-1).log())


@pytest.mark.parametrize("backend", ["sageattention", pytest.param("triton-int8", marks=needs_triton)])
def test_a_backend_without_lse_hands_the_call_to_sdpa(backend, monkeypatch, caplog, fresh_backend_choices):
    from spacetime.kernels import backends

    monkeypatch.setattr(backends.BACKENDS[backend], "unavailable_reason", lambda *args: None)
    q, k, v = random_qkv(1, 10, 2, 64, keys=7)
    with caplog.at_level(logging.INFO, logger="spacetime.attention"):
        _, lse = attention(q, k, v, backend=backend, return_lse=True, caller="lse-test")
    _, expected_lse = reference_attention(q, k, v, return_lse=True)
    assert (lse.double() - expected_lse).abs().max() < 1e-5
    assert f"{backend} returns no log-sum-exp, so calls that need one (ring attention) use sdpa" in caplog.text
