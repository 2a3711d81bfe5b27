"""Reading a shapes clip back: the background colour, and per object its colour, shape, centroid and motion.

Made for decoded clips (blurred, noisy, slightly off-colour), not only for clean renders. `segment`
finds the background and the objects with their colours, `fit` names each object's shape and places
it; here the frames are tied into tracks: objects are followed by colour (the world never shows two
objects of one colour), and motion is a straight-line fit to the centroids where the object was seen.
"""
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np
import torch

from .fit import fit_shapes
from .segment import backgrounds, box_filter, find_blobs

MIN_FRAMES_SEEN = 1 / 3  # an object seen in fewer of the frames is a glitch, not a track
STILL_BELOW = 0.12  # fitted displacement over the clip, fraction of the frame; renders move >= 0.30


@dataclass(frozen=True)
class FrameObject:
    colour: str
    shape: str
    centroid: tuple[float, float]  # (x, y) px, x right, y down
    area: float  # px
    shape_error: float  # residual of the best template fit relative to the area; 0 is exact
    mask: torch.Tensor = field(compare=False, repr=False)  # [H, W] bool, its half-contrast outline


@dataclass(frozen=True)
class FrameAnalysis:
    background: str
    objects: tuple[FrameObject, ...]  # at most one per colour, largest first
    shade: tuple[float, float, float] = field(compare=False, repr=False)  # the background's RGB as seen


@dataclass(frozen=True)
class ObjectTrack:
    colour: str
    shape: str  # the commonest per-frame shape
    motion: str  # one of world.MOTIONS
    displacement: tuple[float, float]  # fitted (dx, dy) px from first to last frame
    frames_seen: int
    start: tuple[float, float]  # fitted (x, y) centroid px on the first frame


@dataclass(frozen=True)
class ClipAnalysis:
    background: str  # the commonest per-frame background
    objects: tuple[ObjectTrack, ...]  # most frames seen first, then largest; empty if none found
    frames: tuple[FrameAnalysis, ...]


def analyse_clip(frames: torch.Tensor) -> ClipAnalysis:
    """frames: [F, H, W, 3] (or one [H, W, 3]) floats in 0..1, the IMAGE layout."""
    frames = frames.detach().float().cpu()
    if frames.dim() == 3:
        frames = frames.unsqueeze(0)
    if frames.dim() != 4 or frames.shape[-1] != 3 or frames.shape[1] != frames.shape[2]:
        raise ValueError(f"expected square frames [F, H, W, 3] in 0..1 as the shapes world renders, "
                         f"got shape {tuple(frames.shape)}")
    smooth = box_filter(frames)
    names, shades = backgrounds(smooth)
    blobs = find_blobs(smooth, names, shades)
    analyses = tuple(FrameAnalysis(bg, objects, tuple(shade.tolist()))
                     for bg, objects, shade in zip(names, _describe(smooth, shades, blobs), shades))
    return ClipAnalysis(Counter(names).most_common(1)[0][0], _tracks(analyses, frames.shape[1]), analyses)


def direction(displacement: tuple[float, float], size: int) -> str:
    """Motion name of a displacement (dx, dy) in px over a clip of frame size `size`."""
    dx, dy = displacement
    if np.hypot(dx, dy) < STILL_BELOW * size:
        return "still"
    if abs(dx) >= abs(dy):
        return "right" if dx > 0 else "left"
    return "down" if dy > 0 else "up"


def _describe(frames, background_shades, blobs) -> list[tuple[FrameObject, ...]]:
    """FrameObjects per frame; the shapes of all blobs of the clip are fitted in one batch."""
    flat = [(i, blob) for i, frame_blobs in enumerate(blobs) for blob in frame_blobs]
    if not flat:
        return [() for _ in blobs]
    fits = fit_shapes(frames, torch.tensor([i for i, _ in flat]), background_shades,
                      torch.stack([b.shade for _, b in flat]), torch.stack([b.share for _, b in flat]))
    described = [[] for _ in blobs]
    for k, (i, blob) in enumerate(flat):
        centroid = (float(fits.centroids[k, 0]), float(fits.centroids[k, 1]))
        described[i].append(FrameObject(blob.colour, fits.shapes[k], centroid, float(fits.areas[k]),
                                        float(fits.errors[k]), blob.mask))
    return [tuple(objects) for objects in described]


def _tracks(frames: tuple[FrameAnalysis, ...], size: int) -> tuple[ObjectTrack, ...]:
    seen = defaultdict(list)  # colour -> [(frame index, FrameObject)]
    for i, frame in enumerate(frames):
        for obj in frame.objects:
            seen[obj.colour].append((i, obj))
    tracks = []
    for colour, sightings in seen.items():
        if len(sightings) < MIN_FRAMES_SEEN * len(frames):
            continue
        shape = Counter(obj.shape for _, obj in sightings).most_common(1)[0][0]
        start, displacement = _fitted_line(sightings, len(frames))
        area = sum(obj.area for _, obj in sightings)
        tracks.append((len(sightings), area, ObjectTrack(colour, shape, direction(displacement, size),
                                                         displacement, len(sightings), start)))
    return tuple(track for *_, track in sorted(tracks, key=lambda t: (-t[0], -t[1])))


def _fitted_line(sightings, frames: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """Least-squares line of centroid against time: its value on the first frame, and its slope scaled
    to the whole clip; seen once, that centroid and no displacement."""
    centroids = np.array([obj.centroid for _, obj in sightings])
    if len(sightings) < 2:
        return (float(centroids[0, 0]), float(centroids[0, 1])), (0.0, 0.0)
    t = np.array([i for i, _ in sightings], dtype=float) / max(frames - 1, 1)
    slope, start = np.polyfit(t, centroids, 1)  # [2] px per clip, [2] px at t = 0
    return (float(start[0]), float(start[1])), (float(slope[0]), float(slope[1]))
