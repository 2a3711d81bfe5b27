import pytest
import torch

from sampling_host import core, core_ksampler_sigmas, flow_model_sampling
from spacetime.engine.sampling.schedule import flow_sigma_table, flow_sigmas, simple_schedule


@pytest.mark.parametrize("shift", [1.0, 5.0, 8.0])
def test_table_is_core_table(shift):
    assert torch.equal(flow_sigma_table(shift), flow_model_sampling(shift).sigmas)


@pytest.mark.parametrize("steps", [1, 4, 20, 30, 999, 1500])
def test_simple_schedule_is_core_simple(steps):
    sampling = flow_model_sampling(8.0)
    assert torch.equal(simple_schedule(flow_sigma_table(8.0), steps), core().samplers.simple_scheduler(sampling, steps))


@pytest.mark.parametrize("sampler", ["euler", "uni_pc"])
@pytest.mark.parametrize("denoise", [1.0, 0.6])
@pytest.mark.parametrize("shift", [1.0, 5.0, 8.0])
@pytest.mark.parametrize("steps", [1, 4, 20, 30])
def test_flow_sigmas_equal_core_ksampler(steps, shift, denoise, sampler):
    ours = flow_sigmas(steps, shift, denoise, discard_penultimate=(sampler == "uni_pc"))
    theirs = core_ksampler_sigmas(steps, shift, sampler, denoise)
    assert ours.dtype == theirs.dtype == torch.float32
    assert torch.equal(ours, theirs)


def test_schedule_shape_and_ends():
    sigmas = flow_sigmas(30, 8.0)
    assert sigmas.shape == (31,) and sigmas[0] == 1.0 and sigmas[-1] == 0.0
    assert torch.all(sigmas[1:] < sigmas[:-1])


def test_zero_denoise_is_empty_and_bad_steps_explained():
    assert flow_sigmas(10, 5.0, denoise=0.0).numel() == 0
    with pytest.raises(ValueError, match="at least 1"):
        flow_sigmas(0, 5.0)
