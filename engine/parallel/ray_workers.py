"""The workers as Ray actors, one per device, for devices on several machines (Ray is optional).

The same ranks as the multiprocessing pool (workers.Rank: one torch.distributed group, gloo on the CPU and
nccl on CUDA, the same sharded forward), each an actor that reads the model file itself on its own
machine, so every machine needs the pack and the model file at the paths the host has. Through Ray travel
only the plan, the settings, previews and the result; never weights (Raylight's RAM exhaustion came from
sending them through Ray's object store).

Connects to the cluster RAY_ADDRESS names when it is set, else starts a local Ray. On CUDA each actor asks
Ray for one GPU, and Ray chooses which, on any machine (devices.parse_devices(here=False): the device
list's length counts, not its numbers).
"""
import logging
import os
import socket
import sys
import time

import torch

from ..file_hash import file_state
from . import worker_entry
from .workers import POLL_SECONDS, START_SECONDS, WorkerFailed, WorkerSpec, rank_options, _PACK_NAME, _PACK_ROOT

PEER_SECONDS = 2.0  # after a rank's error, how long to look for a rank whose death caused it
PING_SECONDS = 10.0  # a live actor answers between jobs within this
REACH_SECONDS = 5.0  # a cluster head that does not accept a connection within this is not there
log = logging.getLogger(__name__)


def require_ray():
    """The ray module; ValueError saying how to install it when it is missing."""
    try:
        import ray
    except ImportError as error:
        raise ValueError(f"the ray backend needs Ray, which the Python running ComfyUI ({sys.executable}) cannot "
                         f"import ({error}): `pip install ray` with that Python, or choose the multiprocessing "
                         f"backend.") from None
    return ray


def check_reachable(address: str, seconds: float = REACH_SECONDS) -> None:
    """ValueError saying what to fix when nothing answers at a cluster address (host:port, or
    ray://host:port), rather than ray.init's retrying for minutes. Names Ray resolves itself ("auto")
    are left to it."""
    host, _, port = address.split("://", 1)[-1].rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        socket.create_connection((host, int(port)), timeout=seconds).close()
    except OSError as error:
        raise ValueError(f"RAY_ADDRESS is {address!r}, but nothing answers at {host}:{port} ({error}): start the "
                         f"cluster's head there (`ray start --head`), correct RAY_ADDRESS, or unset it to run a "
                         f"local Ray.") from None


