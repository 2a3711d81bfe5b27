"""Our Wan 3D RoPE against the host ComfyUI's own (WanModel.rope_encode + flux's apply_rope1).

The Triton-vs-SDPA and reference tests compare our implementations with each other, so a mistake made
in all of them alike (height and width swapped, the rotation's sign flipped) passes them. The host's Wan
RoPE is an independent reference. Grids have frames > 1 and height != width (both ways round), so that
every axis, and the difference between the two spatial ones, shows.
"""
import functools

import pytest
import torch

from conftest import import_host_comfy
from spacetime.kernels import RopeGrid, apply_rope, attention
from spacetime.kernels.rope import axis_dims

from .checks import needs_triton, random_qkv

GRIDS = [RopeGrid(3, 4, 6), RopeGrid(2, 5, 3)]


@functools.cache
def host_wan(head_dim: int):
    """A weightless host WanModel with two heads of head_dim: its rope_embedder is what core uses."""
    import_host_comfy()
    import comfy.ops
    from comfy.ldm.wan.model import WanModel

    return WanModel(dim=2 * head_dim, ffn_dim=32, num_heads=2, num_layers=0, text_dim=32, freq_dim=32,
                    device="meta", operations=comfy.ops.disable_weight_init)


def host_rope(x: torch.Tensor, grid: RopeGrid) -> torch.Tensor:
    """x [B, N, H, D] rotated as the host's WanSelfAttention rotates q and k for that latent token grid."""
    model = host_wan(x.shape[-1])
    from comfy.ldm.flux.math import apply_rope1

    # rope_encode takes the latent's (t, h, w) before the (1, 2, 2) patching
    freqs = model.rope_encode(grid.frames, 2 * grid.height, 2 * grid.width, device=x.device, dtype=x.dtype)
    assert freqs.shape[1] == grid.tokens
    return apply_rope1(x, freqs)


def host_attention(q, k, v, grid):
    """softmax(rope(q)·rope(k)ᵀ/√D)·v in float64, rope as the host applies it."""
    q, k = host_rope(q.float(), grid).double(), host_rope(k.float(), grid).double()
    scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / q.shape[-1] ** 0.5
    return torch.einsum("bhqk,bkhd->bqhd", scores.softmax(dim=-1), v.double())


def random_heads(grid, head_dim, heads=3, seed=0):
    return torch.randn(2, grid.tokens, heads, head_dim, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("grid", GRIDS, ids=str)
@pytest.mark.parametrize("head_dim", [128, 64, 96])
def test_rotation_matches_host(grid, head_dim):
    x = random_heads(grid, head_dim)
    torch.testing.assert_close(apply_rope(x, grid), host_rope(x, grid), atol=2e-6, rtol=1e-5)


@pytest.mark.parametrize("grid", GRIDS, ids=str)
def test_pair_tables_hold_the_host_angles(grid):
    """The per-axis tables the fused kernels gather from: token (t, y, w)'s cos and sin for pair j are
    row t, y or w (by j's axis: t pairs first, then height, then width) of column j."""
    head_dim = 128
    t_pairs, h_pairs, _ = (dim // 2 for dim in axis_dims(head_dim))
    unit = torch.zeros(1, grid.tokens, 1, head_dim)
    unit[..., 0::2] = 1.0  # each pair (1, 0) turns into (cos, sin)
    rotated = host_rope(unit, grid)[0, :, 0]
    host_cos, host_sin = rotated[:, 0::2], rotated[:, 1::2]

    cos, sin = grid.pair_tables(head_dim)
    t, y, w = torch.meshgrid(torch.arange(grid.frames), torch.arange(grid.height), torch.arange(grid.width),
                             indexing="ij")
    pairs = torch.arange(head_dim // 2)
    rows = torch.where(pairs < t_pairs, t.reshape(-1, 1),
                       torch.where(pairs < t_pairs + h_pairs, y.reshape(-1, 1), w.reshape(-1, 1)))
    torch.testing.assert_close(cos[rows, pairs], host_cos, atol=1e-6, rtol=0)
    torch.testing.assert_close(sin[rows, pairs], host_sin, atol=1e-6, rtol=0)


@pytest.mark.parametrize("grid", GRIDS, ids=str)
@pytest.mark.parametrize("backend, bound", [
    ("sdpa", 1e-5),
    pytest.param("triton", 1e-5, marks=needs_triton),  # RoPE fused into the kernel's loads
])
def test_self_attention_with_rope_matches_host(grid, backend, bound):
    q, k, v = (x.cpu() for x in random_qkv(1, grid.tokens, 2, 64, seed=3))
    expected = host_attention(q, k, v, grid)
    q, k, v = random_qkv(1, grid.tokens, 2, 64, seed=3)
    out = attention(q, k, v, rope=grid, backend=backend).cpu()
    error = (out.double() - expected).abs().max() / expected.abs().max()
    assert error <= bound
