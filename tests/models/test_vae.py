"""Wan 2.1 VAE: parity with the host ComfyUI's own implementation, streaming, tiling, input checks.

Tiny random VAEs (base dim 8 and 16) are built in the real key layout by the host's class, saved with
safetensors and loaded into ours; both run in float32 on the same inputs.
"""
import pytest
import torch
from safetensors.torch import load_file, save_file

from conftest import import_host_comfy
from spacetime.engine.models.vae import WanVAE
from spacetime.engine.models.vae_tiling import plan_tiles
from numerics import relative_l2

PARITY_TOLERANCE = 1e-4  # relative L2, float32


def randomise_(model: torch.nn.Module, seed: int) -> None:
    """Fill every parameter with non-trivial values: gains away from 1, biases away from 0."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            noise = torch.randn(param.shape, generator=generator)
            if name.endswith("gamma"):
                param.copy_(1 + 0.3 * noise)
            elif name.endswith("bias"):
                param.copy_(0.1 * noise)
            else:  # scaled so activations neither vanish nor saturate the clamp
                param.copy_(noise / param[0].numel() ** 0.5)


def host_wan_vae_class():
    import_host_comfy()
    import comfy.ldm.wan.vae

    return comfy.ldm.wan.vae.WanVAE


@pytest.fixture(scope="module", params=[8, 16], ids=lambda dim: f"dim{dim}")
def vae_pair(request, tmp_path_factory):
    """(host VAE, our VAE) holding the same random weights, loaded through a safetensors file."""
    host = host_wan_vae_class()(dim=request.param, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2,
                                attn_scales=[], temperal_downsample=[False, True, True])
    randomise_(host, seed=request.param)
    path = tmp_path_factory.mktemp("vae") / "wan_vae_tiny.safetensors"
    save_file(host.state_dict(), str(path))
    return host.eval(), WanVAE.from_state_dict(load_file(str(path)))


@pytest.fixture(scope="module")
def tiny_vae():
    model = WanVAE(dim=8)
    randomise_(model, seed=1)
    return model.eval()


@pytest.mark.parametrize("frames", [5, 9])
def test_encode_matches_host(vae_pair, frames):
    host, ours = vae_pair
    video = torch.rand(1, 3, frames, 32, 48, generator=torch.Generator().manual_seed(frames)) * 2 - 1
    with torch.no_grad():
        expected = host.encode(video)
    mu = ours.encode(video)
    assert mu.shape == (1, 16, 1 + (frames - 1) // 4, 4, 6)
    assert relative_l2(mu, expected) <= PARITY_TOLERANCE


@pytest.mark.parametrize("latent_frames", [2, 3])
def test_decode_matches_host(vae_pair, latent_frames):
    host, ours = vae_pair
    latent = torch.randn(1, 16, latent_frames, 4, 6, generator=torch.Generator().manual_seed(latent_frames))
    with torch.no_grad():
        expected = host.decode(latent).clamp(-1, 1)
    video = ours.decode(latent)
    assert video.shape == (1, 3, 1 + 4 * (latent_frames - 1), 32, 48)
    assert (video.abs() < 1).float().mean() > 0.8, "outputs mostly clamped: the comparison would say little"
    assert relative_l2(video, expected) <= PARITY_TOLERANCE


def test_decode_frames_streams_the_same_frames(tiny_vae):
    latent = torch.randn(1, 16, 3, 4, 6)
    chunks = list(tiny_vae.decode_frames(latent))
    assert [chunk.shape[2] for chunk in chunks] == [1, 4, 4]
    assert torch.equal(torch.cat(chunks, dim=2), tiny_vae.decode(latent))


def test_batch_items_decode_independently(tiny_vae):
    latent = torch.randn(2, 16, 2, 4, 6)
    together = tiny_vae.decode(latent)
    assert torch.allclose(together[1:], tiny_vae.decode(latent[1:]), atol=1e-5)


def test_tile_weights_sum_to_one_where_only_neighbours_overlap():
    # Deeper overlaps (tile k meeting tile k+2) are handled by dividing by the summed weights.
    for tile, overlap in [((4, 5), 1), ((3, 3), 1), ((6, 4), 0)]:
        total = torch.zeros(9 * 8, 11 * 8)
        for t in plan_tiles(9, 11, tile, overlap, scale=8):
            rows, cols = t.pixel_slices(8)
            total[rows, cols] += t.weight
        assert torch.allclose(total, torch.ones_like(total)), (tile, overlap)


def test_tiled_decode_is_exact_when_the_decoder_is_spatially_local(tiny_vae):
    """With 1×1 spatial kernels and attention switched off, each latent pixel decodes on its own, so
    tiles must reproduce the untiled result exactly: this checks placement, blending and per-tile
    causal caches."""
    local = WanVAE(dim=8)
    local.load_state_dict(tiny_vae.state_dict())
    with torch.no_grad():
        local.decoder.middle[1].proj.weight.zero_()
        local.decoder.middle[1].proj.bias.zero_()
        for module in local.decoder.modules():
            weight = getattr(module, "weight", None)
            if weight is not None and weight.ndim >= 4 and weight.shape[-1] == 3:
                centre = weight[..., 1:2, 1:2].clone()
                weight.zero_()
                weight[..., 1:2, 1:2] = centre
    latent = torch.randn(1, 16, 2, 7, 9)
    tiled = local.decode(latent, tile=(4, 4), overlap=2)
    assert relative_l2(tiled, local.decode(latent)) <= 1e-5


def test_tiled_decode_approaches_untiled_with_more_context(tiny_vae):
    """With random weights the decoder's receptive field (about 17 latent pixels, plus frame-wide
    attention) is far wider than a tile, so tiles only approximate; the error must shrink as tiles
    and overlaps grow. Trained weights are much more local than random ones."""
    latent = torch.randn(1, 16, 2, 12, 16, generator=torch.Generator().manual_seed(3))
    untiled = tiny_vae.decode(latent)
    small = relative_l2(tiny_vae.decode(latent, tile=(6, 6), overlap=2), untiled)
    large = relative_l2(tiny_vae.decode(latent, tile=(10, 12), overlap=6), untiled)
    whole = tiny_vae.decode(latent, tile=(12, 16), overlap=4)
    assert torch.equal(whole, untiled)
    assert large < small
    assert large < 0.4


@pytest.mark.parametrize("shape, message", [
    ((1, 3, 6, 32, 48), "5 or 9"),
    ((1, 3, 5, 36, 48), "32 or 40"),
    ((1, 3, 5, 32, 4), "8"),
    ((1, 4, 5, 32, 48), "[batch, 3, frames, height, width]"),
])
def test_encode_rejects_bad_videos(tiny_vae, shape, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        tiny_vae.encode(torch.zeros(shape))


def test_decode_rejects_bad_latents_and_tiling(tiny_vae):
    with pytest.raises(ValueError, match="48 channels"):
        tiny_vae.decode(torch.zeros(1, 48, 2, 4, 4))
    with pytest.raises(ValueError, match="48 channels"):  # raised on the call, not on the first chunk
        tiny_vae.decode_frames(torch.zeros(1, 48, 2, 4, 4))
    with pytest.raises(ValueError, match="overlap"):
        tiny_vae.decode(torch.zeros(1, 16, 1, 4, 4), tile=(4, 4), overlap=4)
    with pytest.raises(ValueError, match="tile"):
        tiny_vae.decode(torch.zeros(1, 16, 1, 4, 4), tile=(0, 4), overlap=0)


def test_from_state_dict_explains_wrong_weights(tiny_vae):
    sd = tiny_vae.state_dict()
    with pytest.raises(ValueError, match="not a Wan 2.1 VAE"):
        WanVAE.from_state_dict({"patch_embedding.weight": torch.zeros(1)})
    with pytest.raises(ValueError, match="Wan 2.2"):
        WanVAE.from_state_dict({**sd, "decoder.upsamples.0.upsamples.0.residual.2.weight": torch.zeros(1)})
    with pytest.raises(ValueError, match="missing conv2.bias"):
        WanVAE.from_state_dict({k: v for k, v in sd.items() if k != "conv2.bias"})
    with pytest.raises(ValueError, match="conv1.weight has shape"):
        WanVAE.from_state_dict({**sd, "conv1.weight": torch.zeros(32, 32, 1, 1, 2)})


def test_from_state_dict_reads_dim_and_casts(tiny_vae):
    model = WanVAE.from_state_dict(tiny_vae.state_dict(), dtype=torch.bfloat16)
    assert model.decoder.head[0].gamma.shape[0] == 8
    assert model.conv2.weight.dtype == torch.bfloat16
    assert model.encode(torch.zeros(1, 3, 1, 16, 16)).dtype == torch.float32
