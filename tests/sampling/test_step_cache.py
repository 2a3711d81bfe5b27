"""Step caching (engine/sampling/step_cache.py) through the generation entry point, on a stand-in DiT that
counts its calls and records what it was shown."""
import pytest
import torch

from spacetime.engine.generation import SamplerSettings, generate_latent, run_plan
from spacetime.engine.models.latent_format import WAN21
from spacetime.engine.sampling import SamplingPlan, get_solver, plan_sigmas
from spacetime.engine.sampling.step_cache import StepCache, core_model_wrapper

SHAPE = (1, 16, 5, 4, 4)
POSITIVE, NEGATIVE = torch.ones(1, 3, 8), torch.zeros(1, 3, 8)


class SmoothDiT:
    """A velocity that changes smoothly with x and t (as a trained DiT's does), prompt-dependent."""
    latent_format = WAN21

    def __init__(self):
        self.calls, self.timesteps = 0, []

    def __call__(self, x, t, context, weights=None):
        self.calls += 1
        self.timesteps.append(t.clone())
        level = (t / 1000).reshape(t.shape[0], 1, -1, 1, 1) if t.ndim == 2 else (t / 1000).reshape(-1, 1, 1, 1, 1)
        return torch.tanh(0.7 * x) + 0.3 * context.mean() * (1 - level) + 0.1 * torch.sin(3 * level)


def run(cache, steps=20, sampler="uni_pc", cfg=3.0, keep=None, hold_by="noise_mask", dit=None, **plan):
    dit = dit or SmoothDiT()
    latent = WAN21.denormalize(torch.randn(SHAPE, generator=torch.Generator().manual_seed(1)))
    plan = SamplingPlan(latent=latent, positive=POSITIVE, negative=NEGATIVE, keep=keep, hold_by=hold_by, **plan)
    out = run_plan(dit, plan, SamplerSettings(seed=0, steps=steps, cfg=cfg, shift=3.0, sampler=sampler), cache=cache)
    return out, dit


def model_steps(steps, sampler):
    """DiT steps the solver takes: one per interval (UniPC drops core's repeated penultimate sigma)."""
    return len(plan_sigmas(1.0, get_solver(sampler), steps, 3.0)) - 1


@pytest.mark.parametrize("sampler", ["uni_pc", "euler"])
def test_threshold_zero_evaluates_every_step_bit_identical_to_no_cache(sampler):
    plain, plain_dit = run(None, sampler=sampler)
    cache = StepCache(0.0)
    cached, cached_dit = run(cache, sampler=sampler)
    assert torch.equal(plain, cached)
    assert cache.evaluations == cached_dit.calls == plain_dit.calls == 2 * model_steps(20, sampler)
    assert cache.skipped == 0


@pytest.mark.parametrize("sampler", ["uni_pc", "euler"])
def test_caching_skips_steps_and_counts_every_call_exactly(sampler):
    cache = StepCache(0.3)
    cached, dit = run(cache, sampler=sampler)
    plain, _ = run(None, sampler=sampler)
    assert cache.evaluations == dit.calls
    assert cache.evaluations + cache.skipped == 2 * model_steps(20, sampler)
    assert cache.skipped >= 8  # a smooth model: many steps predicted
    assert cache.evaluations % 2 == 0  # a step is computed or skipped whole: both CFG prompts together
    assert (cached - plain).norm() / plain.norm() < 0.2
    assert not torch.equal(cached, plain)


class OnePointFlow:
    """The exact rectified-flow velocity towards one clean latent: along its path the noise never changes."""
    latent_format = WAN21

    def __init__(self):
        self.calls, self.clean = 0, torch.randn(SHAPE, generator=torch.Generator().manual_seed(7))

    def __call__(self, x, t, context, weights=None):
        self.calls += 1
        return (x - self.clean) / (t / 1000).reshape(-1, 1, 1, 1, 1)


def test_skipped_steps_keep_the_predicted_noise():
    """Where the noise a step predicts stays right (a straight path), skipped steps lose nothing; keeping
    the output − input instead is 1e-2 off here under UniPC."""
    plain, _ = run(None, dit=OnePointFlow())
    cache = StepCache(100.0)
    cached, dit = run(cache, dit=OnePointFlow())
    assert cache.skipped > 0 and cache.evaluations == dit.calls
    assert torch.allclose(cached, plain, atol=1e-4, rtol=1e-4)


def test_first_and_last_steps_are_always_computed():
    cache = StepCache(100.0)  # would skip everything it may
    _, dit = run(cache, cfg=1.0)
    levels = [float(t.max()) for t in dit.timesteps]
    sigmas = plan_sigmas(1.0, get_solver("uni_pc"), 20, 3.0)
    assert levels[:3] == pytest.approx([1000 * float(s) for s in sigmas[:3]])
    assert levels[-1] == pytest.approx(1000 * float(sigmas[sigmas > 0].min()))
    assert cache.evaluations == dit.calls == 4  # three warm-up steps, the last one; cfg 1: one call a step


