"""Starting noise that matches ComfyUI's for the same seed and latent shape."""
from collections.abc import Sequence

import torch


def initial_noise(shape: Sequence[int], seed: int, batch_index: Sequence[int] | None = None,
                  dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Gaussian noise of `shape` ([B, C, T, H, W]) drawn on the CPU from `seed`, as core's KSampler draws it.

    batch_index (a LATENT's "batch_index"): the seed's stream is cut into one sample per index 0..max, and
    sample i of the batch gets draw batch_index[i], so a latent taken out of a batch keeps its noise.
    A private generator leaves torch's global one untouched; its numbers are the same.
    """
    generator = torch.Generator("cpu").manual_seed(seed)
    if batch_index is None:
        return torch.randn(tuple(shape), generator=generator, dtype=dtype)
    one = (1, *shape[1:])
    draws = [torch.randn(one, generator=generator, dtype=dtype) for _ in range(max(batch_index) + 1)]
    return torch.cat([draws[i] for i in batch_index])
