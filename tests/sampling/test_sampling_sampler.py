import pytest
import torch

from sampling_host import core_ksampler_run, core_ksampler_sigmas, rel_l2, toy_denoiser
from spacetime.engine.sampling import SamplingPlan, get_solver, initial_noise, plan_sigmas, sample

SHAPE = (2, 4, 5, 3, 4)  # [B, C, T, H, W]
KEEP = torch.tensor([1.0, 0.0, 0.0, 1.0, 0.0])


def source():
    return torch.randn(SHAPE, generator=torch.Generator().manual_seed(11))


PLANS = {
    "text_to_video": lambda: SamplingPlan(),
    "remix": lambda: SamplingPlan(latent=source(), strength=0.6),
    "keep_frames": lambda: SamplingPlan(latent=source(), keep=KEEP),
    "keep_frames_remix": lambda: SamplingPlan(latent=source(), strength=0.6, keep=KEEP),
}


@pytest.mark.parametrize("plan_name", list(PLANS))
@pytest.mark.parametrize("name", ["euler", "uni_pc", "uni_pc_bh2"])
def test_sample_matches_core_ksampler(name, plan_name):
    plan, solver, steps, shift = PLANS[plan_name](), get_solver(name), 6, 5.0
    sigmas = plan_sigmas(plan, solver, steps, shift)
    assert torch.equal(sigmas, core_ksampler_sigmas(steps, shift, name, plan.strength))
    noise = initial_noise(SHAPE, seed=123)
    x0 = toy_denoiser(SHAPE)

    ours = sample(plan, x0, solver, sigmas, noise)

    latent = torch.zeros(SHAPE) if plan.latent is None else plan.latent
    mask = None if plan.keep is None else (1.0 - plan.keep).reshape(1, 1, -1, 1, 1).expand(SHAPE).contiguous()
    theirs = core_ksampler_run(name, x0, sigmas, noise, latent, mask)
    assert rel_l2(ours, theirs) <= 1e-5


def test_kept_frames_end_as_the_latent_and_the_rest_is_generated():
    plan = SamplingPlan(latent=source(), keep=KEEP)
    solver = get_solver("euler")
    out = sample(plan, toy_denoiser(SHAPE), solver, plan_sigmas(plan, solver, 8, 5.0), initial_noise(SHAPE, 0))
    kept, made = KEEP.bool(), ~KEEP.bool()
    torch.testing.assert_close(out[:, :, kept], plan.latent[:, :, kept], atol=1e-5, rtol=0)
    assert (out[:, :, made] - plan.latent[:, :, made]).abs().mean() > 0.1


def test_timestep_hold_shows_kept_frames_clean_at_sigma_zero():
    plan = SamplingPlan(latent=source(), keep=KEEP, hold_by="timestep")
    solver = get_solver("euler")
    sigmas = plan_sigmas(plan, solver, 4, 5.0)
    model, seen = toy_denoiser(SHAPE), []

    def recording(x, sigma):
        seen.append((x.clone(), sigma.clone()))
        return model(x, sigma)

    out = sample(plan, recording, solver, sigmas, initial_noise(SHAPE, 0))
    kept = KEEP.bool()
    for step, (x, sigma) in enumerate(seen):
        assert sigma.shape == (SHAPE[0], SHAPE[2])
        assert torch.all(sigma[:, kept] == 0) and torch.all(sigma[:, ~kept] == sigmas[step])
        assert torch.equal(x[:, :, kept], plan.latent[:, :, kept])
    torch.testing.assert_close(out[:, :, kept], plan.latent[:, :, kept], atol=1e-5, rtol=0)


def test_context_index_reaches_the_denoiser():
    index = torch.tensor([0, 0, 1, 1, 1])
    plan, solver, got = SamplingPlan(latent=torch.zeros(SHAPE), context_index=index), get_solver("euler"), []
    model = toy_denoiser(SHAPE)

    def denoiser(x, sigma, context_index):
        got.append(context_index)
        return model(x, sigma)

    sample(plan, denoiser, solver, plan_sigmas(plan, solver, 2, 5.0), initial_noise(SHAPE, 0))
    assert len(got) == 2 and all(g is index for g in got)


def test_strength_zero_returns_the_latent():
    plan, solver = SamplingPlan(latent=source(), strength=0.0), get_solver("euler")
    out = sample(plan, toy_denoiser(SHAPE), solver, plan_sigmas(plan, solver, 10, 5.0), initial_noise(SHAPE, 0))
    assert torch.equal(out, plan.latent)


@pytest.mark.parametrize("kwargs, message", [
    (dict(strength=0.5), "source latent"),
    (dict(keep=KEEP), "latent"),
    (dict(latent=torch.zeros(SHAPE), keep=torch.ones(4)), r"shape \(5,\)"),
    (dict(latent=torch.zeros(SHAPE), keep=KEEP * 0.5, hold_by="timestep"), "exactly 0 or 1"),
    (dict(hold_by="frames"), "hold_by"),
])
def test_bad_plans_are_explained(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SamplingPlan(**kwargs)
