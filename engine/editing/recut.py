"""Re-cut: keep a range of a clip (Sora's "isolate the best frames") and extend it forward, backward or both."""
import torch

from .context import check_count, leading_context, trailing_context
from .timeline import Timeline

DIRECTIONS = ("forward", "backward", "both")


def kept_range(frames: torch.Tensor, keep_start: int, keep_end: int) -> range:
    """The indices keep_start … keep_end, both inclusive; keep_end −1 means the last frame."""
    count = len(frames)
    end = count - 1 if keep_end == -1 else keep_end
    if 0 <= end < keep_start < count:
        raise ValueError(f"the keep range {keep_start}–{keep_end} ends before it starts: keep_end must be at "
                         f"least keep_start (or −1 for the last frame).")
    if not (0 <= keep_start < count and keep_start <= end < count):
        raise ValueError(f"the keep range {keep_start}–{keep_end} is outside the clip, which has {count} frames "
                         f"(0–{count - 1}); keep_end −1 means the last frame.")
    return range(keep_start, end + 1)


def extend(frames: torch.Tensor, keep_start: int, keep_end: int, direction: str, add: int, context: int) -> Timeline:
    """The kept frames with `add` new frames after them, before them, or split between both sides
    (the earlier side gets the smaller half). The model sees at most `context` kept frames beside each
    new stretch; with "both" it sees the whole kept range."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction '{direction}' is not one of: {', '.join(DIRECTIONS)}.")
    check_count("frames to add", add)
    check_count("context frames", context)
    kept_indices = kept_range(frames, keep_start, keep_end)
    kept = frames[kept_indices.start:kept_indices.stop]
    before = {"forward": 0, "backward": add, "both": add // 2}[direction]
    after = add - before
    count, new = len(kept), kept.new_zeros(1, *kept.shape[1:])
    clip = torch.cat([new.expand(before, -1, -1, -1), kept, new.expand(after, -1, -1, -1)])
    given = torch.zeros(len(clip), dtype=torch.bool)
    given[before:before + count] = True
    if direction == "forward":
        window = (count - leading_context(count, context), len(clip))
    elif direction == "backward":
        window = (0, before + trailing_context(count, context))
    else:
        window = (0, len(clip))
    sources = torch.cat([torch.full((before,), -1), torch.tensor(kept_indices), torch.full((after,), -1)])
    return Timeline(clip, given, window, sources=sources)
