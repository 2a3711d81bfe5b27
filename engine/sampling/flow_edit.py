"""FlowEdit (Kulikov et al., 2024): editing a source with a rectified-flow model, without inversion.

The edit starts at the source itself, not at noise. At each noise level σ a fresh noise draws the
source's point on its noising path, z_src = σ·n + (1−σ)·source, and the edit's point is moved by the same
offset, z_tar = z + (z_src − source). The step follows the difference of the two predictions,
v(z_tar, target prompt) − v(z_src, source prompt): what the prompts agree on cancels, so the structure
of the source stays, and what they disagree on changes. As a denoiser for our solvers this is
x0 = source + x0_target(z_tar) − x0_source(z_src) (the solvers step along (x − x0)/σ, which is then
exactly that velocity difference).
"""
import torch

from .sampler import noised


def flow_edit(denoise_target, denoise_source, source: torch.Tensor, seed: int):
    """`denoise(z, sigma) -> x0` for the solvers; each call draws its noise from one seeded stream."""
    generator = torch.Generator("cpu").manual_seed(seed)

    def edit(z, sigma):
        noise = torch.randn(source.shape, generator=generator, dtype=torch.float32).to(source)
        z_source = noised(sigma, noise, source)
        z_target = z + z_source - source
        return source + denoise_target(z_target, sigma) - denoise_source(z_source, sigma)

    return edit
