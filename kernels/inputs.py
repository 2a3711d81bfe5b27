"""Checks on what callers pass to `attention`, with messages that say what to change."""
import torch

from .rope import RopeGrid


def check_inputs(q, k, v, rope: RopeGrid | None, key_mask) -> None:
    for name, x in (("q", q), ("k", k), ("v", v)):
        if not isinstance(x, torch.Tensor) or x.dim() != 4:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"attention expects {name} shaped [batch, tokens, heads, head_dim]; got {shape}")
    if k.shape != v.shape or k.shape[0] != q.shape[0] or k.shape[2:] != q.shape[2:]:
        raise ValueError(f"attention expects q [B, Nq, H, D] and k, v [B, Nk, H, D] with the same B, H, D; "
                         f"got q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)}")
    if len({q.dtype, k.dtype, v.dtype}) > 1 or len({q.device, k.device, v.device}) > 1:
        raise ValueError(f"q, k, v must share dtype and device; got {q.dtype}/{q.device}, "
                         f"{k.dtype}/{k.device}, {v.dtype}/{v.device}")
    if rope is not None and not q.shape[1] == k.shape[1] == rope.tokens:
        raise ValueError(f"RoPE on grid {rope} ({rope.tokens} tokens) is for self-attention over those tokens; "
                         f"got {q.shape[1]} queries and {k.shape[1]} keys — pass rope=None for cross-attention")
    if key_mask is not None and (key_mask.dtype != torch.bool or tuple(key_mask.shape) != (k.shape[0], k.shape[1])
                                 or key_mask.device != k.device):
        raise ValueError(f"key_mask must be a bool tensor [batch, keys] = {[k.shape[0], k.shape[1]]} on {k.device} "
                         f"(True = attend); got {key_mask.dtype} {list(key_mask.shape)} on {key_mask.device}")
