"""The fused attention forward kernel: one program per (block of queries, batch·head).

It streams blocks of keys and values past a resident query block with an online softmax (running row
max and sum, float32 accumulator), so the [Nq, Nk] score matrix never exists. Compile-time switches
select what is fused into the loads and dots:
- HAS_ROPE: rotate q once and every k tile by Wan's 3D RoPE (rounded back to the input dtype, as
  `apply_rope` does), from the token index and the grid; self-attention only.
- QK_INT8: q and k arrive as INT8 codes with per-token scales (`prepass`); scores are an exact
  int32 dot scaled by both.
- PV_FP8: V arrives as FP8 e4m3 [B, H, D, N] with per-channel scales; P is scaled by FP8_MAX into
  FP8 and the product accumulates in float32. Otherwise P is rounded to V's dtype, like FlashAttention.
- HAS_LSE: also store each row's natural log-sum-exp of scores (−inf for a row with no key), float32
  [B, H, Nq], which ring attention needs to merge partial results.
Scores are kept in log2 units (qk_scale includes log2(e)) so the exponentials are exp2. INTERPRETED
switches on the workarounds for Triton's CPU interpreter (`tiles.dot`, `tiles.cast`).
"""
import triton
import triton.language as tl

from ..reference import FP8_MAX
from .tiles import cast, dot, load_tile, rotate_tile, store_tile

P_SCALE = tl.constexpr(FP8_MAX)
NO_MAX = tl.constexpr(-1.0e30)  # finite start for the row max: exp2(NO_MAX - NO_MAX) is 1, not NaN
LN_2 = tl.constexpr(0.6931471805599453)  # log-sum-exp in log2 units -> natural log


@triton.jit
def flash_forward(
    q_ptr, k_ptr, v_ptr, out_ptr, lse_ptr,
    stride_qb, stride_qn, stride_qh, stride_qd,
    stride_kb, stride_kn, stride_kh, stride_kd,
    stride_vb, stride_vn, stride_vh, stride_vd,
    stride_ob, stride_on, stride_oh, stride_od,
    key_mask_ptr, stride_mask_b,
    q_scale_ptr, k_scale_ptr, v_scale_ptr,
    cos_ptr, sin_ptr, grid_height, grid_width,
    n_queries, n_keys, heads, qk_scale,
    HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
    T_PAIRS: tl.constexpr, H_PAIRS: tl.constexpr,
    HAS_ROPE: tl.constexpr, HAS_KEY_MASK: tl.constexpr, QK_INT8: tl.constexpr, PV_FP8: tl.constexpr,
    HAS_LSE: tl.constexpr, INTERPRETED: tl.constexpr,
):
    batch_head = tl.program_id(1)
    b = (batch_head // heads).to(tl.int64)
    h = (batch_head % heads).to(tl.int64)
    queries = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)

    q = load_tile(q_ptr + b * stride_qb + h * stride_qh, stride_qn, stride_qd, queries, n_queries, HEAD_DIM)
    if HAS_ROPE:
        q = cast(rotate_tile(q.to(tl.float32), queries, n_queries, cos_ptr, sin_ptr, grid_height, grid_width,
                             HEAD_DIM, T_PAIRS, H_PAIRS), q.dtype, INTERPRETED)
    if QK_INT8:
        row_scale = tl.load(q_scale_ptr + batch_head * n_queries + queries, mask=queries < n_queries,
                            other=0.0) * qk_scale
    k_base = k_ptr + b * stride_kb + h * stride_kh
    v_base = v_ptr + b * stride_vb + h * stride_vh

    row_max = tl.full([BLOCK_M], NO_MAX, tl.float32)
    row_sum = tl.zeros([BLOCK_M], tl.float32)
    acc = tl.zeros([BLOCK_M, HEAD_DIM], tl.float32)
    for start in range(0, n_keys, BLOCK_N):
        keys = start + tl.arange(0, BLOCK_N)
        k = load_tile(k_base, stride_kn, stride_kd, keys, n_keys, HEAD_DIM)
        if HAS_ROPE:
            k = cast(rotate_tile(k.to(tl.float32), keys, n_keys, cos_ptr, sin_ptr, grid_height, grid_width,
                                 HEAD_DIM, T_PAIRS, H_PAIRS), k.dtype, INTERPRETED)
        if QK_INT8:
            col_scale = tl.load(k_scale_ptr + batch_head * n_keys + keys, mask=keys < n_keys, other=0.0)
            scores = dot(q, tl.trans(k), INTERPRETED).to(tl.float32) * row_scale[:, None] * col_scale[None, :]
        else:
            scores = dot(q, tl.trans(k), INTERPRETED) * qk_scale

        attend = keys < n_keys
        if HAS_KEY_MASK:
            attend &= tl.load(key_mask_ptr + b * stride_mask_b + keys, mask=keys < n_keys, other=0) != 0
        scores = tl.where(attend[None, :], scores, float("-inf"))

        new_max = tl.maximum(row_max, tl.max(scores, 1))
        rescale = tl.exp2(row_max - new_max)
        p = tl.exp2(scores - new_max[:, None])
        row_sum = row_sum * rescale + tl.sum(p, 1)
        v = load_tile(v_base, stride_vn, stride_vd, keys, n_keys, HEAD_DIM)
        if PV_FP8:
            p_rounded = (p * P_SCALE).to(tl.float8e4nv)
        else:
            p_rounded = cast(p, v.dtype, INTERPRETED)
        # a fresh partial product added in float32: Hopper's FP8 dots accumulate in reduced precision, so
        # they must not run on across blocks (Triton folds this add into 16-bit dots by itself)
        acc = acc * rescale[:, None] + dot(p_rounded, v, INTERPRETED)
        row_max = new_max

    out = acc / tl.where(row_sum > 0, row_sum, 1.0)[:, None]  # a row with no key to attend stays zero
    if PV_FP8:
        channel_scale = tl.load(v_scale_ptr + batch_head * HEAD_DIM + tl.arange(0, HEAD_DIM)) / P_SCALE
        out = out * channel_scale[None, :]
    store_tile(out_ptr + b * stride_ob + h * stride_oh, stride_on, stride_od, queries, n_queries,
               cast(out, out_ptr.dtype.element_ty, INTERPRETED), HEAD_DIM)
    if HAS_LSE:
        attended = row_sum > 0
        lse = tl.where(attended, (row_max + tl.log2(tl.where(attended, row_sum, 1.0))) * LN_2, float("-inf"))
        tl.store(lse_ptr + batch_head * n_queries + queries, lse, mask=queries < n_queries)
