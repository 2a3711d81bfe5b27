"""Noise levels (sigmas) for rectified-flow models, chosen exactly as ComfyUI's KSampler chooses them.

A flow model sees x_σ = σ·noise + (1−σ)·x0. Wan is trained on a table of 1000 discrete levels
σ_k = shift(k/1000); the "simple" schedule walks that table from the top in equal strides and ends at 0.
Same float32 arithmetic as core, so the tensors are bit-equal to what a core workflow samples with.
"""
import torch

TABLE_SIZE = 1000


def shift_sigma(t: torch.Tensor, shift: float) -> torch.Tensor:
    """σ = s·t / (1 + (s−1)·t): a shift above 1 spends more of the steps at high noise.

    Only a positive shift is a schedule: at 0 every level is 0 and the top one 0/0 (NaN).
    """
    if not shift > 0:  # also refuses NaN
        raise ValueError(f"shift must be above 0 (e.g. 8 as core, 5 as Wan's CLI); got {shift}")
    return shift * t / (1 + (shift - 1) * t)


def flow_sigma_table(shift: float) -> torch.Tensor:
    """The model's discrete noise levels, lowest first: shift(k/1000) for k = 1..1000 (float32)."""
    t = torch.arange(1, TABLE_SIZE + 1) / TABLE_SIZE
    return shift_sigma(t, shift)


def simple_schedule(table: torch.Tensor, steps: int) -> torch.Tensor:
    """`steps` levels taken from the top of the table in equal strides, then a final 0."""
    stride = len(table) / steps
    picked = [len(table) - 1 - int(i * stride) for i in range(steps)]
    return torch.cat([table[picked], torch.zeros(1)])


def flow_sigmas(steps: int, shift: float, denoise: float = 1.0, discard_penultimate: bool = False) -> torch.Tensor:
    """The `steps + 1` sigmas core's KSampler uses with the "simple" scheduler.

    denoise < 1 (img2img strength): core plans int(steps / denoise) steps and runs only the last `steps`,
    so sampling starts part-way down the same curve. discard_penultimate: core does this for uni_pc,
    planning one extra step and dropping the second-to-last sigma (the tiny one just above 0).
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}.")
    if denoise <= 0.0:
        return torch.zeros(0)  # nothing to do: core returns an empty schedule and the latent unchanged
    planned = steps if denoise > 0.9999 else int(steps / denoise)
    if discard_penultimate:
        sigmas = simple_schedule(flow_sigma_table(shift), planned + 1)
        sigmas = torch.cat([sigmas[:-2], sigmas[-1:]])
    else:
        sigmas = simple_schedule(flow_sigma_table(shift), planned)
    return sigmas[-(steps + 1):]
