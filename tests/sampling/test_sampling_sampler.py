import pytest
import torch

from sampling_host import core_ksampler_run, core_ksampler_sigmas, rel_l2, toy_denoiser
from spacetime.engine.sampling import SamplingPlan, get_solver, initial_noise, plan_sigmas, sample

SHAPE = (2, 4, 5, 3, 4)  # [B, C, T, H, W]
KEEP = torch.tensor([1.0, 0.0, 0.0, 1.0, 0.0])
PROMPT = torch.zeros(1, 3, 8)


def source():
    return torch.randn(SHAPE, generator=torch.Generator().manual_seed(11))


CASES = {  # (latent, strength, keep)
    "text_to_video": lambda: (torch.zeros(SHAPE), 1.0, None),
    "remix": lambda: (source(), 0.6, None),
    "keep_frames": lambda: (source(), 1.0, KEEP),
    "keep_frames_remix": lambda: (source(), 0.6, KEEP),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("name", ["euler", "uni_pc", "uni_pc_bh2"])
def test_sample_matches_core_ksampler(name, case):
    (latent, strength, keep), solver, steps, shift = CASES[case](), get_solver(name), 6, 5.0
    sigmas = plan_sigmas(strength, solver, steps, shift)
    assert torch.equal(sigmas, core_ksampler_sigmas(steps, shift, name, strength))
    noise = initial_noise(SHAPE, seed=123)
    x0 = toy_denoiser(SHAPE)

    ours = sample(x0, solver, sigmas, noise, latent, keep)

    mask = None if keep is None else (1.0 - keep).reshape(1, 1, -1, 1, 1).expand(SHAPE).contiguous()
    theirs = core_ksampler_run(name, x0, sigmas, noise, latent, mask)
    assert rel_l2(ours, theirs) <= 1e-5


def test_kept_frames_end_as_the_latent_and_the_rest_is_generated():
    latent, solver = source(), get_solver("euler")
    out = sample(toy_denoiser(SHAPE), solver, plan_sigmas(1.0, solver, 8, 5.0), initial_noise(SHAPE, 0), latent, KEEP)
    kept, made = KEEP.bool(), ~KEEP.bool()
    torch.testing.assert_close(out[:, :, kept], latent[:, :, kept], atol=1e-5, rtol=0)
    assert (out[:, :, made] - latent[:, :, made]).abs().mean() > 0.1


def test_timestep_hold_shows_kept_frames_clean_at_sigma_zero():
    latent, solver = source(), get_solver("euler")
    sigmas = plan_sigmas(1.0, solver, 4, 5.0)
    model, seen = toy_denoiser(SHAPE), []

    def recording(x, sigma):
        seen.append((x.clone(), sigma.clone()))
        return model(x, sigma)

    out = sample(recording, solver, sigmas, initial_noise(SHAPE, 0), latent, KEEP, per_frame_timestep=True)
    kept = KEEP.bool()
    for step, (x, sigma) in enumerate(seen):
        assert sigma.shape == (SHAPE[0], SHAPE[2])
        assert torch.all(sigma[:, kept] == 0) and torch.all(sigma[:, ~kept] == sigmas[step])
        assert torch.equal(x[:, :, kept], latent[:, :, kept])
    torch.testing.assert_close(out[:, :, kept], latent[:, :, kept], atol=1e-5, rtol=0)


def test_strength_zero_returns_the_latent():
    latent, solver = source(), get_solver("euler")
    out = sample(toy_denoiser(SHAPE), solver, plan_sigmas(0.0, solver, 10, 5.0), initial_noise(SHAPE, 0), latent)
    assert torch.equal(out, latent)


@pytest.mark.parametrize("kwargs, message", [
    (dict(latent=torch.zeros(4, 5, 3, 4)), r"\[B, C, T, H, W\]"),
    (dict(strength=1.5), "strength"),
    (dict(keep=torch.ones(4)), r"shape \(5,\)"),
    (dict(keep=KEEP * 0.5, hold_by="timestep"), "exactly 0 or 1"),
    (dict(hold_by="frames"), "hold_by"),
    (dict(positive=torch.zeros(3, 3, 8)), "3 prompts but the latent batch is 2"),
    (dict(positive=torch.zeros(2, 3, 8), frame_weights=torch.ones(5, 3)), r"\(5, 2\)"),
    (dict(positive=torch.zeros(2, 3, 8), frame_weights=torch.ones(5, 2), negative=torch.zeros(2, 3, 8)),
     "single one"),
])
def test_bad_plans_are_explained(kwargs, message):
    plan = {**dict(latent=torch.zeros(SHAPE), positive=PROMPT, negative=PROMPT), **kwargs}
    with pytest.raises(ValueError, match=message):
        SamplingPlan(**plan)
