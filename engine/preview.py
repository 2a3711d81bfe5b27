"""A cheap preview of a latent for progress display: no VAE, a linear map of its channels to RGB.

Per latent space (a model's VAE) a map fitted by least squares on that VAE's own decodes
(scripts/fit_preview.py writes them to models/latent_preview.json), or one the host ComfyUI brings (core's
map for Wan 2.1, given to `map_entry_from_model_space` by the node layer), gives the decoded colours; a
latent space without one gets a projection on its main directions of variation (false colour).
"""
import json
import math
from dataclasses import dataclass
from pathlib import Path

import torch

from .video_shape import SPACE_STRIDE, TIME_STRIDE

PREVIEW_MAPS = Path(__file__).resolve().parents[1] / "models" / "latent_preview.json"
LONGEST_SIDE = 512  # a preview is the clip's pixel size, shrunk to this on its long side


@dataclass(frozen=True)
class PreviewMap:
    """rgb = weights · raw latent + bias per latent pixel (raw: what the VAE encoder outputs), 0..1."""

    weights: torch.Tensor  # [16, 3]
    bias: torch.Tensor  # [3]

    def rgb(self, raw: torch.Tensor) -> torch.Tensor:
        """Raw latent [16, ...] → RGB [3, ...] in 0..1."""
        flat = raw.float().reshape(raw.shape[0], -1)
        out = self.weights.T @ flat + self.bias[:, None]
        return out.clamp(0, 1).reshape(3, *raw.shape[1:])


def fit_preview_map(latents: torch.Tensor, targets: torch.Tensor) -> PreviewMap:
    """The least-squares map from raw latents [N, 16, ...] to RGB targets [N, 3, ...] (0..1, on the latent grid)."""
    x = latents.float().movedim(1, -1).reshape(-1, latents.shape[1])
    y = targets.float().movedim(1, -1).reshape(-1, 3)
    solution = torch.linalg.lstsq(torch.cat([x, torch.ones(len(x), 1)], dim=1).double(), y.double()).solution
    return PreviewMap(solution[:-1].float(), solution[-1].float())


def frames_on_latent_grid(video: torch.Tensor) -> torch.Tensor:
    """Decoded video [B, 3, 1+4k, H, W] in [-1, 1] → [B, 3, 1+k, H/8, W/8] in 0..1: each latent pixel's
    colour, the mean over the 8×8 pixels and the frames (1, then 4) it stands for."""
    first, rest = video[:, :, :1], video[:, :, 1:]
    batch, channels, frames, height, width = rest.shape
    rest = rest.reshape(batch, channels, frames // TIME_STRIDE, TIME_STRIDE, height, width).mean(dim=3)
    per_frame = torch.cat([first, rest], dim=2)
    pooled = torch.nn.functional.avg_pool3d(per_frame, (1, SPACE_STRIDE, SPACE_STRIDE))
    return (pooled + 1) / 2


def latents_and_colours(vae, video: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A VAE's raw latents of a video [B, 3, 1+4k, H, W] in [-1, 1], and the colours its decode of them
    shows on the latent grid: the pairs a preview map is fitted and checked on."""
    with torch.no_grad():
        latents = vae.encode(video)
        return latents, frames_on_latent_grid(vae.decode(latents))


def channel_correlations(a: torch.Tensor, b: torch.Tensor) -> list[float]:
    """Pearson correlation of each RGB channel of a and b ([N, 3, ...] each), over all their pixels."""
    a, b = (t.float().movedim(1, 0).reshape(3, -1) for t in (a, b))
    a, b = a - a.mean(dim=1, keepdim=True), b - b.mean(dim=1, keepdim=True)
    return ((a * b).sum(dim=1) / (a.norm(dim=1) * b.norm(dim=1) + 1e-12)).tolist()


def pca_rgb(frame: torch.Tensor) -> torch.Tensor:
    """Latent frame [C, H, W] → [3, H, W] in 0..1: its channels projected on their three main directions
    of variation in this frame (a per-image PCA): shapes and motion show, colours are not the decoded ones."""
    channels, height, width = frame.shape
    # A diverging run's NaN must reach the sampler's own check, not stop the SVD; under 3 pixels have
    # fewer than 3 directions, so the missing ones stay 0.
    pixels = frame.float().nan_to_num(0.0, 0.0, 0.0).reshape(channels, -1).T
    pixels = pixels - pixels.mean(dim=0)
    _, _, directions = torch.linalg.svd(pixels, full_matrices=False)
    rgb = pixels.new_zeros(height * width, 3)
    rgb[:, :min(3, len(directions))] = pixels @ directions[:3].T
    rgb = rgb / (rgb.abs().amax(dim=0) + 1e-6)
    return (rgb * 0.5 + 0.5).T.reshape(3, height, width)


def load_preview_maps(path: Path = PREVIEW_MAPS) -> list[dict]:
    """The fitted maps: entries with the latent statistics they are for and weights (None: not fitted)."""
    return json.loads(path.read_text())["maps"]


def map_entry_from_model_space(name: str, factors, bias, mean, std, scale: float = 1.0) -> dict:
    """A map given on the model-space latent x = (raw − mean) · scale / std to RGB in −1..1 (rgb = x · factors
    + bias; factors [16, 3]), as core ComfyUI's latent formats give theirs, as an entry of the file's kind:
    the same colours from the raw latent, in 0..1."""
    factors = torch.as_tensor(factors, dtype=torch.float64)
    bias, mean, std = (torch.as_tensor(t, dtype=torch.float64).flatten() for t in (bias, mean, std))
    per_raw = scale / std  # x = raw · per_raw − mean · per_raw
    weights = 0.5 * factors * per_raw[:, None]
    offset = 0.5 * (bias - (mean * per_raw) @ factors) + 0.5
    return {"name": name, "latent_mean": mean.tolist(), "latent_std": std.tolist(),
            "weights": weights.float().tolist(), "bias": offset.float().tolist()}


def preview_map_for(latent_format, maps: list[dict] | None = None) -> PreviewMap | None:
    """The first map among `maps` (default: the file's) for the latent space a model's LatentFormat names (its
    mean and std), or None."""
    for entry in load_preview_maps() if maps is None else maps:
        if entry.get("weights") and _same(entry["latent_mean"], latent_format.mean) and \
                _same(entry["latent_std"], latent_format.std):
            return PreviewMap(torch.tensor(entry["weights"]), torch.tensor(entry["bias"]))
    return None


def _same(a, b) -> bool:
    return len(a) == len(b) and all(math.isclose(x, y, rel_tol=1e-6, abs_tol=1e-9) for x, y in zip(a, b))


def latent_preview(raw: torch.Tensor, preview_map: PreviewMap | None = None) -> torch.Tensor:
    """uint8 [h, w, 3] on the latent grid for the middle frame of a raw latent [B, C, T, h, w] (first sample):
    the fitted map's colours, or the false-colour projection without one."""
    frame = raw[0, :, raw.shape[2] // 2].float()
    rgb = preview_map.rgb(frame) if preview_map is not None else pca_rgb(frame)
    return (rgb * 255).round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0)


def preview_size(latent_height: int, latent_width: int, longest: int = LONGEST_SIDE) -> tuple[int, int]:
    """(width, height) to show a latent frame at: the clip's pixel size, kept in aspect, at most `longest`."""
    scale = min(SPACE_STRIDE, longest / max(latent_height, latent_width))
    return max(1, round(latent_width * scale)), max(1, round(latent_height * scale))
