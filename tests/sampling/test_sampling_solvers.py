import pytest
import torch

from sampling_host import core, rel_l2, toy_denoiser
from spacetime.engine.sampling.schedule import flow_sigmas
from spacetime.engine.sampling.solvers import euler, get_solver
from spacetime.engine.sampling.unipc import unipc

SHAPE = (2, 4, 5, 3, 4)


def start(sigmas):
    return sigmas[0] * torch.randn(SHAPE, generator=torch.Generator().manual_seed(3))


@pytest.mark.parametrize("shift", [1.0, 5.0])
@pytest.mark.parametrize("steps", [1, 4, 12])
def test_euler_matches_core(steps, shift):
    sigmas = flow_sigmas(steps, shift)
    x0 = toy_denoiser(SHAPE)
    theirs = core().k_sampling.sample_euler(x0, start(sigmas), sigmas.clone(), extra_args={}, disable=True)
    assert rel_l2(euler(x0, start(sigmas), sigmas), theirs) <= 1e-5


@pytest.mark.parametrize("variant", ["bh1", "bh2"])
@pytest.mark.parametrize("shift", [1.0, 8.0])
@pytest.mark.parametrize("steps", [2, 3, 4, 7, 20])
def test_unipc_matches_core(steps, shift, variant):
    sigmas = flow_sigmas(steps, shift, discard_penultimate=True)
    x0 = toy_denoiser(SHAPE)
    core_sigmas = sigmas.clone()  # core's solver writes 1e-3 over its last sigma; KSAMPLER then divides by 1 - that
    theirs = core().uni_pc.sample_unipc(x0, start(sigmas), core_sigmas, extra_args={}, disable=True,
                                          variant=variant)
    theirs = theirs / (1.0 - core_sigmas[-1])
    assert rel_l2(unipc(x0, start(sigmas), sigmas, variant=variant), theirs) <= 1e-5


def test_unipc_partial_schedule_matches_core():
    sigmas = flow_sigmas(10, 5.0, discard_penultimate=True)[:6]  # stops at a nonzero sigma
    x0 = toy_denoiser(SHAPE)
    theirs = core().uni_pc.sample_unipc(x0, start(sigmas), sigmas.clone(), extra_args={}, disable=True)
    assert rel_l2(unipc(x0, start(sigmas), sigmas), theirs) <= 1e-5


def test_unipc_one_step_is_a_first_order_step():
    sigmas = flow_sigmas(1, 5.0, discard_penultimate=True)
    x0 = toy_denoiser(SHAPE)
    out = unipc(x0, start(sigmas), sigmas)
    prediction = x0(start(sigmas), sigmas[0])
    assert rel_l2(out, prediction) < 2e-3  # one step to sigma 1e-3 lands next to the model's x0


class Stop(Exception):
    pass


@pytest.mark.parametrize("name", ["euler", "uni_pc", "uni_pc_bh2"])
def test_callback_sees_every_step_and_can_interrupt(name):
    solver = get_solver(name)
    sigmas = flow_sigmas(8, 5.0, discard_penultimate=solver.discard_penultimate_sigma)
    model = toy_denoiser(SHAPE)
    calls, seen = [], []

    def counted(x, sigma):
        calls.append(float(sigma))
        return model(x, sigma)

    solver.run(counted, start(sigmas), sigmas, lambda i, x, x0: seen.append((i, x.shape, x0.shape)))
    assert [i for i, _, _ in seen] == list(range(8)) and len(calls) == 8
    assert all(xs == SHAPE and x0s == SHAPE for _, xs, x0s in seen)

    calls.clear()
    calls_at_stop = []

    def interrupt(i, x, x0):
        if i == 2:
            calls_at_stop.append(len(calls))
            raise Stop

    with pytest.raises(Stop):
        solver.run(counted, start(sigmas), sigmas, interrupt)
    assert len(calls) == calls_at_stop[0] <= 4  # no model call after the interrupt


def test_unknown_solver_is_explained():
    with pytest.raises(ValueError, match="euler"):
        get_solver("heun")
