"""Will it fit? The peak memory of sampling and decoding, estimated from sizes, dtype and backend before
anything is allocated, and what would fit instead when it will not.

The estimates count the working memory of one model call (the weights are placed by the host first):
- sampling: the DiT's tokens (1 + (F-1)/4 latent frames x H/16 x W/16 per video) through one block at a time.
  The float32 residual stream and its norms cost 4 bytes per token per channel several times over, the
  attention and FFN matrices `dtype`'s size; every attention backend offered here works in tiles, so
  nothing grows with tokens squared. The solver keeps a few latent-sized float32 tensors beside it.
- decoding: the VAE decodes one latent frame (4 video frames) at a time; its peak is at full resolution,
  where the last upsampling holds 2·dim channels, scaled by the tile when tiling.
The factors count the tensors the code keeps alive at those peaks, erring high; tests/unit/test_memory.py
checks them against the measured peak on a CUDA device when there is one.
"""
import math
from dataclasses import dataclass

import torch

from .video_shape import SPACE_STRIDE, TIME_STRIDE, frame_count

PATCH_TOKENS = 4  # latent pixels per token (2 x 2 patches)
STREAM_COPIES = 8  # float32 [tokens, dim] tensors alive at a block's peak (residual, norms, modulated input)
MATRIX_COPIES = 8  # compute-dtype [tokens, dim] tensors: q, k, v with RoPE applied, attention out, projections
FFN_COPIES = 2  # compute-dtype [tokens, ffn_dim]: the hidden layer and its activation
SOLVER_LATENTS = 10  # float32 latent-sized tensors: noise, state, x0, UniPC's history, guidance
DECODE_COPIES = 10  # [4 frames, H, W, dim] tensors at the decoder's full-resolution peak
EDIT_COPIES = 4  # float32 RGB clips an edit holds at once: the given frames, its timeline, slots, the VAE's input
INT8_BACKENDS = ("triton-int8", "sageattention")  # keep int8 copies of q and k besides


class WillNotFit(ValueError):
    """A sampling or decode that would run out of device memory; the message says what would fit."""


@dataclass(frozen=True)
class DiTShape:
    dim: int
    ffn_dim: int


def itemsize(dtype: torch.dtype) -> int:
    return torch.empty(0, dtype=dtype).element_size()


def sampling_bytes(latent_shape, dit: DiTShape, dtype: torch.dtype, backend: str = "sdpa") -> int:
    """Peak working memory of one DiT call on a latent [B, C, T, H, W] (weights not counted)."""
    batch, channels, frames, height, width = latent_shape
    tokens = batch * frames * math.ceil(height / 2) * math.ceil(width / 2)
    size = itemsize(dtype)
    per_token = STREAM_COPIES * 4 * dit.dim + MATRIX_COPIES * size * dit.dim + FFN_COPIES * size * dit.ffn_dim
    if backend in INT8_BACKENDS:
        per_token += 2 * dit.dim
    return tokens * per_token + SOLVER_LATENTS * 4 * batch * channels * frames * height * width


