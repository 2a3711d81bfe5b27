"""FlowEdit as a denoiser: with the same prompt for source and target the source comes back unchanged."""
import torch

from spacetime.engine.sampling import get_solver, initial_noise, plan_sigmas, sample
from spacetime.engine.sampling.flow_edit import flow_edit


def denoiser(shift):
    return lambda x, sigma: x * 0.5 + shift


def test_same_prompt_for_source_and_target_changes_nothing():
    source = torch.randn(1, 4, 3, 2, 2)
    same = denoiser(0.3)
    edit = flow_edit(same, same, source, seed=1)
    solver = get_solver("euler")
    out = sample(edit, solver, plan_sigmas(0.7, solver, 6, 3.0), initial_noise(source.shape, 0), source, start=source)
    assert torch.allclose(out, source, atol=1e-6)


def test_the_edit_moves_by_what_the_prompts_disagree_on():
    source = torch.zeros(1, 4, 3, 2, 2)
    edit = flow_edit(denoiser(1.0), denoiser(0.0), source, seed=1)
    solver = get_solver("euler")
    out = sample(edit, solver, plan_sigmas(1.0, solver, 8, 3.0), initial_noise(source.shape, 0), source, start=source)
    assert out.mean() > 0.5  # the target's x0 sits 1 above the source's
