"""Loop: a clip that plays on into its own start, through a bridge generated from its end back to its start."""
import torch

from .context import check_count, leading_context, trailing_context
from .timeline import Timeline


def loop(frames: torch.Tensor, bridge: int, change: int, context: int) -> Timeline:
    """The clip, less `change` frames at each end (the source frames the loop may re-make), then
    `bridge` + 2·change new frames that lead back into the clip's first kept frame. The model sees up to
    `context` frames of the clip's end before the bridge and of its start after it."""
    check_count("bridge frames", bridge)
    check_count("context frames", context)
    if change < 0 or len(frames) - 2 * change < 1:
        raise ValueError(f"change_frames {change} leaves nothing of the {len(frames)}-frame clip: "
                         f"use at most {(len(frames) - 1) // 2}.")
    kept = frames[change:len(frames) - change]
    new = bridge + 2 * change
    clip = torch.cat([kept, kept.new_zeros(new, *kept.shape[1:])])
    given = torch.zeros(len(clip), dtype=torch.bool)
    given[:len(kept)] = True
    window = (len(kept) - leading_context(len(kept), context), len(clip))
    sources = torch.cat([torch.arange(change, len(frames) - change), torch.full((new,), -1)])
    return Timeline(clip, given, window, after=kept[:trailing_context(len(kept), context)], sources=sources)
