"""Readable torch specification of what the fused kernels compute; tests compare the kernels to it.

Two modes, both over q [B, Nq, H, D], k and v [B, Nk, H, D] with optional Wan RoPE and key mask:
- `reference_attention`: softmax(q·kᵀ/√D)·v in float64, after `apply_rope` (which rounds the rotated
  q and k to their dtype, exactly as the fp16/bf16 kernel does before its dot products).
- `reference_attention_int8`: the SageAttention2-style 8-bit scheme of the `triton-int8` backend:
  rotate q and k (float32), smooth k by subtracting its mean over tokens (softmax is invariant to adding
  the same vector to every key: it adds q·shift to a whole row of scores), quantise q and k to INT8 per
  block of tokens, multiply them exactly in integers, then P·V with P and V rounded the way the kernel
  rounds them (FP8 e4m3 where the GPU has it, else V's own 16-bit type).
A query whose keys are all masked out gets zeros (softmax over nothing), in every backend.
"""
import torch

from .rope import RopeGrid, apply_rope, rotate

INT8_Q_BLOCK = 32  # tokens of q sharing one INT8 scale (finer than k: q's rows vary more after RoPE)
INT8_K_BLOCK = 64  # tokens of k sharing one INT8 scale
INT8_MAX = 127
FP8_MAX = 448.0  # largest finite float8_e4m3fn; P in [0, 1] is scaled by it to use the whole range


def reference_attention(q, k, v, *, rope: RopeGrid | None = None, key_mask=None, return_lse: bool = False):
    """Exact softmax attention in float64; returns float64 [B, Nq, H, D], and with `return_lse` also
    each row's log Σ_k exp(q·k/√D) [B, Nq, H] (−inf for a row with no key to attend)."""
    if rope is not None:
        q, k = apply_rope(q, rope), apply_rope(k, rope)
    scores = torch.einsum("bqhd,bkhd->bhqk", q.double(), k.double()) * q.shape[-1] ** -0.5
    probs = _masked_exp(scores, key_mask)
    out = torch.einsum("bhqk,bkhd->bqhd", probs, v.double()) / _row_sums(probs)
    if not return_lse:
        return out
    masked = scores if key_mask is None else scores.masked_fill(~key_mask[:, None, None, :], float("-inf"))
    return out, torch.logsumexp(masked, dim=-1).transpose(1, 2)


def reference_attention_int8(q, k, v, *, rope: RopeGrid | None = None, key_mask=None,
                             pv_fp8: bool = False) -> torch.Tensor:
    """The 8-bit scheme, computed in float64 after each rounding step; returns float64 [B, Nq, H, D].

    P is rounded relative to each row's final max, the kernel relative to its running max: with 16-bit
    or FP8 P the two differ by P's rounding error; with float32 inputs P is not rounded and they agree.
    """
    q32 = rotate(q, rope) if rope is not None else q.float()
    k32 = rotate(k, rope) if rope is not None else k.float()
    q8, q_scale = quantize_int8_blocks(q32, INT8_Q_BLOCK)
    k8, k_scale = quantize_int8_blocks(k32 - smoothing_shift(k32), INT8_K_BLOCK)
    integer_scores = torch.einsum("bqhd,bkhd->bhqk", q8.double(), k8.double())  # exact: |sum| < 2^53
    scores = integer_scores * q_scale.double()[..., :, None] * k_scale.double()[..., None, :]
    probs = _masked_exp(scores * q.shape[-1] ** -0.5, key_mask)
    if pv_fp8:
        v8, v_scale = quantize_v_fp8(v)
        rounded = (probs.float() * FP8_MAX).to(torch.float8_e4m3fn).double()
        out = torch.einsum("bhqk,bhdk->bqhd", rounded, v8.double()) * v_scale.double()[:, None] / FP8_MAX
    else:
        rounded = probs.to(v.dtype).double()
        out = torch.einsum("bhqk,bkhd->bqhd", rounded, v.double())
    return out / _row_sums(probs)


def smoothing_shift(k32: torch.Tensor) -> torch.Tensor:
    """Mean of k [B, N, H, D] over tokens, [B, 1, H, D] float32: the shift that centres k before INT8."""
    return k32.mean(dim=1, keepdim=True)


def quantize_int8_blocks(x32: torch.Tensor, block: int) -> tuple[torch.Tensor, torch.Tensor]:
    """INT8 codes of x [B, N, H, D] (float32) with one scale per `block` consecutive tokens and head.

    scale = max|x| over the block / 127, code = floor(x * (127 / max|x|) + 0.5) (round half up, the
    same expression in the kernel). Returns codes int8 [B, N, H, D] and each token's scale
    float32 [B, H, N] (a block's scale repeated for its tokens; zero for an all-zero block).
    """
    batch, tokens, heads, head_dim = x32.shape
    padded = torch.nn.functional.pad(x32, (0, 0, 0, 0, 0, -tokens % block))
    blocks = padded.view(batch, -1, block, heads, head_dim)
    absmax = blocks.abs().amax(dim=(2, 4), keepdim=True)  # [B, blocks, 1, H, 1]
    # tensor / tensor: IEEE division, as in the kernel (torch computes scalar / tensor as a reciprocal product)
    inverse = torch.where(absmax > 0, torch.full_like(absmax, INT8_MAX) / absmax, torch.zeros_like(absmax))
    codes = torch.floor(blocks * inverse + 0.5).to(torch.int8).view_as(padded)[:, :tokens]
    scale = (absmax / INT8_MAX).expand(-1, -1, block, -1, -1).reshape(batch, -1, heads)[:, :tokens]
    return codes, scale.transpose(1, 2).contiguous()


def quantize_v_fp8(v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """FP8 e4m3 copy of v [B, N, H, D] with one scale per (batch, head, channel).

    Returns codes float8_e4m3fn [B, H, D, N] (tokens contiguous: the layout a Hopper FP8 dot wants for
    the right-hand operand of P·V) and scales float32 [B, H, D] with v = codes * scale.
    """
    absmax = v.abs().amax(dim=1).float()  # [B, H, D]
    scale = torch.where(absmax > 0, absmax / FP8_MAX, torch.ones_like(absmax))
    codes = (v.float() / scale[:, None]).to(torch.float8_e4m3fn)
    return codes.permute(0, 2, 3, 1).contiguous(), scale


def _masked_exp(scores: torch.Tensor, key_mask) -> torch.Tensor:
    """exp(score - row max) with masked keys at zero; scores [B, H, Nq, Nk], key_mask [B, Nk] bool."""
    if key_mask is not None:
        scores = scores.masked_fill(~key_mask[:, None, None, :], float("-inf"))
    row_max = scores.amax(dim=-1, keepdim=True).clamp_min(torch.finfo(scores.dtype).min)
    return torch.exp(scores - row_max)


def _row_sums(probs: torch.Tensor) -> torch.Tensor:
    """Σ_k probs as [B, Nq, H, 1], with 1 for rows that attend to nothing (their output stays zero)."""
    sums = probs.sum(dim=-1).permute(0, 2, 1)[..., None]
    return torch.where(sums > 0, sums, torch.ones_like(sums))
