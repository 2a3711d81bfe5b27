"""Shared helpers for the shapes-world tests."""
import math

import pytest
import torch
import torch.nn.functional as F


def degrade(clip: torch.Tensor, seed: int, blur: float = 1.5, noise: float = 0.05, shift: float = 0.04):
    """What a small VAE might do to a clip [F, H, W, 3]: gaussian blur, a per-channel gain and offset
    of up to `shift`, and gaussian pixel noise; seeded."""
    generator = torch.Generator().manual_seed(seed)
    radius = math.ceil(3 * blur)
    taps = torch.exp(-0.5 * (torch.arange(-radius, radius + 1.0) / blur) ** 2)
    taps = taps / taps.sum()
    x = clip.permute(0, 3, 1, 2).reshape(-1, 1, *clip.shape[1:3])
    x = F.pad(x, (radius,) * 4, mode="replicate")
    x = F.conv2d(F.conv2d(x, taps.view(1, 1, 1, -1)), taps.view(1, 1, -1, 1))
    x = x.reshape(clip.shape[0], 3, *clip.shape[1:3]).permute(0, 2, 3, 1)
    gain = 1 + shift * (2 * torch.rand(3, generator=generator) - 1)
    offset = shift * (2 * torch.rand(3, generator=generator) - 1)
    x = x * gain + offset + noise * torch.randn(x.shape, generator=generator)
    return x.clamp(0, 1)


@pytest.fixture(autouse=True)
def one_thread():
    """The analyser runs many ops on small tensors; on a busy shared CPU, thread hand-offs cost more
    than the ops themselves (about 20x slower with 2 threads here), so these tests use one."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def degraded():
    return degrade
