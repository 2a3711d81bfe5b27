"""Compiled-kernel checks at larger shapes and the default tiles; they need a CUDA GPU (skipped without)."""
import logging

import pytest
import torch
import torch.nn.functional as F

from spacetime import kernels
from spacetime.kernels import RopeGrid, attention
from spacetime.kernels.reference import reference_attention
from spacetime.kernels.rope import apply_rope

from .checks import cosine, max_error, needs_cuda, needs_triton, random_key_mask, random_qkv, relative_l1

pytestmark = [needs_cuda, needs_triton]


def flash(q, k, v, **options):
    from spacetime.kernels.flash.launch import flash_attention

    out = torch.full_like(q, float("nan"))
    flash_attention(q, k, v, out=out, **options)
    assert not out.isnan().any(), "the kernel left output elements unwritten"
    return out


def sdpa_error(q, k, v, expected, rope=None, key_mask=None):
    if rope is not None:
        q, k = apply_rope(q, rope), apply_rope(k, rope)
    mask = None if key_mask is None else key_mask[:, None, None, :]
    out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
                                         attn_mask=mask).transpose(1, 2)
    return max_error(out, expected)


@pytest.mark.parametrize("head_dim, dtype", [(128, torch.bfloat16), (64, torch.float16)])
def test_compiled_self_attention_with_rope(head_dim, dtype):
    grid = RopeGrid(3, 30, 52)  # Wan's 832x480 latent plane, 3 frames: 4680 tokens
    q, k, v = random_qkv(1, grid.tokens, 2, head_dim, dtype)
    expected = reference_attention(q, k, v, rope=grid)
    assert max_error(flash(q, k, v, rope=grid), expected) <= 2 * sdpa_error(q, k, v, expected, rope=grid)


def test_compiled_cross_attention_with_key_mask():
    q, k, v = random_qkv(2, 1000, 4, 128, torch.bfloat16, keys=512)
    mask = random_key_mask(2, 512)
    expected = reference_attention(q, k, v, key_mask=mask)
    assert max_error(flash(q, k, v, key_mask=mask), expected) <= 2 * sdpa_error(q, k, v, expected, key_mask=mask)


@pytest.mark.parametrize("pv_fp8", [False, True])
def test_compiled_int8(pv_fp8):
    from spacetime.kernels.flash.launch import fp8_available

    if pv_fp8 and not fp8_available(torch.device("cuda")):
        pytest.skip("FP8 P·V needs compute capability 8.9+")
    grid = RopeGrid(3, 30, 52)
    q, k, v = random_qkv(1, grid.tokens, 2, 128, torch.bfloat16)
    expected = reference_attention(q, k, v, rope=grid)
    out = flash(q, k, v, rope=grid, int8=True, pv_fp8=pv_fp8)
    # FP8 P·V costs ~2.5 % relative L1 on flat N(0, 1) attention maps (see test_reference.py)
    assert cosine(out, expected) >= 0.999 and relative_l1(out, expected) <= (0.05 if pv_fp8 else 0.03)


def test_auto_picks_triton_after_its_self_check(caplog):
    kernels._resolve.cache_clear()
    kernels._announced.clear()
    q, k, v = random_qkv(1, 64, 2, 128, torch.bfloat16)
    with caplog.at_level(logging.INFO, logger="spacetime.attention"):
        attention(q, k, v, caller="gpu-test")
    assert "gpu-test uses attention backend 'triton'" in caplog.text, caplog.text
