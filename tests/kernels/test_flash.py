"""The fused Triton kernel (fp32/fp16/bf16) against the float64 reference.

Without a GPU these run in Triton's interpreter (see conftest.py), on small shapes with 32-token tiles
so that every case spans several tiles and ends in a ragged one.
"""
import pytest
import torch
import torch.nn.functional as F

from spacetime.kernels.reference import reference_attention
from spacetime.kernels.rope import RopeGrid, apply_rope

from .checks import (DEVICE, max_error, needs_triton, poisoned_like, random_key_mask, random_qkv,
                     relative_error)

pytestmark = needs_triton
GRID = RopeGrid(2, 5, 7)  # 70 tokens: tiles of 32 leave a tail of 6
TILES = dict(block_m=32, block_n=32)


def flash(q, k, v, **options):
    from spacetime.kernels.flash.launch import flash_attention

    out = poisoned_like(q)
    flash_attention(q, k, v, out=out, **TILES, **options)
    assert not out.isnan().any(), "the kernel left output elements unwritten"
    return out


def sdpa(q, k, v, rope=None, key_mask=None):
    if rope is not None:
        q, k = apply_rope(q, rope), apply_rope(k, rope)
    mask = None if key_mask is None else key_mask[:, None, None, :]
    return F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
                                          attn_mask=mask).transpose(1, 2)


def case(kind, head_dim, dtype):
    """(q, k, v, options): self-attention with RoPE, or ragged cross-attention with a key mask."""
    if kind == "rope":
        return *random_qkv(1, GRID.tokens, 2, head_dim, dtype), dict(rope=GRID)
    q, k, v = random_qkv(2, 45, 2, head_dim, dtype, keys=83)
    return q, k, v, dict(key_mask=random_key_mask(2, 83))


@pytest.mark.parametrize("kind", ["rope", "mask"])
@pytest.mark.parametrize("head_dim", [64, 128])
def test_float32_matches_reference(kind, head_dim):
    q, k, v, options = case(kind, head_dim, torch.float32)
    assert relative_error(flash(q, k, v, **options), reference_attention(q, k, v, **options)) <= 1e-5


@pytest.mark.parametrize("kind", ["rope", "mask"])
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("head_dim", [64, 128])
def test_half_precision_within_twice_sdpa(kind, dtype, head_dim):
    q, k, v, options = case(kind, head_dim, dtype)
    expected = reference_attention(q, k, v, **options)
    out = flash(q, k, v, **options)
    assert out.dtype == dtype
    assert max_error(out, expected) <= 2 * max_error(sdpa(q, k, v, **options), expected)


def test_fused_rope_equals_rope_then_attention():
    q, k, v = random_qkv(1, GRID.tokens, 2, 128, torch.bfloat16, seed=1)
    fused = flash(q, k, v, rope=GRID)
    separate = flash(apply_rope(q, GRID), apply_rope(k, GRID), v)
    assert max_error(fused, separate) <= 1e-6 * separate.abs().max().item()


def test_strided_views_of_a_fused_projection():
    """q, k, v cut from one [B, N, 3, H, D] tensor: the kernel reads them through their strides."""
    qkv = torch.randn(1, 40, 3, 2, 64, device=DEVICE)
    q, k, v = qkv.unbind(2)
    assert not q.is_contiguous()
    assert relative_error(flash(q, k, v), reference_attention(q, k, v)) <= 1e-5


def test_query_with_no_key_to_attend_gets_zeros():
    q, k, v = random_qkv(2, 20, 1, 64, keys=40)
    mask = torch.ones(2, 40, dtype=torch.bool, device=DEVICE)
    mask[1] = False
    out = flash(q, k, v, key_mask=mask)
    assert out[1].abs().max() == 0
    assert relative_error(out, reference_attention(q, k, v, key_mask=mask)) <= 1e-5
