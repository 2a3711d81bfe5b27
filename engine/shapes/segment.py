"""Finding the background and the objects in frames that may be blurred, noisy and slightly off-colour.

- The frames are box-filtered first, so per-pixel noise cannot make specks of foreground.
- The background is the commonest colour name on the frame border; its exact shade, the median there.
- Objects are connected regions that differ from that shade. Each region is cut where the difference
  reaches half the region's peak (the half-way line of a blurred edge is where the sharp edge was),
  which also parts two objects that blur into one region.
- An object's colour is read from its core, away from edge pixels that mix with the background.
- Each object also gets its share of the region around it (the pixels nearer to it than to another
  object), which holds all of its blurred edge: `fit` needs that to measure its area.
"""
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .world import COLOURS

FOREGROUND_DISTANCE = 0.12  # RGB distance from the background that starts a region (contrast is >= 0.5)
SHARE_GROWTH = 2  # px added around each region before it is shared, for the faintest edge pixels
MIN_AREA = 0.01  # regions smaller than this fraction of the frame are specks, not objects
_NAMES = list(COLOURS)
_PALETTE = torch.tensor([COLOURS[name] for name in _NAMES])


@dataclass(frozen=True)
class Blob:
    """One object in one frame, before its shape is known."""
    colour: str
    shade: torch.Tensor  # [3] median RGB of its core
    mask: torch.Tensor  # [H, W] bool, its half-contrast outline
    share: torch.Tensor  # [H, W] bool, the outline and the blurred edge around it


def nearest_colour(rgb: torch.Tensor, exclude: str | None = None) -> str:
    """The name of the palette colour nearest to rgb [3]."""
    distance = torch.linalg.vector_norm(_PALETTE - rgb, dim=-1)
    if exclude is not None:
        distance[_NAMES.index(exclude)] = float("inf")
    return _NAMES[int(distance.argmin())]


def box_filter(frames: torch.Tensor) -> torch.Tensor:
    """3x3 mean of frames [F, H, W, 3]: cuts independent pixel noise threefold, moves edges under a pixel."""
    x = F.pad(frames.permute(0, 3, 1, 2), (1, 1, 1, 1), mode="replicate")
    x = (x[..., :-2] + x[..., 1:-1] + x[..., 2:]) / 3  # slices: far faster than avg_pool2d on CPU
    x = (x[..., :-2, :] + x[..., 1:-1, :] + x[..., 2:, :]) / 3
    return x.permute(0, 2, 3, 1)


def backgrounds(frames: torch.Tensor) -> tuple[list[str], torch.Tensor]:
    """Per frame of frames [F, H, W, 3]: the background's name, and its shade [F, 3]."""
    ring = max(2, frames.shape[1] // 32)
    border = torch.cat([frames[:, :ring].flatten(1, 2), frames[:, -ring:].flatten(1, 2),
                        frames[:, :, :ring].flatten(1, 2), frames[:, :, -ring:].flatten(1, 2)], dim=1)
    names = torch.linalg.vector_norm(border[:, :, None, :] - _PALETTE, dim=-1).argmin(dim=-1)  # [F, P]
    commonest = torch.mode(names, dim=1).values  # [F]
    of_commonest = (names == commonest[:, None]).unsqueeze(-1)
    shades = torch.where(of_commonest, border, torch.nan).nanmedian(dim=1).values
    return [_NAMES[i] for i in commonest.tolist()], shades


def find_blobs(frames: torch.Tensor, background_names: list[str], shades: torch.Tensor) -> list[list[Blob]]:
    """Per frame, its objects, at most one per colour (the largest), largest first.

    frames [F, H, W, 3] already box-filtered; background_names and shades [F, 3] from `backgrounds`.
    """
    distance = torch.linalg.vector_norm(frames - shades[:, None, None, :], dim=-1)
    regions = connected_regions(distance > FOREGROUND_DISTANCE)
    outlines = connected_regions(_half_contrast(distance, regions))
    grown = regions.float()
    for _ in range(SHARE_GROWTH):
        grown = max_3x3(grown)
    shares = _share(outlines, grown > 0)
    min_area = MIN_AREA * frames.shape[1] * frames.shape[2]
    found = []
    for frame, frame_distance, frame_outlines, frame_shares, bg in zip(
            frames, distance, outlines, shares, background_names):
        blobs: dict[str, Blob] = {}
        for label in _large_labels(frame_outlines, min_area):
            mask = frame_outlines == label
            core = mask & (frame_distance > 0.8 * _peak(frame_distance[mask]))
            shade = frame[core].median(dim=0).values
            colour = nearest_colour(shade, exclude=bg)  # an object is never the background's colour
            if colour not in blobs or mask.sum() > blobs[colour].mask.sum():
                blobs[colour] = Blob(colour, shade, mask, frame_shares == label)
        found.append(sorted(blobs.values(), key=lambda blob: -int(blob.mask.sum())))
    return found


def connected_regions(mask: torch.Tensor) -> torch.Tensor:
    """Label 8-connected regions of mask [F, H, W] (0 outside): each pixel gets its region's largest index."""
    height, width = mask.shape[1:]
    index = torch.arange(1, height * width + 1, dtype=torch.float32).view(1, height, width)
    inside = mask.float()
    labels = index * inside
    while True:  # spread the largest index through each region, a pixel a step, until nothing changes
        spread = max_3x3(labels) * inside
        if torch.equal(spread, labels):
            return labels.long()
        labels = spread


def max_3x3(x: torch.Tensor) -> torch.Tensor:
    """Maximum over each pixel's 3x3 neighbourhood of x [..., H, W] (zero beyond the edges)."""
    padded = F.pad(x, (1, 1, 1, 1))
    rows = torch.maximum(torch.maximum(padded[..., :-2], padded[..., 1:-1]), padded[..., 2:])
    return torch.maximum(torch.maximum(rows[..., :-2, :], rows[..., 1:-1, :]), rows[..., 2:, :])


def _share(labels: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """Grow labelled outlines [F, H, W] into the unlabelled `allowed` pixels, a pixel a step, so each
    such pixel joins the outline it is nearest to (8-connected steps; ties go to the larger label)."""
    labels = labels.float()
    while True:
        grown = torch.where((labels == 0) & allowed, max_3x3(labels), labels)
        if torch.equal(grown, labels):
            return grown.long()
        labels = grown


def _half_contrast(distance: torch.Tensor, regions: torch.Tensor) -> torch.Tensor:
    """[F, H, W] bool: the pixels of each large enough region that reach half of that region's peak."""
    keep = torch.zeros_like(regions, dtype=torch.bool)
    min_area = MIN_AREA * regions.shape[1] * regions.shape[2]
    for i, frame_regions in enumerate(regions):
        for label in _large_labels(frame_regions, min_area):
            region = frame_regions == label
            keep[i] |= region & (distance[i] > 0.5 * _peak(distance[i][region]))
    return keep


def _large_labels(labels: torch.Tensor, min_area: float) -> list[int]:
    ids, areas = labels.unique(return_counts=True)
    return [i for i, area in zip(ids.tolist(), areas.tolist()) if i != 0 and area >= min_area]


def _peak(values: torch.Tensor) -> float:
    """A region's contrast: a high quantile, not the maximum, so one stray pixel cannot set it."""
    return float(torch.quantile(values, 0.9))
