"""NaN and Inf are stopped where they appear (sampler in and out, decoder in and out), and inputs inside
their allowed ranges never make them: shift near 0, UniPC at step counts beyond the model's 1000-level table."""
import math

import pytest
import torch

from spacetime.engine.frames import decode_to_images
from spacetime.engine.finite import NotFiniteError, check_finite
from spacetime.engine.generation import SamplerSettings, run_plan
from spacetime.engine.models.latent_format import WAN21
from spacetime.engine.sampling import SamplingPlan, flow_sigmas, get_solver

SHAPE = (1, 16, 2, 4, 4)


class ToyDiT:
    """A stand-in DiT: v = x (or NaN everywhere), enough to run the whole plan."""

    latent_format = WAN21

    def __init__(self, nan=False):
        self.nan = nan

    def __call__(self, x, t, context, weights=None):
        return torch.full_like(x, math.nan) if self.nan else x


def plan(latent=None):
    prompt = torch.zeros(1, 3, 8)
    return SamplingPlan(latent if latent is not None else torch.zeros(SHAPE), prompt, prompt)


def settings(**changes):
    values = dict(seed=0, steps=3, cfg=3.0, shift=8.0, sampler="euler") | changes
    return SamplerSettings(**values)


def test_check_finite_passes_finite_tensors_and_counts_what_is_not():
    ok = torch.ones(3)
    assert check_finite(ok, "x", "fix") is ok
    assert check_finite(torch.tensor([1, 2]), "ints", "fix") is not None
    with pytest.raises(NotFiniteError, match=r"the frame holds 2 NaN and 1 infinite values \(of 4\)\. fix it"):
        check_finite(torch.tensor([math.nan, math.nan, math.inf, 0.0]), "the frame", "fix it")


def test_a_nan_latent_into_the_sampler_is_named_with_what_made_it():
    latent = torch.zeros(SHAPE)
    latent[0, 3, 1, 2, 2] = math.nan
    with pytest.raises(NotFiniteError, match="the latent given to the sampler holds 1 NaN .* fix or replace"):
        run_plan(ToyDiT(), plan(latent), settings())


def test_a_diverging_model_is_reported_instead_of_returning_nan():
    with pytest.raises(NotFiniteError, match="the sampler's result holds .* lower cfg"):
        run_plan(ToyDiT(nan=True), plan(), settings())


@pytest.mark.parametrize("name", ["cfg", "shift", "denoise"])
@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_nan_or_infinite_settings_are_refused(name, value):
    with pytest.raises(ValueError, match=f"the sampler's {name} is .*: give a finite number"):
        settings(**{name: value})


@pytest.mark.parametrize("shift", [0.0, -1.0, math.nan])
def test_a_shift_of_zero_or_less_is_refused_not_turned_into_nan(shift):
    with pytest.raises(ValueError, match="shift must be above 0"):
        flow_sigmas(10, shift)


@pytest.mark.parametrize("shift", [0.01, 0.5, 100.0])
def test_the_smallest_and_largest_allowed_shift_give_a_finite_schedule(shift):
    for steps in (1, 30, 1000):
        sigmas = flow_sigmas(steps, shift, discard_penultimate=True)
        assert torch.isfinite(sigmas).all() and sigmas[-1] == 0


@pytest.mark.parametrize("solver", ["uni_pc", "uni_pc_bh2"])
@pytest.mark.parametrize("steps, denoise", [(1000, 1.0), (600, 0.5), (30, 0.02)])
def test_unipc_with_repeated_sigmas_stays_finite(solver, steps, denoise):
    sigmas = flow_sigmas(steps, 8.0, denoise, discard_penultimate=True)
    assert (sigmas[1:] == sigmas[:-1]).any()  # the schedule repeats levels here (as core's does)
    out = get_solver(solver).run(lambda x, sigma: 0.5 * x, torch.randn(SHAPE), sigmas)
    assert torch.isfinite(out).all()


def test_unipc_skipping_a_repeated_sigma_changes_nothing():
    sigmas = flow_sigmas(6, 8.0, discard_penultimate=True)
    repeated = torch.cat([sigmas[:3], sigmas[2:]])
    x = torch.randn(SHAPE)
    run = get_solver("uni_pc").run
    torch.testing.assert_close(run(lambda x, s: 0.5 * x, x, repeated), run(lambda x, s: 0.5 * x, x, sigmas))


class ToyVAE:
    """Decodes any latent to one chunk of grey, or of NaN."""

    def __init__(self, nan=False):
        self.nan = nan

    def decode_frames(self, latent, tile=None, overlap=0):
        batch, _, frames, height, width = latent.shape
        yield torch.full((batch, 3, 1 + 4 * (frames - 1), 8 * height, 8 * width), math.nan if self.nan else 0.0)


def test_the_decoder_refuses_a_nan_latent_and_reports_a_nan_decode():
    assert decode_to_images(ToyVAE(), torch.zeros(SHAPE)).shape == (5, 32, 32, 3)
    latent = torch.zeros(SHAPE)
    latent[..., 0] = math.inf
    with pytest.raises(NotFiniteError, match="the latent given to the decoder holds 128 infinite"):
        decode_to_images(ToyVAE(), latent)
    with pytest.raises(NotFiniteError, match="the decode of frames 0-4 holds 15,360 NaN .* float32 or bfloat16"):
        decode_to_images(ToyVAE(nan=True), torch.zeros(SHAPE))
