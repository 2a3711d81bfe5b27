"""Our Wan DiT on the fused Triton kernel (RoPE in the loads) gives what it gives on SDPA.

A one-layer DiT small enough for Triton's CPU interpreter; head_dim 64 and 128, the two the kernel
takes. The latent grid is 2×2×3 tokens: unequal height and width, so a RoPE axis mix-up would show.
"""
import logging

import pytest
import torch

from tiny_models import random_wan_state_dict
from spacetime import kernels
from spacetime.engine.models.dit import DiTConfig, WanDiT

from .checks import DEVICE, needs_triton
from numerics import relative_l2

pytestmark = needs_triton
CONFIG = dict(dim=128, ffn_dim=64, num_layers=1, text_dim=32, freq_dim=32)


pytestmark = pytest.mark.usefixtures("fresh_backend_choices")

@pytest.mark.parametrize("num_heads, head_dim", [(2, 64), (1, 128)])
@torch.no_grad()
def test_dit_on_triton_matches_sdpa(num_heads, head_dim, caplog):
    config = DiTConfig(**CONFIG, num_heads=num_heads)
    assert config.head_dim == head_dim
    model = WanDiT(config)
    model.load_state_dict(random_wan_state_dict(seed=1, **CONFIG))
    model = model.to(DEVICE).eval()
    generator = torch.Generator().manual_seed(2)
    x = torch.randn(2, 16, 2, 4, 6, generator=generator).to(DEVICE)  # latent T=2, H=4, W=6
    context = torch.randn(2, 12, CONFIG["text_dim"], generator=generator).to(DEVICE)
    t = torch.tensor([900.0, 250.0], device=DEVICE)

    model.attention_backend = "sdpa"
    expected = model(x, t, context)
    model.attention_backend = "triton"
    with caplog.at_level(logging.INFO, logger="spacetime.attention"):
        out = model(x, t, context)

    assert out.shape == x.shape
    assert relative_l2(out, expected) <= 1e-5
    assert "spacetime-dit uses attention backend 'triton' (requested 'triton'" in caplog.text
