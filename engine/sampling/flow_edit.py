"""FlowEdit (Kulikov et al., 2024): editing a source with a rectified-flow model, without inversion.

The edit starts at the source itself, not at noise. At each noise level σ a fresh noise draws the
source's point on its noising path, z_src = σ·n + (1−σ)·source, and the edit's point is moved by the same
offset, z_tar = z + (z_src − source). The step follows the difference of the two predictions,
v(z_tar, target prompt) − v(z_src, source prompt): what the prompts agree on cancels, so the structure
of the source stays, and what they disagree on changes. As a denoiser for our solvers this is
x0 = source + x0_target(z_tar) − x0_source(z_src) (the solvers step along (x − x0)/σ, which is then
exactly that velocity difference).
"""
from collections.abc import Sequence

import torch

from .sampler import noised

ROW_STRIDE = 0x9E3779B97F4A7C15  # an odd 64-bit constant: row streams' seeds land far apart


def flow_edit(denoise_target, denoise_source, source: torch.Tensor, seed: int,
              batch_index: Sequence[int] | None = None):
    """`denoise(z, sigma) -> x0` for the solvers. Each clip of the batch draws its noise from its own seeded
    stream, chosen by its LATENT batch_index (else its row), so a clip edits the same alone as in a batch;
    the stream of index 0 is the seed's own."""
    rows = range(source.shape[0]) if batch_index is None else batch_index
    generators = [torch.Generator("cpu").manual_seed((seed + ROW_STRIDE * row) % 2**64) for row in rows]

    def edit(z, sigma):
        noise = torch.cat([torch.randn((1, *source.shape[1:]), generator=g, dtype=torch.float32) for g in generators])
        z_source = noised(sigma, noise.to(source), source)
        z_target = z + z_source - source
        return source + denoise_target(z_target, sigma) - denoise_source(z_source, sigma)

    return edit
