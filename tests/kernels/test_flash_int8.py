"""The 8-bit mode of the fused kernel (`triton-int8`) against the exact and the 8-bit references.

Without a GPU the interpreter runs the INT8 q·kᵀ exactly and P·V in V's dtype (its FP8 casts are
wrong, so FP8 P·V is tested on GPUs only, in test_gpu.py).
"""
import pytest
import torch

from spacetime.kernels.reference import (INT8_K_BLOCK, INT8_Q_BLOCK, quantize_int8_blocks, reference_attention,
                                         reference_attention_int8, smoothing_shift)
from spacetime.kernels.rope import RopeGrid, rotate

from .checks import (DEVICE, cosine, needs_triton, poisoned_like, random_key_mask, random_qkv, relative_error,
                     relative_l1)

pytestmark = needs_triton
GRID = RopeGrid(3, 5, 9)  # 135 tokens: q blocks of 32 and k blocks of 64 both end ragged


def flash_int8(q, k, v, **options):
    from spacetime.kernels.flash.launch import flash_attention

    out = poisoned_like(q)
    flash_attention(q, k, v, int8=True, pv_fp8=False, out=out, block_m=32, block_n=32, **options)
    assert not out.isnan().any(), "the kernel left output elements unwritten"
    return out


@pytest.mark.parametrize("smooth, block", [(False, INT8_Q_BLOCK), (True, INT8_K_BLOCK)])
def test_prepass_codes_and_scales_match_the_reference(smooth, block):
    from spacetime.kernels.flash.launch import quantize_int8_tokens

    x = random_qkv(2, GRID.tokens, 2, 64)[0]
    codes, scales = quantize_int8_tokens(x, GRID, block, smooth=smooth)
    rotated = rotate(x, GRID)
    expected_codes, expected_scales = quantize_int8_blocks(
        rotated - smoothing_shift(rotated) if smooth else rotated, block)
    torch.testing.assert_close(scales, expected_scales, rtol=1e-6, atol=0)
    differ = codes.int() - expected_codes.int()
    # the kernel sums k's mean in another order, so a code sitting on a rounding edge may differ by one
    assert differ.abs().max() <= 1 and differ.ne(0).float().mean() < 1e-3
    assert smooth or differ.abs().max() == 0


@pytest.mark.parametrize("kind", ["rope", "mask"])
@pytest.mark.parametrize("head_dim", [64, 128])
def test_int8_accuracy_against_exact_attention(kind, head_dim):
    if kind == "rope":
        q, k, v = random_qkv(1, GRID.tokens, 2, head_dim, torch.bfloat16)
        options = dict(rope=GRID)
    else:
        q, k, v = random_qkv(2, 45, 2, head_dim, torch.bfloat16, keys=83)
        options = dict(key_mask=random_key_mask(2, 83))
    out = flash_int8(q, k, v, **options)
    expected = reference_attention(q, k, v, **options)
    assert cosine(out, expected) >= 0.999 and relative_l1(out, expected) <= 0.03


def test_int8_kernel_computes_the_int8_reference():
    """float32 inputs leave no rounding of P, so kernel and spec agree up to float32 rounding and the odd
    INT8 code that k's mean, summed in another order, moves across a rounding edge."""
    q, k, v = random_qkv(1, GRID.tokens, 2, 128, seed=3)
    k = k + 3 * torch.randn(128, device=DEVICE)  # a shared key offset that smoothing must remove
    out = flash_int8(q, k, v, rope=GRID)
    assert relative_error(out, reference_attention_int8(q, k, v, rope=GRID)) <= 1e-4
