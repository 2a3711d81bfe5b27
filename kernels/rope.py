"""Wan 2.1's 3D rotary position embedding, described by the latent token grid it applies to."""
from dataclasses import dataclass
from functools import lru_cache

import torch

THETA = 10000.0


def axis_dims(head_dim: int) -> tuple[int, int, int]:
    """How head_dim is split over (t, h, w): [d - 4*(d//6), 2*(d//6), 2*(d//6)], e.g. 128 -> 44, 42, 42."""
    sixth = head_dim // 6
    return head_dim - 4 * sixth, 2 * sixth, 2 * sixth


@dataclass(frozen=True)
class RopeGrid:
    """The token grid (frames, height, width) of a patchified latent, in row-major token order."""

    frames: int
    height: int
    width: int

    @property
    def tokens(self) -> int:
        return self.frames * self.height * self.width

    def angles(self, head_dim: int) -> torch.Tensor:
        """Rotation angle of every (token, pair): float64 [tokens, head_dim // 2]."""
        return _grid_angles(self.frames, self.height, self.width, head_dim)

    def cos_sin(self, head_dim: int, device=None) -> tuple[torch.Tensor, torch.Tensor]:
        """float32 cos and sin of `angles`, each [tokens, head_dim // 2]."""
        angles = self.angles(head_dim)
        return angles.cos().float().to(device), angles.sin().float().to(device)

    def pair_tables(self, head_dim: int, device=None) -> tuple[torch.Tensor, torch.Tensor]:
        """The per-axis form of `cos_sin` that fused kernels gather from.

        float32 cos and sin, each [max(frames, height, width), head_dim // 2]: entry [p, j] is the value
        for coordinate p on the axis that pair j belongs to. A token's value for pair j is row
        (its t, h or w coordinate) of column j, identical to `cos_sin` (same float64 angle p * w_j).
        """
        return _pair_tables(self.frames, self.height, self.width, head_dim, torch.device(device or "cpu"))


def axis_frequencies(axis_dim: int) -> torch.Tensor:
    """w_j = theta^(-2j / axis_dim) for the axis_dim // 2 pairs of one axis, float64."""
    exponents = torch.arange(0, axis_dim, 2, dtype=torch.float64) / axis_dim
    return THETA ** (-exponents)


@lru_cache(maxsize=16)
def _grid_angles(frames: int, height: int, width: int, head_dim: int) -> torch.Tensor:
    dims = axis_dims(head_dim)
    per_axis = []
    for size, dim, shape in zip((frames, height, width), dims, _broadcast_shapes(frames, height, width)):
        positions = torch.arange(size, dtype=torch.float64)
        angle = torch.outer(positions, axis_frequencies(dim))  # [size, dim // 2]
        per_axis.append(angle.view(*shape, dim // 2).expand(frames, height, width, dim // 2))
    return torch.cat(per_axis, dim=-1).reshape(frames * height * width, head_dim // 2)


def _broadcast_shapes(frames: int, height: int, width: int):
    return (frames, 1, 1), (1, height, 1), (1, 1, width)


@lru_cache(maxsize=16)
def _pair_tables(frames: int, height: int, width: int, head_dim: int, device: torch.device):
    # cached per device: kernels call this for every attention, and a host-to-GPU copy each time would stall
    positions = torch.arange(max(frames, height, width), dtype=torch.float64)
    frequencies = torch.cat([axis_frequencies(dim) for dim in axis_dims(head_dim)])  # [head_dim // 2]
    angles = torch.outer(positions, frequencies)
    return angles.cos().float().to(device), angles.sin().float().to(device)


def rotate(x: torch.Tensor, grid: RopeGrid, first: int | None = None) -> torch.Tensor:
    """x [B, N, H, D] with adjacent pairs (x[2j], x[2j+1]) rotated by the grid's angles, as float32.

    first: x holds the grid's tokens first … first + N − 1 (a sequence-parallel shard); None: all of them.
    """
    batch, tokens, heads, head_dim = x.shape
    if first is None and tokens != grid.tokens:
        raise ValueError(f"RoPE grid {grid} has {grid.tokens} tokens but the input has {tokens}")
    start = first or 0
    if not 0 <= start <= start + tokens <= grid.tokens:
        raise ValueError(f"RoPE grid {grid} has {grid.tokens} tokens; tokens {start} … {start + tokens - 1} "
                         "are not all in it")
    cos, sin = grid.cos_sin(head_dim, device=x.device)
    cos, sin = cos[start:start + tokens], sin[start:start + tokens]
    pairs = x.float().reshape(batch, tokens, heads, head_dim // 2, 2)
    even, odd = pairs[..., 0], pairs[..., 1]
    cos, sin = cos[None, :, None, :], sin[None, :, None, :]
    return torch.stack((even * cos - odd * sin, even * sin + odd * cos), dim=-1).reshape(x.shape)


def apply_rope(x: torch.Tensor, grid: RopeGrid, first: int | None = None) -> torch.Tensor:
    """Rotate adjacent pairs (x[2j], x[2j+1]) of x [B, N, H, D] by the grid's angles, in float32
    (`first`: x holds tokens first … first + N − 1 of the grid, as in `rotate`)."""
    return rotate(x, grid, first).to(x.dtype)
