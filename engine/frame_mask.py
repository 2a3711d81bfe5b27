"""Per-frame masks: which latent frames to generate and which to keep from the input latent."""
import torch

from .finite import check_finite
from .video_shape import TIME_STRIDE, latent_frames


def keep_from_mask(mask: torch.Tensor, frames: int, name: str = "the frame mask") -> torch.Tensor:
    """keep [frames] (1 = keep the input's latent frame) from a mask where 1 = generate (core's convention).

    `mask` is a MASK [F, H, W], core's latent noise mask [F, 1, H, W] (SetLatentNoiseMask) or [B, 1, F, H, W]
    (the video layout, as the edit nodes and core's Wan image-to-video nodes make it; every batch item must
    keep the same frames), or a vector [F], with F either the latent frame count or the video frame count
    (1 + 4k); a latent frame is generated if any of its video frames is (frame 0 alone, then groups of 4).
    Masks must be uniform within each frame. `name` says in messages which mask it is.
    """
    if mask.ndim == 5 and mask.shape[1] == 1:
        if not bool((mask == mask[:1]).all()):
            raise ValueError(f"{name} keeps different frames in different batch items; this sampler keeps the "
                             "same frames in every item: sample the items one at a time (core's Latent From Batch)")
        mask = mask[0, 0]
    if mask.ndim == 4 and mask.shape[1] == 1:
        mask = mask[:, 0]
    if mask.ndim not in (1, 3):
        raise ValueError(f"{name} must be [frames, height, width] or [frames]; got shape {tuple(mask.shape)}")
    mask = check_finite(mask.float(), name, "Give values between 0 (keep) and 1 (generate) per frame.")
    if mask.ndim == 3:
        flat = mask.flatten(1)
        if (flat.amax(dim=1) - flat.amin(dim=1)).max() > 1e-3:
            raise ValueError(f"{name} varies within frames; this sampler keeps or generates whole frames. "
                             "Give one value per frame, or use core's KSampler for masks over parts of the picture")
        mask = flat.mean(dim=1)
    per_frame = mask
    count = per_frame.shape[0]
    if count == frames:
        generate = per_frame
    elif latent_frames(count) == frames and (count - 1) % TIME_STRIDE == 0:
        first, rest = per_frame[:1], per_frame[1:].reshape(-1, TIME_STRIDE).amax(dim=1)
        generate = torch.cat([first, rest])
    else:
        raise ValueError(f"{name} has {count} frames but the latent has {frames} latent frames "
                         f"({1 + TIME_STRIDE * (frames - 1)} video frames): give one mask per latent frame or "
                         "per video frame")
    return (1.0 - generate).clamp(0, 1)
