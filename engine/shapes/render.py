"""Rendering a ClipSpec: shape geometry, a seeded layout of straight-line tracks, and the frames.

Positions are in pixels, x to the right and y downwards, measured to the centre of an object's
bounding box. Each object crosses a fixed fraction of the frame over the whole clip whatever the
frame count, so 17 and 33 frames show the same motion sampled more or less finely.
"""
from dataclasses import dataclass

import numpy as np
import torch

from .world import COLOURS, ClipSpec

MIN_SIZE = 64  # below this the smallest object would drop under 16 px
SIDE_ONE_OBJECT = (0.34, 0.42)  # bounding-box side as a fraction of the frame: 22-27 px at 64
SIDE_TWO_OBJECTS = (0.28, 0.34)  # two objects need room to pass each other: 18-22 px at 64
TRAVEL = (0.30, 0.42)  # distance covered over the clip, fraction of the frame; always fits (1-0.42-2*0.04 > 0.42)
MARGIN = 0.04  # keep objects this far (fraction of the frame) from the edges and from each other
LAYOUT_TRIES = 100
START_GRID = 17  # candidate starts per axis when placing a second object

MOTION_VECTORS = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1), "still": (0, 0)}

# Area of each shape as a fraction of its bounding box, and where its area centroid sits below the
# box centre (fraction of the side). The analyser uses both to fit templates to what it sees.
AREA_FRACTION = {"circle": np.pi / 4, "square": 1.0, "triangle": 0.5, "diamond": 0.5}
CENTROID_BELOW_CENTRE = {"circle": 0.0, "square": 0.0, "triangle": 1 / 6, "diamond": 0.0}


@dataclass(frozen=True)
class Track:
    side: float  # bounding-box side, px
    start: np.ndarray  # (x, y) of the box centre on the first frame, px
    end: np.ndarray  # ... on the last frame

    def centres(self, frames: int) -> np.ndarray:
        """[frames, 2] box centres at constant speed."""
        t = np.linspace(0.0, 1.0, frames)[:, None] if frames > 1 else np.zeros((1, 1))
        return self.start + (self.end - self.start) * t


def coverage(shape: str, side, cx, cy, size: int) -> torch.Tensor:
    """Anti-aliased coverage [N, size, size] in 0..1 of N shapes with box side `side` centred at (cx, cy).

    Each shape is a signed distance (px, negative inside); coverage = clamp(0.5 - distance) gives a
    one-pixel soft edge.
    """
    side, cx, cy = (torch.as_tensor(v, dtype=torch.float32).reshape(-1, 1, 1) for v in (side, cx, cy))
    pixel = torch.arange(size, dtype=torch.float32) + 0.5
    dx, dy = pixel.view(1, 1, -1) - cx, pixel.view(1, -1, 1) - cy
    half = side / 2
    if shape == "circle":
        distance = torch.sqrt(dx**2 + dy**2) - half
    elif shape == "square":
        distance = torch.maximum(dx.abs(), dy.abs()) - half
    elif shape == "diamond":
        distance = (dx.abs() + dy.abs() - half) / np.sqrt(2)
    elif shape == "triangle":  # apex up at the box top, base along the box bottom
        slanted = (2 * dx.abs() - dy - half) / np.sqrt(5)
        distance = torch.maximum(dy - half, slanted)
    else:
        raise ValueError(f"unknown shape {shape!r}; expected one of {sorted(AREA_FRACTION)}")
    return (0.5 - distance).clamp(0.0, 1.0)


def layout(spec: ClipSpec, size: int) -> list[Track]:
    """Seeded tracks for the spec's objects, inside the frame and (for two objects) never touching."""
    rng = np.random.default_rng(spec.seed)
    side_range = SIDE_ONE_OBJECT if len(spec.objects) == 1 else SIDE_TWO_OBJECTS
    first = _track(rng, spec.objects[0].motion, size, side_range)
    if len(spec.objects) == 1:
        return [first]
    for _ in range(LAYOUT_TRIES):
        second = _track(rng, spec.objects[1].motion, size, side_range, avoid=first)
        if second is not None:
            return [first, second]
        first = _track(rng, spec.objects[0].motion, size, side_range)
    raise RuntimeError(f"no layout keeps {spec.objects} apart at {size} px after {LAYOUT_TRIES} tries")


