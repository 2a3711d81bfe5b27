"""Blend: two clips into one, by a generated transition or by a per-frame blend curve."""
import torch
import torch.nn.functional as F

from ..finite import check_finite
from ..video_shape import TIME_STRIDE, frame_count
from .context import check_count, leading_context, trailing_context
from .timeline import Edit, Encode, Timeline, compile_timeline

BLEND_MODES = ("transition", "mix")


def match_size(clip: torch.Tensor, like: torch.Tensor, resize: bool) -> torch.Tensor:
    """`clip` at `like`'s frame size: as it is, resized (bilinear) when allowed, else a clear error."""
    if clip.shape[1:3] == like.shape[1:3]:
        return clip
    if not resize:
        raise ValueError(f"clip B is {clip.shape[2]}×{clip.shape[1]} but clip A is {like.shape[2]}×{like.shape[1]}: "
                         "set fit to 'resize' to scale B to A's size, or give clips of one size.")
    scaled = F.interpolate(clip.permute(0, 3, 1, 2), size=like.shape[1:3], mode="bilinear", antialias=True)
    return scaled.permute(0, 2, 3, 1).clamp(0, 1)


def blend_transition(a: torch.Tensor, b: torch.Tensor, frames_between: int, context: int) -> Timeline:
    """A, then `frames_between` generated frames flowing from A's end into B's start, then B."""
    check_count("transition frames", frames_between)
    check_count("context frames", context)
    clip = torch.cat([a, a.new_zeros(frames_between, *a.shape[1:]), b])
    given = torch.ones(len(clip), dtype=torch.bool)
    given[len(a):len(a) + frames_between] = False
    window = (len(a) - leading_context(len(a), context), len(a) + frames_between + trailing_context(len(b), context))
    sources = torch.cat([torch.arange(len(a)), torch.full((frames_between,), -1), len(a) + torch.arange(len(b))])
    return Timeline(clip, given, window, sources=sources)


def curve_weights(curve: str, frames: int) -> torch.Tensor:
    """Per frame, B's share (0 = all A, 1 = all B) from a curve "time:value, …" with time 0..1 over the clip.

    Between points the share is linear; before the first and after the last it stays level.
    """
    points = []
    for item in (part.strip() for part in curve.split(",")):
        if not item:
            continue
        try:
            time, value = (float(x) for x in item.split(":"))
        except ValueError:
            raise ValueError(f"blend curve entry '{item}' is not 'time:value' (e.g. '0:0, 0.4:0.2, 1:1').") from None
        if not (0 <= time <= 1 and 0 <= value <= 1):
            raise ValueError(f"blend curve entry '{item}': time and value must both be between 0 and 1.")
        points.append((time, value))
    if not points:
        raise ValueError("the blend curve is empty: give points 'time:value', e.g. '0:0, 0.4:0.2, 1:1'.")
    times = [t for t, _ in points]
    if times != sorted(times) or len(set(times)) != len(times):
        raise ValueError(f"blend curve times must rise from point to point; got {', '.join(map(str, times))}.")
    t = torch.linspace(0, 1, frames) if frames > 1 else torch.zeros(1)
    known_t = torch.tensor(times)
    known_v = torch.tensor([v for _, v in points])
    right = torch.searchsorted(known_t, t).clamp(1, max(len(points) - 1, 1))
    if len(points) == 1:
        return known_v.expand(frames).clone()
    t0, t1, v0, v1 = known_t[right - 1], known_t[right], known_v[right - 1], known_v[right]
    share = v0 + (v1 - v0) * ((t - t0) / (t1 - t0)).clamp(0, 1)
    return share


SNAP = 1e-4  # a share this close to 0 or 1 is that clip's own frame (resampling leaves such crumbs)


def mask_weights(mask: torch.Tensor, frames: int) -> torch.Tensor:
    """B's share per frame from a MASK: its mean per frame ([frames, H, W], one [H, W] picture, or
    [frames]), stretched over `frames`."""
    mask = mask.float().cpu()
    mask = mask[None] if mask.ndim == 2 else mask
    if mask.numel() == 0:
        raise ValueError("the curve_mask is empty: give a MASK with at least one frame")
    check_finite(mask, "the curve_mask", "Give a MASK of values between 0 and 1 (the node that made it broke).")
    per_frame = mask.reshape(mask.shape[0], -1).mean(dim=1)
    if len(per_frame) != frames:
        per_frame = F.interpolate(per_frame[None, None], size=frames, mode="linear",
                                                    align_corners=True)[0, 0]
    share = per_frame.clamp(0, 1)
    return torch.where(share < SNAP, 0.0, torch.where(share > 1 - SNAP, 1.0, share))


def blend_mix(a: torch.Tensor, b: torch.Tensor, share: torch.Tensor, encode: Encode) -> Edit:
    """One clip as long as the shorter one (the longer one's end is not used), each frame B's `share` of
    the way from A to B.

    Frames wholly A or wholly B are theirs, pixel-identical; the frames between start from the mix of the
    two latents and are re-made by the sampler (its denoise is how far), so they are not a double exposure.
    """
    frames = min(len(a), len(b))
    a, b = a[:frames], b[:frames]
    if share.shape != (frames,):
        raise ValueError(f"the blend curve has {share.shape[0]} values; the blend is {frames} frames long.")
    is_a, is_b = share == 0, share == 1
    if bool((is_a | is_b).all()):
        raise ValueError(f"the blend curve gives every one of the mix's {frames} frames (as many as the shorter "
                         "clip has) all of A or all of B, so there is nothing to blend: add points with shares "
                         "between 0 and 1, give longer clips, or use the transition mode.")
    clip = torch.where(is_b[:, None, None, None], b, a)
    slots = frames + (1 - frames) % TIME_STRIDE  # the whole latent frames the mix covers
    latents = [encode(_repeat_last(x, slots)).cpu() for x in (a, b)]
    group_share = _per_latent_frame(share, latents[0].shape[2])
    source = latents[0] * (1 - group_share) + latents[1] * group_share
    return compile_timeline(Timeline(clip, is_a | is_b, (0, frames)), encode, source=source)


def _repeat_last(clip: torch.Tensor, frames: int) -> torch.Tensor:
    """The clip with its last frame repeated up to `frames`."""
    return torch.cat([clip, clip[-1:].expand(frames - len(clip), -1, -1, -1)])


def _per_latent_frame(share: torch.Tensor, latent_count: int) -> torch.Tensor:
    """B's share per latent frame [1, 1, T, 1, 1]: frame 0's, then each group of 4's mean."""
    padded = torch.cat([share, share[-1:].expand(frame_count(latent_count) - len(share))])
    groups = torch.cat([padded[:1], padded[1:].reshape(-1, TIME_STRIDE).mean(dim=1)])
    return groups.reshape(1, 1, -1, 1, 1)
