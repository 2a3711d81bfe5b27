"""Step caching: DiT evaluations saved against what the clip loses, on the shipped shapes-world model; ours
beside core's EasyCache node on the same tiny Wan weights; seams of edits with caching on.

    .host/venv/bin/python bench/step_cache.py [--device cpu] [--parts shapes core seams] [--prompts 200]
                                              [--levels safe fast ...] [--curve-prompts 50] [--small]

shapes: `--prompts` seeded prompts (half held-out attribute combinations, half trained ones, the one17 set
    of bench/shapes_eval.py: canonical captions, 17 frames, 64×64, 20 steps uni_pc, cfg 3, shift 3, seeds as
    there) sampled uncached and at each cache level. Per level: DiT evaluations per clip (each CFG prompt
    a call), how many times fewer than uncached, the analyser's accuracy per attribute, and the PSNR of
    each cached clip against its uncached clip (frames 0..1; median and 10th percentile). The first level
    runs on all prompts, the others (the curve) on the first `--curve-prompts`.
core: one prompt on the tiny random Wan DiT of the tests (dim 256, 2 heads of 128, 2 layers; core reads
    it), 64×64×17, 20 steps uni_pc, cfg 5, shift 8: our sampler at each level and core's KSampler with
    core's EasyCache node (its default threshold 0.2 and others), each against its own uncached result:
    DiT evaluations (batch rows through the transformer, counted by wrapping core's forward_orig) and PSNR of the latent
    (peak-to-peak of the uncached latent over the RMS error). Needs the host of scripts/setup_host.sh.
seams: bench/edit_seams.py's forward extension (timestep hold) uncached and at the first level: the seam
    rule's pass rate and the rest of that bench's row (on the CPU whatever --device says: that bench's
    edits encode and decode there). core's KSampler also runs on the CPU, where the tests' host puts it.
--small: 25 prompts, 10 curve prompts, 5 seam cases (a quick check, e.g. for a GPU script).
"""
import argparse
import math
import pathlib
import statistics
import sys
import time

import torch

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests"))
import shapes_eval  # noqa: E402  (imports the pack as `spacetime`)

from spacetime.engine.frames import to_images  # noqa: E402
from spacetime.engine.generation import SamplerSettings, generate_latent  # noqa: E402
from spacetime.engine.models.text_encoder import encode_text  # noqa: E402
from spacetime.engine.sampling.step_cache import LEVELS, StepCache  # noqa: E402
from spacetime.engine.shapes import accuracy, analyse_clip, attribute_hits, caption, sample_specs  # noqa: E402
from spacetime.engine.shapes.score import ATTRIBUTES  # noqa: E402
from spacetime.engine.video_shape import latent_shape  # noqa: E402

BATCH = shapes_eval.BATCH
CORE_EASYCACHE = (0.1, 0.2, 0.3, 0.5)  # core's default is 0.2


def psnr(a: torch.Tensor, b: torch.Tensor, peak: float = 1.0) -> float:
    mse = float((a.double() - b.double()).pow(2).mean())
    return math.inf if mse == 0 else 10 * math.log10(peak * peak / mse)


def shapes_clips(models, prompts, seed, threshold, device, args):
    """Clips [B, F, H, W, 3] and the DiT evaluations a clip took on average (each clip decides for itself)."""
    dit, encoder, tokenizer, vae = models
    cache = StepCache(threshold)
    with torch.no_grad():
        context = encode_text(encoder, tokenizer, prompts + [""]).to(device)
        latent = torch.zeros(latent_shape(len(prompts), shapes_eval.SIZE, shapes_eval.SIZE, shapes_eval.FRAMES))
        settings = SamplerSettings(seed=seed, steps=args.steps, cfg=3.0, shift=3.0, sampler="uni_pc")
        out = generate_latent(dit, latent, context[:-1], context[-1:], settings, device=device, cache=cache)
        clips = to_images(vae.decode(out.to(device))).reshape(len(prompts), shapes_eval.FRAMES, shapes_eval.SIZE,
                                                              shapes_eval.SIZE, 3)
    return clips.cpu(), cache.evaluations / len(prompts)


