"""Generate a video latent with a Wan DiT: the glue between the model, the latent format and the sampler.

Latents come in and go out raw (what the VAE encoder gives, ComfyUI's LATENT convention). The sampler
works on the normalised latent the DiT sees, as core's KSampler does: normalising the input before
adding noise is what makes strength < 1 and kept frames match core exactly.
"""
from dataclasses import dataclass

import torch

from .sampling import SamplingPlan, cfg_denoiser, flow_denoiser, get_solver, initial_noise, plan_sigmas, sample


@dataclass(frozen=True)
class SamplerSettings:
    seed: int
    steps: int
    cfg: float
    shift: float
    sampler: str = "uni_pc"
    denoise: float = 1.0


def generate_latent(dit, raw_latent: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor,
                    settings: SamplerSettings, keep: torch.Tensor | None = None, callback=None,
                    device: torch.device | str = "cpu", batch_index: list[int] | None = None) -> torch.Tensor:
    """Sample a raw latent [B, 16, T, H, W] for text embeddings positive/negative [1 or B, L, D].

    `keep` [T] marks latent frames (1) to hold at `raw_latent`'s values. `callback(step, x, x0)` runs
    after each step; raising in it stops sampling. Same seed (and LATENT batch_index) → same noise as
    core's KSampler.
    """
    latent_format = dit.latent_format
    noise = initial_noise(raw_latent.shape, settings.seed, batch_index=batch_index).to(device)
    # Core leaves an all-zero (empty) latent unnormalised; with full denoise it is never seen anyway.
    latent = latent_format.normalize(raw_latent) if raw_latent.any() else raw_latent
    plan = SamplingPlan(latent=latent.to(device, torch.float32), strength=settings.denoise, keep=keep)
    solver = get_solver(settings.sampler)
    sigmas = plan_sigmas(plan, solver, settings.steps, settings.shift)
    if len(sigmas) == 0:
        return raw_latent.clone()  # strength 0: the input, untouched (as core)

    def velocity(x, t, context):
        return dit(x, t, context.to(device).expand(x.shape[0], -1, -1))

    denoise = cfg_denoiser(flow_denoiser(velocity), positive, negative, settings.cfg)
    out = sample(plan, denoise, solver, sigmas, noise, callback)
    return latent_format.denormalize(out).cpu()