class RayPool:
    """Started actors in rank order; the same interface as workers.WorkerPool."""

    def __init__(self, spec: WorkerSpec, poll=None):
        ray = self._ray = require_ray()
        from ray.util.queue import Queue

        self.spec = spec
        self.file = file_state(spec.model.path)
        if not ray.is_initialized():
            if os.environ.get("RAY_ADDRESS"):
                check_reachable(os.environ["RAY_ADDRESS"])
            local = {} if os.environ.get("RAY_ADDRESS") else {"num_cpus": max(os.cpu_count() or 1, len(spec.devices)),
                                                               "include_dashboard": False}
            ray.init(**local, logging_level=logging.WARNING)
        ray.cloudpickle.register_pickle_by_value(worker_entry)  # the actor class, by value: see worker_entry
        cuda = spec.devices[0].startswith("cuda")
        actor = ray.remote(worker_entry.RayRank).options(num_cpus=0 if cuda else 1, num_gpus=1 if cuda else 0,
                                                          scheduling_strategy="SPREAD")
        self._actors, self._progress = [], None
        try:
            self._actors = [actor.remote(_PACK_NAME, str(_PACK_ROOT)) for _ in spec.devices]
            self._progress = Queue(actor_options={"num_cpus": 0})
            places = self._wait([a.where.remote() for a in self._actors], poll, START_SECONDS, "start")
            self.nodes, self.pids = [place[0] for place in places], [place[2] for place in places]
            address, port, _ = places[0]
            devices = tuple("cuda:0" if cuda else "cpu" for _ in spec.devices)  # an actor sees its one GPU as 0
            threads = 1  # what Ray gave each CPU actor (num_cpus=1), on whichever machine it runs
            self._wait([a.start.remote(dict(rank_options(spec, rank, f"tcp://{address}:{port}", threads),
                                            devices=devices)) for rank, a in enumerate(self._actors)],
                       poll, START_SECONDS, f"load {spec.model.path}")
        except BaseException:
            self.close()
            raise
        log.info("Spacetime: %d parallel worker(s) ready as Ray actors on %s (pids %s)", len(self.pids),
                 ", ".join(sorted(set(self.nodes))), ", ".join(map(str, self.pids)))

    def serves(self, spec: WorkerSpec) -> bool:
        """Whether this pool can run `spec`'s jobs as it is: same spec, same file, every actor answering."""
        if spec != self.spec or file_state(spec.model.path) != self.file:
            return False
        try:
            self._ray.get([a.where.remote() for a in self._actors], timeout=PING_SECONDS)
        except Exception:  # an actor died (or hangs) since the last job
            return False
        return True

    def run(self, plan, settings, callback=None, poll=None, **options) -> torch.Tensor:
        """As WorkerPool.run: rank 0's raw latent; `callback(step, None, x0)` per step; WorkerFailed."""
        jobs = [a.run.remote(plan, settings, options, self._progress if rank == 0 else None)
                for rank, a in enumerate(self._actors)]

        def report():
            while not self._progress.empty():
                step, x0 = self._progress.get()
                if callback is not None:
                    callback(step, None, x0)

        results = self._wait(jobs, lambda: (report(), poll and poll()), None, "sample")
        report()
        return results[0]

    def peak_memory(self) -> list[int]:
        """Each rank's peak memory in bytes, in rank order (as WorkerPool.peak_memory)."""
        return self._wait([a.peak_memory.remote() for a in self._actors], None, None, "report memory")

    def close(self, graceful: bool = True) -> None:
        """Stop the actors (a rank stuck in a collective would never return: they are killed)."""
        progress = [] if self._progress is None else [self._progress.actor]
        for handle in (*self._actors, *progress):
            self._ray.kill(handle)

    def _wait(self, refs, poll, seconds, doing: str) -> list:
        """Every ref's value in order; the first failure (or a hang past `seconds`) as WorkerFailed."""
        ray, deadline = self._ray, None if seconds is None else time.monotonic() + seconds
        pending = list(refs)
        while pending:
            if poll is not None:
                poll()
            if deadline is not None and time.monotonic() > deadline:
                raise WorkerFailed(f"Ray workers did not {doing} within {seconds:.0f} s: does the cluster have "
                                   f"{len(refs)} free {'GPUs' if self.spec.devices[0].startswith('cuda') else 'CPUs'}"
                                   f" (`ray status`)?")
            done, pending = ray.wait(pending, num_returns=len(pending), timeout=POLL_SECONDS)
            for ref in done:
                try:
                    ray.get(ref)
                except Exception as error:
                    raise self._failure(refs, refs.index(ref), error) from None
        return ray.get(list(refs))

    def _failure(self, refs, rank: int, error: Exception) -> WorkerFailed:
        # A rank that died makes its peers fail in their next collective: name the death, not the symptom.
        ray = self._ray
        done, _ = ray.wait(list(refs), num_returns=len(refs), timeout=PEER_SECONDS)
        for other, ref in enumerate(refs):
            if ref in done and other != rank:
                try:
                    ray.get(ref)
                except ray.exceptions.RayActorError as died:
                    rank, error = other, died
                    break
                except Exception:  # another symptom
                    pass
        if isinstance(error, ray.exceptions.RayActorError):
            what = "died (killed, or out of memory; Ray's log says which)"
        else:
            cause = getattr(error, "cause", None) or error
            what = f"failed: {type(cause).__name__}: {cause}"
        return WorkerFailed(f"{self._name(rank)} {what}")

    def _name(self, rank: int) -> str:
        pids = getattr(self, "pids", None)
        where = f", {self.nodes[rank]}, pid {pids[rank]}" if pids else ""
        return f"parallel worker {rank} (Ray actor{where})"
