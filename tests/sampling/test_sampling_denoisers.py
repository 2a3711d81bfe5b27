import torch

from sampling_host import core
from spacetime.engine.sampling import cfg_denoiser, flow_denoiser

SHAPE = (2, 4, 5, 3, 4)


def velocity(x, t, context, **kwargs):
    return 0.5 * x + context


def test_flow_denoiser_gives_x_minus_sigma_v_and_timestep_1000_sigma():
    seen = []

    def model(x, t, context):
        seen.append(t)
        return velocity(x, t, context)

    x = torch.randn(SHAPE)
    out = flow_denoiser(model)(x, torch.tensor(0.25), 1.0)
    torch.testing.assert_close(out, x - 0.25 * (0.5 * x + 1.0))
    assert torch.equal(seen[0], torch.full((2,), 250.0))


def test_flow_denoiser_per_frame_sigma():
    x = torch.randn(SHAPE)
    sigma = torch.rand(SHAPE[0], SHAPE[2])
    out = flow_denoiser(velocity)(x, sigma, 0.0)
    for b in range(SHAPE[0]):
        for f in range(SHAPE[2]):
            torch.testing.assert_close(out[b, :, f], x[b, :, f] - sigma[b, f] * 0.5 * x[b, :, f])


def test_cfg_matches_core_cfg_function():
    x, calls = torch.randn(SHAPE), []

    def model_fn(x, sigma, context):
        calls.append(context)
        return x * context

    out = cfg_denoiser(model_fn, 2.0, -1.0, 6.0)(x, torch.tensor(0.5))
    expected = core().samplers.cfg_function(None, x * 2.0, x * -1.0, 6.0, x, torch.tensor([0.5]), model_options={})
    assert torch.equal(out, expected) and calls == [2.0, -1.0]


def test_cfg_scale_one_skips_the_unconditional_pass():
    calls = []
    cfg_denoiser(lambda x, s, c: calls.append(c) or x, "cond", "uncond", 1.0)(torch.zeros(1), torch.tensor(1.0))
    assert calls == ["cond"]


def test_extra_keywords_pass_through():
    got = {}

    def model(x, t, context, context_index=None):
        got["index"] = context_index
        return x

    cfg_denoiser(flow_denoiser(model), 0, 0, 1.0)(torch.zeros(SHAPE), torch.tensor(0.5), context_index=[1])
    assert got["index"] == [1]
