"""Building blocks of the Wan 2.1 VAE, written to run causally over a video in chunks.

A video streams through the VAE a few frames at a time. Blocks that look back in time (`CausalBlock`s)
keep what they need from earlier chunks in a `cache`: a plain dict, fresh per stream, in which each
block stores its own entry under itself as key. A causal conv fed chunk by chunk this way computes the
same as one pass over the whole stream, and memory depends on the chunk size, not the clip length.

Attribute names and `nn.Sequential` indices follow Wan's checkpoint keys (`residual.0.gamma`,
`resample.1.weight`, `time_conv.weight`, ...), so real weights load with `strict=True`.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...kernels import attention

Cache = dict  # {block: what that block remembers from the previous chunks of one stream}


class CausalBlock(nn.Module):
    """A block whose forward takes `(x, cache)` because its output depends on earlier chunks."""


def run_layers(layers, x: torch.Tensor, cache: Cache) -> torch.Tensor:
    """Apply layers in order, handing the stream's cache to those that look back in time."""
    for layer in layers:
        x = layer(x, cache) if isinstance(layer, CausalBlock) else layer(x)
    return x


def per_frame(layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Apply a 2D layer to every frame of a [B, C, T, H, W] video."""
    b, _, t = x.shape[:3]
    frames = layer(x.transpose(1, 2).flatten(0, 1))
    return frames.unflatten(0, (b, t)).transpose(1, 2)


def _triple(value) -> tuple[int, int, int]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * 3


class CausalConv3d(CausalBlock):
    """3D convolution that sees only the present and the past in time.

    The time axis gets all its padding on the left (2·p frames), space is padded symmetrically.
    With a cache, the last frames of the previous chunk take the place of that left padding.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, padding=0):
        super().__init__()
        kernel_size = _triple(kernel_size)
        pad_t, pad_h, pad_w = _triple(padding)
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, *kernel_size))
        self.bias = nn.Parameter(torch.empty(out_channels))
        self.time_pad = 2 * pad_t
        self.space_pad = (pad_w, pad_w, pad_h, pad_h)
        self.reset_parameters()

    def reset_parameters(self):
        # The usual conv initialisation, for random test models; real use loads weights over it.
        bound = 1 / math.sqrt(self.weight[0].numel())
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor, cache: Cache | None = None) -> torch.Tensor:
        past = None
        if cache is not None and self.time_pad:
            past = cache.get(self)
            cache[self] = _last_frames(past, x, self.time_pad)  # as many frames as the kernel looks back
        if past is not None:
            x = torch.cat([past, x], dim=2)
        left = self.time_pad - (0 if past is None else past.shape[2])
        x = F.pad(x, (*self.space_pad, left, 0))
        return F.conv3d(x, self.weight, self.bias)


def _last_frames(past: torch.Tensor | None, x: torch.Tensor, count: int) -> torch.Tensor:
    """The last `count` frames of the stream so far (fewer at its very start), detached from x."""
    if past is not None and x.shape[2] < count:
        x = torch.cat([past, x], dim=2)
    return x[:, :, -count:].clone()


class RMSNorm(nn.Module):
    """L2-normalise over channels, times √C and a learned per-channel gain `gamma`."""

    def __init__(self, channels: int, spatial_dims: int = 3):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(channels, *([1] * spatial_dims)))
        self.scale = channels ** 0.5

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(x, dim=1) * self.scale * self.gamma


class ResidualBlock(CausalBlock):
    """norm → SiLU → conv3 → norm → SiLU → (dropout slot) → conv3, plus a 1×1×1 shortcut if C changes."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.residual = nn.Sequential(
            RMSNorm(in_channels), nn.SiLU(), CausalConv3d(in_channels, out_channels, 3, padding=1),
            RMSNorm(out_channels), nn.SiLU(), nn.Identity(),  # index 5 was dropout in training
            CausalConv3d(out_channels, out_channels, 3, padding=1),
        )
        self.shortcut = nn.Conv3d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()

    def forward(self, x: torch.Tensor, cache: Cache) -> torch.Tensor:
        return run_layers(self.residual, x, cache) + self.shortcut(x)


class AttentionBlock(nn.Module):
    """Single-head self-attention among the pixels of each frame (no mixing across time)."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = RMSNorm(channels, spatial_dims=2)
        self.to_qkv = nn.Conv2d(channels, channels * 3, 1)
        self.proj = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + per_frame(self._attend, x)

    def _attend(self, frames: torch.Tensor) -> torch.Tensor:
        n, c, h, w = frames.shape
        qkv = self.to_qkv(self.norm(frames))
        # [N, 3C, H, W] → three [N, H·W tokens, 1 head, C]
        q, k, v = qkv.flatten(2).transpose(1, 2).unflatten(2, (3, 1, c)).unbind(2)
        out = attention(q, k, v).reshape(n, h, w, c).permute(0, 3, 1, 2)
        return self.proj(out)


class Downsample(CausalBlock):
    """Halve height and width (pad right/bottom, 3×3 stride-2 conv); optionally halve time too.

    The time conv (3 frames, stride 2) skips the stream's first chunk, so frame 0 stays a frame of
    its own; each later chunk is prefixed with the last frame of the chunk before it.
    """

    def __init__(self, channels: int, temporal: bool):
        super().__init__()
        self.resample = nn.Sequential(nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(channels, channels, 3, stride=2))
        self.time_conv = nn.Conv3d(channels, channels, (3, 1, 1), stride=(2, 1, 1)) if temporal else None

    def forward(self, x: torch.Tensor, cache: Cache) -> torch.Tensor:
        x = per_frame(self.resample, x)
        if self.time_conv is None:
            return x
        previous = cache.get(self)
        cache[self] = x[:, :, -1:].clone()
        if previous is None:
            return x
        return self.time_conv(torch.cat([previous, x], dim=2))


class Upsample(CausalBlock):
    """Double height and width (nearest-exact, then a 3×3 conv to C/2); optionally double time too.

    The time conv maps C → 2C channels, read as two consecutive output frames per input frame. It
    skips the stream's first chunk (latent frame 0 decodes to one pixel frame) and starts its own
    causal history, with zero padding, from the second chunk.
    """

    def __init__(self, channels: int, temporal: bool):
        super().__init__()
        self.resample = nn.Sequential(
            nn.Upsample(scale_factor=(2.0, 2.0), mode="nearest-exact"),
            nn.Conv2d(channels, channels // 2, 3, padding=1),
        )
        self.time_conv = CausalConv3d(channels, channels * 2, (3, 1, 1), padding=(1, 0, 0)) if temporal else None

    def forward(self, x: torch.Tensor, cache: Cache) -> torch.Tensor:
        if self.time_conv is not None:
            if self in cache:
                x = _frames_from_channel_pairs(self.time_conv(x, cache))
            else:
                cache[self] = True  # the first chunk has passed
        return per_frame(self.resample, x)


def _frames_from_channel_pairs(x: torch.Tensor) -> torch.Tensor:
    """[B, 2C, T, H, W] → [B, C, 2T, H, W]: the first C channels are frame 2t, the next C frame 2t+1."""
    b, c2, t, h, w = x.shape
    return x.view(b, 2, c2 // 2, t, h, w).permute(0, 2, 3, 1, 4, 5).reshape(b, c2 // 2, 2 * t, h, w)
