"""The Wan 2.1 DiT: key layout and sizes from the reference table, parity with the host's own model."""
import pytest
import torch
from safetensors.torch import save_file

from conftest import import_host_comfy
from tiny_models import random_wan_state_dict, wan_t2v_shapes
from spacetime.engine.models.checkpoint import load_dit
from spacetime.engine.models.dit import DiTConfig, WanDiT
from numerics import relative_l2

TINY = dict(dim=256, ffn_dim=512, num_layers=2, in_dim=16, out_dim=16, text_dim=4096, freq_dim=256)


def inputs(batch=1, frames=3, height=6, width=10, seed=1):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 16, frames, height, width, generator=generator)
    context = torch.randn(batch, 512, 4096, generator=generator)
    context[:, 20:] = 0  # padding rows, as the text encoder leaves them
    return x, context


@pytest.mark.parametrize("name, config, keys, billions, digits", [
    ("1.3B", dict(dim=1536, ffn_dim=8960, num_layers=30), 825, 1.419, 3),
    ("14B", dict(dim=5120, ffn_dim=13824, num_layers=40), 1095, 14.29, 2),
])
def test_full_size_layout_matches_reference(name, config, keys, billions, digits):
    expected = wan_t2v_shapes(**config)
    with torch.device("meta"):
        model = WanDiT(DiTConfig(**config))
    actual = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    assert len(actual) == len(expected) == keys
    assert actual == expected
    assert model.config.num_heads == config["dim"] // 128
    assert round(sum(p.numel() for p in model.parameters()) / 1e9, digits) == billions
    assert DiTConfig.from_state_dict(model.state_dict()) == model.config


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("dit") / "wan_tiny_t2v.safetensors"
    save_file(random_wan_state_dict(**TINY), str(path))
    return path


@pytest.fixture(scope="module")
def host_model(tiny_checkpoint):
    """The host's own WanModel, found and loaded by its own detection path."""
    comfy = import_host_comfy()
    import comfy.sd

    patcher = comfy.sd.load_diffusion_model(str(tiny_checkpoint), model_options={"dtype": torch.float32})
    model = patcher.model.diffusion_model
    assert type(model).__name__ == "WanModel" and model.num_heads == 2 and model.num_layers == 2
    return model.eval()


@pytest.fixture(scope="module")
def our_model(tiny_checkpoint):
    model = load_dit(tiny_checkpoint, dtype=torch.float32)
    assert model.config == DiTConfig(**TINY, num_heads=2)
    return model


@pytest.mark.parametrize("frames, height, width", [(3, 6, 10), (2, 5, 7)])
@torch.no_grad()
def test_uniform_timestep_matches_host(host_model, our_model, frames, height, width):
    x, context = inputs(batch=2, frames=frames, height=height, width=width)
    t = torch.tensor([937.5, 125.0])
    ours = our_model(x, t, context)
    assert ours.shape == x.shape
    assert relative_l2(ours, host_model(x, t, context)) <= 1e-5


@torch.no_grad()
def test_per_frame_timesteps_match_host(host_model, our_model):
    """The host's WanModel accepts t [B, T] too (one time embedding per latent frame), so compare directly."""
    x, context = inputs(batch=2)
    t = torch.tensor([[0.0, 500.0, 999.0], [250.0, 250.0, 750.0]])
    ours = our_model(x, t, context)
    assert relative_l2(ours, host_model(x, t, context)) <= 1e-5
    # and the per-frame timesteps matter: the last frame differs from a uniform run at frame 0's t
    uniform = our_model(x, t[:, 0], context)
    assert relative_l2(ours[:, :, 2], uniform[:, :, 2]) > 1e-2


@torch.no_grad()
def test_per_frame_equal_timesteps_equal_uniform(our_model):
    x, context = inputs()
    uniform = our_model(x, torch.tensor([400.0]), context)
    per_frame = our_model(x, torch.full((1, 3), 400.0), context)
    assert relative_l2(per_frame, uniform) <= 1e-6


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@torch.no_grad()
def test_half_precision_weights_stay_close_to_float32(tiny_checkpoint, our_model, dtype):
    low = load_dit(tiny_checkpoint, dtype=dtype)
    assert low.blocks[0].ffn[0].weight.dtype == dtype
    assert low.blocks[0].modulation.dtype == low.time_embedding[0].weight.dtype == torch.float32
    x, context = inputs()
    t = torch.tensor([600.0])
    out = low(x.to(dtype), t, context.to(dtype))
    assert out.dtype == dtype
    assert relative_l2(out.float(), our_model(x, t, context)) < 2e-2


def test_bad_timestep_shape_is_explained(our_model):
    x, context = inputs()
    with pytest.raises(ValueError, match=r"expected \[1\] \(one per sample\) or \[1, 3\]"):
        our_model(x, torch.zeros(1, 5), context)


def test_head_count_must_divide_dim():
    with pytest.raises(ValueError, match="dim 64 cannot be split into 0 attention heads.*Give num_heads"):
        DiTConfig(dim=64)
    assert DiTConfig(dim=64, num_heads=2).head_dim == 32
