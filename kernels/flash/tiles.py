"""Tile-level building blocks shared by the attention kernel and the 8-bit pre-pass.

Triton decides when these are decorated whether they compile for a GPU or run in its CPU interpreter
(TRITON_INTERPRET=1); `INTERPRETED` records which, so launchers can refuse a mismatch clearly.
"""
import triton
import triton.language as tl
from triton.runtime.interpreter import InterpretedFunction


@triton.jit
def load_tile(base, stride_token, stride_dim, tokens, n_tokens, HEAD_DIM: tl.constexpr):
    """Rows `tokens` of one head, [len(tokens), HEAD_DIM]; rows at or past n_tokens read as zero."""
    dims = tl.arange(0, HEAD_DIM)
    pointers = base + tokens[:, None] * stride_token + dims[None, :] * stride_dim
    return tl.load(pointers, mask=(tokens < n_tokens)[:, None], other=0.0)


@triton.jit
def store_tile(base, stride_token, stride_dim, tokens, n_tokens, tile, HEAD_DIM: tl.constexpr):
    dims = tl.arange(0, HEAD_DIM)
    pointers = base + tokens[:, None] * stride_token + dims[None, :] * stride_dim
    tl.store(pointers, tile, mask=(tokens < n_tokens)[:, None])


@triton.jit
def rotate_tile(x, tokens, n_tokens, cos_ptr, sin_ptr, grid_height, grid_width,
                HEAD_DIM: tl.constexpr, T_PAIRS: tl.constexpr, H_PAIRS: tl.constexpr):
    """Wan's 3D RoPE of a float32 tile x [len(tokens), HEAD_DIM], as `rope.rotate` computes it.

    Token n sits at (t, y, w) of the row-major grid; pair j (x[2j], x[2j+1]) turns by the angle of n's
    coordinate on j's axis: t for the first T_PAIRS pairs, y for the next H_PAIRS, w for the rest. The
    tables are `RopeGrid.pair_tables`: [max grid side, HEAD_DIM // 2], row = coordinate, column = pair.
    """
    pairs = tl.arange(0, HEAD_DIM // 2)[None, :]
    t = (tokens // (grid_height * grid_width))[:, None]
    y = ((tokens // grid_width) % grid_height)[:, None]
    w = (tokens % grid_width)[:, None]
    coordinate = tl.where(pairs < T_PAIRS, t, tl.where(pairs < T_PAIRS + H_PAIRS, y, w))
    entry = coordinate * (HEAD_DIM // 2) + pairs
    inside = (tokens < n_tokens)[:, None]  # tail rows have no grid position
    cos = tl.load(cos_ptr + entry, mask=inside, other=1.0)
    sin = tl.load(sin_ptr + entry, mask=inside, other=0.0)
    even, odd = tl.split(tl.reshape(x, (x.shape[0], HEAD_DIM // 2, 2)))
    return tl.interleave(even * cos - odd * sin, even * sin + odd * cos)


@triton.jit
def dot(a, b, INTERPRETED: tl.constexpr):
    """a @ b accumulated in float32 (int32 for INT8 operands).

    Interpreted, it computes in float32: the interpreter's 16-bit dots are wrong, and float32 is exact
    for products of 8- and 16-bit values (only the summation order differs from a GPU). float32
    operands use IEEE products, not TF32: float32 runs exist to test the maths.
    """
    if INTERPRETED:
        result = tl.dot(a.to(tl.float32), b.to(tl.float32), input_precision="ieee")
    elif a.dtype == tl.float32:
        result = tl.dot(a, b, input_precision="ieee")
    else:
        result = tl.dot(a, b)
    return result


@triton.jit
def cast(x, dtype: tl.constexpr, INTERPRETED: tl.constexpr):
    """float32 x as dtype, rounded to nearest even like a GPU. The interpreter truncates float32 to
    bfloat16, so there the float32 bits are rounded first and its cast is then exact."""
    if INTERPRETED and dtype == tl.bfloat16:
        bits = x.to(tl.uint32, bitcast=True)
        bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
        x = bits.to(tl.float32, bitcast=True)
    return x.to(dtype)


INTERPRETED = isinstance(load_tile, InterpretedFunction)
