"""Sequence-parallel sampling against one device: time per job and each rank's peak memory.

    .host/venv/bin/python bench/parallel.py --devices cpu:2 [--ulysses 0 --ring 1] [--size 256x256x17]
        [--steps 4] [--repeats 2] [--model FILE | --dim 512 --layers 4 --heads 4] [--dtype fp32]

Runs the same text-to-video plan (flow Euler, cfg 5: two DiT calls a step) on a pool of one worker on the
first device, then on a pool of one worker per device split as the layout says (engine/parallel/workers.py:
the pack's own worker processes, each loading the model file itself). Time per job: the best of
`repeats` after one warm-up job (loading and start-up excluded). Peak memory per rank: on CUDA
torch.cuda.max_memory_allocated over the timed jobs; on the CPU the worker process's peak RSS (model file
pages included). On a CPU with fewer cores than workers the figures only show the mechanics work.
Without --model a random Wan DiT of the given size is written to a temporary file.
"""
import argparse
import pathlib
import sys
import tempfile
import time

import torch

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
import conftest  # noqa: E402  (imports the pack as `spacetime`)
from tiny_models import random_wan_state_dict  # noqa: E402

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def parse_size(text):
    width, height, frames = map(int, text.split("x"))
    return width, height, frames


def random_model(dim: int, layers: int, heads: int) -> str:
    from safetensors.torch import save_file

    path = pathlib.Path(tempfile.mkdtemp()) / "bench_dit.safetensors"
    save_file(random_wan_state_dict(dim=dim, ffn_dim=4 * dim, num_layers=layers), str(path),
              metadata={"num_heads": str(heads)})
    return str(path)


def measure(spec, plan, settings, repeats):
    """(best seconds per job, peak bytes per rank) on a fresh pool for `spec`."""
    from spacetime.engine.parallel.workers import WorkerPool

    pool = WorkerPool(spec)
    try:
        pool.run(plan, settings)  # warm-up: first-call allocations, kernel choices
        pool.peak_memory()  # CUDA: count from here
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            pool.run(plan, settings)
            times.append(time.perf_counter() - start)
        return min(times), pool.peak_memory()
    finally:
        pool.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", default="cpu:2", help="cpu:N, cuda:I,J,... or cuda:all")
    parser.add_argument("--ulysses", type=int, default=0, help="0: every device not used by ring")
    parser.add_argument("--ring", type=int, default=1)
    parser.add_argument("--size", type=parse_size, default=(256, 256, 17), help="WIDTHxHEIGHTxFRAMES")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--model", help="a Wan 2.1 T2V DiT file (default: a random one of --dim/--layers/--heads)")
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--dtype", choices=list(DTYPES), default="fp32")
    parser.add_argument("--attention", default="auto")
    args = parser.parse_args()

    from spacetime.engine.generation import SamplerSettings
    from spacetime.engine.models.checkpoint import load_dit
    from spacetime.engine.parallel import ParallelLayout
    from spacetime.engine.parallel.devices import layout_for, parse_devices
    from spacetime.engine.parallel.workers import ModelFile, WorkerSpec
    from spacetime.engine.sampling import SamplingPlan
    from spacetime.engine.video_shape import latent_shape

    devices = parse_devices(args.devices)
    layout = layout_for(len(devices), args.ulysses, args.ring)
    model_file = ModelFile(args.model or random_model(args.dim, args.layers, args.heads), DTYPES[args.dtype])
    config = load_dit(model_file.path).config
    layout.check(config.num_heads)
    width, height, frames = args.size
    shape = latent_shape(1, width, height, frames)
    tokens = shape[2] * (shape[3] // 2) * (shape[4] // 2)
    generator = torch.Generator().manual_seed(0)
    positive, negative = torch.randn(2, 1, 64, config.text_dim, generator=generator)
    plan = SamplingPlan(torch.zeros(shape), positive, negative)
    settings = SamplerSettings(seed=1, steps=args.steps, cfg=5.0, shift=8.0, sampler="euler")

    one = WorkerSpec(model_file, args.attention, devices[:1], ParallelLayout())
    many = WorkerSpec(model_file, args.attention, devices, layout)
    one_time, one_peaks = measure(one, plan, settings, args.repeats)
    many_time, many_peaks = measure(many, plan, settings, args.repeats)

    memory = "CUDA max allocated" if devices[0].startswith("cuda") else "peak RSS"
    print(f"model dim {config.dim}, {config.num_layers} layers, {config.num_heads} heads, {args.dtype}; "
          f"{width}x{height}x{frames} ({tokens} tokens), {args.steps} steps x 2 calls; torch {torch.__version__}")
    print(f"| run | s per job | {memory} per rank (MiB) |")
    print("|---|---|---|")
    print(f"| 1 device ({devices[0]}) | {one_time:.2f} | {one_peaks[0] / 2**20:.0f} |")
    print(f"| {len(devices)} devices, Ulysses {layout.ulysses} x ring {layout.ring} | {many_time:.2f} | "
          f"{' / '.join(f'{peak / 2**20:.0f}' for peak in many_peaks)} |")
    print(f"speed-up {one_time / many_time:.2f}x")


if __name__ == "__main__":
    main()
