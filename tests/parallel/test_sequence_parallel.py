"""Sequence-parallel sampling on gloo ranks equals sampling in one process (issue 19, part 1).

Whole plans through run_plan — text-to-video, per-frame prompts, and a Re-cut whose known frames are held
by per-frame timesteps — sampled with the tiny 12-head Wan split across 2 and 4 spawned processes, under Ulysses,
ring and both; one spawn per world size runs every layout. Every rank must return the single-process
latent within 1e-5 (float32).
"""
import types

import pytest
import torch
from sharded_runs import HEADS, plans, run_ranks, sample_plans, settings, tiny_dit, wrong_world_size_message

from spacetime.engine.generation import run_plan
from spacetime.engine.parallel import ParallelLayout
from spacetime.engine.parallel.sequence import merge_partial
from spacetime.kernels import RopeGrid, apply_rope, attention

TOLERANCE = 1e-5
LAYOUTS = {2: [(2, 1), (1, 2)], 4: [(4, 1), (2, 2), (1, 4)]}  # world size: (ulysses, ring) layouts


@pytest.fixture(scope="module")
def single_process():
    dit = tiny_dit()
    return {name: run_plan(dit, plan, settings()) for name, plan in plans().items()}


@pytest.mark.parametrize("world", sorted(LAYOUTS))
def test_every_rank_samples_the_single_process_latent(world, single_process):
    per_rank = run_ranks(world, sample_plans, LAYOUTS[world])
    errors = {}
    for rank, results in enumerate(per_rank):
        for (ulysses, ring, name), latent in results.items():
            expected = single_process[name]
            assert latent.shape == expected.shape
            error = (latent - expected).abs().max().item()
            errors[ulysses, ring, name] = max(error, errors.get((ulysses, ring, name), 0.0))
    print(f"\nmax |sharded - single| over {world} ranks:", errors)
    assert set(errors) == {(*layout, name) for layout in LAYOUTS[world] for name in single_process}
    assert all(error <= TOLERANCE for error in errors.values()), errors


def test_a_layout_for_another_world_size_is_refused():
    messages = run_ranks(2, wrong_world_size_message, 2, 2)
    assert messages == ["the layout 2 (Ulysses) x 2 (ring) needs 4 ranks; this process group has 2."] * 2


def test_a_ulysses_degree_that_does_not_divide_the_heads_fails_before_any_collective():
    # no process group exists here: a collective would fail with torch's own error, not this message
    dit = tiny_dit()
    plan = plans()["text_to_video"]
    context = types.SimpleNamespace(layout=ParallelLayout(ulysses=8))
    with pytest.raises(ValueError, match=r"^Wan 2.1 1.3B has 12 heads: Ulysses degree must divide 12 "
                                         r"\(1, 2, 3, 4, 6, 12\); got 8\."):
        dit(torch.randn(1, 16, 3, 4, 4), torch.tensor([500.0]), plan.positive, parallel=context)
    assert HEADS == 12


def test_layout_messages():
    with pytest.raises(ValueError, match="Wan 2.1 14B has 40 heads: Ulysses degree must divide 40 "
                                         r"\(1, 2, 4, 5, 8, 10, 20, 40\); got 3"):
        ParallelLayout(ulysses=3).check(40)
    ParallelLayout(ulysses=4, ring=3).check(12)
    assert ParallelLayout(ulysses=4, ring=3).world_size == 12
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="ring degree must be a whole number of at least 1"):
            ParallelLayout(ring=bad)


def test_halves_of_the_keys_merge_by_log_sum_exp_into_the_whole():
    q, k, v = (torch.randn(2, 9, 3, 8) for _ in range(3))
    mask = torch.ones(2, 9, dtype=torch.bool)
    mask[1, :5] = False  # the second sample's first half is all masked: that part attends to nothing
    whole = attention(q, k, v, key_mask=mask, backend="sdpa")
    out = lse = None
    for keys in (slice(0, 5), slice(5, 9)):
        part, part_lse = attention(q, k[:, keys], v[:, keys], key_mask=mask[:, keys], return_lse=True,
                                   backend="sdpa")
        out, lse = merge_partial(out, lse, part, part_lse)
    assert (out - whole).abs().max() < 1e-6


def test_rope_of_a_shard_is_the_slice_of_the_whole_grids():
    grid = RopeGrid(3, 2, 3)
    x = torch.randn(1, grid.tokens, 2, 8)
    assert torch.equal(apply_rope(x[:, 5:12], grid, first=5), apply_rope(x, grid)[:, 5:12])
    with pytest.raises(ValueError, match=r"tokens 15 … 21 are not all in it"):
        apply_rope(x[:, :7], grid, first=15)