def render_clip(spec: ClipSpec, frames: int = 17, size: int = 64) -> torch.Tensor:
    """Frames [frames, size, size, 3] float32 in 0..1 (the IMAGE layout)."""
    return draw(spec, layout(spec, size), frames, size)


def draw(spec: ClipSpec, tracks: list[Track], frames: int, size: int) -> torch.Tensor:
    """render_clip with the given tracks, one per object."""
    if frames < 1 or size < MIN_SIZE:
        raise ValueError(f"need frames >= 1 and size >= {MIN_SIZE} (objects stay >= 16 px); got {frames}, {size}")
    image = torch.tensor(COLOURS[spec.background]).expand(frames, size, size, 3)
    for obj, track in zip(spec.objects, tracks):
        centres = track.centres(frames)
        alpha = coverage(obj.shape, track.side, centres[:, 0], centres[:, 1], size).unsqueeze(-1)
        image = image * (1 - alpha) + torch.tensor(COLOURS[obj.colour]) * alpha
    return image.contiguous()


def turned(track: Track, frame: int, frames: int, motion: str, size: int) -> Track | None:
    """The track that is where `track` is at `frame` and from there moves in `motion`'s direction at the
    clip's usual speed (None if it would leave the frame by the clip's end)."""
    if not 0 <= frame < frames or frames < 2:
        raise ValueError(f"a track turns at a frame of a clip of at least 2 frames; got frame {frame} of {frames}")
    direction = np.array(MOTION_VECTORS[motion], dtype=float)
    travel = size * np.mean(TRAVEL)
    here = track.centres(frames)[frame]
    start = here - direction * travel * frame / (frames - 1)
    low, high = _centre_range(track.side, size)
    last = start + direction * travel
    if np.any(last < low) or np.any(last > high):
        return None
    return Track(track.side, start, last)


def _track(rng, motion: str, size: int, side_range, avoid: Track | None = None) -> Track | None:
    """A random track; with `avoid`, a random one among starts on a grid that never touch it (None if none do)."""
    side = size * rng.uniform(*side_range)
    low, high = _centre_range(side, size)
    direction = np.array(MOTION_VECTORS[motion], dtype=float)
    travel = size * rng.uniform(*TRAVEL) * np.abs(direction)  # per axis; zero across the motion
    first_start, start_span = low + travel * (direction < 0), high - low - travel
    if avoid is None:
        start = first_start + rng.random(2) * start_span
    else:
        steps = np.linspace(0.0, 1.0, START_GRID)
        starts = first_start + np.stack(np.meshgrid(steps, steps), -1).reshape(-1, 2) * start_span
        free = _apart(avoid, side, starts, direction * travel, size)
        if not free.any():
            return None
        start = starts[rng.choice(np.flatnonzero(free))]
    return Track(side, start, start + direction * travel)


def _centre_range(side: float, size: int) -> tuple[float, float]:
    """The lowest and highest box centre (either axis) that keeps a box of `side` MARGIN inside the frame."""
    return side / 2 + MARGIN * size, size - side / 2 - MARGIN * size


def _apart(track: Track, side: float, starts: np.ndarray, displacement: np.ndarray, size: int) -> np.ndarray:
    """For each candidate start [K, 2]: does a box of `side` moving by `displacement` stay clear of `track`?

    Checked on a fine time grid, so the answer does not depend on how many frames are rendered.
    """
    t = np.linspace(0.0, 1.0, 65)[:, None]
    other = track.centres(65)  # [T, 2]
    candidate = starts[:, None, :] + displacement * t  # [K, T, 2]
    gap = np.abs(candidate - other).max(axis=-1)  # Chebyshev distance between box centres
    return (gap >= (track.side + side) / 2 + MARGIN * size).all(axis=1)
