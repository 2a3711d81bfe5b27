"""The one sampling loop: run a denoiser over a schedule from noise and a (normalised) latent, as core's
KSampler would, holding known frames.

Matching core: the start is the flow noising of the latent at the first sigma; kept frames are held by
core's noise-mask inpainting (or by per-frame timesteps); the result is divided by (1 − last sigma),
core's inverse flow noise scaling (a no-op for schedules ending at 0). Everything here happens in the
denoiser's latent space; engine/generation.py normalises before and denormalises after.
"""
import torch

from .denoisers import frame_sigma
from .schedule import flow_sigmas
from .solvers import Callback, Solver


def plan_sigmas(strength: float, solver: Solver, steps: int, shift: float) -> torch.Tensor:
    """The schedule core's KSampler would use for this strength and this solver ("simple" scheduler)."""
    return flow_sigmas(steps, shift, denoise=strength, discard_penultimate=solver.discard_penultimate_sigma)


def noised(sigma: torch.Tensor, noise: torch.Tensor, latent: torch.Tensor) -> torch.Tensor:
    """The flow forward process x_σ = σ·noise + (1−σ)·latent (σ a scalar or one per sample)."""
    sigma = frame_sigma(sigma, noise.ndim)
    return sigma * noise + (1.0 - sigma) * latent


def hold_known(denoise, latent: torch.Tensor, keep: torch.Tensor, noise: torch.Tensor, per_frame_timestep: bool):
    """Wrap `denoise` so frames with keep = 1 follow `latent` instead of the model.

    The model sees kept frames as the latent noised to the current sigma (core's noise-mask inpainting)
    or, with per_frame_timestep, clean and at sigma 0; its x0 there is replaced by the latent.
    """
    generate_frames = 1.0 - keep.to(latent)
    keep = keep.to(latent).reshape(1, 1, -1, 1, 1)
    generate = 1.0 - keep

    def held(x, sigma):
        if per_frame_timestep:
            shown, model_sigma = latent, sigma.reshape(-1, 1) * generate_frames
            model_sigma = model_sigma.expand(x.shape[0], -1)
        else:
            shown, model_sigma = noised(sigma, noise, latent), sigma
        x0 = denoise(x * generate + shown * keep, model_sigma)
        return x0 * generate + latent * keep

    return held


@torch.no_grad()
def sample(denoise, solver: Solver, sigmas: torch.Tensor, noise: torch.Tensor, latent: torch.Tensor,
           keep: torch.Tensor | None = None, per_frame_timestep: bool = False,
           callback: Callback | None = None, start: torch.Tensor | None = None) -> torch.Tensor:
    """Sample from `latent` (normalised, [B, C, T, H, W]) with `denoise(x, sigma) -> x0`.

    `sigmas` from plan_sigmas (or any schedule), `noise` from initial_noise; `keep` [T] marks frames to
    hold at the latent's values. `callback(step, x, x0)` runs after every step; raise in it to stop.
    `start`: the state at the first sigma, if not the latent noised to it (FlowEdit starts at the source).
    """
    latent = latent.to(noise)
    if len(sigmas) == 0:
        return latent.clone()  # strength 0: core returns the latent untouched
    sigmas = sigmas.to(noise.device)
    if keep is not None:
        denoise = hold_known(denoise, latent, keep, noise, per_frame_timestep)
    x = noised(sigmas[0], noise, latent) if start is None else start.to(noise)
    x = solver.run(denoise, x, sigmas, callback)
    return x / (1.0 - sigmas[-1])