def decode_bytes(latent_shape, vae_dim: int, dtype: torch.dtype, tile: tuple[int, int] | None = None) -> int:
    """Peak working memory of decoding a latent [B, C, T, h, w] (tile in latent units, as the decoder takes)."""
    batch, _, _, height, width = latent_shape
    if tile is not None:  # each tile is decoded with a quarter of its size as overlap on each side
        height, width = (min(size, t + 2 * (t // 4)) for size, t in zip((height, width), tile))
    pixels = height * SPACE_STRIDE * width * SPACE_STRIDE
    return batch * DECODE_COPIES * TIME_STRIDE * pixels * vae_dim * itemsize(dtype)


def gib(count: int) -> str:
    return f"{count / 2**30:.1f} GiB"


def check_sampling(latent_shape, dit: DiTShape, dtype: torch.dtype, backend: str, free: int) -> None:
    """Refuse, saying what would fit, when sampling this latent needs more than `free` bytes."""
    needed = sampling_bytes(latent_shape, dit, dtype, backend)
    if needed <= free:
        return
    batch, channels, frames, height, width = latent_shape
    options = []
    if batch > 1 and sampling_bytes((1, channels, frames, height, width), dit, dtype, backend) <= free:
        options.append("a batch of 1")
    fewer = _largest(lambda t: sampling_bytes((batch, channels, t, height, width), dit, dtype, backend) <= free,
                     frames)
    if fewer:
        options.append(f"at most {frame_count(fewer)} frames at this size")
    scale = _largest(lambda s: sampling_bytes((batch, channels, frames, *_scaled(height, width, s / 1000)), dit,
                                              dtype, backend) <= free, 1000) / 1000
    if scale:
        h, w = _scaled(height, width, scale)
        options.append(f"at most {w * SPACE_STRIDE}x{h * SPACE_STRIDE} at this length")
    if dtype == torch.float32 and sampling_bytes(latent_shape, dit, torch.bfloat16, backend) <= free:
        options.append("the DiT loader's dtype bf16 instead of fp32")
    raise WillNotFit(_message("sampling", latent_shape, needed, free, options, "(window_frames bounds it too)"))


def frames_bytes(latent_shape) -> int:
    """The decoded IMAGE frames (float32 RGB), which the decoder fills in host memory."""
    batch, _, frames, height, width = latent_shape
    return batch * frame_count(frames) * height * width * SPACE_STRIDE**2 * 3 * 4


def check_decode(latent_shape, vae_dim: int, dtype: torch.dtype, tile, free: int, host_free: int | None = None) -> None:
    """Refuse, saying what would fit, when decoding this latent needs more than `free` bytes of device memory
    or its frames more than `host_free` bytes of host memory (None: the device is the host, one pool)."""
    needed = decode_bytes(latent_shape, vae_dim, dtype, tile)
    frames = frames_bytes(latent_shape)
    batch, channels, _, height, width = latent_shape
    room = free - needed if host_free is None else host_free
    if frames > room:
        most = _largest(lambda t: frames_bytes((batch, channels, t, height, width)) <= room, latent_shape[2])
        options = [f"at most {frame_count(most)} frames at this size"] if most else []
        raise WillNotFit(_message("decoding", latent_shape, frames, max(room, 0), options, "", "to hold its frames"))
    if needed <= free:
        return
    options = []
    side = _largest(lambda t: decode_bytes(latent_shape, vae_dim, dtype, (t, t)) <= free, min(height, width))
    if side >= 4:  # a tile under 32 pixels is too small to decode well
        options.append(f"tile_size {side * SPACE_STRIDE // 16 * 16 or 16}")
    if dtype == torch.float32 and decode_bytes(latent_shape, vae_dim, torch.bfloat16, tile) <= free:
        options.append("the VAE loader's dtype bf16 instead of fp32")
    raise WillNotFit(_message("decoding", latent_shape, needed, free, options, ""))


def check_edit(frames: int, height: int, width: int, free: int) -> None:
    """Refuse, saying what would fit, when an edit's clip of `frames` frames at height x width would not fit
    in `free` bytes of host memory (before the edit builds it, so a huge request is an error, not a crash)."""
    per_frame = EDIT_COPIES * height * width * 3 * 4
    if frames * per_frame <= free:
        return
    fewer = f"; would fit: at most {free // per_frame:,} frames at this size" if free >= per_frame else ""
    raise WillNotFit(f"the edit makes a clip of {frames:,} frames of {width}x{height}, which needs about "
                     f"{gib(frames * per_frame)} of memory but only {gib(free)} is free{fewer} (add fewer frames, "
                     "or make the clip smaller first).")


def _message(what, latent_shape, needed, free, options, hint, use="of working memory") -> str:
    batch, _, frames, height, width = latent_shape
    clip = f"{batch} x {frame_count(frames)} frames of {width * SPACE_STRIDE}x{height * SPACE_STRIDE}"
    fix = ("; would fit: " + ", or ".join(options)) if options else "; even the smallest option does not fit here"
    return (f"{what} {clip} needs about {gib(needed)} {use} but only {gib(free)} is free{fix}"
            f"{' ' + hint if hint else ''}.")


def _scaled(height: int, width: int, scale: float) -> tuple[int, int]:
    """A latent size scaled by `scale`, kept to whole 16-pixel steps (2 latent pixels)."""
    return max(2, int(height * scale) // 2 * 2), max(2, int(width * scale) // 2 * 2)


def _largest(fits, high: int) -> int:
    """The largest n in 1..high with fits(n) (fits grows monotonically false), or 0."""
    low, best = 1, 0
    while low <= high:
        middle = (low + high) // 2
        if fits(middle):
            best, low = middle, middle + 1
        else:
            high = middle - 1
    return best