def shapes_part(args, device):
    models = tuple(m.to(device) if hasattr(m, "to") else m for m in shapes_eval.load_models())
    per_split = args.prompts // len(args.combos)
    specs = [spec for split in args.combos for spec in sample_specs(per_split, seed=args.seed, split=split)]
    print(f"\n### shapes-world model: {len(specs)} prompts (one17, {per_split} of each of {', '.join(args.combos)} "
          f"combinations), seed {args.seed}, {args.steps} steps uni_pc, cfg 3, shift 3, batches of {BATCH}, {device}")
    print("| cache | prompts | DiT evaluations per clip | fewer | background | colour | shape | motion "
          "| PSNR vs uncached (median / p10) | seconds |\n|---|---|---|---|---|---|---|---|---|---|", flush=True)
    reference, rows = {}, []
    for index, level in enumerate(["off", *args.levels]):
        count = len(specs) if index <= 1 else min(args.curve_prompts, len(specs))
        threshold = 0.0 if level == "off" else LEVELS.get(level, None) if level in LEVELS else float(level)
        hits, psnrs, evaluations, start = [], [], [], time.perf_counter()
        for first in range(0, count, BATCH):
            batch = specs[first:first + BATCH][:count - first]
            seed = args.seed + (first % per_split)  # shapes_eval's seed for this batch of its split
            clips, calls = shapes_clips(models, [caption(s) for s in batch], seed, threshold, device, args)
            evaluations.append(calls)
            for i, (spec, clip) in enumerate(zip(batch, clips)):
                hits.append(attribute_hits(spec, analyse_clip(clip)))
                if level == "off":
                    reference[first + i] = clip
                else:
                    psnrs.append(psnr(clip, reference[first + i]))
        per_clip = statistics.mean(evaluations)
        scores = accuracy(hits)
        if level == "off":
            base = per_clip
        quality = "—" if not psnrs else (f"{statistics.median(psnrs):.1f} / "
                                         f"{sorted(psnrs)[len(psnrs) // 10]:.1f} dB")
        name = level if level == "off" or level not in LEVELS else f"{level} ({threshold})"
        rows.append(f"| {name} | {count} | {per_clip:.1f} | {base / per_clip:.2f}× | "
                    + " | ".join(f"{100 * scores[a]:.1f} %" for a in ATTRIBUTES)
                    + f" | {quality} | {time.perf_counter() - start:.0f} |")
        print(rows[-1], flush=True)
        if index == 1 and count > args.curve_prompts:  # the curve compares with the uncached curve prompts
            sub = [attribute_hits(s, analyse_clip(reference[i])) for i, s in enumerate(specs[:args.curve_prompts])]
            print(f"| off, first {args.curve_prompts} | {args.curve_prompts} | {base:.1f} | 1.00× | "
                  + " | ".join(f"{100 * v:.1f} %" for v in accuracy(sub).values()) + " | — | — |", flush=True)


