"""The torch reference: the readable spec the kernels are tested against."""
import pytest
import torch
import torch.nn.functional as F

from spacetime.kernels.reference import (FP8_MAX, INT8_K_BLOCK, quantize_int8_blocks, quantize_v_fp8,
                                         reference_attention, reference_attention_int8)
from spacetime.kernels.rope import RopeGrid, apply_rope

from .checks import cosine, random_key_mask, relative_l1


def qkv(tokens=60, head_dim=64, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(2, tokens, 3, head_dim, generator=generator) for _ in range(3))


def test_reference_is_sdpa_in_float64():
    grid = RopeGrid(3, 4, 5)
    q, k, v = qkv(grid.tokens)
    mask = random_key_mask(2, grid.tokens).cpu()
    q_r, k_r = apply_rope(q, grid).double(), apply_rope(k, grid).double()
    sdpa = F.scaled_dot_product_attention(q_r.transpose(1, 2), k_r.transpose(1, 2), v.double().transpose(1, 2),
                                          attn_mask=mask[:, None, None, :]).transpose(1, 2)
    torch.testing.assert_close(reference_attention(q, k, v, rope=grid, key_mask=mask), sdpa)


def test_query_with_no_key_gets_zeros():
    q, k, v = qkv()
    mask = torch.ones(2, 60, dtype=torch.bool)
    mask[1] = False
    for out in (reference_attention(q, k, v, key_mask=mask), reference_attention_int8(q, k, v, key_mask=mask)):
        assert out[1].abs().max() == 0 and out[0].abs().min() > 0


def test_pair_tables_give_the_same_cos_sin_as_the_grid():
    grid, head_dim = RopeGrid(3, 5, 7), 128
    cos, sin = grid.cos_sin(head_dim)
    table_cos, table_sin = grid.pair_tables(head_dim)
    t, y, w = torch.meshgrid(torch.arange(3), torch.arange(5), torch.arange(7), indexing="ij")
    coordinate = torch.cat([c.reshape(-1, 1).expand(-1, n) for c, n in ((t, 22), (y, 21), (w, 21))], dim=1)
    pairs = torch.arange(head_dim // 2).expand_as(coordinate)
    assert torch.equal(table_cos[coordinate, pairs], cos) and torch.equal(table_sin[coordinate, pairs], sin)


def test_int8_blocks_round_to_nearest_with_one_scale_per_block():
    x = torch.randn(2, 150, 3, 64)  # 150 tokens: two full blocks of 64 and a ragged one
    codes, scale = quantize_int8_blocks(x, INT8_K_BLOCK)
    assert codes.dtype == torch.int8 and codes.abs().max() == 127
    per_token = scale.transpose(1, 2)[..., None]  # [B, N, H, 1]
    # half a step, plus float32 rounding of x * (127 / absmax) (up to 127 ulps of a step) and of code * scale
    bound = per_token / 2 * (1 + 1e-4) + torch.finfo(torch.float32).eps * x.abs()
    assert (codes.float() * per_token - x).abs().le(bound).all()
    block_of_token = torch.arange(150) // INT8_K_BLOCK
    assert all(len(scale[0, 0, block_of_token == b].unique()) == 1 for b in range(3))


def test_smoothing_keeps_int8_accurate_when_keys_share_an_offset():
    q, k, v = qkv(head_dim=128)
    offset = 4 * torch.randn(128)  # a common component of all keys, as after RMSNorm with learned scales
    expected = reference_attention(q, k + offset, v)
    out = reference_attention_int8(q, k + offset, v)
    assert cosine(out, expected) >= 0.999 and relative_l1(out, expected) <= 0.03


@pytest.mark.parametrize("pv_fp8", [False, True])
def test_int8_scheme_accuracy(pv_fp8):
    """INT8 QK alone stays within Sage's bounds. FP8 e4m3 P·V adds ~2.5 % relative L1 on these flat N(0, 1)
    attention maps (3 mantissa bits on P and on V; measured, not improvable by the scales), so its bound
    here is 0.05; on peaked attention of real models it is smaller."""
    grid = RopeGrid(2, 6, 8)
    q, k, v = qkv(grid.tokens, head_dim=128)
    expected = reference_attention(q, k, v, rope=grid)
    out = reference_attention_int8(q, k, v, rope=grid, pv_fp8=pv_fp8)
    assert cosine(out, expected) >= 0.999
    assert relative_l1(out, expected) <= (0.05 if pv_fp8 else 0.03)


def test_fp8_values_keep_their_channel_scale():
    v = torch.randn(1, 40, 2, 64) * torch.linspace(0.1, 10, 64)
    codes, scale = quantize_v_fp8(v)
    assert codes.shape == (1, 2, 64, 40)
    assert codes.float().abs().amax(dim=-1).eq(FP8_MAX).all()
    back = codes.float() * scale[..., None]
    smallest_step = 2 ** -9 * scale.max().item()  # e4m3 subnormals are spaced 2^-9
    torch.testing.assert_close(back.permute(0, 3, 1, 2), v, rtol=2 ** -4, atol=smallest_step / 2)
