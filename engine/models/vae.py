"""The Wan 2.1 video VAE: 8× smaller in space, 4× in time, 16 latent channels.

Pixel frames 1+4k ↔ latent frames 1+k: frame 0 is encoded on its own, every later latent frame covers
4 pixel frames. Both directions run causally in chunks (encode: frame 0, then 4 frames at a time;
decode: one latent frame at a time), so memory does not grow with the clip length.

Latents here are the raw encoder mean `mu`, what ComfyUI's LATENT carries. The DiT works on them
normalised by its latent format (latent_format.py).
"""
from collections.abc import Iterator, Mapping

import torch
import torch.nn as nn

from ..video_shape import LATENT_CHANNELS, SPACE_STRIDE, TIME_STRIDE
from .vae_blocks import (AttentionBlock, Cache, CausalBlock, CausalConv3d, Downsample, RMSNorm,
                         ResidualBlock, Upsample, run_layers)
from .vae_tiling import Tile, plan_tiles, validate_tiling

DEFAULT_TILE_OVERLAP = 8  # latent units (64 pixels) between neighbouring decode tiles

# Keys that tell VAE families apart.
_BASE_DIM_KEY = "decoder.head.0.gamma"
_WAN22_KEY = "decoder.upsamples.0.upsamples.0.residual.2.weight"


class Encoder3d(CausalBlock):
    """Pixels → 2×16 channels (mean and log-variance), 8× down in space and 4× in time."""

    def __init__(self, dim: int, out_channels: int):
        super().__init__()
        widths = [dim * m for m in (1, 1, 2, 4, 4)]
        self.conv1 = CausalConv3d(3, dim, 3, padding=1)
        layers = []
        for stage, (c_in, c_out) in enumerate(zip(widths[:-1], widths[1:])):
            layers += [ResidualBlock(c_in, c_out), ResidualBlock(c_out, c_out)]
            if stage < 3:
                layers.append(Downsample(c_out, temporal=stage > 0))
        self.downsamples = nn.Sequential(*layers)
        top = widths[-1]
        self.middle = nn.Sequential(ResidualBlock(top, top), AttentionBlock(top), ResidualBlock(top, top))
        self.head = nn.Sequential(RMSNorm(top), nn.SiLU(), CausalConv3d(top, out_channels, 3, padding=1))

    def forward(self, x: torch.Tensor, cache: Cache) -> torch.Tensor:
        return run_layers([self.conv1, *self.downsamples, *self.middle, *self.head], x, cache)


class Decoder3d(CausalBlock):
    """16 latent channels → pixels, 8× up in space and 4× in time (except latent frame 0)."""

    def __init__(self, dim: int, in_channels: int):
        super().__init__()
        top = dim * 4
        self.conv1 = CausalConv3d(in_channels, top, 3, padding=1)
        self.middle = nn.Sequential(ResidualBlock(top, top), AttentionBlock(top), ResidualBlock(top, top))
        layers = []
        c_in = top
        for stage, c_out in enumerate(dim * m for m in (4, 4, 2, 1)):
            for _ in range(3):
                layers.append(ResidualBlock(c_in, c_out))
                c_in = c_out
            if stage < 3:
                layers.append(Upsample(c_out, temporal=stage < 2))
                c_in = c_out // 2
        self.upsamples = nn.Sequential(*layers)
        self.head = nn.Sequential(RMSNorm(dim), nn.SiLU(), CausalConv3d(dim, 3, 3, padding=1))

    def forward(self, x: torch.Tensor, cache: Cache) -> torch.Tensor:
        return run_layers([self.conv1, *self.middle, *self.upsamples, *self.head], x, cache)


