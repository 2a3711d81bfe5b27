"""FlowEdit as a denoiser: with the same prompt for source and target the source comes back unchanged; a clip
edits the same alone as in a batch."""
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


def test_a_clip_edits_the_same_alone_as_in_a_batch():
    sources = torch.randn(3, 4, 3, 2, 2)
    solver = get_solver("euler")
    sigmas = plan_sigmas(0.8, solver, 5, 3.0)

    def run(rows, batch_index=None):
        source = sources[rows]
        edit = flow_edit(denoiser(1.0), lambda x, sigma: x * 0.4, source, seed=7, batch_index=batch_index)
        return sample(edit, solver, sigmas, torch.zeros_like(source), source, start=source)

    batch = run([0, 1, 2])
    for row in range(3):
        assert torch.equal(run([row], batch_index=[row]), batch[row:row + 1])
    same = sources[[0, 0]]
    twins = sample(flow_edit(denoiser(1.0), lambda x, sigma: x * 0.4, same, seed=7), solver, sigmas,
                   torch.zeros_like(same), same, start=same)
    assert not torch.allclose(twins[0], twins[1])  # each row draws its own noise
