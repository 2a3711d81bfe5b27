"""Worker processes that sample a plan together, one per device, as one torch.distributed group (gloo on
the CPU, nccl on CUDA), each running its share of every DiT call (sequence.py).

Each worker reads the model file itself through the pack's one reader (memory-mapped), so weights never
travel between processes: a job is a SamplingPlan and its SamplerSettings (small tensors, through shared
memory), and rank 0 sends back a preview of each step and the result.

One pool at a time (`run_on_workers`): started on first use, reused while its WorkerSpec (model file and
its file_state, dtype, attention, devices, layout, backend) stays the same, replaced when it changes, stopped
at exit. The workers are spawned processes of this machine here; ray_workers.py makes them Ray actors,
for devices on several machines, running the same Rank.
Anything that ends a job early (a worker that dies or raises, an interrupt) tears the pool down, since
its other ranks may be waiting in a collective for the missing one; the next job starts fresh workers.
Workers also leave by themselves when the host process dies.
"""
import atexit
import logging
import multiprocessing
import os
import pathlib
import queue
import runpy
import signal
import socket
import sys
import threading
import time
import traceback
import types
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from ..file_hash import file_state
from .layout import ParallelLayout

POLL_SECONDS = 0.25  # how often a waiting host checks that its workers live (and for an interrupt)
START_SECONDS = 600.0  # a worker loads its model from the file within this
STOP_SECONDS = 3.0
PEER_SECONDS = 1.0  # after a worker's error, how long to look for a peer whose death caused it
BACKENDS = ("multiprocessing", "ray")  # how workers are started: processes of this machine, or Ray actors
PEAK_MEMORY = "peak memory"  # a job asking each rank for its peak memory (bench/parallel.py)
_PACK_NAME = __name__.removesuffix(".engine.parallel.workers")
_PACK_ROOT = pathlib.Path(__file__).resolve().parents[2]
_ENTRY = pathlib.Path(__file__).with_name("worker_entry.py")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelFile:
    """What a worker needs to load the DiT the host loaded: the file and the loader's dtype (None: the file's)."""

    path: str
    dtype: torch.dtype | None = None


@dataclass(frozen=True)
class WorkerSpec:
    """A pool's workers: one per entry of `devices` (rank order), all running `model`, split as `layout`,
    started as processes of this machine (`backend` "multiprocessing") or as Ray actors ("ray")."""

    model: ModelFile
    attention: str
    devices: tuple[str, ...]
    layout: ParallelLayout
    backend: str = "multiprocessing"

    def __post_init__(self):
        check_backend(self.backend)
        if self.layout.world_size != len(self.devices):
            raise ValueError(f"the layout {self.layout} needs {self.layout.world_size} devices; "
                             f"{len(self.devices)} given.")
        if len({device.split(":")[0] for device in self.devices}) != 1:
            raise ValueError("workers run either all on the CPU or all on CUDA GPUs, not both.")


