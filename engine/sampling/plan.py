"""What to generate, given what we have: the one description every editing feature compiles into.

The generation entry point (engine/generation.py) runs any plan; features only build plans
(design.md, "One sampler, many plans"). A plan speaks the LATENT convention: its latent is raw (what
the VAE encoder gives); normalising it for the model is the entry point's job, not a feature's.
"""
from dataclasses import dataclass

import torch

HOLD_MODES = ("noise_mask", "timestep")
WINDOW_MODES = ("fused", "chained")


@dataclass(frozen=True)
class SamplingPlan:
    """
    latent: raw latent [B, C, T, H, W]: the source that `strength` starts from and the values kept frames
        hold. All zeros (an empty latent) for plain text-to-video.
    positive, negative: prompt embeddings [1 or B, L, D] (one prompt, or one per batch item). With
        `frame_weights`, positive is a stack of K prompts [K, L, D] instead.
    frame_weights: [T, K], how much each latent frame attends to each of the K positive prompts (rows sum
        to 1; one-hot rows give each frame exactly one prompt). None: every frame sees the same prompt.
    strength: 1 = start from pure noise; below 1 start from `latent` noised part-way (core's denoise).
    keep: [T] per latent frame, 1 = hold the latent's frame, 0 = generate it (fractions blend, as in core).
    hold_by: how kept frames are held:
        "noise_mask": core's latent noise-mask inpainting. Before each model call the kept frames are
            replaced by the latent noised to the current sigma; the model's x0 there is replaced by the latent.
        "timestep": kept frames are given clean, with their own sigma 0 (per-frame timesteps, [B, T]);
            only for models trained for it (diffusion forcing), such as the shipped shapes-world model.
    window: sample in overlapping windows of this many latent frames (engine/sampling/windows.py);
        None = the whole clip at once.
    overlap: latent frames neighbouring windows share.
    window_mode: "fused" (every window at every step, averaged where they overlap) or "chained" (one
        window after another, each holding what the one before made; kept frames are held by `hold_by`).
    wrap: time is circular (a loop): windows run on past the last frame into the first.
    source_prompt: the prompt [1, L, D] that describes `latent`; with it the plan is a FlowEdit: from the
        source, each step moves by the target prompt's prediction minus the source prompt's on the same
        noised path, so what both prompts agree on stays (engine/sampling/flow_edit.py).
    """

    latent: torch.Tensor
    positive: torch.Tensor
    negative: torch.Tensor
    frame_weights: torch.Tensor | None = None
    strength: float = 1.0
    keep: torch.Tensor | None = None
    hold_by: str = "noise_mask"
    window: int | None = None
    overlap: int = 0
    window_mode: str = "fused"
    wrap: bool = False
    source_prompt: torch.Tensor | None = None

    def __post_init__(self):
        if self.latent.ndim != 5:
            raise ValueError(f"the plan's latent must be a video latent [B, C, T, H, W]; got {tuple(self.latent.shape)}.")
        if not 0.0 <= self.strength <= 1.0:
            raise ValueError(f"strength must be between 0 and 1, got {self.strength}.")
        if self.hold_by not in HOLD_MODES:
            raise ValueError(f"hold_by must be one of {HOLD_MODES}, got {self.hold_by!r}.")
        if self.keep is not None:
            self._check_frames("keep", self.keep)
            if self.hold_by == "timestep" and not torch.all((self.keep == 0) | (self.keep == 1)):
                raise ValueError('holding frames by timestep needs mask values of exactly 0 or 1 (a frame is '
                                 'either clean or noised); hold by noise_mask to blend fractional values.')
        if self.window is not None and not 0 <= self.overlap < self.window:
            raise ValueError(f"windows of {self.window} latent frames need an overlap from 0 to {self.window - 1}; "
                             f"got {self.overlap}.")
        if self.window_mode not in WINDOW_MODES:
            raise ValueError(f"window_mode must be one of {WINDOW_MODES}, got {self.window_mode!r}.")
        if self.window_mode == "chained" and (self.wrap or self.source_prompt is not None):
            raise ValueError("chained windows run one after another from the first frame: they cannot wrap "
                             "around or FlowEdit; use fused windows.")
        if self.source_prompt is not None and not self.latent.any():
            raise ValueError("a FlowEdit plan needs the source's latent; this one is empty.")
        self._check_prompts()

    @property
    def frames(self) -> int:
        return self.latent.shape[2]

    def _check_frames(self, name: str, per_frame: torch.Tensor):
        if per_frame.shape != (self.frames,):
            raise ValueError(f"{name} must have one value per latent frame, shape ({self.frames},); "
                             f"got {tuple(per_frame.shape)}.")

    def _check_prompts(self):
        batch = self.latent.shape[0]
        named = [("positive", self.positive), ("negative", self.negative), ("source", self.source_prompt)]
        for name, embedding in named:
            if embedding is not None and embedding.ndim != 3:
                raise ValueError(f"the {name} prompt must be embeddings [prompts, tokens, width]; "
                                 f"got {tuple(embedding.shape)}.")
        if self.frame_weights is None:
            for name, embedding in (("positive", self.positive), ("negative", self.negative)):
                if embedding.shape[0] not in (1, batch):
                    raise ValueError(f"the {name} conditioning holds {embedding.shape[0]} prompts but the latent "
                                     f"batch is {batch}: give one prompt, or one per latent in the batch.")
            return
        prompts = self.positive.shape[0]
        if self.frame_weights.shape != (self.frames, prompts):
            raise ValueError(f"frame_weights must be [latent frames, prompts] = ({self.frames}, {prompts}); "
                             f"got {tuple(self.frame_weights.shape)}.")
        if self.negative.shape[0] != 1:
            raise ValueError("with per-frame prompts the negative prompt must be a single one.")