def core_part(args, device):
    """Ours and core's EasyCache on one tiny Wan file, each against its own uncached result."""
    import tempfile

    import conftest  # finds the host
    from safetensors.torch import save_file
    from tiny_models import TINY_DIT, random_wan_state_dict

    from spacetime.engine.models.checkpoint import load_dit

    conftest.import_host_comfy()
    import comfy.sample
    import comfy.sd
    from comfy_extras.nodes_easycache import EasyCacheNode

    path = pathlib.Path(tempfile.mkdtemp()) / "tiny_wan_t2v.safetensors"
    save_file(random_wan_state_dict(**TINY_DIT), str(path))
    ours = load_dit(str(path), dtype=torch.float32).to(device)
    core = comfy.sd.load_diffusion_model(str(path), model_options={"dtype": torch.float32})
    latent = torch.zeros(latent_shape(1, 64, 64, 17))
    generator = torch.Generator().manual_seed(5)
    context, uncond = torch.randn(1, 512, 4096, generator=generator), torch.randn(1, 512, 4096, generator=generator)
    steps, cfg, shift = args.steps, 5.0, 8.0  # shift 8: core's Wan 2.1 default

    def run_ours(threshold):
        cache = StepCache(threshold)
        settings = SamplerSettings(seed=1, steps=steps, cfg=cfg, shift=shift, sampler="uni_pc")
        with torch.no_grad():
            out = generate_latent(ours, latent, context, uncond, settings, device=device, cache=cache)
        return out, cache.evaluations

    def run_core(threshold):
        model = core if threshold is None else EasyCacheNode.execute(core, threshold, 0.15, 0.95, False)[0]
        model = model.clone()
        rows = [0]
        net = model.model.diffusion_model
        forward = net.forward_orig  # the transformer itself, under EasyCache's wrapper of forward

        def counted(x, *a, **k):  # core batches CFG's prompts: each row is one evaluation
            rows[0] += x.shape[0]
            return forward(x, *a, **k)

        net.forward_orig = counted
        try:
            noise = comfy.sample.prepare_noise(latent, 1)  # core's Wan config samples at shift 8, as ours here
            out = comfy.sample.sample(model, noise, steps, cfg, "uni_pc", "simple", [[context, {}]], [[uncond, {}]],
                                      latent, disable_pbar=True, seed=1)
        finally:
            del net.forward_orig
        return out, rows[0]

    print(f"\n### ours against core's EasyCache: tiny random Wan DiT (dim 256, head dim 128, 2 layers), 64×64×17, "
          f"{steps} steps uni_pc, cfg {cfg}, shift {shift}, {device}")
    print("| sampler | setting | DiT evaluations | fewer | PSNR vs its own uncached (latent) |\n|---|---|---|---|---|")
    for name, run, settings in (("ours", run_ours, [0.0, *[LEVELS.get(l, l) for l in args.levels]]),
                                ("core KSampler + EasyCache", run_core, [None, *CORE_EASYCACHE])):
        reference, base = None, None
        for setting in settings:
            out, calls = run(float(setting) if setting is not None else setting)
            if reference is None:
                reference, base = out, calls
                print(f"| {name} | uncached | {calls} | 1.00× | — |", flush=True)
                continue
            peak = float(reference.max() - reference.min())
            print(f"| {name} | {setting} | {calls} | {base / calls:.2f}× | {psnr(out, reference, peak):.1f} dB |",
                  flush=True)


def seams_part(args, device):
    import edit_seams
    from spacetime.engine import generation

    models = shapes_eval.load_models()
    specs = sample_specs(args.seam_cases, seed=args.seed, split="train")
    print(f"\n### seams with caching: bench/edit_seams.py's cases ({args.seam_cases}, seed {args.seed}), timestep hold")
    print(edit_seams.HEADER)
    for level in ["off", args.levels[0]]:
        threshold = 0.0 if level == "off" else LEVELS.get(level, level)
        caches, clips = [], []

        def run_plan(dit, plan, *a, **k):  # edit_seams samples through generation.run_plan: a cache per plan
            caches.append(StepCache(float(threshold)))
            clips.append(plan.latent.shape[0])
            return generation.run_plan(dit, plan, *a, cache=caches[-1], **k)

        edit_seams.run_plan = run_plan
        with torch.no_grad():
            for feature in args.seam_features:
                for line in edit_seams.measure_feature(models, feature, specs, "timestep", args.seed):
                    print(line.replace("| ", f"| cache {level}: ", 1), flush=True)
        evaluations = sum(c.evaluations for c in caches) / sum(clips)
        print(f"| cache {level}: DiT evaluations per clip {evaluations:.1f} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--parts", nargs="+", default=["shapes", "core", "seams"], choices=["shapes", "core", "seams"])
    parser.add_argument("--prompts", type=int, default=200)
    parser.add_argument("--curve-prompts", type=int, default=50)
    parser.add_argument("--combos", nargs="+", default=["heldout", "train"], choices=["heldout", "train"])
    parser.add_argument("--levels", nargs="+", default=list(LEVELS),
                        help="cache levels (names or thresholds); the first is measured on every prompt")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seam-cases", type=int, default=20)
    parser.add_argument("--seam-features", nargs="+", default=["extend forward", "loop"])
    parser.add_argument("--small", action="store_true", help="25 prompts, 10 for the curve, 5 seam cases")
    args = parser.parse_args()
    if args.small:
        args.prompts, args.curve_prompts, args.seam_cases = 25, 10, 5
    device = torch.device(args.device)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, levels {args.levels}")
    for part in args.parts:
        {"shapes": shapes_part, "core": core_part, "seams": seams_part}[part](args, device)


if __name__ == "__main__":
    main()