def check_backend(backend: str) -> None:
    """ValueError unless `backend` is one of BACKENDS and can start here (Ray installed, for "ray")."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown worker backend {backend!r}: choose one of {', '.join(BACKENDS)}.")
    if backend == "ray":
        from .ray_workers import require_ray

        require_ray()


class WorkerFailed(RuntimeError):
    """A worker died or raised during a job; the pool was closed, the next job starts new workers."""


class WorkerPool:
    """Started workers (`pids` in rank order, for tests and logs), their queues, and the group they form."""

    def __init__(self, spec: WorkerSpec, poll=None):
        """Start one worker per device and wait until every one has loaded the model. `poll()` is called
        while waiting; an exception from it (an interrupt) stops the workers and is raised."""
        self.spec = spec
        self.file = file_state(spec.model.path)  # a replaced file is a new model: new workers
        context = mp.get_context("spawn")  # fork would copy the host's threads and CUDA state
        self._results = context.Queue()
        self._jobs = [context.Queue() for _ in spec.devices]
        init_method = f"tcp://127.0.0.1:{_free_port()}"
        threads = max(1, (os.cpu_count() or 1) // len(spec.devices))
        self._processes = []
        try:
            with _host_main_hidden():
                for rank in range(len(spec.devices)):
                    worker = dict(rank_options(spec, rank, init_method, threads), jobs=self._jobs[rank],
                                  results=self._results)
                    globals_ = {"PACK_NAME": _PACK_NAME, "PACK_ROOT": str(_PACK_ROOT), "WORKER": worker}
                    process = context.Process(target=runpy.run_path, args=(str(_ENTRY),),
                                              kwargs={"init_globals": globals_, "run_name": "__spacetime_worker__"},
                                              name=f"spacetime-worker-{rank}", daemon=True)
                    process.start()
                    self._processes.append(process)
            self._wait_until_ready(poll)
        except BaseException:
            self.close(graceful=False)
            raise
        log.info("Spacetime: %d parallel worker(s) ready on %s (pids %s)", len(self.pids), ", ".join(spec.devices),
                 ", ".join(map(str, self.pids)))

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self._processes]

    def serves(self, spec: WorkerSpec) -> bool:
        """Whether this pool can run `spec`'s jobs as it is: same spec, same file, every worker alive."""
        return (spec == self.spec and file_state(spec.model.path) == self.file
                and all(process.exitcode is None for process in self._processes))

    def run(self, plan, settings, callback=None, poll=None, **options) -> torch.Tensor:
        """Run one job, engine.generation.run_plan(plan, settings, **options) on every rank (options such as
        batch_index are pickled to each); rank 0's raw latent, on the CPU.

        `callback(step, None, x0)` per step, x0 being the first sample's middle latent frame [1, C, 1, H, W]
        (enough for a preview); `poll()` while waiting. Any failure raises WorkerFailed."""
        self._check_alive()
        for jobs in self._jobs:
            jobs.put((plan, settings, options))
        while True:
            kind, *data = self._next(poll)
            if kind == "step" and callback is not None:
                callback(data[0], None, data[1])
            elif kind == "done":
                return data[0].clone()  # out of the worker's shared memory
            elif kind == "error":
                self._raise_failure(*data)

    def peak_memory(self) -> list[int]:
        """Each rank's peak memory in bytes, in rank order: on CUDA the most torch allocated since the last
        call (torch.cuda.max_memory_allocated), on the CPU the process's peak resident set."""
        for jobs in self._jobs:
            jobs.put(PEAK_MEMORY)
        peaks = {}
        while len(peaks) < len(self._jobs):
            kind, *data = self._next(None)
            if kind == "error":
                self._raise_failure(*data)
            if kind == "peak":
                peaks[data[0]] = data[1]
        return [peaks[rank] for rank in range(len(peaks))]

    def close(self, graceful: bool = True) -> None:
        """Stop the workers: asked to leave (graceful), then terminated, then killed."""
        if graceful:
            for jobs in self._jobs:
                jobs.put(None)
        deadline = time.monotonic() + (STOP_SECONDS if graceful else 0)
        for process in self._processes:
            process.join(max(0.0, deadline - time.monotonic()))
        for stop in ("terminate", "kill"):
            for process in self._processes:
                if process.exitcode is None:
                    getattr(process, stop)()
            for process in self._processes:
                process.join(STOP_SECONDS)
        for channel in (*self._jobs, self._results):
            channel.cancel_join_thread()  # never block on data no worker will read
            channel.close()

    def _wait_until_ready(self, poll) -> None:
        ready, deadline = set(), time.monotonic() + START_SECONDS
        while len(ready) < len(self._processes):
            if time.monotonic() > deadline:
                raise WorkerFailed(f"parallel workers did not load {self.spec.model.path} within {START_SECONDS:.0f} s.")
            kind, *data = self._next(poll)
            if kind == "error":
                self._raise_failure(*data)
            if kind == "ready":
                ready.add(data[0])

    def _next(self, poll):
        while True:
            self._check_alive()
            if poll is not None:
                poll()
            try:
                return self._results.get(timeout=POLL_SECONDS)
            except queue.Empty:
                pass

    def _check_alive(self) -> None:
        for rank, process in enumerate(self._processes):
            if process.exitcode is not None:
                raise WorkerFailed(f"{self._name(rank)} {_exit_cause(process.exitcode)}; the parallel workers "
                                   f"were stopped and the next run starts new ones.")

    def _raise_failure(self, rank: int, message: str):
        # A peer that died makes the others fail in their next collective (gloo: "Connection reset by peer"):
        # name the cause, not the symptom (which is in the server log with its traceback).
        deadline = time.monotonic() + PEER_SECONDS
        while time.monotonic() < deadline:
            self._check_alive()
            time.sleep(0.05)
        raise WorkerFailed(f"{self._name(rank)} failed: {message}")

    def _name(self, rank: int) -> str:
        return f"parallel worker {rank} ({self.spec.devices[rank]}, pid {self._processes[rank].pid})"


def _exit_cause(code: int) -> str:
    if code < 0:
        name = signal.Signals(-code).name
        hint = " (by hand, or by the system's out-of-memory killer when memory ran out)" if name == "SIGKILL" else ""
        return f"was killed by {name}{hint}"
    return f"exited with code {code} (its error is in the server log)"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def _host_main_hidden():
    """Start children while __main__ is a bare module. Spawn re-runs the parent's main script in each child
    when it has a file; in ComfyUI that is main.py, which parses the server's arguments, runs every pack's
    prestartup script and imports the server. A worker needs none of it (worker_entry.py imports the pack)."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


# --- the one pool of this process ------------------------------------------------------------------------
_pool: WorkerPool | None = None
_lock = threading.Lock()


def run_on_workers(spec: WorkerSpec, plan, settings, callback=None, poll=None, **options) -> torch.Tensor:
    """Run a plan on the pool for `spec` (started, or replaced, as needed); see WorkerPool.run."""
    global _pool
    with _lock:
        if _pool is not None and not _pool.serves(spec):
            _pool.close()
            _pool = None
        if _pool is None:
            _pool = start_pool(spec, poll)
        try:
            return _pool.run(plan, settings, callback, poll, **options)
        except BaseException:  # failed, or interrupted: its ranks may be stuck in a collective
            _pool.close(graceful=False)
            _pool = None
            raise


def start_pool(spec: WorkerSpec, poll=None):
    """A new pool for `spec`: a WorkerPool, or a ray_workers.RayPool (the same interface) for backend "ray"."""
    if spec.backend == "ray":
        from .ray_workers import RayPool

        return RayPool(spec, poll)
    return WorkerPool(spec, poll)


def current_pids() -> list[int]:
    """The running pool's worker pids in rank order (none: [])."""
    return [] if _pool is None else _pool.pids


