"""Clips whose object changes at a moment, for Storyboard-style training: segments of (spec, first frame).

An object turns another colour or another shape part-way through a clip, in place: every segment's
spec keeps the clip's seed and motions, so the renderer lays out the same tracks and the segments'
frames splice into one continuous clip. A change starts on a pixel frame that begins a latent frame
(1 + 4k, Wan's causal VAE), so per-frame contexts can say at latent resolution which caption holds.
Motion changes are not drawn: a track that turns would need its own layout rules.
"""
import numpy as np
import torch

from .render import render_clip
from .world import HELDOUT, MIN_CONTRAST, OBJECT_COLOURS, SHAPES, ClipSpec, ObjectSpec, contrast

Segments = tuple[tuple[ClipSpec, int], ...]


def sample_change(rng: np.random.Generator, spec: ClipSpec, frames: int) -> Segments:
    """spec, then from a drawn latent-frame boundary the same clip with one object's colour or shape
    changed (to a trained triple that still stands out from the background and the other object)."""
    latent_frames = (frames - 1) // 4 + 1
    if latent_frames < 4:
        raise ValueError(f"a change needs at least 4 latent frames (13 pixel frames); got {frames} frames")
    start = 1 + 4 * (int(rng.integers(2, latent_frames - 1)) - 1)  # >= 2 latent frames on each side
    which = int(rng.integers(len(spec.objects)))
    objects = list(spec.objects)
    objects[which] = _changed(rng, spec, which)
    return ((spec, 0), (ClipSpec(spec.background, tuple(objects), seed=spec.seed), start))


def render_segments(segments: Segments, frames: int, size: int) -> torch.Tensor:
    """Frames [frames, size, size, 3] in 0..1: each segment's render from its first frame to the next's."""
    starts = [start for _, start in segments] + [frames]
    clip = render_clip(segments[0][0], frames, size)
    for (spec, start), end in zip(segments[1:], starts[2:]):
        clip[start:end] = render_clip(spec, frames, size)[start:end]
    return clip


def _changed(rng, spec: ClipSpec, which: int) -> ObjectSpec:
    """Half the time another colour, else another shape (whichever has a trained option)."""
    obj = spec.objects[which]
    taken = {o.colour for i, o in enumerate(spec.objects) if i != which}
    colours = [ObjectSpec(obj.shape, colour, obj.motion) for colour in OBJECT_COLOURS
               if colour != obj.colour and colour not in taken and contrast(colour, spec.background) >= MIN_CONTRAST]
    shapes = [ObjectSpec(shape, obj.colour, obj.motion) for shape in SHAPES if shape != obj.shape]
    kinds = [[o for o in options if o.triple() not in HELDOUT] for options in (colours, shapes)]
    kinds = [options for options in kinds if options]
    options = kinds[int(rng.integers(len(kinds)))]
    return options[int(rng.integers(len(options)))]
