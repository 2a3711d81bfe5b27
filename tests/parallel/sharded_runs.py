"""The plans the sequence-parallel tests sample, and running them on gloo ranks in spawned processes.

Each rank is a fresh process (torch.multiprocessing spawn, one CPU thread) in a gloo group over
127.0.0.1; it builds the same seeded tiny Wan (12 heads, as Wan 2.1 1.3B) and samples every plan under
each layout it is given, and what it returns is saved for the test process to compare with its own
single-process run.
"""
import os
import socket
import tempfile
from datetime import timedelta

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

from pack_import import import_pack

import_pack("spacetime")  # in a spawned rank too: it imports this module to find its job
# 12 heads of 8 channels, like Wan 2.1 1.3B's head count at a fraction of its width
CONFIG = dict(dim=96, ffn_dim=128, num_layers=2, text_dim=32)
HEADS = 12
COLLECTIVE_TIMEOUT = timedelta(seconds=60)  # a rank stuck in a collective fails the test instead of hanging it


def tiny_dit():
    from spacetime.engine.models.dit import DiTConfig, WanDiT
    from tiny_models import random_wan_state_dict

    model = WanDiT(DiTConfig(**CONFIG, num_heads=HEADS), attention_backend="sdpa")
    model.load_state_dict(random_wan_state_dict(seed=5, **CONFIG))
    return model.eval()


def settings(cfg: float = 1.0):
    """cfg 1 by default (one DiT call a step): the latents reach ~13, where float32's spacing is ~1e-6, and
    guidance multiplies the rounding differences of differently shaped matmuls (cfg 1.5 measured up to
    8.1e-6). The CFG split's tests give their own cfg."""
    from spacetime.engine.generation import SamplerSettings

    return SamplerSettings(seed=11, steps=3, cfg=cfg, shift=5.0)


def plans() -> dict:
    """text_to_video: 3 × 2 × 2 = 12 tokens (splits evenly over 2 and 4 ranks); storyboard: per-frame
    prompt weights, 9 tokens; recut: a Re-cut of a 5-frame clip extended by 4 frames, its known latent
    frames held by per-frame timesteps, 3 × 1 × 3 = 9 tokens. 9 tokens are padded on every layout."""
    from spacetime.engine.editing import extend
    from spacetime.engine.editing.timeline import compile_timeline
    from spacetime.engine.sampling import SamplingPlan

    generator = torch.Generator().manual_seed(3)
    positive, negative = (torch.randn(1, 7, CONFIG["text_dim"], generator=generator) for _ in range(2))
    projection = torch.randn(3, 16, generator=generator)

    def encode(frames):  # a stand-in VAE: Wan's latent frame grouping (1, then 4s), 8× pooling, 16 channels
        pooled = F.avg_pool2d(frames.permute(0, 3, 1, 2), 8)
        groups = [pooled[:1], *pooled[1:].split(4)]
        return torch.einsum("tchw,cd->dthw", torch.stack([g.mean(0) for g in groups]), projection)[None]

    clip = torch.rand(5, 16, 48, 3, generator=generator)
    edit = compile_timeline(extend(clip, 0, 4, "forward", 4, context=5), encode)
    two_prompts = torch.cat([positive, torch.randn(1, 7, CONFIG["text_dim"], generator=generator)])
    return {
        "text_to_video": SamplingPlan(torch.zeros(1, 16, 3, 4, 4), positive, negative),
        "storyboard": SamplingPlan(torch.zeros(1, 16, 3, 2, 6), two_prompts, negative,
                                   frame_weights=torch.tensor([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]])),
        "recut": SamplingPlan(edit.latent, positive, negative, keep=edit.keep, hold_by="timestep"),
    }


def sample_plans(layouts, cfg: float = 1.0) -> dict:
    """On every rank: each plan sampled under each (ulysses, ring[, cfg split]) layout at guidance `cfg`
    -> {(*layout, plan): latent}."""
    from spacetime.engine.generation import run_plan
    from spacetime.engine.parallel import ParallelLayout
    from spacetime.engine.parallel.guidance import parallel_contexts
    from spacetime.engine.sampling.denoisers import split_guidance

    dit, results = tiny_dit(), {}
    for layout in layouts:
        sequence, split = parallel_contexts(ParallelLayout(*layout))
        with dit.parallel(sequence), split_guidance(split):
            for name, plan in plans().items():
                results[(*layout, name)] = run_plan(dit, plan, settings(cfg))
    return results


def wrong_world_size_message(ulysses: int, ring: int) -> str:
    """On every rank: the error a layout for another number of ranks gives."""
    from spacetime.engine.parallel import ParallelLayout, SequenceParallel

    try:
        SequenceParallel(ParallelLayout(ulysses, ring))
    except ValueError as error:
        return str(error)
    return "no error"


def run_ranks(world: int, job, *args) -> list:
    """job(*args) on `world` gloo ranks, each a spawned process; returns what each rank returned."""
    with tempfile.TemporaryDirectory() as folder, _one_thread():
        mp.spawn(_rank, args=(world, _free_port(), folder, job, args), nprocs=world, join=True)
        return [torch.load(os.path.join(folder, f"{rank}.pt"), weights_only=False) for rank in range(world)]


def _rank(rank, world, port, folder, job, args):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world,
                            timeout=COLLECTIVE_TIMEOUT)
    try:
        torch.save(job(*args), os.path.join(folder, f"{rank}.pt"))
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _one_thread:
    """OMP_NUM_THREADS=1 for the processes spawned meanwhile (ranks share the machine's cores)."""

    def __enter__(self):
        self.before = os.environ.get("OMP_NUM_THREADS")
        os.environ["OMP_NUM_THREADS"] = "1"

    def __exit__(self, *exc):
        if self.before is None:
            os.environ.pop("OMP_NUM_THREADS")
        else:
            os.environ["OMP_NUM_THREADS"] = self.before
