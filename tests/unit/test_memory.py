"""The memory guard's estimates: they grow as they should, refuse what will not fit with options that do
fit, and (on CUDA) bound the measured peak from above without overstating it more than 3x."""
import re

import pytest
import torch

from spacetime.engine.memory import (
    DiTShape, WillNotFit, check_decode, check_edit, check_sampling, decode_bytes, frames_bytes, sampling_bytes,
)

WAN_1_3B = DiTShape(dim=1536, ffn_dim=8960)
GIB = 2**30


def latent(frames=81, width=832, height=480, batch=1):
    return (batch, 16, 1 + (frames - 1) // 4, height // 8, width // 8)


def test_estimates_grow_with_size_precision_and_int8_copies():
    assert sampling_bytes(latent(81), WAN_1_3B, torch.bfloat16) > 2 * sampling_bytes(latent(33), WAN_1_3B,
                                                                                   torch.bfloat16)
    assert sampling_bytes(latent(), WAN_1_3B, torch.float32) > sampling_bytes(latent(), WAN_1_3B, torch.bfloat16)
    assert sampling_bytes(latent(), WAN_1_3B, torch.bfloat16, "triton-int8") > sampling_bytes(latent(), WAN_1_3B,
                                                                                               torch.bfloat16)
    assert decode_bytes(latent(), 96, torch.bfloat16, (16, 16)) < decode_bytes(latent(), 96, torch.bfloat16)


def test_a_clip_that_fits_passes():
    check_sampling(latent(), WAN_1_3B, torch.bfloat16, "sdpa", free=80 * GIB)
    check_decode(latent(), 96, torch.bfloat16, None, free=80 * GIB)


def test_a_huge_latent_is_refused_with_options_that_fit():
    shape = latent(1025, 2048, 2048, batch=2)
    with pytest.raises(WillNotFit) as refusal:
        check_sampling(shape, WAN_1_3B, torch.float32, "sdpa", free=24 * GIB)
    message = str(refusal.value)
    assert "sampling 2 x 1025 frames of 2048x2048 needs about" in message and "only 24.0 GiB is free" in message
    assert "a batch of 1" not in message  # one video alone does not fit either
    frames = int(re.search(r"at most (\d+) frames at this size", message)[1])
    width, height = map(int, re.search(r"at most (\d+)x(\d+) at this length", message).groups())
    assert sampling_bytes(latent(frames, 2048, 2048, 2), WAN_1_3B, torch.float32) <= 24 * GIB
    assert sampling_bytes(latent(frames + 4, 2048, 2048, 2), WAN_1_3B, torch.float32) > 24 * GIB
    assert sampling_bytes(latent(1025, width, height, 2), WAN_1_3B, torch.float32) <= 24 * GIB


def test_lower_precision_and_a_smaller_batch_are_offered_when_they_fit():
    shape = latent(81, 832, 480, batch=2)
    free = (sampling_bytes(shape, WAN_1_3B, torch.bfloat16) + sampling_bytes(shape, WAN_1_3B, torch.float32)) // 2
    with pytest.raises(WillNotFit, match="a batch of 1, or .* or the DiT loader's dtype bf16 instead of fp32"):
        check_sampling(shape, WAN_1_3B, torch.float32, "sdpa", free)


def test_a_decode_that_will_not_fit_names_a_tile_size_that_does():
    shape = latent(81, 2048, 2048)
    free = 4 * GIB
    with pytest.raises(WillNotFit, match="decoding 1 x 81 frames of 2048x2048") as refusal:
        check_decode(shape, 96, torch.bfloat16, None, free, host_free=64 * GIB)
    tile = int(re.search(r"tile_size (\d+)", str(refusal.value))[1])
    assert tile % 16 == 0 and decode_bytes(shape, 96, torch.bfloat16, (tile // 8, tile // 8)) <= free


def test_nothing_fits_on_a_tiny_device():
    with pytest.raises(WillNotFit, match="even the smallest option does not fit"):
        check_sampling(latent(), WAN_1_3B, torch.bfloat16, "sdpa", free=2**20)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="measures the real peak on a CUDA device")
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
@pytest.mark.parametrize("frames, width, height", [(17, 480, 272), (33, 832, 480)])
def test_the_estimates_bound_the_measured_cuda_peak(dtype, frames, width, height):
    from spacetime.engine.models.dit import DiTConfig, WanDiT
    from spacetime.engine.models.vae import WanVAE

    device = torch.device("cuda")
    shape = latent(frames, width, height)
    dit = WanDiT(DiTConfig(dim=1536, ffn_dim=8960, num_layers=2)).to(device, dtype)
    dit.attention_backend = "sdpa"
    x = torch.randn(shape, device=device)
    context = torch.randn(1, 512, 4096, device=device)
    measured = _peak(lambda: dit(x, torch.tensor([500.0], device=device), context), device)
    estimate = sampling_bytes(shape, WAN_1_3B, dtype)
    print(f"DiT {dtype} {shape}: measured {measured / GIB:.2f} GiB, estimate {estimate / GIB:.2f} GiB")
    assert measured <= estimate <= 3 * measured
    del dit
    vae = WanVAE().to(device, dtype)
    measured = _peak(lambda: sum(chunk.sum() for chunk in vae.decode_frames(x[:, :, :3].to(dtype))), device)
    estimate = decode_bytes(x[:, :, :3].shape, 96, dtype)
    print(f"VAE {dtype} {shape}: measured {measured / GIB:.2f} GiB, estimate {estimate / GIB:.2f} GiB")
    assert measured <= estimate <= 3 * measured


def _peak(run, device) -> int:
    """Bytes allocated during `run` beyond what was allocated before it."""
    torch.cuda.synchronize(device)
    before = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    with torch.no_grad():
        run()
    torch.cuda.synchronize(device)
    return torch.cuda.max_memory_allocated(device) - before


def test_frames_that_will_not_fit_in_host_memory_are_refused_with_a_length_that_fits():
    shape = latent(1025, 2048, 2048)
    with pytest.raises(WillNotFit, match="to hold its frames .* at most (\\d+) frames at this size") as refusal:
        check_decode(shape, 8, torch.float32, None, free=20 * GIB)  # the CPU: one pool for both
    frames = int(re.search(r"at most (\d+) frames", str(refusal.value))[1])
    assert frames_bytes(latent(frames, 2048, 2048)) <= 20 * GIB - decode_bytes(shape, 8, torch.float32)
    with pytest.raises(WillNotFit, match="to hold its frames"):
        check_decode(shape, 8, torch.float32, None, free=80 * GIB, host_free=20 * GIB)  # a GPU beside the host


def test_an_edit_too_long_for_host_memory_is_refused_with_a_length_that_fits():
    check_edit(81, 480, 832, free=8 * GIB)
    with pytest.raises(WillNotFit, match="the edit makes a clip of 10,001 frames of 832x480, which needs about "
                                         r".* would fit: at most (\d+(,\d+)*) frames at this size") as refusal:
        check_edit(10_001, 480, 832, free=8 * GIB)
    most = int(re.search(r"at most ([\d,]+) frames", str(refusal.value))[1].replace(",", ""))
    check_edit(most, 480, 832, free=8 * GIB)
    with pytest.raises(WillNotFit):
        check_edit(most + 1, 480, 832, free=8 * GIB)
