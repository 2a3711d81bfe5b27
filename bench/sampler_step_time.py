"""Per-step time of our sampler vs core's KSampler on the same tiny Wan weights, side by side on one machine.

    .host/venv/bin/python bench/sampler_step_time.py [--size 256x256x17] [--repeats 3]

Both run the same random tiny DiT file (dim 256, 2 layers: the size the parity tests use) with flow
Euler, cfg 5, shift 8, in float32 on this machine's device. Per-step time = (time at 2N steps − time at N
steps) / N, so loading and set-up cancel out; the best of `repeats` is kept. Needs the host from
scripts/setup_host.sh (its Python and its ComfyUI, used as the reference).
"""
import argparse
import pathlib
import sys
import tempfile
import time

import torch

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
import conftest  # noqa: E402  (imports the pack as `spacetime`, finds the host)
from tiny_models import TINY_DIT, random_wan_state_dict  # noqa: E402


def parse_size(text):
    width, height, frames = map(int, text.split("x"))
    return width, height, frames


def best_time(run, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=parse_size, default=(256, 256, 17), help="WIDTHxHEIGHTxFRAMES")
    parser.add_argument("--steps", type=int, default=4, help="N (runs N and 2N steps)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from safetensors.torch import save_file
    from spacetime.engine.generation import SamplerSettings, generate_latent
    from spacetime.engine.models.checkpoint import load_dit
    from spacetime.engine.video_shape import latent_shape

    conftest.import_host_comfy()
    import comfy.sample
    import comfy.sd

    path = pathlib.Path(tempfile.mkdtemp()) / "tiny_dit.safetensors"
    save_file(random_wan_state_dict(**TINY_DIT), str(path))
    ours = load_dit(str(path), dtype=torch.float32)
    core = comfy.sd.load_diffusion_model(str(path), model_options={"dtype": torch.float32})
    width, height, frames = args.size
    latent = torch.zeros(latent_shape(1, width, height, frames))
    context = torch.randn(1, 512, 4096)
    uncond = torch.randn(1, 512, 4096)

    def run_ours(steps):
        settings = SamplerSettings(seed=1, steps=steps, cfg=5.0, shift=8.0, sampler="euler")
        with torch.no_grad():
            generate_latent(ours, latent, context, uncond, settings)

    def run_core(steps):
        noise = comfy.sample.prepare_noise(latent, 1)
        comfy.sample.sample(core, noise, steps, 5.0, "euler", "simple", [[context, {}]], [[uncond, {}]], latent,
                            disable_pbar=True, seed=1)

    rows = []
    for name, run in (("ours", run_ours), ("core KSampler", run_core)):
        run(1)  # warm-up
        short = best_time(lambda: run(args.steps), args.repeats)
        long = best_time(lambda: run(2 * args.steps), args.repeats)
        rows.append((name, (long - short) / args.steps))
    tokens = latent.shape[2] * latent.shape[3] // 2 * latent.shape[4] // 2
    print(f"size {width}x{height}x{frames} ({tokens} tokens), torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    print("| sampler | seconds per step (cfg: 2 forwards) |\n|---|---|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.4f} |")
    print(f"ratio ours / core: {rows[0][1] / rows[1][1]:.3f}")


if __name__ == "__main__":
    main()
