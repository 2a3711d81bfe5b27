"""Run the fused attention kernels on torch tensors: checks, tile sizes, and the 8-bit pre-pass.

Importing this module decorates the Triton kernels, which fixes whether they compile for a GPU or run in
Triton's CPU interpreter (TRITON_INTERPRET=1 at that moment). `spacetime.kernels` imports it only on the
first Triton call, so setting the variable any time before that is enough.
"""
import math

import torch
import triton

from ..reference import INT8_K_BLOCK, INT8_Q_BLOCK, quantize_v_fp8
from ..rope import RopeGrid, axis_dims
from .forward import flash_forward
from .prepass import quantize_int8, rotated_block_sums
from .tiles import INTERPRETED

HEAD_DIMS = (64, 128)
DTYPES = (torch.float16, torch.bfloat16, torch.float32)
LOG2_E = 1.4426950408889634


def unsupported_reason(device: torch.device, dtype: torch.dtype, head_dim: int) -> str | None:
    """Why these kernels cannot take such q, k, v, or None when they can."""
    if not INTERPRETED and device.type != "cuda":
        return (f"the Triton kernels were loaded compiled for a GPU (TRITON_INTERPRET was unset at their first "
                f"use), so they cannot run on {device.type} tensors — choose sdpa, or set TRITON_INTERPRET=1 "
                "before the first Triton attention call of the process")
    if head_dim not in HEAD_DIMS:
        return f"the Triton kernels support head_dim {HEAD_DIMS}; this call has {head_dim} — choose sdpa"
    if dtype not in DTYPES:
        return f"the Triton kernels take float16, bfloat16 or float32; this call has {dtype} — choose sdpa"
    return None


def fp8_available(device: torch.device) -> bool:
    """FP8 tensor-core dots: Ada/Hopper (compute capability 8.9) and newer, compiled (not interpreted)."""
    return (not INTERPRETED and device.type == "cuda"
            and torch.cuda.get_device_capability(device) >= (8, 9))


def flash_attention(q, k, v, *, rope: RopeGrid | None = None, key_mask=None, int8: bool = False,
                    pv_fp8: bool | None = None, out=None, block_m: int | None = None,
                    block_n: int | None = None, return_lse: bool = False):
    """softmax(rope(q)·rope(k)ᵀ/√D)·v for q [B, Nq, H, D], k, v [B, Nk, H, D]; result [B, Nq, H, D].

    Takes inputs as `inputs.check_inputs` accepts them (`attention` checks; direct callers must).

    int8: the SageAttention2-style scheme of `reference.reference_attention_int8`; pv_fp8 picks FP8 for
    P·V (default: where the GPU has it). out: a buffer to write into (tests poison it first).
    return_lse: also return each row's log-sum-exp of scores, float32 [B, Nq, H] (−inf for no key).
    block_m, block_n: tile sizes, for tests that need several tiles on small inputs.
    """
    reason = unsupported_reason(q.device, q.dtype, q.shape[-1])
    if reason:
        raise RuntimeError(reason)
    batch, n_queries, heads, head_dim = q.shape
    n_keys = k.shape[1]
    if pv_fp8 is None:
        pv_fp8 = int8 and fp8_available(q.device)
    elif pv_fp8 and not (int8 and fp8_available(q.device)):
        raise RuntimeError("FP8 P·V needs the int8 mode on a GPU with FP8 tensor cores (compute capability "
                           "8.9+, compiled rather than interpreted)")
    if INTERPRETED:  # each interpreted tile step costs ~10 ms whatever its size: the largest tiles win
        default_m, default_n, warps, stages = 64, 64, 1, 1
    else:
        capability = torch.cuda.get_device_capability(q.device)
        default_m, default_n, warps, stages = tile_config(head_dim, q.dtype, capability)
    block_m, block_n = block_m or default_m, block_n or default_n
    if out is None:
        out = torch.empty(batch, n_queries, heads, head_dim, dtype=q.dtype, device=q.device)
    lse = torch.empty(batch, heads, n_queries, dtype=torch.float32, device=q.device) if return_lse else q

    q_scale = k_scale = v_scale = q  # placeholders: pointer arguments the kernel does not read
    if int8:
        q, q_scale = quantize_int8_tokens(q, rope, INT8_Q_BLOCK, smooth=False)
        k, k_scale = quantize_int8_tokens(k, rope, INT8_K_BLOCK, smooth=True)
        rope = None  # applied by the pre-pass
    if pv_fp8:
        v, v_scale = quantize_v_fp8(v)
        v_strides = (v.stride(0), v.stride(3), v.stride(1), v.stride(2))  # [B, H, D, N] as (b, n, h, d)
    else:
        v_strides = v.stride()
    cos, sin, grid_height, grid_width, t_pairs, h_pairs = _rope_arguments(rope, head_dim, q.device)
    has_key_mask = key_mask is not None
    key_mask = key_mask.contiguous().view(torch.uint8) if has_key_mask else q  # q: unread placeholder

    flash_forward[(triton.cdiv(n_queries, block_m), batch * heads)](
        q, k, v, out, lse, *q.stride(), *k.stride(), *v_strides, *out.stride(),
        key_mask, key_mask.stride(0), q_scale, k_scale, v_scale,
        cos, sin, grid_height, grid_width,
        n_queries, n_keys, heads, LOG2_E / math.sqrt(head_dim),
        HEAD_DIM=head_dim, BLOCK_M=block_m, BLOCK_N=block_n, T_PAIRS=t_pairs, H_PAIRS=h_pairs,
        HAS_ROPE=rope is not None, HAS_KEY_MASK=has_key_mask, QK_INT8=int8, PV_FP8=pv_fp8,
        HAS_LSE=return_lse, INTERPRETED=INTERPRETED, num_warps=warps, num_stages=stages,
    )
    return (out, lse.transpose(1, 2)) if return_lse else out


