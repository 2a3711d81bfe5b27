"""ComfyUI core's attention call convention, served by `attention`: for running core's own models
(e.g. core's Wan) on our backends.

Core's models call one attention function as f(q, k, v, heads, mask=None, attn_precision=None,
skip_reshape=False, skip_output_reshape=False, **kwargs); a model patch may put a replacement into
transformer_options["optimized_attention_override"], which core calls as override(f, *args, **kwargs).
`core_override` builds one. Nothing here imports ComfyUI: core's function arrives as an argument and
is called only for masks our backends cannot express and keywords that change the result (see
`needs_core`). Newer core may hold q, k, v in single-use containers; it hands an override plain tensors.

Layouts: q, k, v [B, N, heads·D], or [B, heads, N, D] with skip_reshape; the result [B, N, heads·D], or
[B, heads, N, D] with skip_output_reshape. Core applies RoPE before calling, so none is applied here.
Masks are float (added to the scores) or bool (True = attend); a bool mask that is the same for every
query and head is our key mask, any other mask keeps core's function (see `as_key_mask`).
"""
import logging

import torch

from . import attention
from .backends import BACKENDS

LOG = logging.getLogger("spacetime.attention")


def core_override(backend: str, caller: str):
    """An optimized_attention_override that runs core's attention calls on `attention(backend=...)`;
    `caller` names the model in the log lines."""

    def override(func, q, k, v, heads, mask=None, attn_precision=None, skip_reshape=False,
                 skip_output_reshape=False, **kwargs):
        # Newer core passes more keywords (transformer_options, low_precision_attention, small_input,
        # enable_gqa, markers of its own wrappers, and later ones): those that change the result are
        # checked in `needs_core`; the others are hints our backends do without. All go on to `func`.
        key_mask, why_not = None, needs_core(backend, kwargs)
        if mask is not None and not why_not:
            key_mask, why_not = as_key_mask(mask, q.shape[0], k.shape[2] if skip_reshape else k.shape[1])
        if why_not:
            _announce_fallback(caller, why_not, func)
            return func(q, k, v, heads, mask=mask, attn_precision=attn_precision, skip_reshape=skip_reshape,
                        skip_output_reshape=skip_output_reshape, **kwargs)
        # attn_precision asks core's own functions to upcast q·kᵀ; our backends accumulate in float32 anyway.
        if skip_reshape:
            q, k, v = (x.transpose(1, 2) for x in (q, k, v))
        else:
            q, k, v = (x.unflatten(-1, (heads, -1)) for x in (q, k, v))
        out = attention(q, k, v, key_mask=key_mask, backend=backend, caller=caller)
        return out.transpose(1, 2) if skip_output_reshape else out.flatten(2)

    return override


def needs_core(backend: str, kwargs: dict) -> str:
    """Why a call's keywords need core's own function (a sentence for the log), or "" when ours serve it."""
    if kwargs.get("enable_gqa"):
        return "grouped-query heads (enable_gqa: k and v have fewer heads than q)"
    if kwargs.get("low_precision_attention") is False and backend in BACKENDS and BACKENDS[backend].int8:
        return f"low_precision_attention=False (the {backend} backend is 8-bit)"
    return ""


def as_key_mask(mask: torch.Tensor, batch: int, keys: int) -> tuple[torch.Tensor | None, str]:
    """(our key_mask [batch, keys], "") for a core mask that only hides keys, else (None, why not).

    Only bool masks [B or 1, 1, Nk] and [B or 1, 1, 1, Nk] qualify: for those every core function reads
    the mask as one per key (a 2-D bool mask is [Nq, Nk] to SDPA-based ones and [B, Nk] to the basic one).
    """
    if mask.dtype != torch.bool:
        return None, f"a {mask.dtype} mask (added to the scores)"
    if mask.ndim not in (3, 4) or set(mask.shape[1:-1]) != {1} or mask.shape[0] not in (1, batch) \
            or mask.shape[-1] != keys:
        return None, "a bool mask that is not one per key (the same for every query and head)"
    return mask.reshape(mask.shape[0], keys).expand(batch, keys), ""


_fallbacks_announced: set = set()


def _announce_fallback(caller: str, why_not: str, func) -> None:
    if (caller, why_not) not in _fallbacks_announced:
        _fallbacks_announced.add((caller, why_not))
        LOG.warning("%s: attention calls with %s cannot use our backends, so they run on core's %s "
                    "(logged once)", caller, why_not, getattr(func, "__name__", "attention function"))
