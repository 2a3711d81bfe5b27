"""The pack's one attention entry point. Every model calls `attention`; backends plug in behind it.

Layout: q [B, Nq, H, D], k and v [B, Nk, H, D] (what a DiT produces after splitting heads); the result
has q's shape. `rope` (a RopeGrid) applies Wan's 3D RoPE to q and k; `key_mask` [B, Nk] bool marks
the keys to attend to (a query with no key to attend gets zeros). `return_lse` also returns each row's
log-sum-exp of scores [B, Nq, H] float32 (−inf for no key), which merges attentions over parts of the
keys (ring attention, engine/parallel).

Backends (`available_backends()` says which can run here, and why not):
- auto: the fused Triton kernel on CUDA for float16/bfloat16 once its self-check passes, else sdpa;
- sdpa: torch's scaled_dot_product_attention after a separate RoPE pass;
- triton: fused kernel (RoPE in the loads), `flash/`; triton-int8: its 8-bit SageAttention2-style mode;
- sageattention, flash_attn: the third-party packages, when installed.
A backend that was asked for and cannot run raises `BackendUnavailable` saying why; nothing switches
silently. The backend each caller actually uses is logged once on the "spacetime.attention" logger.
Module map: backends (choice), flash/ (Triton kernels), reference (the maths, in torch), rope, adapters,
core_convention (ComfyUI core's attention calls, for patching core's own models).
"""
import logging
from dataclasses import dataclass
from functools import lru_cache

import torch

from .backends import BACKENDS, SDPA, choose_auto
from .inputs import check_inputs
from .rope import RopeGrid, apply_rope

__all__ = ["attention", "available_backends", "require_backend", "BackendInfo", "BackendUnavailable",
           "BACKEND_NAMES", "RopeGrid", "apply_rope"]

LOG = logging.getLogger("spacetime.attention")
BACKEND_NAMES = ("auto", *BACKENDS)


class BackendUnavailable(RuntimeError):
    """An attention backend that was asked for cannot run here; the message says why and what to do."""


@dataclass(frozen=True)
class BackendInfo:
    name: str
    available: bool
    reason: str  # why it cannot run ("" when it can); for auto, what it would pick


def attention(q, k, v, *, rope: RopeGrid | None = None, key_mask: torch.Tensor | None = None,
              backend: str = "auto", caller: str = "attention", return_lse: bool = False):
    """softmax(rope(q)·rope(k)ᵀ/√D)·v over the keys in key_mask (and, with return_lse, its log-sum-exp);
    `caller` names the model or layer family in the one log line that says which backend it got."""
    check_inputs(q, k, v, rope, key_mask)
    chosen, why = _resolve(backend, q.device, q.dtype, q.shape[-1])
    if key_mask is not None and not chosen.masks_keys:
        chosen, why = SDPA, f"{chosen.name} takes no key mask, so masked (cross-attention) calls use sdpa"
    if return_lse and not chosen.returns_lse:
        chosen, why = SDPA, f"{chosen.name} returns no log-sum-exp, so calls that need one (ring attention) use sdpa"
    _log_once(caller, backend, chosen.name, why)
    return chosen.with_lse(q, k, v, rope, key_mask) if return_lse else chosen(q, k, v, rope, key_mask)


def available_backends(device: torch.device | str | None = None, dtype: torch.dtype = torch.bfloat16,
                       head_dim: int = 128) -> list[BackendInfo]:
    """Every backend name with whether it can run for such calls (default: CUDA if present, bf16, D=128).

    On a GPU this settles `auto` for those calls, compiling and self-checking the Triton kernel once.
    """
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    infos = []
    for name in BACKEND_NAMES:
        try:
            backend, why = _resolve(name, device, dtype, head_dim)
            infos.append(BackendInfo(name, True, f"uses {backend.name}: {why}" if name == "auto" else ""))
        except BackendUnavailable as error:
            infos.append(BackendInfo(name, False, str(error)))
    return infos


def require_backend(name: str, device: torch.device | str, dtype: torch.dtype, head_dim: int) -> str:
    """The backend that `name` gives calls on such tensors, settled now rather than at the first call;
    raises BackendUnavailable saying why when it cannot run (ValueError for an unknown name)."""
    return _resolve(name, torch.device(device), dtype, head_dim)[0].name


@lru_cache(maxsize=None)
def _resolve(name: str, device: torch.device, dtype: torch.dtype, head_dim: int):
    """(backend, why) for calls on such tensors, decided once: the choice never changes between calls."""
    if name == "auto":
        chosen, why = choose_auto(device, dtype, head_dim)
        return BACKENDS[chosen], why
    if name not in BACKENDS:
        raise ValueError(f"unknown attention backend {name!r}; choose one of {', '.join(BACKEND_NAMES)}")
    reason = BACKENDS[name].unavailable_reason(device, dtype, head_dim)
    if reason:
        raise BackendUnavailable(reason)
    return BACKENDS[name], "as requested"


_announced: set = set()


def _log_once(caller: str, requested: str, used: str, why: str) -> None:
    key = (caller, requested, used)
    if key not in _announced:
        _announced.add(key)
        LOG.info("%s uses attention backend %r (requested %r; %s)", caller, used, requested, why)
