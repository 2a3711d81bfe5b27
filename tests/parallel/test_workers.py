"""The worker pool on the CPU (gloo): the same latent as one process, reuse and replacement, a killed
worker reported by name with its cause and the next job working, an interrupt, workers leaving with
their host."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch
from safetensors.torch import save_file

from tiny_models import TINY_DIT, random_wan_state_dict
from spacetime.engine.generation import SamplerSettings, run_plan
from spacetime.engine.models.checkpoint import load_dit
from spacetime.engine.parallel import ParallelLayout
from spacetime.engine.parallel import workers
from spacetime.engine.parallel.workers import ModelFile, WorkerFailed, WorkerSpec, current_pids, run_on_workers
from spacetime.engine.sampling import SamplingPlan

PARITY = 1e-5  # of the largest value: float32 everywhere, only summation order differs (shard, threads)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("workers") / "tiny_wan_t2v.safetensors"
    save_file(random_wan_state_dict(**TINY_DIT), str(path))  # 2 heads of 128
    return path


@pytest.fixture(autouse=True)
def no_pool_left():
    yield
    workers.shutdown()


def spec(checkpoint, workers_count=2, ulysses=None, ring=1):
    layout = ParallelLayout(ulysses or workers_count // ring, ring)
    return WorkerSpec(ModelFile(str(checkpoint)), "sdpa", ("cpu",) * workers_count, layout)


def plan(frames=3):
    generator = torch.Generator().manual_seed(3)
    positive, negative = torch.randn(2, 1, 8, 4096, generator=generator)
    return SamplingPlan(torch.zeros(1, 16, frames, 6, 8), positive, negative)


SETTINGS = SamplerSettings(seed=1, steps=3, cfg=2.0, shift=8.0, sampler="uni_pc")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not open(f"/proc/{pid}/stat").read().split(") ")[1].startswith("Z")


def test_two_workers_give_the_one_process_latent_and_progress(checkpoint):
    model = load_dit(checkpoint)
    model.attention_backend = "sdpa"
    with torch.no_grad():
        expected = run_plan(model, plan(), SETTINGS, batch_index=[2])  # run_plan's options reach the workers
    steps = []
    got = run_on_workers(spec(checkpoint), plan(), SETTINGS, callback=lambda i, x, x0: steps.append((i, x0.shape)),
                         batch_index=[2])
    assert (got - expected).abs().max() <= PARITY * expected.abs().max()
    assert expected.abs().max() > 0.1  # a real sample, not zeros on both sides
    assert steps == [(i, (1, 16, 1, 6, 8)) for i in range(SETTINGS.steps)]


def test_the_pool_is_reused_and_replaced_when_its_layout_changes(checkpoint):
    run_on_workers(spec(checkpoint), plan(), SETTINGS)
    first = current_pids()
    run_on_workers(spec(checkpoint), plan(), SETTINGS)
    assert current_pids() == first and len(first) == 2
    peaks = workers._pool.peak_memory()  # what bench/parallel.py reports: per rank, RSS on the CPU
    assert len(peaks) == 2 and all(peak > 2**20 for peak in peaks)
    run_on_workers(spec(checkpoint, workers_count=1), plan(), SETTINGS)
    assert len(current_pids()) == 1 and not any(alive(pid) for pid in first)


def test_a_killed_worker_is_named_with_its_cause_and_the_next_job_works(checkpoint):
    run_on_workers(spec(checkpoint), plan(), SETTINGS)
    pids = current_pids()

    def kill_rank_one(step, x, x0):
        if step == 1:
            os.kill(pids[1], signal.SIGKILL)

    endless = SamplerSettings(seed=1, steps=100_000, cfg=2.0, shift=8.0, sampler="euler")
    with pytest.raises(WorkerFailed) as failed:
        run_on_workers(spec(checkpoint), plan(), endless, callback=kill_rank_one)
    assert f"parallel worker 1 (cpu, pid {pids[1]}) was killed by SIGKILL" in str(failed.value)
    assert current_pids() == [] and not any(alive(pid) for pid in pids)
    assert torch.isfinite(run_on_workers(spec(checkpoint), plan(), SETTINGS)).all()
    assert not set(current_pids()) & set(pids)


class Interrupted(Exception):
    pass


def test_an_interrupt_stops_waiting_and_the_workers(checkpoint):
    run_on_workers(spec(checkpoint), plan(), SETTINGS)
    pids = current_pids()

    def interrupt_after_a_step(step, x, x0):
        raise Interrupted

    endless = SamplerSettings(seed=1, steps=100_000, cfg=2.0, shift=8.0, sampler="euler")
    with pytest.raises(Interrupted):
        run_on_workers(spec(checkpoint), plan(), endless, callback=interrupt_after_a_step)
    assert current_pids() == [] and not any(alive(pid) for pid in pids)


def test_an_error_in_a_worker_is_reported_with_its_message(checkpoint):
    bad = SamplerSettings(seed=1, steps=2, cfg=2.0, shift=8.0, sampler="no_such_solver")
    with pytest.raises(WorkerFailed, match=r"parallel worker \d \(cpu, pid \d+\) failed: .*no_such_solver"):
        run_on_workers(spec(checkpoint), plan(), bad)
    assert current_pids() == []


def test_workers_leave_when_their_host_process_dies(checkpoint, tmp_path):
    script = tmp_path / "host.py"
    script.write_text(textwrap.dedent(f"""
        import sys, time
        sys.path[:0] = {[str(p) for p in (workers._PACK_ROOT / "scripts", workers._PACK_ROOT / "tests")]!r}
        from pack_import import import_pack
        import_pack("spacetime")
        from test_workers_host import start
        start({str(checkpoint)!r})
    """))
    (tmp_path / "test_workers_host.py").write_text(textwrap.dedent("""
        import time
        import torch
        from spacetime.engine.generation import SamplerSettings
        from spacetime.engine.parallel import ParallelLayout
        from spacetime.engine.parallel.workers import ModelFile, WorkerSpec, current_pids, run_on_workers
        from spacetime.engine.sampling import SamplingPlan

        def start(path):
            spec = WorkerSpec(ModelFile(path), "sdpa", ("cpu", "cpu"), ParallelLayout(2, 1))
            plan = SamplingPlan(torch.zeros(1, 16, 3, 6, 8), torch.zeros(1, 8, 4096), torch.zeros(1, 8, 4096))
            run_on_workers(spec, plan, SamplerSettings(seed=1, steps=1, cfg=1.0, shift=8.0, sampler="euler"))
            print(*current_pids(), flush=True)
            time.sleep(600)
    """))
    host = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(pid) for pid in host.stdout.readline().split()]
        assert len(pids) == 2 and all(alive(pid) for pid in pids)
    finally:
        host.kill()  # no atexit: the workers must notice by themselves
        host.wait()
    deadline = time.monotonic() + 60
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(pid) for pid in pids)
