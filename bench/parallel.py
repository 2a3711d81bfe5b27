"""Sequence-parallel sampling against one device: time per job and each rank's peak memory.

    .host/venv/bin/python bench/parallel.py --devices cpu:2 [--ulysses 0 --ring 1] [--cfg-split]
        [--backend multiprocessing|ray] [--size 256x256x17] [--steps 4] [--repeats 2]
        [--model FILE | --dim 512 --layers 4 --heads 4] [--dtype fp32]

Runs the same text-to-video plan (flow Euler, cfg 5: two DiT calls a step) on a pool of one worker on the
first device, then on a pool of one worker per device split as the layout says (engine/parallel/workers.py:
the pack's own worker processes, each loading the model file itself; --backend ray: Ray actors). With
--cfg-split the devices also run the layout with the CFG split (the conditional and unconditional calls on
two halves at once; --ulysses/--ring then say each half's layout), beside the same devices sharing every
call (Ulysses over all of them). Time per job: the best of
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
    from spacetime.engine.parallel.workers import start_pool

    pool = start_pool(spec)
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
    parser.add_argument("--cfg-split", action="store_true", help="also the devices in two CFG halves")
    parser.add_argument("--backend", choices=["multiprocessing", "ray"], default="multiprocessing",
                        help="how the pools of several devices start (the one-device pool: multiprocessing)")
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

    devices = parse_devices(args.devices, here=args.backend != "ray")
    layouts = [layout_for(len(devices), 0 if args.cfg_split else args.ulysses, 1 if args.cfg_split else args.ring)]
    if args.cfg_split:
        layouts.append(layout_for(len(devices), args.ulysses, args.ring, cfg=2))
    model_file = ModelFile(args.model or random_model(args.dim, args.layers, args.heads), DTYPES[args.dtype])
    config = load_dit(model_file.path).config
    for layout in layouts:
        layout.check(config.num_heads)
    width, height, frames = args.size
    shape = latent_shape(1, width, height, frames)
    tokens = shape[2] * (shape[3] // 2) * (shape[4] // 2)
    generator = torch.Generator().manual_seed(0)
    positive, negative = torch.randn(2, 1, 64, config.text_dim, generator=generator)
    plan = SamplingPlan(torch.zeros(shape), positive, negative)
    settings = SamplerSettings(seed=1, steps=args.steps, cfg=5.0, shift=8.0, sampler="euler")

    one_time, one_peaks = measure(WorkerSpec(model_file, args.attention, devices[:1], ParallelLayout()), plan,
                                  settings, args.repeats)
    rows = [(layout, *measure(WorkerSpec(model_file, args.attention, devices, layout, args.backend), plan, settings,
                              args.repeats)) for layout in layouts]

    memory = "CUDA max allocated" if devices[0].startswith("cuda") else "peak RSS"
    print(f"model dim {config.dim}, {config.num_layers} layers, {config.num_heads} heads, {args.dtype}; "
          f"{width}x{height}x{frames} ({tokens} tokens), {args.steps} steps x 2 calls; torch {torch.__version__}; "
          f"{args.backend}")
    print(f"| run | s per job | {memory} per rank (MiB) |")
    print("|---|---|---|")
    print(f"| 1 device ({devices[0]}) | {one_time:.2f} | {one_peaks[0] / 2**20:.0f} |")
    for layout, seconds, peaks in rows:
        print(f"| {len(devices)} devices, {layout} | {seconds:.2f} ({one_time / seconds:.2f}x) | "
              f"{' / '.join(f'{peak / 2**20:.0f}' for peak in peaks)} |")


if __name__ == "__main__":
    main()
