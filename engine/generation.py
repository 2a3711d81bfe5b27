"""The generation entry point: run any SamplingPlan with a Wan DiT. Features build plans; this owns the rest.

It owns what no feature should know: the seeded noise (as core's KSampler draws it), the latent format
(plans carry raw latents, the ComfyUI LATENT convention; the DiT works on normalised ones, and
normalising before noise is added is what makes strength < 1 and kept frames match core exactly), the
schedule for the plan's strength, and classifier-free guidance around the DiT.
"""
import math
from dataclasses import dataclass

import torch

from .finite import check_finite
from .sampling import SamplingPlan, cfg_denoiser, flow_denoiser, get_solver, initial_noise, plan_sigmas, sample
from .sampling.flow_edit import flow_edit
from .sampling.step_cache import StepCache
from .sampling.windows import FramePrompts, sample_in_turn, window_frames, windowed


@dataclass(frozen=True)
class SamplerSettings:
    seed: int
    steps: int
    cfg: float
    shift: float
    sampler: str = "uni_pc"
    denoise: float = 1.0  # generate_latent's strength; a plan carries its own

    def __post_init__(self):
        # NaN passes every range check (all comparisons are false) and would turn the clip to NaN.
        for name in ("cfg", "shift", "denoise"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"the sampler's {name} is {getattr(self, name)}: give a finite number")


def run_plan(dit, plan: SamplingPlan, settings: SamplerSettings, callback=None, device: torch.device | str = "cpu",
             batch_index: list[int] | None = None, cache: StepCache | None = None) -> torch.Tensor:
    """Sample the plan; returns the raw latent [B, 16, T, H, W] on the CPU.

    `callback(step, x, x0)` runs after each step (chained windows count on from window to window: steps ×
    passes(plan) in all); raising in it stops sampling. Same seed (and LATENT batch_index) → same noise as
    core's KSampler. `cache`: skip DiT evaluations the earlier steps predict (engine/sampling/step_cache.py;
    it counts the evaluations made); None evaluates every step, as core.
    """
    check_sampler_latent(plan.latent)
    latent_format = dit.latent_format
    noise = initial_noise(plan.latent.shape, settings.seed, batch_index=batch_index).to(device)
    # Core leaves an all-zero (empty) latent unnormalised; with full denoise it is never seen anyway.
    latent = latent_format.normalize(plan.latent) if plan.latent.any() else plan.latent
    solver = get_solver(settings.sampler)
    sigmas = plan_sigmas(plan.strength, solver, settings.steps, settings.shift)
    if len(sigmas) == 0:
        return plan.latent.clone()  # strength 0: the input, untouched (as core)

    def velocity(x, t, context):
        if isinstance(context, FramePrompts):
            weights = context.weights.to(device)[None].expand(x.shape[0], -1, -1)
            return dit(x, t, context.embeddings.to(device)[None].expand(x.shape[0], -1, -1, -1), weights)
        return dit(x, t, context.to(device).expand(x.shape[0], -1, -1))

    if cache is not None:
        velocity = cache.velocity(velocity)
    passing = (lambda denoise: denoise) if cache is None else (lambda denoise: cache.steps(denoise, sigmas))
    positive = plan.positive if plan.frame_weights is None else FramePrompts(plan.positive, plan.frame_weights)
    latent = latent.to(device, torch.float32)
    per_frame_timestep = plan.hold_by == "timestep"
    if plan.window is not None and plan.window_mode == "chained":
        windows = window_frames(plan.frames, plan.window, plan.overlap)

        def run_window(k, index, window_latent, keep):
            prompts = positive.for_frames(index) if isinstance(positive, FramePrompts) else positive
            denoise = passing(cfg_denoiser(flow_denoiser(velocity), prompts, plan.negative, settings.cfg))
            steps = len(sigmas) - 1
            report = None if callback is None else lambda i, x, x0: callback(k * steps + i, x, x0)
            return sample(denoise, solver, sigmas, noise[:, :, index.to(noise.device)], window_latent,
                          keep=keep if keep.any() else None, per_frame_timestep=per_frame_timestep, callback=report)

        out = sample_in_turn(run_window, windows, latent, plan.keep)
    else:
        if plan.window is not None or plan.wrap:
            velocity = windowed(velocity, window_frames(plan.frames, plan.window or plan.frames, plan.overlap,
                                                        plan.wrap))
        model = flow_denoiser(velocity)
        denoise = cfg_denoiser(model, positive, plan.negative, settings.cfg)
        start = None
        if plan.source_prompt is not None:
            source = cfg_denoiser(model, plan.source_prompt, plan.negative, settings.cfg)
            denoise, start = flow_edit(denoise, source, latent, settings.seed, batch_index), latent
        out = sample(passing(denoise), solver, sigmas, noise, latent, keep=plan.keep, per_frame_timestep=per_frame_timestep,
                     callback=callback, start=start)
    return check_finite(latent_format.denormalize(out).cpu(), "the sampler's result",
                        "The model diverged: try fewer steps or a lower cfg, another sampler, or compute in "
                        "float32 or bfloat16 instead of float16 (the DiT loader's dtype).")


def passes(plan: SamplingPlan) -> int:
    """How many times the plan walks the schedule: once, or once per window when they are chained."""
    if plan.window is None or plan.window_mode != "chained":
        return 1
    return len(window_frames(plan.frames, plan.window, plan.overlap).frames)


def check_sampler_latent(latent: torch.Tensor) -> None:
    check_finite(latent, "the latent given to the sampler",
                 "The node that made it (an Encode of a broken image, a latent file, a custom node) produced "
                 "them: fix or replace that input.")


def generate_latent(dit, raw_latent: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor,
                    settings: SamplerSettings, keep: torch.Tensor | None = None, callback=None,
                    device: torch.device | str = "cpu", batch_index: list[int] | None = None,
                    hold_by: str = "noise_mask", cache: StepCache | None = None) -> torch.Tensor:
    """The text-to-video (and img2img) plan: sample a raw latent [B, 16, T, H, W] for text embeddings
    positive/negative [1 or B, L, D] at strength settings.denoise, holding latent frames marked in `keep`."""
    plan = SamplingPlan(latent=raw_latent.float(), positive=positive, negative=negative, strength=settings.denoise,
                        keep=keep, hold_by=hold_by)
    return run_plan(dit, plan, settings, callback, device, batch_index, cache)
