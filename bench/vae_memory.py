"""Peak CPU memory of Wan 2.1 VAE decoding against clip length.

Each (frames, mode) pair runs in a fresh subprocess that reports its own peak RSS, so one run's
allocations cannot hide another's. Modes:
  discard  stream decode_frames() and drop each chunk      (the decoder's own working memory)
  uint8    stream into a preallocated [F, H, W, 3] uint8 buffer (what a frame writer holds)
  collect  decode() the whole clip as float32               (grows by F·H·W·3·4 bytes)
The VAE is a random full-size one (base dim 96, 127 M parameters): memory does not depend on the
values of the weights.

  python bench/vae_memory.py                        # 480p (832×480), 33 and 81 frames
  python bench/vae_memory.py --height 240 --width 416 --modes discard collect
  python bench/vae_memory.py --device cuda --frames 81 --modes discard   # adds torch's peak on the GPU
"""
import argparse
import json
import pathlib
import resource
import subprocess
import sys
import time

import torch

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
from pack_import import import_pack  # noqa: E402

MODES = ("discard", "uint8", "collect")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def measure(frames: int, mode: str, height: int, width: int, dim: int, device: str = "cpu") -> dict:
    """Run inside the child: decode one clip in one mode and report memory and time."""
    import_pack()
    from spacetime.engine.models.vae import WanVAE

    torch.manual_seed(0)
    vae = WanVAE(dim=dim).eval().requires_grad_(False).to(device)
    latent = torch.randn(1, 16, 1 + (frames - 1) // 4, height // 8, width // 8, device=device)
    cuda = torch.device(device).type == "cuda"
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        weights_mb = torch.cuda.memory_allocated() / 2**20
    before = peak_rss_mb()
    start = time.perf_counter()
    with torch.inference_mode():  # as a ComfyUI node runs it
        decode(vae, latent, frames, mode)
    if cuda:
        torch.cuda.synchronize()
    report = {"frames": frames, "mode": mode, "before_mb": before, "peak_mb": peak_rss_mb(),
              "seconds": time.perf_counter() - start}
    if cuda:  # the frames themselves stay on the device in every mode but collect's
        report.update(device_model_mb=weights_mb, device_peak_mb=torch.cuda.max_memory_allocated() / 2**20)
    return report


def decode(vae, latent: torch.Tensor, frames: int, mode: str) -> None:
    if mode == "collect":
        vae.decode(latent)
    else:
        height, width = (8 * size for size in latent.shape[3:])
        frames_out = torch.empty(frames, height, width, 3, dtype=torch.uint8) if mode == "uint8" else None
        written = 0
        for chunk in vae.decode_frames(latent):
            if frames_out is not None:  # [1, 3, n, H, W] in [-1, 1] → n frames of [H, W, 3] bytes
                pixels = ((chunk[0] + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 3, 0)
                frames_out[written:written + pixels.shape[0]] = pixels
            written += chunk.shape[2]
            del chunk


def run_child(frames: int, mode: str, args) -> dict:
    command = [sys.executable, __file__, "--child", "--frames", str(frames), "--modes", mode,
               "--height", str(args.height), "--width", str(args.width), "--dim", str(args.dim),
               "--device", args.device]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, nargs="+", default=[33, 81])
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--width", type=int, default=832)
    parser.add_argument("--dim", type=int, default=96)
    parser.add_argument("--device", default="cpu", help="where the VAE decodes (cpu, cuda)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.frames[0], args.modes[0], args.height, args.width, args.dim, args.device)))
        return

    where = torch.cuda.get_device_name(args.device) if args.device.startswith("cuda") else "CPU"
    print(f"Wan 2.1 VAE decode, {args.width}x{args.height}, base dim {args.dim}, {where} float32")
    device_columns = f" {'device model MB':>15} {'device peak MB':>14}" if args.device.startswith("cuda") else ""
    print(f"{'frames':>6} {'mode':>8} {'model RSS MB':>13} {'peak RSS MB':>12} {'decode +MB':>11} {'seconds':>8}"
          + device_columns)
    for frames in args.frames:
        for mode in args.modes:
            r = run_child(frames, mode, args)
            device = f" {r['device_model_mb']:>15.0f} {r['device_peak_mb']:>14.0f}" if "device_peak_mb" in r else ""
            print(f"{frames:>6} {mode:>8} {r['before_mb']:>13.0f} {r['peak_mb']:>12.0f} "
                  f"{r['peak_mb'] - r['before_mb']:>11.0f} {r['seconds']:>8.1f}{device}", flush=True)


if __name__ == "__main__":
    main()
