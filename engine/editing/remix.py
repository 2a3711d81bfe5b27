"""Remix: a video re-imagined by a new prompt, keeping as much of it as the strength says.

Two methods, both one plan for the one sampler: "renoise" noises the source part-way (the strength) and
denoises it towards the new prompt, core's img2img; "flowedit" starts at the source and follows the
difference between the new prompt's and the source prompt's predictions (engine/sampling/flow_edit.py),
so what the prompts share is not re-drawn. The strength is where on the noise schedule either starts.
"""
import torch

from ..sampling import SamplingPlan

REMIX_METHODS = ("flowedit", "renoise")
STRENGTHS = {"subtle": 0.35, "moderate": 0.6, "strong": 0.85}
CUSTOM = "custom"


def remix_strength(name: str, custom: float) -> float:
    """A named strength, or `custom` (0 = the source unchanged, 1 = a new video) when the name is 'custom'."""
    if name == CUSTOM:
        if not 0.0 <= custom <= 1.0:
            raise ValueError(f"strength {custom} is outside 0..1: 0 keeps the video as it is, 1 re-draws it all.")
        return custom
    if name not in STRENGTHS:
        raise ValueError(f"strength '{name}' is not one of: {', '.join([*STRENGTHS, CUSTOM])}")
    return STRENGTHS[name]


def remix_plan(source: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, strength: float, method: str,
               source_prompt: torch.Tensor | None = None) -> SamplingPlan:
    """The plan for remixing the raw latent `source` [B, 16, T, H, W] towards `positive`.

    FlowEdit needs the prompt the source was made with (or one describing it); without one the negative
    prompt stands in for "what the source was", which keeps less of it.
    """
    if method not in REMIX_METHODS:
        raise ValueError(f"remix method '{method}' is not one of: {', '.join(REMIX_METHODS)}")
    if not source.any():
        raise ValueError("the video to remix is an empty latent: encode a video (e.g. with Encode (Spacetime)) "
                         "and connect that.")
    if method == "flowedit":
        return SamplingPlan(source.float(), positive, negative, strength=strength,
                            source_prompt=negative if source_prompt is None else source_prompt)
    return SamplingPlan(source.float(), positive, negative, strength=strength)
