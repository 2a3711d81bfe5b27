"""Throughput and accuracy of every available attention backend at Wan 2.1 shapes.

    python bench/attention.py            # 32,760 tokens (832x480, 81 frames), heads 12 and 40, D=128, bf16
    python bench/attention.py --tiny     # seconds-long CPU smoke run in Triton's interpreter
    python bench/attention.py --sdpa-kernels   # sdpa also under each of torch's SDPA kernels: the best to beat

One timed call is one self-attention with Wan's RoPE, as the DiT makes it: for sdpa and the third-party
adapters that includes their separate apply_rope pass over q and k; the Triton kernels fuse it. Times are
the median of CUDA-event timings after warm-up; TFLOP/s counts 4·B·H·N²·D. Errors are against a float32
reference (RoPE unrounded, exact softmax) on a random subsample of query rows. Prints a markdown table.
"""
import argparse
import contextlib
import importlib
import os
import pathlib
import statistics
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
WAN_GRID = (21, 30, 52)  # latent frames, height, width of 832x480x81 after 2x2 patches: 32,760 tokens


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--grid", nargs=3, type=int, default=WAN_GRID, metavar=("FRAMES", "HEIGHT", "WIDTH"),
                        help="latent token grid (default: %(default)s = 32,760 tokens)")
    parser.add_argument("--heads", nargs="+", type=int, default=[12, 40], help="1.3B has 12, 14B has 40")
    parser.add_argument("--head-dim", type=int, default=128, choices=(64, 128))
    parser.add_argument("--dtype", default="bf16", choices=("bf16", "fp16"))
    parser.add_argument("--backends", nargs="+", help="default: every backend available here except auto")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--rows", type=int, default=256, help="query rows checked against the reference")
    parser.add_argument("--sdpa-kernels", action="store_true",
                        help="also time sdpa under each torch SDPA kernel (flash, efficient, cudnn) and compare "
                        "every backend with the fastest of them")
    parser.add_argument("--tiny", action="store_true",
                        help="CPU smoke run: a 48-token grid, 2 heads, D=64, Triton interpreted")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.tiny:
        os.environ.setdefault("TRITON_INTERPRET", "1")  # before the first Triton call decorates the kernels
        args.grid, args.heads, args.head_dim, args.warmup, args.repeats, args.rows = (2, 4, 6), [2], 64, 0, 1, 16
    import torch

    if not args.tiny and not torch.cuda.is_available():
        sys.exit("bench/attention.py times GPU kernels and needs CUDA, which this machine does not have. "
                 "Run it on a GPU machine, or pass --tiny for a CPU smoke run.")
    device = torch.device("cpu" if args.tiny else "cuda")
    kernels = import_pack_kernels()
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[args.dtype]
    names = args.backends or [info.name for info in kernels.available_backends(device, dtype, args.head_dim)
                              if info.available and info.name != "auto"]
    grid = kernels.RopeGrid(*args.grid)

    print(f"{grid.tokens} tokens {tuple(args.grid)}, head_dim {args.head_dim}, {args.dtype}, on "
          f"{torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu (interpreted Triton)'}\n")
    print("| backend | heads | ms | TFLOP/s | max abs err | rel L1 | cosine |")
    print("|---|---|---|---|---|---|---|")
    for heads in args.heads:
        generator = torch.Generator().manual_seed(0)
        q, k, v = (torch.randn(1, grid.tokens, heads, args.head_dim, generator=generator).to(device, dtype)
                   for _ in range(3))
        rows = torch.randperm(grid.tokens, generator=generator)[:args.rows].to(device)
        expected = reference_rows(q, k, v, grid, rows)
        flops = 4 * heads * grid.tokens ** 2 * args.head_dim
        tflops = {}
        for label, name, within in runs_of(names, args.sdpa_kernels):
            try:
                call = lambda: kernels.attention(q, k, v, rope=grid, backend=name, caller="bench")  # noqa: E731
                with within():
                    ms = median_ms(call, args.warmup, args.repeats, device)
                    out = call()[:, rows].float()
            except Exception as error:  # one broken backend must not hide the others' numbers
                print(f"| {label} | {heads} | failed: {type(error).__name__}: {error} | | | | |")
                continue
            diff = (out - expected).abs()
            cos = torch.nn.functional.cosine_similarity(out.flatten(), expected.flatten(), dim=0)
            tflops[label] = flops / ms / 1e9
            print(f"| {label} | {heads} | {ms:.2f} | {tflops[label]:.3g} | {diff.max():.2e} | "
                  f"{diff.sum() / expected.abs().sum():.2e} | {cos:.6f} |")
        if args.sdpa_kernels:
            print_against_best_sdpa(tflops, heads)
        del q, k, v


def runs_of(names, sdpa_kernels: bool):
    """(row label, backend, context to time it in): each backend, and sdpa under each torch SDPA kernel."""
    runs = [(name, name, contextlib.nullcontext) for name in names]
    if sdpa_kernels:
        from torch.nn.attention import SDPBackend, sdpa_kernel

        runs += [(f"sdpa ({kernel.name.lower()})", "sdpa", lambda kernel=kernel: sdpa_kernel(kernel))
                 for kernel in (SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.CUDNN_ATTENTION)]
    return runs


def print_against_best_sdpa(tflops: dict, heads: int) -> None:
    sdpa = {label: value for label, value in tflops.items() if label.startswith("sdpa")}
    if not sdpa:
        return
    best = max(sdpa, key=sdpa.get)
    others = ", ".join(f"{label} {value / sdpa[best]:.2f}x" for label, value in tflops.items() if label not in sdpa)
    print(f"\nheads {heads}: best SDPA is {best} at {sdpa[best]:.3g} TFLOP/s; against it: "
          f"{others or 'no other backend'}\n")


def import_pack_kernels():
    """The pack's kernels module, imported as `spacetime.kernels` like the tests do."""
    sys.path.insert(0, str(REPO / "scripts"))
    from pack_import import import_pack

    import_pack("spacetime")
    return importlib.import_module("spacetime.kernels")


def reference_rows(q, k, v, grid, rows):
    """float32 attention output of the query rows `rows`: [1, len(rows), H, D]."""
    import torch

    from spacetime.kernels.rope import rotate

    queries = rotate(q, grid)[:, rows]
    keys = rotate(k, grid)
    scores = torch.einsum("bqhd,bkhd->bhqk", queries, keys) * q.shape[-1] ** -0.5
    return torch.einsum("bhqk,bkhd->bqhd", scores.softmax(dim=-1), v.float())


def median_ms(call, warmup: int, repeats: int, device) -> float:
    import torch

    for _ in range(warmup):
        call()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            call()
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end))
        else:
            begin = time.perf_counter()
            call()
            times.append((time.perf_counter() - begin) * 1e3)
    return statistics.median(times)


if __name__ == "__main__":
    main()
