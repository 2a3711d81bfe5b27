"""Conversions between the VAE's video tensors and ComfyUI's IMAGE frames."""
import torch

from .finite import check_finite
from .video_shape import SPACE_STRIDE, frame_count


def to_images(video: torch.Tensor) -> torch.Tensor:
    """VAE output [B, 3, F, H, W] in [-1, 1] → IMAGE [B·F, H, W, 3] in [0, 1]."""
    images = ((video.float() + 1.0) / 2.0).clamp(0.0, 1.0)
    return images.permute(0, 2, 3, 4, 1).reshape(-1, *images.shape[3:], 3)


def decode_to_images(vae, latent: torch.Tensor, tile: tuple[int, int] | None = None, check=None) -> torch.Tensor:
    """Decode a raw latent [B, 16, T, h, w] to IMAGE frames [B·F, 8h, 8w, 3], one latent frame at a time.

    Chunks are written straight into the output, so nothing but the result grows with clip length.
    `check()` runs between chunks (progress, interrupts).
    """
    check_finite(latent, "the latent given to the decoder",
                 "The node that made it (the sampler, a latent file, a custom node) produced them: fix that input.")
    # A quarter of the tile overlaps its neighbours: enough to hide seams, valid for any tile size.
    overlap = 0 if tile is None else min(tile) // 4
    chunks = vae.decode_frames(latent, tile=tile, overlap=overlap)  # checks the latent first
    batch, _, frames, height, width = latent.shape
    count = frame_count(frames)
    out = torch.empty(batch, count, height * SPACE_STRIDE, width * SPACE_STRIDE, 3)
    done = 0
    for chunk in chunks:
        n = chunk.shape[2]
        check_finite(chunk, f"the decode of frames {done}-{done + n - 1}",
                     "The VAE overflowed: decode in float32 or bfloat16 (the VAE loader's dtype).")
        out[:, done:done + n] = to_images(chunk.cpu()).reshape(batch, n, *out.shape[2:])
        done += n
        if check:
            check(done, count)
    return out.reshape(-1, *out.shape[2:])


def to_video(images: torch.Tensor) -> torch.Tensor:
    """IMAGE frames [F, H, W, 3] in [0, 1] → the VAE's video [1, 3, F, H, W] in [-1, 1]."""
    return images.float().permute(3, 0, 1, 2)[None] * 2.0 - 1.0


def encode_images(vae, images: torch.Tensor) -> torch.Tensor:
    """IMAGE frames [1 + 4k, H, W, 3] → raw latent [1, 16, 1 + k, H/8, W/8] on the CPU (the VAE checks sizes)."""
    return vae.encode(to_video(images)).cpu()
