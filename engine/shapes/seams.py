"""Measuring seams: does an edited clip (extended, looped, blended) jump where old and new frames meet?

A seam is named by the index i of the frame after it: it lies between frames i-1 and i. Seam 0 is the
loop seam, between the last frame and frame 0 (frames[i - 1] wraps there as Python indexing does);
seams 1..F-1 never wrap. Frames are IMAGE tensors [F, H, W, 3] in 0..1.

- `seam_ratio`: the pixel jump across the seam against the frame-to-frame change inside the
  generated frames, so a clip that moves fast is not blamed for moving.
- `seam_continuity`: the shapes analyser on a few frames each side: the main object keeps its
  colour, shape, direction and speed.
- `background_drift`: the background's mean colour and the object's colour name, edited vs original.
"""
from dataclasses import dataclass

import numpy as np
import torch

from .analyse import ClipAnalysis, analyse_clip, direction
from .segment import backgrounds, box_filter, find_blobs, max_3x3

STILL_BELOW = 0.01 * 255  # grey levels: a seam jump below this is invisible whatever the motion
RATIO_LIMIT = 1.5  # a seam may jump this many times the median frame-to-frame change
SPEED_TOLERANCE = 0.15  # relative speed change that still reads as the same motion
WINDOW = 8  # frames analysed on each side of a seam
MIN_WINDOW = 3  # fewer frames cannot give a fitted velocity worth comparing


# ---------------------------------------------------------------------------------------- pixel jump

@dataclass(frozen=True)
class SeamRatio:
    seam_difference: float  # mean |frame[i] - frame[i-1]| across the seam, grey levels 0..255
    median_inner: float  # median of the same over adjacent generated frames; nan if there are none
    ratio: float  # seam_difference / median_inner; nan without inner pairs
    inner_pairs: int  # how many adjacent generated pairs the median is over

    def passes(self, limit: float = RATIO_LIMIT, still_below: float = STILL_BELOW) -> bool:
        """No visible seam: the jump is no larger than ordinary motion, or too small to see at all.

        A nan ratio (no inner pairs to compare with) fails unless the still rule passes.
        """
        return bool(self.ratio <= limit or self.seam_difference < still_below)


def seam_ratio(frames: torch.Tensor, seam: int, generated) -> SeamRatio:
    """The seam's pixel jump relative to the median adjacent-frame change inside the generated frames.

    generated: a range, slice or iterable of frame indices (negative ones count from the end). Inner
    pairs are (j-1, j) with both frames generated, without wrapping, and never the seam pair itself,
    so a generated span that crosses the seam is not compared with its own jump. With fewer than two
    adjacent generated frames there is no ordinary motion to compare with: median_inner and ratio are
    nan, and `passes` only accepts a seam whose jump is under its still limit.
    """
    count = _check_frames(frames)
    before, after = _seam_pair(seam, count)
    indices = _indices(generated, count)
    pairs = [j for j in sorted(indices) if j - 1 in indices and j != seam]
    jump = float(_mean_abs_difference(frames, [before], [after])[0])
    if not pairs:
        return SeamRatio(jump, float("nan"), float("nan"), 0)
    inner = float(np.median(_mean_abs_difference(frames, [j - 1 for j in pairs], pairs).numpy()))
    return SeamRatio(jump, inner, _ratio(jump, inner), len(pairs))


def _mean_abs_difference(frames: torch.Tensor, first: list[int], second: list[int]) -> torch.Tensor:
    """[len(first)] mean |frames[second] - frames[first]| per pair, in grey levels."""
    difference = frames[second].detach().double().cpu() - frames[first].detach().double().cpu()
    return difference.abs().mean(dim=(1, 2, 3)) * 255


def _ratio(jump: float, inner: float) -> float:
    if inner > 0:
        return jump / inner
    return 0.0 if jump == 0 else float("inf")  # generated frames that never change


def _indices(generated, count: int) -> set[int]:
    if isinstance(generated, slice):
        return set(range(*generated.indices(count)))
    indices = set()
    for j in generated:
        if not -count <= j < count:
            raise ValueError(f"generated frame {j} is outside a clip of {count} frames")
        indices.add(j % count)
    return indices


# ------------------------------------------------------------------------------ object continuity

