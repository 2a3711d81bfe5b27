"""Naming an object's shape in a blurred frame by fitting blurred templates.

Blur keeps an object's mass and centroid: summed over pixels, the object's coverage fraction is its
area, and the coverage-weighted centroid is its centroid, however blurred. So each candidate shape
is fully placed (side from the area, position from the centroid) and only the blur is unknown, which
is tried on a short grid. The shape whose blurred template best explains the coverage wins.

Coverage is a pixel's projection on the background-to-object colour axis: linear in how much of the
pixel the object covers, and zero-mean noise stays zero-mean in it (a colour distance would not).
"""
from dataclasses import dataclass

import torch

from .render import AREA_FRACTION, CENTROID_BELOW_CENTRE, coverage

BLUR_GRID = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0)  # gaussian sigmas (px) tried on each template


@dataclass(frozen=True)
class ShapeFits:
    shapes: list[str]  # best shape per object
    errors: torch.Tensor  # [K] squared residual of the best fit over the object's area (0 = exact)
    areas: torch.Tensor  # [K] px, the object's mass
    centroids: torch.Tensor  # [K, 2] (x, y) px


def fit_shapes(frames, frame_of, background_shades, object_shades, windows) -> ShapeFits:
    """Fit K objects at once.

    frames [F, H, W, 3]; frame_of [K] the frame of each object; background_shades [F, 3];
    object_shades [K, 3]; windows [K, H, W] bool, the pixels that belong to each object, blurred
    edge included (segment.Blob.share).
    """
    alpha = _coverage(frames[frame_of], background_shades[frame_of], object_shades) * windows
    areas = alpha.sum(dim=(1, 2)).clamp(min=1.0)
    pixel = torch.arange(windows.shape[-1], dtype=torch.float32) + 0.5  # pixel centres, as rendered
    cx = (alpha.sum(dim=1) * pixel).sum(dim=1) / areas
    cy = (alpha.sum(dim=2) * pixel).sum(dim=1) / areas
    # Blurs are products in frequency, and by Parseval squared residuals can be summed there too, so
    # every blur of every template is compared without making a single blurred image.
    height, width = windows.shape[-2:]
    image = torch.fft.rfft2(alpha)[:, None]  # [K, 1, H, W//2+1]
    blur = _gaussian_transfer(height, width)  # [B, H, W//2+1]
    errors = []
    for shape, fraction in AREA_FRACTION.items():
        side = torch.sqrt(areas / fraction)
        template = coverage(shape, side, cx, cy - CENTROID_BELOW_CENTRE[shape] * side, width)
        residual = _sum_of_squares(image - blur * torch.fft.rfft2(template)[:, None], height, width)
        errors.append(residual.min(dim=1).values / areas)  # [K]: the best blur for this shape
    best_error, best = torch.stack(errors, dim=1).min(dim=1)
    names = list(AREA_FRACTION)
    return ShapeFits([names[i] for i in best.tolist()], best_error, areas, torch.stack([cx, cy], dim=1))


def _coverage(pixels, background, colour) -> torch.Tensor:
    """[K, H, W] fraction of each pixel the object covers: projection on the background-to-object axis."""
    axis = colour - background  # [K, 3]
    along = ((pixels - background[:, None, None, :]) * axis[:, None, None, :]).sum(dim=-1)
    return along / (axis**2).sum(dim=-1).clamp(min=1e-6)[:, None, None]


def _gaussian_transfer(height: int, width: int) -> torch.Tensor:
    """[len(BLUR_GRID), H, W//2+1]: the rfft2 of a gaussian blur for each sigma.

    Frequency products blur circularly; objects keep a margin from the frame edges, so that changes little.
    """
    fy = torch.fft.fftfreq(height).view(-1, 1)
    fx = torch.fft.rfftfreq(width).view(1, -1)
    sigma = torch.tensor(BLUR_GRID).view(-1, 1, 1)
    return torch.exp(-2 * torch.pi**2 * sigma**2 * (fx**2 + fy**2))


def _sum_of_squares(spectrum: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Sum over pixels of the squared image whose rfft2 is spectrum [..., H, W//2+1] (Parseval)."""
    # rfft2 keeps half the columns; each dropped one mirrors a kept one, which so counts twice
    column_weight = torch.full((width // 2 + 1,), 2.0)
    column_weight[0] = 1.0
    if width % 2 == 0:
        column_weight[-1] = 1.0  # the Nyquist column has no mirror
    power = torch.view_as_real(spectrum).square().sum(dim=-1)
    return (power * column_weight).sum(dim=(-2, -1)) / (height * width)