@atexit.register
def shutdown() -> None:
    """Stop the pool (at exit, and by tests)."""
    global _pool
    with _lock:
        if _pool is not None:
            _pool.close()
            _pool = None


def rank_options(spec: WorkerSpec, rank: int, init_method: str, threads: int) -> dict:
    """Rank's keyword arguments, in plain values only: a worker unpickles them before it has imported the pack."""
    layout = spec.layout
    return dict(rank=rank, devices=spec.devices, init_method=init_method, path=spec.model.path, dtype=spec.model.dtype,
                attention=spec.attention, layout=(layout.ulysses, layout.ring, layout.cfg), threads=threads)


# --- inside a worker process -----------------------------------------------------------------------------
class Rank:
    """One worker's part: its place in the group, its own model (read from the file), and its contexts."""

    def __init__(self, rank, devices, init_method, path, dtype, attention, layout, threads):
        """Join the group (gloo on the CPU, nccl on CUDA) and load the model: every rank at the same time."""
        from ..models.checkpoint import load_dit
        from .guidance import parallel_contexts

        self.rank, self.device = rank, torch.device(devices[rank])
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        else:
            torch.set_num_threads(threads)
        dist.init_process_group("nccl" if self.device.type == "cuda" else "gloo", init_method=init_method,
                                rank=rank, world_size=len(devices))
        self.model = load_dit(path, dtype=dtype).to(self.device)
        self.model.attention_backend = attention
        layout = ParallelLayout(*layout)
        layout.check(self.model.config.num_heads)
        self.sequence, self.split = parallel_contexts(layout)

    def run(self, plan, settings, options: dict, step) -> torch.Tensor:
        """engine.generation.run_plan with this rank's share of every DiT call; the raw latent on the CPU."""
        from ..generation import run_plan
        from ..sampling.denoisers import split_guidance

        with torch.no_grad(), self.model.parallel(self.sequence), split_guidance(self.split):
            return run_plan(self.model, plan, settings, callback=step, device=self.device, **options)

    def peak_memory(self) -> int:
        """On CUDA the most torch allocated since the last call; on the CPU the process's peak resident set."""
        if self.device.type == "cuda":
            peak = torch.cuda.max_memory_allocated(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            return peak
        import resource  # Unix only: the CPU figure is for benchmarks on Linux

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux

    def close(self) -> None:
        dist.destroy_process_group()


def serve(jobs, results, **rank_options) -> None:
    """A worker process's life: join the group, load the model, run jobs until told to stop or the host is
    gone. Errors go to the host (and, with their traceback, to the server log)."""
    host = multiprocessing.parent_process()
    rank = rank_options["rank"]
    try:
        worker = Rank(**rank_options)
    except Exception as error:
        _report(results, rank, error)
        while _next_job(jobs, host) is not None:  # stay until stopped: an exit would read as the cause
            pass
        return
    results.put(("ready", rank, os.getpid()))

    def step(i, x, x0):
        if not host.is_alive():
            raise SystemExit(0)  # the host is gone: nobody waits for this job
        if rank == 0:
            results.put(("step", i, preview(x0)))

    while (job := _next_job(jobs, host)) is not None:
        if job == PEAK_MEMORY:
            results.put(("peak", rank, worker.peak_memory()))
            continue
        plan, settings, options = job
        try:
            out = worker.run(plan, settings, options, step)
        except Exception as error:
            _report(results, rank, error)
            continue
        if rank == 0:
            results.put(("done", out))
    worker.close()


def preview(x0: torch.Tensor) -> torch.Tensor:
    """What a step reports to the host: the first sample's middle latent frame [1, C, 1, H, W], on the CPU."""
    middle = x0.shape[2] // 2
    return x0[:1, :, middle:middle + 1].to("cpu", copy=True)


def _next_job(jobs, host):
    """The next job, or None when told to stop (None) or when the host process has gone."""
    while host.is_alive():
        try:
            return jobs.get(timeout=1.0)
        except queue.Empty:
            continue
    return None


def _report(results, rank: int, error: Exception) -> None:
    traceback.print_exc()
    results.put(("error", rank, f"{type(error).__name__}: {error}"))