@dataclass(frozen=True)
class SeamSide:
    """The main object in the frames on one side of a seam (colour and shape None if there is none)."""
    frames: tuple[int, ...]  # the clip's frame indices analysed
    colour: str | None
    shape: str | None
    velocity: tuple[float, float]  # fitted centroid (dx, dy) px per frame
    direction: str  # the analyser's motion name of this velocity kept up over the whole clip
    at_seam: tuple[float, float] | None  # fitted centroid (x, y) px at the seam's after-frame

    @property
    def speed(self) -> float:
        """px per frame."""
        return float(np.hypot(*self.velocity))


@dataclass(frozen=True)
class SeamContinuity:
    before: SeamSide
    after: SeamSide
    position_jump: float  # px between the two sides' fitted positions at the seam; nan if one is missing

    @property
    def colour_kept(self) -> bool:
        return self.before.colour == self.after.colour

    @property
    def shape_kept(self) -> bool:
        return self.before.shape == self.after.shape

    @property
    def direction_kept(self) -> bool:
        return self.before.direction == self.after.direction

    def speed_kept(self, tolerance: float = SPEED_TOLERANCE) -> bool:
        """Speed after within `tolerance` of speed before; an object still on both sides keeps it."""
        if self.before.direction == "still" and self.after.direction == "still":
            return True
        return abs(self.after.speed - self.before.speed) <= tolerance * self.before.speed

    def kept(self, tolerance: float = SPEED_TOLERANCE) -> bool:
        """Everything the analyser can see carries on across the seam."""
        return self.colour_kept and self.shape_kept and self.direction_kept and self.speed_kept(tolerance)


def seam_continuity(frames: torch.Tensor, seam: int, window: int = WINDOW,
                    min_window: int = MIN_WINDOW) -> SeamContinuity:
    """Analyse up to `window` frames each side of the seam and compare their main objects.

    The main object is the analyser's first track before the seam; after the seam it is the track of
    the same colour, else (its colour changed) the track nearest to where the object was heading.
    Velocities are straight-line fits to the centroids, in px per frame, so windows of any length
    compare. The analyser's own `motion` of a window is not used: its still threshold is a fraction
    of the frame over the whole clip, and a short window covers only part of that travel. Instead
    each side's direction is `analyse.direction` of its velocity times (F - 1), the displacement the
    object would show were it to keep that velocity for the whole clip of F frames; both sides are
    scaled alike, so they are named by one rule.
    """
    count = _check_frames(frames)
    before, after = _windows(seam, count, window, min_window)
    size, steps = frames.shape[1], count - 1
    first = _side(analyse_clip(frames[list(before)]), before, None, size, steps)
    second = _side(analyse_clip(frames[list(after)]), after, first, size, steps)
    if first.at_seam is None or second.at_seam is None:
        return SeamContinuity(first, second, float("nan"))
    return SeamContinuity(first, second, float(np.hypot(*np.subtract(first.at_seam, second.at_seam))))


