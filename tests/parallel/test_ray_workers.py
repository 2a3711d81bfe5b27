"""The Ray backend on the CPU: two actors forming a gloo group sample the one-process latent (sequence
parallel, and the CFG split), each step's preview reaches the host, an error in an actor is reported by
rank with its message and a killed actor by rank and pid, and the next job works (an actor killed between
jobs: the next job starts new ones); without Ray installed, choosing it says how to install it."""
import os
import signal
import sys

import pytest
import ray
import torch
from safetensors.torch import save_file

from tiny_models import TINY_DIT, random_wan_state_dict
from spacetime.engine.generation import SamplerSettings, run_plan
from spacetime.engine.models.checkpoint import load_dit
from spacetime.engine.parallel import ParallelLayout, workers
from spacetime.engine.parallel.workers import ModelFile, WorkerFailed, WorkerSpec, current_pids, run_on_workers
from spacetime.engine.sampling import SamplingPlan

PARITY = 1e-5  # of the largest value, as for the multiprocessing pool (tests/parallel/test_workers.py)
SETTINGS = SamplerSettings(seed=1, steps=3, cfg=2.0, shift=8.0, sampler="uni_pc")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("ray_workers") / "tiny_wan_t2v.safetensors"
    save_file(random_wan_state_dict(**TINY_DIT), str(path))  # 2 heads of 128
    return path


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    yield
    workers.shutdown()
    ray.shutdown()  # the local cluster the pool started


def plan():
    generator = torch.Generator().manual_seed(3)
    positive, negative = torch.randn(2, 1, 8, 4096, generator=generator)
    return SamplingPlan(torch.zeros(1, 16, 3, 6, 8), positive, negative)


def spec(checkpoint, layout):
    return WorkerSpec(ModelFile(str(checkpoint)), "sdpa", ("cpu", "cpu"), layout, backend="ray")


@pytest.mark.parametrize("layout", [ParallelLayout(ulysses=2), ParallelLayout(cfg=2)], ids=str)
def test_two_ray_actors_give_the_one_process_latent_and_progress(checkpoint, layout):
    model = load_dit(checkpoint)
    model.attention_backend = "sdpa"
    with torch.no_grad():
        expected = run_plan(model, plan(), SETTINGS)
    steps = []
    got = run_on_workers(spec(checkpoint, layout), plan(), SETTINGS,
                         callback=lambda i, x, x0: steps.append((i, x0.shape)))
    assert expected.abs().max() > 0.1
    assert (got - expected).abs().max() <= PARITY * expected.abs().max()
    assert steps == [(i, (1, 16, 1, 6, 8)) for i in range(SETTINGS.steps)]
    assert len(current_pids()) == 2
    assert len(workers._pool.peak_memory()) == 2


def test_an_error_in_an_actor_is_reported_with_its_message_and_the_next_job_works(checkpoint):
    bad = SamplerSettings(seed=1, steps=2, cfg=2.0, shift=8.0, sampler="no_such_solver")
    with pytest.raises(WorkerFailed, match=r"parallel worker \d \(Ray actor, [\d.]+, pid \d+\) failed: "
                                           r"ValueError: .*no_such_solver"):
        run_on_workers(spec(checkpoint, ParallelLayout(ulysses=2)), plan(), bad)
    assert current_pids() == []
    assert torch.isfinite(run_on_workers(spec(checkpoint, ParallelLayout(ulysses=2)), plan(), SETTINGS)).all()


def test_a_killed_actor_is_named_and_the_next_job_works(checkpoint):
    layout = ParallelLayout(ulysses=2)
    run_on_workers(spec(checkpoint, layout), plan(), SETTINGS)
    pids = current_pids()

    def kill_rank_one(step, x, x0):
        if step == 1:
            os.kill(pids[1], signal.SIGKILL)

    endless = SamplerSettings(seed=1, steps=100_000, cfg=2.0, shift=8.0, sampler="euler")
    with pytest.raises(WorkerFailed, match=rf"parallel worker 1 \(Ray actor, [\d.]+, pid {pids[1]}\) died"):
        run_on_workers(spec(checkpoint, layout), plan(), endless, callback=kill_rank_one)
    assert current_pids() == []
    assert torch.isfinite(run_on_workers(spec(checkpoint, layout), plan(), SETTINGS)).all()
    assert not set(current_pids()) & set(pids)


def test_an_actor_killed_between_jobs_is_replaced(checkpoint):
    layout = ParallelLayout(ulysses=2)
    run_on_workers(spec(checkpoint, layout), plan(), SETTINGS)
    pids = current_pids()
    os.kill(pids[1], signal.SIGKILL)
    assert torch.isfinite(run_on_workers(spec(checkpoint, layout), plan(), SETTINGS)).all()
    assert len(current_pids()) == 2 and not set(current_pids()) & set(pids)


def test_without_ray_choosing_it_says_how_to_install_it(checkpoint, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails, as where it is not installed
    with pytest.raises(ValueError, match=r"the ray backend needs Ray, .*`pip install ray` with that Python, or "
                                         r"choose the multiprocessing backend"):
        spec(checkpoint, ParallelLayout(ulysses=2))
    with pytest.raises(ValueError, match=r"unknown worker backend 'dask': choose one of multiprocessing, ray"):
        WorkerSpec(ModelFile(str(checkpoint)), "sdpa", ("cpu", "cpu"), ParallelLayout(ulysses=2), backend="dask")


def test_a_cluster_address_where_nothing_answers_fails_at_once_saying_what_to_fix():
    import socket

    from spacetime.engine.parallel.ray_workers import check_reachable

    with socket.socket() as free:  # a port nothing listens on: bound, then closed
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    with pytest.raises(ValueError, match=f"nothing answers at 127.0.0.1:{port}.*ray start --head"):
        check_reachable(f"ray://127.0.0.1:{port}", seconds=2)
    with socket.socket() as head:
        head.bind(("127.0.0.1", 0))
        head.listen()
        check_reachable(f"127.0.0.1:{head.getsockname()[1]}")  # answers: no error
    check_reachable("auto")  # Ray's own names are left to Ray
