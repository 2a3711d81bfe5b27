"""Clips whose object changes at a moment, for Storyboard-style training: segments of (spec, first frame).

An object turns another colour or another shape part-way through a clip, in place, or (when it is
the only object) starts moving another way from where it is. Every segment's spec keeps the clip's
seed, so the renderer lays out the same tracks, and a turned track continues from the position it
turns at: the segments' frames join into one continuous clip. A change starts on a pixel frame that
begins a latent frame (1 + 4k, Wan's causal VAE), so per-frame contexts can say at latent resolution
which caption holds.
"""
import numpy as np
import torch

from .render import draw, layout, turned
from .world import HELDOUT, MIN_CONTRAST, MOTIONS, OBJECT_COLOURS, SHAPES, ClipSpec, ObjectSpec, contrast

Segments = tuple[tuple[ClipSpec, int], ...]
MIN_FRAMES = 13  # 4 latent frames: at least two before a change and two after


def sample_change(rng: np.random.Generator, spec: ClipSpec, frames: int, size: int = 64) -> Segments:
    """spec, then from a drawn latent-frame boundary the same clip with one object's colour, shape or
    (for one object) motion changed, to a trained triple that still stands out from the background
    and the other object and, for motion, stays in the frame."""
    if frames < MIN_FRAMES:
        raise ValueError(f"a change needs at least 4 latent frames ({MIN_FRAMES} pixel frames); got {frames} frames")
    latent_frames = (frames - 1) // 4 + 1
    start = 1 + 4 * (int(rng.integers(2, latent_frames - 1)) - 1)  # >= 2 latent frames on each side
    which = int(rng.integers(len(spec.objects)))
    objects = list(spec.objects)
    objects[which] = _changed(rng, spec, which, start, frames, size)
    return ((spec, 0), (ClipSpec(spec.background, tuple(objects), seed=spec.seed), start))


def render_segments(segments: Segments, frames: int, size: int) -> torch.Tensor:
    """Frames [frames, size, size, 3] in 0..1: each segment drawn from its first frame to the next's."""
    tracks = segment_tracks(segments, frames, size)
    ends = [start for _, start in segments[1:]] + [frames]
    clip = draw(segments[0][0], tracks[0], frames, size)
    for (spec, start), end, spec_tracks in zip(segments[1:], ends[1:], tracks[1:]):
        clip[start:end] = draw(spec, spec_tracks, frames, size)[start:end]
    return clip


def segment_tracks(segments: Segments, frames: int, size: int) -> list:
    """Each segment's tracks: the first spec's layout, turned where an object's motion changes."""
    tracks = [layout(segments[0][0], size)]
    for (before, _), (spec, start) in zip(segments, segments[1:]):
        tracks.append([track if old.motion == new.motion else turned(track, start, frames, new.motion, size)
                       for track, old, new in zip(tracks[-1], before.objects, spec.objects)])
    return tracks


def _changed(rng, spec: ClipSpec, which: int, start: int, frames: int, size: int) -> ObjectSpec:
    """A third of the time each: another colour, shape or motion (among those with a possible option)."""
    obj = spec.objects[which]
    taken = {o.colour for i, o in enumerate(spec.objects) if i != which}
    colours = [ObjectSpec(obj.shape, colour, obj.motion) for colour in OBJECT_COLOURS
               if colour != obj.colour and colour not in taken and contrast(colour, spec.background) >= MIN_CONTRAST]
    shapes = [ObjectSpec(shape, obj.colour, obj.motion) for shape in SHAPES if shape != obj.shape]
    motions = []
    if len(spec.objects) == 1:  # two objects could meet on a turned track
        track = layout(spec, size)[0]
        motions = [ObjectSpec(obj.shape, obj.colour, motion) for motion in MOTIONS
                   if motion != obj.motion and turned(track, start, frames, motion, size) is not None]
    kinds = [[o for o in options if o.triple() not in HELDOUT] for options in (colours, shapes, motions)]
    kinds = [options for options in kinds if options]
    options = kinds[int(rng.integers(len(kinds)))]
    return options[int(rng.integers(len(options)))]
