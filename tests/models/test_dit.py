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


def small_dit():
    model = WanDiT(DiTConfig(dim=64, ffn_dim=128, num_layers=2, text_dim=32, num_heads=2))
    model.load_state_dict(random_wan_state_dict(seed=3, dim=64, ffn_dim=128, num_layers=2, text_dim=32))
    return model


def test_per_frame_prompts_with_one_prompt_per_frame_are_exact():
    model, generator = small_dit(), torch.Generator().manual_seed(4)
    x = torch.randn(1, 16, 3, 4, 4, generator=generator)
    prompts = torch.randn(1, 2, 5, 32, generator=generator)
    t = torch.tensor([500.0])
    for k in range(2):  # every frame on prompt k: the plain single-prompt model
        weights = torch.nn.functional.one_hot(torch.full((1, 3), k), 2).float()
        torch.testing.assert_close(model(x, t, prompts, weights), model(x, t, prompts[:, k]), atol=1e-5, rtol=0)
    same = torch.cat([prompts[:, :1], prompts[:, :1]], dim=1)  # any mix of two equal prompts is that prompt
    mix = torch.tensor([[[0.2, 0.8], [0.5, 0.5], [1.0, 0.0]]])
    torch.testing.assert_close(model(x, t, same, mix), model(x, t, prompts[:, 0]), atol=1e-5, rtol=0)


def test_per_frame_prompts_reach_their_frames():
    model, generator = small_dit(), torch.Generator().manual_seed(5)
    x = torch.randn(1, 16, 3, 4, 4, generator=generator)
    prompts = torch.randn(1, 2, 5, 32, generator=generator)
    switched = torch.tensor([[[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]])
    first_only, last_switched = model(x, torch.tensor([500.0]), prompts[:, 0]), model(x, torch.tensor([500.0]), prompts, switched)
    change = (first_only - last_switched).abs().mean(dim=(0, 1, 3, 4))
    assert change[2] > 5 * change[0]  # the frame given the other prompt changes most


def test_per_frame_prompt_shapes_are_checked():
    model = small_dit()
    with pytest.raises(ValueError, match="context_weights"):
        model(torch.zeros(1, 16, 3, 4, 4), torch.tensor([1.0]), torch.zeros(1, 2, 5, 32), torch.ones(1, 2, 2))
