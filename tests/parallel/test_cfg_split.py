"""The CFG split (issue 19): with cfg != 1 the conditional and unconditional DiT calls of every step run on
two halves of the ranks at once, and the sampled latent is the single-process one.

On gloo, 2 spawned processes (one rank per half) and 4 (each half Ulysses 2, or ring 2), whole plans through run_plan
at cfg 5 (Wan's usual guidance): text-to-video, per-frame prompts and a Re-cut held by per-frame timesteps.
"""
import pytest
import torch
from sharded_runs import plans, run_ranks, sample_plans, settings, tiny_dit

from spacetime.engine.generation import run_plan
from spacetime.engine.parallel import ParallelLayout, SequenceParallel
from spacetime.engine.sampling import cfg_denoiser
from spacetime.engine.sampling.denoisers import split_guidance

CFG = 5.0
# Of the largest latent value (~20 here). One rank per half makes the very DiT calls one process makes
# (measured: equal). Ulysses or ring halves round their differently shaped matmuls differently, and
# guidance multiplies that by up to 2·cfg − 1: measured up to 2.6e-5 absolute (1.2e-6 of the largest
# value), the same as those layouts without the split at this cfg; at cfg 1.5 under 1e-5 absolute (5.7e-6).
TOLERANCE = 1e-5
LAYOUTS = {2: [(1, 1, 2)], 4: [(2, 1, 2), (1, 2, 2)]}  # world size: (ulysses, ring, cfg split)


@pytest.fixture(scope="module")
def single_process():
    dit = tiny_dit()
    return {name: run_plan(dit, plan, settings(CFG)) for name, plan in plans().items()}


@pytest.mark.parametrize("world", sorted(LAYOUTS))
def test_every_rank_samples_the_single_process_latent(world, single_process):
    per_rank = run_ranks(world, sample_plans, LAYOUTS[world], CFG)
    errors = {}
    for results in per_rank:
        for key, latent in results.items():
            expected = single_process[key[-1]]
            assert latent.shape == expected.shape
            error = ((latent - expected).abs().max() / expected.abs().max()).item()
            errors[key] = max(error, errors.get(key, 0.0))
    print(f"\nmax |split - single| / max |single| over {world} ranks:", errors)
    assert set(errors) == {(*layout, name) for layout in LAYOUTS[world] for name in single_process}
    assert all(error <= TOLERANCE for error in errors.values()), errors
    assert min(latent.abs().max() for latent in single_process.values()) > 1  # real samples


class FakeSplit:
    """One half's view, its partner's prediction given: what the process group would deliver."""

    def __init__(self, branch, partner):
        self.branch, self.partner = branch, partner

    def exchange(self, mine):
        return (mine, self.partner) if self.branch == 0 else (self.partner, mine)


def test_each_half_computes_only_its_prediction_and_combines_as_one_process():
    calls = []

    def model_fn(x, sigma, context):
        calls.append(context)
        return x * context + sigma

    x, sigma = torch.randn(1, 16, 3, 4, 4), torch.tensor(0.7)
    whole = cfg_denoiser(model_fn, 2.0, -3.0, CFG)(x, sigma)
    cond, uncond = model_fn(x, sigma, 2.0), model_fn(x, sigma, -3.0)
    calls.clear()
    for branch, partner in ((0, uncond), (1, cond)):
        with split_guidance(FakeSplit(branch, partner)):
            assert torch.equal(cfg_denoiser(model_fn, 2.0, -3.0, CFG)(x, sigma), whole)
    assert calls == [2.0, -3.0]  # one call per half
    with split_guidance(FakeSplit(1, cond)):
        cfg_denoiser(model_fn, 2.0, -3.0, 1.0)(x, sigma)  # cfg 1: no unconditional call, nothing to swap
    assert calls == [2.0, -3.0, 2.0]
    cfg_denoiser(model_fn, 2.0, -3.0, CFG)(x, sigma)  # outside the block: both, as before
    assert calls == [2.0, -3.0, 2.0, 2.0, -3.0]


def test_a_cfg_layout_is_not_one_dit_calls():
    with pytest.raises(ValueError, match=r"splits CFG too: give it layout.sequence"):
        SequenceParallel(ParallelLayout(2, 1, cfg=2))


def test_cfg_split_layouts():
    assert ParallelLayout(2, 1, cfg=2).world_size == 4 and ParallelLayout(2, 1, cfg=2).sequence == ParallelLayout(2)
    assert str(ParallelLayout(2, 1, cfg=2)) == "2 (CFG) x 2 (Ulysses) x 1 (ring)"
    for bad in (0, 3, 2.0, True):
        with pytest.raises(ValueError, match=r"the CFG split must be 1 \(off\) or 2"):
            ParallelLayout(cfg=bad)
