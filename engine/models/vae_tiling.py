"""Spatial tiling for VAE decoding: where the tiles go and how their overlaps are blended.

Tiles are placed in latent units and overlap their neighbours; each decoded tile is weighted by a
linear ramp that rises across the overlap with the tile before it and falls across the overlap with
the tile after it, so seams fade instead of cutting. The blend divides by the summed weights.
"""
import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Span:
    """A tile's extent along one axis, in latent units: [start, stop)."""

    start: int
    stop: int


def tile_spans(size: int, tile: int, overlap: int) -> list[Span]:
    """Spans of length `tile` covering [0, size), each overlapping the next by at least `overlap`.

    The fewest tiles that allow it, spread evenly, so the extra overlap is shared out rather than
    piled onto the last tile.
    """
    if tile >= size:
        return [Span(0, size)]
    gaps = math.ceil((size - tile) / (tile - overlap))
    starts = [round(i * (size - tile) / gaps) for i in range(gaps + 1)]
    return [Span(start, start + tile) for start in starts]


def ramp_weights(spans: list[Span], index: int, scale: int) -> torch.Tensor:
    """Blend weight of tile `index` along one axis, in pixels (latent units × scale).

    1 inside, a linear ramp over each overlap with a neighbour. Ramp values sit at pixel centres,
    (i + 0.5) / length, so they never reach 0 and two complementary ramps sum to 1.
    """
    span = spans[index]
    weights = torch.ones((span.stop - span.start) * scale)
    rise = (spans[index - 1].stop - span.start) * scale if index > 0 else 0
    fall = (span.stop - spans[index + 1].start) * scale if index + 1 < len(spans) else 0
    if rise > 0:
        weights[:rise] = (torch.arange(rise) + 0.5) / rise
    if fall > 0:
        weights[-fall:] = torch.minimum(weights[-fall:], 1 - (torch.arange(fall) + 0.5) / fall)
    return weights


@dataclass(frozen=True)
class Tile:
    """One tile: its latent window and its 2D blend weight in pixels."""

    rows: Span
    cols: Span
    weight: torch.Tensor  # [H_pixels, W_pixels]

    def latent_window(self, latent: torch.Tensor) -> torch.Tensor:
        return latent[..., self.rows.start:self.rows.stop, self.cols.start:self.cols.stop]

    def pixel_slices(self, scale: int) -> tuple[slice, slice]:
        return (slice(self.rows.start * scale, self.rows.stop * scale),
                slice(self.cols.start * scale, self.cols.stop * scale))


def plan_tiles(height: int, width: int, tile: tuple[int, int], overlap: int, scale: int) -> list[Tile]:
    """Tiles over a latent of height × width, each decoding to `scale`× pixels per latent unit."""
    row_spans = tile_spans(height, tile[0], overlap)
    col_spans = tile_spans(width, tile[1], overlap)
    return [
        Tile(rows, cols, ramp_weights(row_spans, i, scale)[:, None] * ramp_weights(col_spans, j, scale)[None, :])
        for i, rows in enumerate(row_spans)
        for j, cols in enumerate(col_spans)
    ]


def validate_tiling(tile, overlap: int) -> tuple[int, int]:
    """Check a (tile_h, tile_w) in latent units and an overlap; return the tile as a pair of ints."""
    if len(tile) != 2 or any(int(t) != t or t < 1 for t in tile):
        raise ValueError(f"tile must be (tile_h, tile_w) in latent units (1 latent = 8 pixels), "
                         f"two positive integers such as (32, 32); got {tile!r}.")
    tile = (int(tile[0]), int(tile[1]))
    if int(overlap) != overlap or not 0 <= overlap < min(tile):
        raise ValueError(f"overlap must be a whole number of latent units from 0 to {min(tile) - 1} "
                         f"(smaller than the tile {tile}); got {overlap!r}. A quarter of the tile, "
                         f"e.g. {min(tile) // 4}, hides seams well.")
    return tile