def test_per_frame_sigma_and_kept_frames():
    keep = torch.tensor([1.0, 1.0, 0.0, 0.0, 0.0])
    cache = StepCache(0.3)
    out, dit = run(cache, keep=keep, hold_by="timestep")
    plain, _ = run(None, keep=keep, hold_by="timestep")
    assert torch.equal(out[:, :, :2], plain[:, :, :2])  # held frames come back as without caching
    assert all(t.shape == (1, 5) and torch.all(t[:, :2] == 0) for t in dit.timesteps)  # per-frame, kept clean
    assert cache.skipped > 0 and cache.evaluations == dit.calls
    assert (out - plain).norm() / plain.norm() < 0.2


def test_noise_mask_hold_and_fused_windows():
    keep = torch.tensor([1.0, 0.0, 0.0, 0.0, 0.0])
    cache = StepCache(0.3)
    out, dit = run(cache, keep=keep, window=3, overlap=1, window_mode="fused")
    windows = 2
    assert cache.evaluations == dit.calls
    assert cache.evaluations + cache.skipped == 2 * windows * model_steps(20, "uni_pc")
    assert cache.skipped > 0 and cache.skipped % (2 * windows) == 0  # every window's call of a step skipped
    plain, _ = run(None, keep=keep, window=3, overlap=1, window_mode="fused")
    assert (out - plain).norm() / plain.norm() < 0.2


def test_chained_windows_start_each_pass_afresh():
    cache = StepCache(100.0)
    _, dit = run(cache, cfg=1.0, window=3, overlap=1, window_mode="chained")
    assert cache.evaluations == dit.calls == 2 * 4  # per window: three warm-up steps and the last


def test_generate_latent_takes_a_cache():
    dit, cache = SmoothDiT(), StepCache(0.3)
    out = generate_latent(dit, torch.zeros(SHAPE), POSITIVE, NEGATIVE,
                          SamplerSettings(seed=0, steps=20, cfg=3.0, shift=3.0), cache=cache)
    assert out.isfinite().all() and cache.skipped > 0 and cache.evaluations == dit.calls


class PerClipDiT(SmoothDiT):
    """SmoothDiT with each clip's own prompt setting how fast its output turns: clips that want
    different steps skipped."""

    def __call__(self, x, t, context, weights=None):
        self.calls += 1
        level = (t / 1000).reshape(-1, 1, 1, 1, 1)
        bend = context[:, 0, 0].reshape(-1, 1, 1, 1, 1)
        return torch.tanh(bend * x) + torch.sin(bend * 4 * level)


def test_each_clip_of_a_batch_decides_for_itself_and_comes_out_as_alone():
    prompts = torch.stack([torch.full((3, 8), 0.5), torch.full((3, 8), 3.0)])  # a calm clip, a turning one
    latent = torch.zeros(2, *SHAPE[1:])
    settings = SamplerSettings(seed=0, steps=20, cfg=3.0, shift=3.0)
    batch_cache, dit = StepCache(0.3), PerClipDiT()
    together = generate_latent(dit, latent, prompts, NEGATIVE, settings, batch_index=[0, 1], cache=batch_cache)
    alone = []
    for row in range(2):
        cache = StepCache(0.3)
        alone.append((generate_latent(PerClipDiT(), latent[row:row + 1], prompts[row:row + 1], NEGATIVE, settings,
                                      batch_index=[row], cache=cache), cache.evaluations))
    assert alone[0][1] != alone[1][1]  # the two clips skip different steps
    assert batch_cache.evaluations == alone[0][1] + alone[1][1]  # each row through the DiT counted once
    assert batch_cache.skipped > 0 and dit.calls < batch_cache.evaluations  # some calls ran on one clip only
    for row, (out, _) in enumerate(alone):
        assert torch.allclose(together[row:row + 1], out, atol=1e-5)


@pytest.mark.parametrize("threshold", [-0.1, float("nan")])
def test_bad_threshold_is_refused(threshold):
    with pytest.raises(ValueError, match="threshold"):
        StepCache(threshold)


def core_calls(wrapper, sigmas, x, apply_model):
    """Core's calls of a model_function_wrapper over a schedule: one batched (cond, uncond) call a step."""
    outs = []
    for sigma in sigmas[:-1]:
        timestep = sigma.repeat(2)
        c = {"transformer_options": {"sample_sigmas": sigmas}}
        outs.append(wrapper(apply_model, {"input": x, "timestep": timestep, "c": c, "cond_or_uncond": [0, 1]}))
        x = x + (sigmas[1] - sigmas[0]) * (x - outs[-1]) / sigma  # an Euler step on the x0
    return outs


