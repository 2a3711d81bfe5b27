"""What to generate, given what we have: the one description every editing feature compiles into.

The sampler runs any plan; features only build plans (design.md, "One sampler, many plans").
"""
from dataclasses import dataclass

import torch

HOLD_MODES = ("noise_mask", "timestep")


@dataclass(frozen=True)
class SamplingPlan:
    """
    latent: [B, C, T, H, W] in the denoiser's latent space, or None for an empty latent (zeros). It is the
        source that `strength` starts from and the values that kept frames hold.
    strength: 1 = start from pure noise; below 1 start from `latent` noised part-way (core's denoise).
    keep: [T] per latent frame, 1 = hold the latent's frame, 0 = generate it (fractions blend, as in core).
    hold_by: how kept frames are held:
        "noise_mask": core's latent noise-mask inpainting. Before each model call the kept frames are
            replaced by the latent noised to the current sigma; the model's x0 there is replaced by the latent.
        "timestep": kept frames are given clean, with their own sigma 0 (per-frame timesteps, [B, T]);
            only for denoisers whose model understands per-frame timesteps.
    context_index: [T] long, which prompt embedding each latent frame attends to; handed to the denoiser
        as `context_index=` when set (None: one prompt for all frames).
    """

    latent: torch.Tensor | None = None
    strength: float = 1.0
    keep: torch.Tensor | None = None
    hold_by: str = "noise_mask"
    context_index: torch.Tensor | None = None

    def __post_init__(self):
        if not 0.0 <= self.strength <= 1.0:
            raise ValueError(f"strength must be between 0 and 1, got {self.strength}.")
        if self.hold_by not in HOLD_MODES:
            raise ValueError(f"hold_by must be one of {HOLD_MODES}, got {self.hold_by!r}.")
        if self.strength < 1.0 and self.latent is None:
            raise ValueError("A strength below 1 needs a source latent to start from; give `latent` or use strength 1.")
        if self.keep is not None:
            if self.latent is None:
                raise ValueError("Frames to keep need a latent holding them; give `latent` along with `keep`.")
            self._check_frames("keep", self.keep)
            if self.hold_by == "timestep" and not torch.all((self.keep == 0) | (self.keep == 1)):
                raise ValueError('hold_by="timestep" needs keep values of exactly 0 or 1 (a frame is either '
                                 'clean or noised); use hold_by="noise_mask" to blend fractional values.')
        if self.context_index is not None and self.latent is not None:
            self._check_frames("context_index", self.context_index)

    def _check_frames(self, name: str, per_frame: torch.Tensor):
        frames = self.latent.shape[2]
        if per_frame.shape != (frames,):
            raise ValueError(f"{name} must have one value per latent frame, shape ({frames},); "
                             f"got {tuple(per_frame.shape)}.")
