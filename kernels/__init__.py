"""The pack's one attention entry point. Every model calls `attention`; backends plug in behind it.

Layout: q [B, Nq, H, D], k and v [B, Nk, H, D] (what a DiT produces after splitting heads); the result
has q's shape. `rope` (a RopeGrid) applies Wan's 3D RoPE to q and k; `key_mask` [B, Nk] bool marks
the keys to attend to.
"""
import torch
import torch.nn.functional as F

from .rope import RopeGrid, apply_rope

__all__ = ["attention", "RopeGrid", "apply_rope"]


def attention(q, k, v, *, rope: RopeGrid | None = None, key_mask: torch.Tensor | None = None,
              backend: str = "auto") -> torch.Tensor:
    if rope is not None:
        q, k = apply_rope(q, rope), apply_rope(k, rope)
    mask = None if key_mask is None else key_mask[:, None, None, :]
    out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), attn_mask=mask)
    return out.transpose(1, 2)