def tile_config(head_dim: int, dtype: torch.dtype, capability: tuple[int, int]) -> tuple[int, int, int, int]:
    """(BLOCK_M, BLOCK_N, num_warps, num_stages) on a GPU of this compute capability.

    128 queries stay resident while keys stream past; Hopper (9.0) takes 64-key steps, Ampere and Ada
    32, because rotating each k tile costs registers there (mma operands live in registers) and Ada has
    99 KB of shared memory. Each choice compiles for its GPU without spilling more than a few bytes
    (tests/kernels/test_compile.py) but is not yet timed on hardware. float32 is for tests: IEEE dots
    need small tiles to fit shared memory.
    """
    if dtype == torch.float32:
        return 64, 32, 4, 1
    return 128, 64 if capability >= (9, 0) else 32, 8 if head_dim == 128 else 4, 3


def quantize_int8_tokens(x, rope: RopeGrid | None, block: int, smooth: bool):
    """INT8 codes [B, N, H, D] and per-token scales [B, H, N] of rope(x) (minus its mean when smooth)."""
    batch, tokens, heads, head_dim = x.shape
    cos, sin, grid_height, grid_width, t_pairs, h_pairs = _rope_arguments(rope, head_dim, x.device)
    shared = dict(HEAD_DIM=head_dim, BLOCK=block, T_PAIRS=t_pairs, H_PAIRS=h_pairs, HAS_ROPE=rope is not None)
    grid = (triton.cdiv(tokens, block), batch * heads)
    shift = x  # placeholder
    if smooth:
        sums = torch.empty(grid[0], batch * heads, head_dim, dtype=torch.float32, device=x.device)
        rotated_block_sums[grid](x, *x.stride(), sums, cos, sin, grid_height, grid_width, tokens, heads,
                                 **shared)
        shift = sums.sum(dim=0) / tokens  # [B·H, D]
    codes = torch.empty(x.shape, dtype=torch.int8, device=x.device)
    scales = torch.empty(batch, heads, tokens, dtype=torch.float32, device=x.device)
    quantize_int8[grid](x, *x.stride(), shift, codes, codes.stride(0), codes.stride(1), codes.stride(2),
                        scales, cos, sin, grid_height, grid_width, tokens, heads, HAS_SHIFT=smooth, **shared)
    return codes, scales


def _rope_arguments(rope: RopeGrid | None, head_dim: int, device):
    """(cos, sin, grid height, grid width, t pairs, h pairs) for the kernels; dummies without RoPE."""
    if rope is None:
        dummy = torch.empty(1, device=device)
        return dummy, dummy, 1, 1, 0, 0
    cos, sin = rope.pair_tables(head_dim, device)
    t_dim, h_dim, _ = axis_dims(head_dim)
    return cos, sin, rope.height, rope.width, t_dim // 2, h_dim // 2
