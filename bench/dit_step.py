"""Time and device memory of one DiT step at Wan 2.1 1.3B size, random weights, per attention backend;
optionally with block swap (some blocks streamed in from the host), checked against the unswapped output.

    python bench/dit_step.py [--device cuda] [--size 832x480x81] [--backends sdpa triton triton-int8]
                             [--blocks-on-device 10] [--small]

Random weights run at the speed of trained ones: the model is built on the device (dim 1536, 30 blocks,
12 heads, ffn 8960; bf16 matrices, float32 for what dit.storage_dtype keeps so) and called on a latent of
the video size with a 512-token text context. One step with CFG is two forwards; the time is the median
of `--repeats` forwards after a warm-up (CUDA-synchronised). Memory is torch's peak allocation on the
device during those forwards, weights included. `--small`: a 2-block dim-256 model at 64x64x5 (a
seconds-long check of the mechanics on the CPU).
"""
import argparse
import pathlib
import statistics
import sys
import time

import torch

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
from pack_import import import_pack  # noqa: E402

import_pack("spacetime")
from spacetime.engine.models.block_swap import BlockSwap, module_bytes  # noqa: E402
from spacetime.engine.models.dit import DiTConfig, WanDiT, storage_dtype  # noqa: E402
from spacetime.engine.video_shape import latent_shape  # noqa: E402

GIB = 2**30
SMALL = dict(dim=256, ffn_dim=512, num_layers=2)


def parse_size(text):
    width, height, frames = map(int, text.split("x"))
    return width, height, frames


def random_dit(config: DiTConfig, device, dtype) -> WanDiT:
    torch.manual_seed(0)
    with torch.device(device):
        model = WanDiT(config)
    for name, parameter in model.named_parameters():
        parameter.data = parameter.data.to(storage_dtype(name, dtype))
    return model.eval().requires_grad_(False)


def timed_forwards(model, inputs, device, repeats: int):
    """(median seconds per forward, peak bytes allocated on the device or None, the last output)."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    with torch.no_grad():
        out = model(*inputs)  # warm-up: kernels chosen and compiled
        sync()
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            out = model(*inputs)
            sync()
            times.append(time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
    return statistics.median(times), peak, out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--size", type=parse_size, default=(832, 480, 81), help="WIDTHxHEIGHTxFRAMES")
    parser.add_argument("--backends", nargs="+", default=["sdpa", "triton", "triton-int8"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--blocks-on-device", type=int, help="also time block swap with this many blocks resident")
    parser.add_argument("--small", action="store_true", help="2 blocks, dim 256, 64x64x5: a check of the mechanics")
    args = parser.parse_args()
    device = torch.device(args.device)
    config = DiTConfig(**SMALL) if args.small else DiTConfig()
    width, height, frames = (64, 64, 5) if args.small else args.size
    latent = torch.randn(latent_shape(1, width, height, frames), device=device)
    context = torch.randn(1, 512, config.text_dim, device=device)
    inputs = (latent, torch.tensor([500.0], device=device), context)
    model = random_dit(config, device, torch.bfloat16)
    tokens = latent.shape[2] * (latent.shape[3] // 2) * (latent.shape[4] // 2)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"DiT dim {config.dim}, {config.num_layers} blocks, {config.num_heads} heads, bf16, {width}x{height}x"
          f"{frames} ({tokens} tokens), on {name}; weights {module_bytes(model) / GIB:.2f} GiB\n")
    print("| backend | blocks on device | s per forward | s per step (cfg: 2 forwards) | peak device memory | "
          "max abs diff vs unswapped |")
    print("|---|---|---|---|---|---|")
    reference = {}
    for backend in args.backends:
        model.attention_backend = backend
        try:
            seconds, peak, reference[backend] = timed_forwards(model, inputs, device, args.repeats)
        except Exception as error:  # one broken backend must not hide the others' numbers
            print(f"| {backend} | all | failed: {type(error).__name__}: {error} | | | |", flush=True)
            continue
        memory = "" if peak is None else f"{peak / GIB:.2f} GiB"
        print(f"| {backend} | all ({config.num_layers}) | {seconds:.3f} | {2 * seconds:.3f} | {memory} | |", flush=True)
    if args.blocks_on_device is None or not reference:
        return
    backend = next(iter(reference))
    model.attention_backend = backend
    model.to("cpu")
    swap = BlockSwap(model, device, args.blocks_on_device)
    seconds, peak, out = timed_forwards(model, inputs, device, args.repeats)
    memory = f"{swap.peak / GIB:.2f} GiB of weights" + ("" if peak is None else f", {peak / GIB:.2f} GiB in all")
    diff = (out.float() - reference[backend].float()).abs().max().item()
    print(f"| {backend} | {args.blocks_on_device} (block swap) | {seconds:.3f} | {2 * seconds:.3f} | {memory} | "
          f"{diff:.1e} |")


if __name__ == "__main__":
    main()
