"""Block swap: with a weight budget the whole DiT exceeds, sampling completes with the unswapped result and
the weights on the device at once stay within the budget."""
import pytest
import torch
from safetensors.torch import save_file

from spacetime.engine.generation import SamplerSettings, generate_latent
from spacetime.engine.models.block_swap import BlockSwap, blocks_within, fixed_bytes, module_bytes
from spacetime.engine.models.checkpoint import load_dit
from tiny_models import random_wan_state_dict

SIZES = dict(dim=256, ffn_dim=512, num_layers=4, text_dim=64)


@pytest.fixture(scope="module")
def dit_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("swap") / "dit.safetensors"
    save_file(random_wan_state_dict(**SIZES), str(path))
    return path


def sample(model, device="cpu"):
    generator = torch.Generator().manual_seed(0)
    latent = torch.zeros(1, 16, 2, 4, 4)
    positive, negative = (torch.randn(1, 8, SIZES["text_dim"], generator=generator) for _ in range(2))
    settings = SamplerSettings(seed=3, steps=3, cfg=4.0, shift=5.0, sampler="uni_pc")
    with torch.no_grad():
        return generate_latent(model, latent, positive, negative, settings, device=device)


def test_sampling_within_a_budget_equals_unswapped(dit_file):
    expected = sample(load_dit(dit_file))
    model = load_dit(dit_file)
    total = module_bytes(model)
    budget = int(0.6 * total)
    resident = blocks_within(model, budget)
    assert 0 < resident < SIZES["num_layers"]  # some blocks stay, some are streamed
    swap = BlockSwap(model, "cpu", resident)
    assert torch.equal(sample(model), expected)
    assert swap.peak <= budget < total
    assert swap.peak == fixed_bytes(model) + (resident + 1) * module_bytes(model.blocks[0])
    assert swap.on_device == fixed_bytes(model) + resident * module_bytes(model.blocks[0])  # streamed ones left


def test_every_block_streamed(dit_file):
    expected = sample(load_dit(dit_file))
    model = load_dit(dit_file)
    swap = BlockSwap(model, "cpu", 0)
    assert torch.equal(sample(model), expected)
    assert swap.peak == fixed_bytes(model) + module_bytes(model.blocks[0])


def test_budgets_and_counts_that_cannot_work_are_explained(dit_file):
    model = load_dit(dit_file)
    assert blocks_within(model, module_bytes(model)) == SIZES["num_layers"]
    with pytest.raises(ValueError, match="even with every block streamed"):
        blocks_within(model, fixed_bytes(model))
    with pytest.raises(ValueError, match="between 0 and 4"):
        BlockSwap(model, "cpu", 5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device to stream blocks to")
def test_streamed_blocks_wait_on_the_host_and_the_result_matches(dit_file):
    expected = sample(load_dit(dit_file).cuda(), device="cuda")
    model = load_dit(dit_file)
    torch.cuda.synchronize()
    swap = BlockSwap(model, "cuda", 1)
    assert torch.allclose(sample(model, device="cuda"), expected, rtol=1e-4, atol=1e-5)
    assert model.blocks[0].ffn[0].weight.is_cuda and not model.blocks[1].ffn[0].weight.is_cuda
    assert model.head.head.weight.is_cuda and swap.peak < module_bytes(model)