class WanVAE(nn.Module):
    """Wan 2.1 VAE. Parameter names are the checkpoint's keys; `from_state_dict` is the usual way in."""

    def __init__(self, dim: int = 96, z_dim: int = LATENT_CHANNELS):
        super().__init__()
        self.encoder = Encoder3d(dim, 2 * z_dim)
        self.conv1 = nn.Conv3d(2 * z_dim, 2 * z_dim, 1)  # encoder features → (mu, log-variance)
        self.conv2 = nn.Conv3d(z_dim, z_dim, 1)  # latent → decoder input
        self.decoder = Decoder3d(dim, z_dim)

    @classmethod
    def from_state_dict(cls, sd: Mapping[str, torch.Tensor], dtype: torch.dtype = torch.float32) -> "WanVAE":
        """Build the VAE the weights describe (base dim read from them) and load them strictly.

        Tensors already in `dtype` are used as they are, not copied.
        """
        dim = _check_is_wan21_vae(sd)
        with torch.device("meta"):
            model = cls(dim)
        _check_keys_and_shapes(model.state_dict(), sd)
        model.load_state_dict(sd, strict=True, assign=True)
        return model.to(dtype).eval().requires_grad_(False)

    @property
    def _device_and_dtype(self) -> dict:
        weight = self.conv2.weight
        return {"device": weight.device, "dtype": weight.dtype}

    def encode(self, video: torch.Tensor) -> torch.Tensor:
        """Video [B, 3, 1+4k, H, W] in [-1, 1] → raw latent mean [B, 16, 1+k, H/8, W/8], float32."""
        _check_video(video)
        cache = {}
        latents = []
        frames = video.shape[2]
        chunk_starts = [0, *range(1, frames, TIME_STRIDE)]  # frame 0 alone, then 4 at a time
        for start, stop in zip(chunk_starts, chunk_starts[1:] + [frames]):
            chunk = video[:, :, start:stop].to(**self._device_and_dtype)
            mu_and_log_var = self.conv1(self.encoder(chunk, cache))
            latents.append(mu_and_log_var[:, :LATENT_CHANNELS].float())
        return torch.cat(latents, dim=2).to(video.device)

    def decode_frames(self, latent: torch.Tensor, tile: tuple[int, int] | None = None,
                      overlap: int = DEFAULT_TILE_OVERLAP, clamp: bool = True) -> Iterator[torch.Tensor]:
        """Decode a raw latent [B, 16, T, h, w] into float32 pixel chunks [B, 3, n, 8h, 8w] in [-1, 1].

        Yields n = 1 frame for latent frame 0, then 4 per latent frame, so a caller can convert or
        write frames as they come instead of holding the whole clip. `tile` = (tile_h, tile_w) in
        latent units decodes overlapping tiles (each with its own causal history) and blends them,
        which bounds memory at large sizes; tiles see less context, so results differ slightly.
        Bad arguments raise here, before the first chunk is asked for. `clamp=False` (for training)
        keeps values outside [-1, 1], where a clamp would stop the gradient.
        """
        check_latent(latent)
        tiles = None
        if tile is not None:
            tiles = plan_tiles(*latent.shape[3:], validate_tiling(tile, overlap), overlap, SPACE_STRIDE)
        return self._stream_decode(latent, tiles, clamp)

    def decode(self, latent: torch.Tensor, tile: tuple[int, int] | None = None,
               overlap: int = DEFAULT_TILE_OVERLAP) -> torch.Tensor:
        """Raw latent [B, 16, 1+k, h, w] → video [B, 3, 1+4k, 8h, 8w] in [-1, 1], float32."""
        chunks = self.decode_frames(latent, tile, overlap)
        batch, _, latent_frames, height, width = latent.shape
        frames = 1 + TIME_STRIDE * (latent_frames - 1)
        # Filled in place: collecting the chunks and concatenating would hold the clip twice.
        video = torch.empty(batch, 3, frames, height * SPACE_STRIDE, width * SPACE_STRIDE, device=latent.device)
        done = 0
        for chunk in chunks:
            video[:, :, done:done + chunk.shape[2]] = chunk
            done += chunk.shape[2]
        return video

    def _stream_decode(self, latent: torch.Tensor, tiles: list[Tile] | None, clamp: bool) -> Iterator[torch.Tensor]:
        caches = [{} for _ in tiles] if tiles else [{}]  # each tile is its own causal stream
        for t in range(latent.shape[2]):
            step = latent[:, :, t:t + 1].to(**self._device_and_dtype)
            if tiles is None:
                pixels = self._decode_step(step, caches[0])
            else:
                pixels = self._decode_tiled_step(step, tiles, caches)
            yield (pixels.clamp(-1, 1) if clamp else pixels).float().to(latent.device)

    def _decode_step(self, latent_frame: torch.Tensor, cache: Cache) -> torch.Tensor:
        return self.decoder(self.conv2(latent_frame), cache)

    def _decode_tiled_step(self, latent_frame: torch.Tensor, tiles: list[Tile], caches: list[Cache]) -> torch.Tensor:
        canvas = weight_sum = None
        for tile, cache in zip(tiles, caches):
            pixels = self._decode_step(tile.latent_window(latent_frame), cache)
            if canvas is None:
                height, width = (s * SPACE_STRIDE for s in latent_frame.shape[3:])
                canvas = pixels.new_zeros(*pixels.shape[:3], height, width)
                weight_sum = pixels.new_zeros(height, width)
            rows, cols = tile.pixel_slices(SPACE_STRIDE)
            weight = tile.weight.to(pixels)
            canvas[..., rows, cols] += pixels * weight
            weight_sum[rows, cols] += weight
        return canvas / weight_sum


