"""The 8-bit pre-pass: RoPE, k's smoothing shift and per-block INT8 quantisation, once per token.

Why a pre-pass rather than quantising inside the attention loop: k's shift is its mean over all
tokens, a reduction that must finish before any key can be quantised; and done in the loop, every
k tile would be rotated and quantised again for each of the Nq / BLOCK_M query blocks. Here each
token is rotated and quantised once, and the attention loop then reads half the bytes.
The maths is `reference.quantize_int8_blocks` applied to `rope.rotate(x)` (minus the shift for k).
"""
import triton
import triton.language as tl

from ..reference import INT8_MAX
from .tiles import load_tile, rotate_tile, store_tile

CODE_MAX = tl.constexpr(INT8_MAX)


@triton.jit
def rotated_block_sums(
    x_ptr, stride_b, stride_n, stride_h, stride_d, sums_ptr,
    cos_ptr, sin_ptr, grid_height, grid_width, n_tokens, heads,
    HEAD_DIM: tl.constexpr, BLOCK: tl.constexpr, T_PAIRS: tl.constexpr, H_PAIRS: tl.constexpr,
    HAS_ROPE: tl.constexpr,
):
    """sums[block, b·h, :] = Σ over the block's tokens of rotated x, float32: the parts of k's mean."""
    block, batch_head = tl.program_id(0), tl.program_id(1)
    tokens = block * BLOCK + tl.arange(0, BLOCK)
    x = _rotated(x_ptr, stride_b, stride_n, stride_h, stride_d, batch_head, heads, tokens, n_tokens,
                 cos_ptr, sin_ptr, grid_height, grid_width, HEAD_DIM, T_PAIRS, H_PAIRS, HAS_ROPE)
    dims = tl.arange(0, HEAD_DIM)
    tl.store(sums_ptr + (block * tl.num_programs(1) + batch_head) * HEAD_DIM + dims, tl.sum(x, 0))


@triton.jit
def quantize_int8(
    x_ptr, stride_b, stride_n, stride_h, stride_d, shift_ptr,
    codes_ptr, codes_stride_b, codes_stride_n, codes_stride_h, scale_ptr,
    cos_ptr, sin_ptr, grid_height, grid_width, n_tokens, heads,
    HEAD_DIM: tl.constexpr, BLOCK: tl.constexpr, T_PAIRS: tl.constexpr, H_PAIRS: tl.constexpr,
    HAS_ROPE: tl.constexpr, HAS_SHIFT: tl.constexpr,
):
    """INT8 codes [B, N, H, D] of one block of tokens of one head; the block's scale is written for each
    of its tokens into scales float32 [B, H, N] (contiguous)."""
    block, batch_head = tl.program_id(0), tl.program_id(1)
    tokens = block * BLOCK + tl.arange(0, BLOCK)
    x = _rotated(x_ptr, stride_b, stride_n, stride_h, stride_d, batch_head, heads, tokens, n_tokens,
                 cos_ptr, sin_ptr, grid_height, grid_width, HEAD_DIM, T_PAIRS, H_PAIRS, HAS_ROPE)
    if HAS_SHIFT:
        x -= tl.load(shift_ptr + batch_head * HEAD_DIM + tl.arange(0, HEAD_DIM))[None, :]
        x = tl.where((tokens < n_tokens)[:, None], x, 0.0)  # tail rows must not count in the max
    absmax = tl.max(tl.max(tl.abs(x), 1), 0)
    # IEEE division (a GPU's `/` is approximate), so codes match `reference.quantize_int8_blocks` exactly
    inverse = tl.where(absmax > 0, tl.math.div_rn(tl.full([], CODE_MAX, tl.float32), absmax), 0.0)
    codes = tl.floor(x * inverse + 0.5).to(tl.int8)

    b = (batch_head // heads).to(tl.int64)
    h = (batch_head % heads).to(tl.int64)
    store_tile(codes_ptr + b * codes_stride_b + h * codes_stride_h, codes_stride_n, 1, tokens, n_tokens,
               codes, HEAD_DIM)
    scale = tl.zeros([BLOCK], tl.float32) + absmax / CODE_MAX
    tl.store(scale_ptr + batch_head * n_tokens + tokens, scale, mask=tokens < n_tokens)


@triton.jit
def _rotated(x_ptr, stride_b, stride_n, stride_h, stride_d, batch_head, heads, tokens, n_tokens,
             cos_ptr, sin_ptr, grid_height, grid_width,
             HEAD_DIM: tl.constexpr, T_PAIRS: tl.constexpr, H_PAIRS: tl.constexpr, HAS_ROPE: tl.constexpr):
    """The float32 tile of x for `tokens` of one (batch, head), rotated by RoPE when HAS_ROPE."""
    b = (batch_head // heads).to(tl.int64)
    h = (batch_head % heads).to(tl.int64)
    x = load_tile(x_ptr + b * stride_b + h * stride_h, stride_n, stride_d, tokens, n_tokens, HEAD_DIM)
    x = x.to(tl.float32)
    if HAS_ROPE:
        x = rotate_tile(x, tokens, n_tokens, cos_ptr, sin_ptr, grid_height, grid_width,
                        HEAD_DIM, T_PAIRS, H_PAIRS)
    return x
