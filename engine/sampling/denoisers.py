"""Turning a flow model into the `denoise(x, sigma) -> x0` the solvers call, with classifier-free guidance.

Layers, each a plain function wrapping the one below:
  velocity_model(x, t, context, **kw) -> v          the DiT: t = 1000·σ, v ≈ noise − x0
  flow_denoiser(velocity_model) -> model_fn(x, sigma, context, **kw) -> x0
  cfg_denoiser(model_fn, cond, uncond, scale) -> denoise(x, sigma, **kw) -> x0

Within `split_guidance(split)` every guided call computes one of its two predictions and swaps it with
the processes computing the other (engine/parallel/guidance.py): the sampler loops above never know.
"""
import math
from contextlib import contextmanager
from contextvars import ContextVar

import torch

_split = ContextVar("spacetime_guidance_split", default=None)

TIMESTEP_MULTIPLIER = 1000.0  # Wan's timestep is σ·1000 (core: ModelSamplingDiscreteFlow.multiplier)


def frame_sigma(sigma: torch.Tensor, ndim: int) -> torch.Tensor:
    """Shape a noise level to broadcast over a [B, C, T, H, W] latent.

    0-d or one element: one level for everything; [B]: one per sample; [B, T]: one per latent frame.
    """
    if sigma.numel() == 1:
        return sigma.reshape(())
    if sigma.ndim == 1:
        return sigma.reshape(-1, *([1] * (ndim - 1)))
    if sigma.ndim == 2:
        return sigma.reshape(sigma.shape[0], 1, sigma.shape[1], *([1] * (ndim - 3)))
    raise ValueError(f"sigma must be a scalar, [B] or [B, T]; got shape {tuple(sigma.shape)}.")


def flow_denoiser(velocity_model, multiplier: float = TIMESTEP_MULTIPLIER):
    """x0 = x − σ·v. The model gets t = σ·multiplier as [B] (or [B, T] for per-frame levels), float32."""
    def model_fn(x, sigma, context, **kwargs):
        sigma = torch.as_tensor(sigma, dtype=torch.float32, device=x.device)
        t = sigma * multiplier
        if t.ndim == 0:
            t = t.expand(x.shape[0])
        v = velocity_model(x, t, context, **kwargs)
        return x - v.float() * frame_sigma(sigma, x.ndim)
    return model_fn


def cfg_denoiser(model_fn, cond, uncond, scale: float):
    """Classifier-free guidance on x0, as core applies it: uncond + scale·(cond − uncond).

    At scale 1 the unconditional pass is skipped (core does the same), halving the cost.
    """
    def denoise(x, sigma, **kwargs):
        if math.isclose(scale, 1.0):
            return model_fn(x, sigma, cond, **kwargs)
        split = _split.get()
        if split is None:
            x0_cond = model_fn(x, sigma, cond, **kwargs)
            x0_uncond = model_fn(x, sigma, uncond, **kwargs)
        else:
            x0_cond, x0_uncond = split.exchange(model_fn(x, sigma, (cond, uncond)[split.branch], **kwargs))
        return x0_uncond + (x0_cond - x0_uncond) * scale
    return denoise


@contextmanager
def split_guidance(split):
    """Guided calls made within compute only `split.branch`'s prediction (0: conditional, 1: unconditional)
    and get both from `split.exchange(mine) -> (x0_cond, x0_uncond)`; None: both here, as without."""
    token = _split.set(split)
    try:
        yield
    finally:
        _split.reset(token)