def test_core_model_wrapper_passes_core_outputs_through_and_reports_computed_steps():
    sigmas = plan_sigmas(1.0, get_solver("euler"), 12, 3.0)
    x = torch.randn(2, 16, 3, 4, 4, generator=torch.Generator().manual_seed(0))
    calls, reports = [], []

    def apply_model(x, timestep, transformer_options):
        calls.append(timestep)
        return x * (1 - timestep.reshape(-1, 1, 1, 1, 1)) * 0.9

    plain = core_calls(lambda apply, args: apply(args["input"], args["timestep"], **args["c"]), sigmas, x,
                       apply_model)
    calls.clear()
    wrapper = core_model_wrapper(StepCache(0.0), lambda *counts: reports.append(counts))
    for _ in range(2):  # a second run of the same model starts afresh
        passed = core_calls(wrapper, sigmas, x, apply_model)
    assert all(torch.equal(a, b) for a, b in zip(plain, passed))
    assert len(calls) == 2 * 12 and reports == [(12, 12), (12, 12)]
    calls.clear()
    wrapper = core_model_wrapper(StepCache(100.0), lambda *counts: reports.append(counts))
    core_calls(wrapper, sigmas, x, apply_model)
    assert len(calls) == 4 and reports[-1] == (4, 12)  # warm-up steps and the last
    calls.clear()
    sigmas[-1] = 1e-3  # as core's UniPC leaves the schedule: its last level is still the last but one
    core_calls(wrapper, sigmas, x, apply_model)
    assert len(calls) == 4 and reports[-1] == (4, 12)


def test_core_model_wrapper_follows_core_batching_cond_and_uncond_together_then_apart():
    """Core runs cond and uncond in one call or in two, as free memory allows, and may change from step to
    step: a call whose batch changed computes, and the result is core's own."""
    sigmas = plan_sigmas(1.0, get_solver("euler"), 12, 3.0)
    apply_model = lambda x, timestep, transformer_options: x * (1 - timestep.reshape(-1, 1, 1, 1, 1)) * 0.9
    # apart from step 2 on: two calls a step. Cached: steps 0 and 1 (together), 2 (warm-up), 3 (the rate is
    # measured again on the new batch) and the last.
    for threshold, computed in [(0.0, 2 + 2 * 10), (100.0, 2 + 2 * 3)]:
        x, calls = torch.randn(2, 16, 3, 4, 4, generator=torch.Generator().manual_seed(4)), []
        wrapper = core_model_wrapper(StepCache(threshold))
        model = lambda x, timestep, transformer_options: calls.append(x.shape[0]) or apply_model(x, timestep, None)
        for step, sigma in enumerate(sigmas[:-1]):
            c = {"transformer_options": {"sample_sigmas": sigmas}}
            if step < 2:
                out = wrapper(model, {"input": x.repeat(2, 1, 1, 1, 1), "timestep": sigma.repeat(4), "c": c,
                                      "cond_or_uncond": [0, 1]})[:2]
            else:
                out = wrapper(model, {"input": x, "timestep": sigma.repeat(2), "c": c, "cond_or_uncond": [0]})
                wrapper(model, {"input": x, "timestep": sigma.repeat(2), "c": c, "cond_or_uncond": [1]})
            assert out.shape == x.shape
            if threshold == 0:
                assert torch.equal(out, apply_model(x, sigma.repeat(2), None))
            x = x + (sigmas[step + 1] - sigma) * (x - out) / sigma
        assert len(calls) == computed


def test_core_model_wrapper_predicts_in_cores_sigma_units():
    """Core hands the wrapper σ itself and takes back x0: for a model that always says the same clean latent,
    skipped steps (predicted from the kept noise) must say it too."""
    sigmas = plan_sigmas(1.0, get_solver("euler"), 12, 3.0)
    clean = torch.randn(1, 16, 3, 4, 4, generator=torch.Generator().manual_seed(2))
    x = sigmas[0] * torch.randn(1, 16, 3, 4, 4, generator=torch.Generator().manual_seed(3))
    cache = StepCache(100.0)
    wrapper = core_model_wrapper(cache)
    outs = []
    for sigma, following in zip(sigmas[:-1], sigmas[1:]):
        c = {"transformer_options": {"sample_sigmas": sigmas}}
        outs.append(wrapper(lambda x, timestep, transformer_options: clean.clone(),
                            {"input": x, "timestep": sigma.reshape(1), "c": c, "cond_or_uncond": [0]}))
        x = x + (following - sigma) * (x - outs[-1]) / sigma  # core's Euler step on the x0
    assert cache.skipped == 8 and all(torch.allclose(out, clean, atol=1e-4) for out in outs)
