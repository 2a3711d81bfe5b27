"""Measures of what a person sees in a shapes clip, beside the analyser's attribute accuracy.

A clip can name every attribute right and still look broken: specks and smears, lumpy or pinched
shapes, the same layout whatever the seed. These measures put numbers on that, from an `analyse_clip`
result and the clip's frames.

stray_fractions  per frame, the share of pixels that are neither background nor object
mask_ious        per frame and asked object, the overlap of its outline with the ideal shape
seed_spread      over clips of one prompt (seeds), how far apart objects start and how their speeds differ
"""
from dataclasses import dataclass

import numpy as np
import torch

from .analyse import ClipAnalysis, ObjectTrack
from .render import AREA_FRACTION, CENTROID_BELOW_CENTRE, coverage
from .score import match_objects
from .segment import max_3x3
from .world import COLOURS, ClipSpec

# "Far" from a colour: more than half the smallest distance between two colours that may share a
# frame (world.MIN_CONTRAST = 0.5). A pixel nearer than that reads as the colour; one farther is at
# least as near to some other colour as to it, so a person cannot take it for background or object.
STRAY_DISTANCE = 0.25
# An object's blurred edge blends its colour into the background's, and mid-blend pixels are far from
# both. The analyser's outline stops where the blend is half-way; the edge pixels beyond it are left
# out too: 3 px covers a blur of sigma up to 2.9 px at the largest contrast (black on white, 1.6),
# where coverage must fall under 0.25 / 1.6.
EDGE_PX = 3


def stray_fractions(frames: torch.Tensor, analysis: ClipAnalysis) -> torch.Tensor:
    """[F]: per frame, the fraction of its pixels far from the background and from every tracked
    object's colour, outside those objects' outlines and edges.

    frames [F, H, W, 3] in 0..1, analysis = analyse_clip(frames). Objects are the analysis's tracks
    (seen in a third of the frames or more): a short-lived ghost of another colour counts as stray,
    a copy in an object's own colour does not (it is not far from that colour). The background is the
    clip's, so a frame that flashes to another colour is stray all over.
    """
    frames = frames.detach().float().cpu()
    tracked = [track.colour for track in analysis.objects]
    references = torch.cat([clip_background_shade(analysis).view(1, 3),
                            torch.tensor([COLOURS[colour] for colour in tracked]).view(-1, 3)])
    strays = []
    for frame, seen in zip(frames, analysis.frames):
        far = torch.linalg.vector_norm(frame[:, :, None, :] - references, dim=-1).min(dim=-1).values
        covered = torch.zeros(frame.shape[:2])
        for obj in seen.objects:
            if obj.colour in tracked:
                covered = torch.maximum(covered, obj.mask.float())
        for _ in range(EDGE_PX):
            covered = max_3x3(covered)
        strays.append(((far > STRAY_DISTANCE) & (covered == 0)).float().mean())
    return torch.stack(strays)


def clip_background_shade(analysis: ClipAnalysis) -> torch.Tensor:
    """[3]: the median seen shade of the clip's background over the frames that show it."""
    shades = [frame.shade for frame in analysis.frames if frame.background == analysis.background]
    return torch.tensor(shades).median(dim=0).values


def mask_ious(analysis: ClipAnalysis, spec: ClipSpec) -> list[list[float]]:
    """Per asked object, per frame: IoU of its outline with the ideal outline of the asked shape.

    The asked object is the track `match_objects` pairs it with; a frame where that track's colour is
    not seen, or an object with no track, scores 0 (a person sees no shape there). The ideal is placed
    by `ideal_mask`, so the IoU measures the outline's form, not where it is.
    """
    ious = []
    for asked, track in zip(spec.objects, match_objects(spec.objects, analysis.objects)):
        per_frame = []
        for frame in analysis.frames:
            seen = next((o for o in frame.objects if track is not None and o.colour == track.colour), None)
            per_frame.append(0.0 if seen is None else mask_iou(seen.mask, ideal_mask(asked.shape, seen.mask)))
        ious.append(per_frame)
    return ious


def ideal_mask(shape: str, mask: torch.Tensor) -> torch.Tensor:
    """[H, W] bool: the shape as the renderer draws it, fitted to mask [H, W] (square): the same area
    and the same centroid (the renderer's orientation is fixed, so nothing else is free)."""
    size = mask.shape[-1]
    area = mask.sum().float().clamp(min=1.0)
    pixel = torch.arange(size, dtype=torch.float32) + 0.5  # pixel centres, as rendered
    cx = (mask.sum(dim=0) * pixel).sum() / area
    cy = (mask.sum(dim=1) * pixel).sum() / area
    side = torch.sqrt(area / AREA_FRACTION[shape])
    box_cy = cy - CENTROID_BELOW_CENTRE[shape] * side
    return coverage(shape, side, cx, box_cy, size)[0] >= 0.5


def mask_iou(a: torch.Tensor, b: torch.Tensor) -> float:
    union = (a | b).sum()
    return float((a & b).sum() / union) if union else 0.0


@dataclass(frozen=True)
class Spread:
    """Over clips of one prompt, ranges (largest minus smallest) as fractions of the frame."""
    start_x: float  # of the fitted first-frame centroid's x
    start_y: float
    speed: tuple[float, float]  # (slowest, fastest) distance covered over the clip
    clips: int  # the clips the ranges are over: those where the object was tracked


def seed_spread(tracks: list[ObjectTrack | None], size: int) -> Spread:
    """Spread of one object's tracks, one per clip (None where it was not tracked), frames of side `size`."""
    found = [track for track in tracks if track is not None]
    if not found:
        return Spread(0.0, 0.0, (0.0, 0.0), 0)
    starts = np.array([track.start for track in found]) / size
    speeds = [float(np.hypot(*track.displacement)) / size for track in found]
    extent = starts.max(axis=0) - starts.min(axis=0)
    return Spread(float(extent[0]), float(extent[1]), (min(speeds), max(speeds)), len(found))
