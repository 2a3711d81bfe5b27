import pytest
import torch

from sampling_host import core
from spacetime.engine.sampling.noise import initial_noise

SHAPE = (2, 16, 3, 4, 6)


@pytest.mark.parametrize("seed", [0, 42, 2**64 - 1])
def test_noise_is_bit_equal_to_core(seed):
    expected = core().sample.prepare_noise(torch.zeros(SHAPE), seed)
    assert torch.equal(initial_noise(SHAPE, seed), expected)


def test_batch_index_is_bit_equal_to_core():
    index = [3, 1, 3]
    expected = core().sample.prepare_noise(torch.zeros((3, *SHAPE[1:])), 5, index)
    assert torch.equal(initial_noise((3, *SHAPE[1:]), 5, batch_index=index), expected)


def test_global_generator_untouched():
    state = torch.random.get_rng_state()
    initial_noise(SHAPE, 1)
    assert torch.equal(torch.random.get_rng_state(), state)