def _windows(seam: int, count: int, window: int, min_window: int) -> tuple[range, range]:
    """The frames before and after a seam; a loop seam takes at most half the clip on each side."""
    _seam_pair(seam, count)
    if seam == 0:
        side = min(window, count // 2)
        before, after = range(count - side, count), range(0, side)
    else:
        before, after = range(max(0, seam - window), seam), range(seam, min(count, seam + window))
    if min(len(before), len(after)) < min_window:
        raise ValueError(f"seam {seam} of a {count}-frame clip leaves {len(before)} frames before and "
                         f"{len(after)} after; need at least {min_window} each side")
    return before, after


def _side(analysis: ClipAnalysis, indices: range, previous: SeamSide | None, size: int,
          steps: int) -> SeamSide:
    """The main object of one window. `previous` (the side before the seam) picks the object after it;
    `steps` (F - 1) scales its velocity to a whole clip's displacement, to name its direction."""
    seam_time = len(indices) if previous is None else 0  # window-local time of the seam's after-frame
    fits = {track.colour: (track.shape, *_fit_line(analysis, track.colour, seam_time))
            for track in analysis.objects}
    colour = _main_colour(analysis, fits, previous)
    if colour is None:
        return SeamSide(tuple(indices), None, None, (0.0, 0.0), "still", None)
    shape, velocity, at_seam = fits[colour]
    name = direction((velocity[0] * steps, velocity[1] * steps), size)
    return SeamSide(tuple(indices), colour, shape, velocity, name, at_seam)


def _main_colour(analysis: ClipAnalysis, fits: dict, previous: SeamSide | None) -> str | None:
    if not analysis.objects:
        return None
    if previous is None or previous.colour is None:
        return analysis.objects[0].colour
    if previous.colour in fits:
        return previous.colour
    return min(fits, key=lambda colour: np.hypot(*np.subtract(fits[colour][2], previous.at_seam)))


def _fit_line(analysis: ClipAnalysis, colour: str, at: float):
    """Least-squares centroid line of one colour's sightings: (velocity px/frame, position at time `at`)."""
    sightings = [(t, obj.centroid) for t, frame in enumerate(analysis.frames)
                 for obj in frame.objects if obj.colour == colour]
    times = np.array([t for t, _ in sightings], dtype=float)
    centroids = np.array([c for _, c in sightings])
    if len(sightings) < 2:
        return (0.0, 0.0), (float(centroids[0, 0]), float(centroids[0, 1]))
    slope, intercept = np.polyfit(times, centroids, 1)
    position = intercept + slope * at
    return (float(slope[0]), float(slope[1])), (float(position[0]), float(position[1]))


# ------------------------------------------------------------------------------- background drift

@dataclass(frozen=True)
class BackgroundDrift:
    original_background: tuple[float, float, float]  # mean RGB 0..1 of the background pixels
    edited_background: tuple[float, float, float]
    drift: float  # max per-channel |edited - original| of those means, in % of 255
    original_colour: str | None  # the main object's colour name; None without objects
    edited_colour: str | None

    @property
    def colour_kept(self) -> bool:
        """Also True for two clips without objects: there was no colour to lose."""
        return self.original_colour == self.edited_colour


def background_drift(original: torch.Tensor, edited: torch.Tensor) -> BackgroundDrift:
    """How far an edit moved the background's colour, and whether the main object kept its colour name.

    An edit (a blend, a re-generated stretch) can shift the whole frame's tint while every object is
    still read right; the mean over background pixels only, across all frames, shows that shift.
    """
    before, after = _background_mean(original), _background_mean(edited)
    drift = float((after - before).abs().max()) * 100
    return BackgroundDrift(_rgb(before), _rgb(after), drift, _main_object_colour(original),
                           _main_object_colour(edited))


def background_mask(frames: torch.Tensor) -> torch.Tensor:
    """[F, H, W] bool: pixels that the analyser's segmentation gives to no object, a pixel clear of
    each object's blurred edge (which mixes the object's colour into the background's)."""
    smooth = box_filter(frames.detach().float().cpu())
    names, shades = backgrounds(smooth)
    objects = torch.zeros(smooth.shape[:3])
    for i, blobs in enumerate(find_blobs(smooth, names, shades)):
        for blob in blobs:
            objects[i] += blob.share.float()
    return max_3x3(objects) == 0


def _background_mean(frames: torch.Tensor) -> torch.Tensor:
    frames = frames.detach().float().cpu()
    if frames.dim() == 3:
        frames = frames.unsqueeze(0)
    mask = background_mask(frames)
    if not mask.any():
        raise ValueError("no background pixels: objects cover every frame")
    return frames[mask].double().mean(dim=0)


def _main_object_colour(frames: torch.Tensor) -> str | None:
    objects = analyse_clip(frames).objects
    return objects[0].colour if objects else None


def _rgb(values: torch.Tensor) -> tuple[float, float, float]:
    return tuple(float(v) for v in values)


# ------------------------------------------------------------------------------------------ shared

def _check_frames(frames: torch.Tensor) -> int:
    if frames.dim() != 4 or frames.shape[-1] != 3:
        raise ValueError(f"expected frames [F, H, W, 3], got shape {tuple(frames.shape)}")
    if frames.shape[0] < 2:
        raise ValueError(f"a seam needs at least 2 frames, got {frames.shape[0]}")
    return frames.shape[0]


def _seam_pair(seam: int, count: int) -> tuple[int, int]:
    """(frame before, frame after) of a seam; seam 0 is the loop seam (last frame, frame 0)."""
    if not 0 <= seam < count:
        raise ValueError(f"seam must be a frame index 0..{count - 1} (0: the loop seam), got {seam}")
    return (seam - 1) % count, seam