def _nearest_valid(value: int, step: int, first: int) -> str:
    """The valid values (first + step·k) just below and above `value`, for error messages."""
    below = first + step * ((value - first) // step)
    candidates = [v for v in (below, below + step) if v >= first]
    return " or ".join(str(v) for v in candidates)


def _check_video(video: torch.Tensor) -> None:
    if video.ndim != 5 or video.shape[1] != 3:
        raise ValueError(f"WanVAE.encode expects a video tensor [batch, 3, frames, height, width] in [-1, 1]; "
                         f"got shape {tuple(video.shape)}. ComfyUI IMAGE batches [frames, H, W, 3] in [0, 1] "
                         f"need x.permute(3, 0, 1, 2)[None] * 2 - 1.")
    frames, height, width = video.shape[2:]
    if frames < 1 or (frames - 1) % TIME_STRIDE:
        raise ValueError(f"WanVAE.encode got {frames} frames; Wan 2.1 needs 1+4k frames (1, 5, 9, ..., 81). "
                         f"Trim or pad the clip to {_nearest_valid(frames, TIME_STRIDE, 1)} frames.")
    for name, size in (("height", height), ("width", width)):
        if size < SPACE_STRIDE or size % SPACE_STRIDE:
            raise ValueError(f"WanVAE.encode got {name} {size}; it must be a multiple of {SPACE_STRIDE} "
                             f"(the DiT further needs multiples of 16). Resize or crop to "
                             f"{_nearest_valid(size, SPACE_STRIDE, SPACE_STRIDE)}.")


def check_latent(latent: torch.Tensor) -> None:
    """A raw Wan 2.1 video latent [B, 16, T, h, w], or an error that says what the latent is instead."""
    if latent.ndim == 4:
        raise ValueError(f"the latent {tuple(latent.shape)} is an image latent [batch, channels, height, width] "
                         "(e.g. from core's Empty Latent Image), not a video latent: make it with Empty Video "
                         "Latent (Spacetime), core's Wan video latent node or Encode Video.")
    if latent.ndim != 5 or latent.shape[1] != LATENT_CHANNELS or 0 in latent.shape:
        raise ValueError(f"the Wan 2.1 VAE decodes a raw latent [batch, {LATENT_CHANNELS}, frames, height/8, "
                         f"width/8]; got shape {tuple(latent.shape)}. Latents from other model families "
                         f"(e.g. Wan 2.2's 48 channels) need their own VAE.")


def _check_is_wan21_vae(sd: Mapping[str, torch.Tensor]) -> int:
    """Recognise a Wan 2.1 VAE state dict and return its base dim."""
    if _WAN22_KEY in sd:
        raise ValueError("These weights are a Wan 2.2 VAE (48 latent channels), but Spacetime runs Wan 2.1 models. "
                         "Load wan_2.1_vae.safetensors instead.")
    if _BASE_DIM_KEY not in sd:
        sample = ", ".join(list(sd)[:3]) or "no keys at all"
        raise ValueError(f"These weights are not a Wan 2.1 VAE: there is no '{_BASE_DIM_KEY}' "
                         f"(found e.g. {sample}). Pick wan_2.1_vae.safetensors from models/vae.")
    return sd[_BASE_DIM_KEY].shape[0]


def _check_keys_and_shapes(expected: Mapping[str, torch.Tensor], sd: Mapping[str, torch.Tensor]) -> None:
    problems = [f"missing {k}" for k in expected if k not in sd]
    problems += [f"unexpected {k}" for k in sd if k not in expected]
    problems += [f"{k} has shape {tuple(sd[k].shape)}, expected {tuple(v.shape)}"
                 for k, v in expected.items() if k in sd and sd[k].shape != v.shape]
    if problems:
        listed = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise ValueError(f"These weights do not match the Wan 2.1 VAE layout ({len(problems)} problems: {listed}). "
                         f"The file may be damaged or from another VAE; use wan_2.1_vae.safetensors.")
