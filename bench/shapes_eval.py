"""Evaluate the shipped shapes-world model: does a clip show what its prompt asked for, and how does it look?

    .host/venv/bin/python bench/shapes_eval.py [--prompts 100] [--sets one17 ...|all] [--combos heldout train]
                                               [--steps 20] [--cfg 3] [--seed 0]

For each set (below) and each kind of combination (`heldout`: attribute combinations never trained
on; `train`: trained ones), `--prompts` seeded prompts each give one 64×64 clip from the shipped DiT,
text encoder and VAE (the same loaders and sampler the nodes use). Each clip is analysed (background,
object colour, shape, motion direction) and the share of clips where each attribute matches the
prompt is printed, with what a person sees (`engine/shapes/quality.py`): stray pixels per frame
(frame 0 apart, as it is the one most often corrupt) and the IoU of each object's outline with its
ideal shape. Two-object sets give each attribute for both objects and, in brackets, per object.

Sets (`wording` says whether the shipped model was trained on how the prompt is said):
    one17       one object, 17 frames, the canonical caption              (trained wording)
    frames33    one object, 33 frames, the canonical caption              (trained wording)
    two         two objects, 17 frames, the canonical caption             (trained wording)
    paraphrase  the first-generation grammar's paraphrases                (trained wording)
    reworded    held-out wordings of the second-generation grammar (`wording.py`), lower case
    reworded33  the same at 33 frames
    reworded2   the same with two objects
    title       the canonical caption in Title Case
    caps        the canonical caption in ALL CAPS
    nobg        the canonical caption without its background: any background is right, so the
                backgrounds seen are counted instead
Also: for one prompt over 8 seeds, the spread of start positions and speeds (beside the renderer's
over 8 layouts); VAE reconstruction PSNR on held-out full-length clips with the analyser's accuracy
on those reconstructions (the ceiling a DiT can reach through this VAE); the time of one clip.

The model files are the shipped ones in models/, or those in the folder SHAPES_MODELS names (same
layout), e.g. a training checkpoint exported for a look part-way; every bench that loads the shapes
model through `load_models` follows it.
"""
import argparse
from collections import Counter
from dataclasses import dataclass, replace
import os
import pathlib
import sys
import time

import numpy as np
import torch

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
from pack_import import import_pack  # noqa: E402

import_pack("spacetime")
from spacetime.engine.frames import to_images  # noqa: E402
from spacetime.engine.generation import SamplerSettings, generate_latent  # noqa: E402
from spacetime.engine.models.checkpoint import load_dit, load_text_encoder, load_vae  # noqa: E402
from spacetime.engine.models.text_encoder import encode_text  # noqa: E402
from spacetime.engine.shapes import (ShapesClips, accuracy, analyse_clip, attribute_hits, caption,  # noqa: E402
                                     parse_caption, render_clip, sample_specs)
from spacetime.engine.shapes.quality import mask_ious, seed_spread, stray_fractions  # noqa: E402
from spacetime.engine.shapes.score import ATTRIBUTES, object_hits  # noqa: E402
from spacetime.engine.shapes.wording import CASES, Wording, sample_wording, say  # noqa: E402
from spacetime.engine.video_shape import latent_shape  # noqa: E402

MODELS = pathlib.Path(os.environ.get("SHAPES_MODELS", REPO / "models"))
FRAMES, SIZE, BATCH = 17, 64, 25
SPREAD_PROMPT, SPREAD_SEEDS = "a red circle moves left on a blue background", 8


@dataclass(frozen=True)
class PromptSet:
    frames: int
    objects: int
    wording: str  # "trained" or "held-out": has the shipped model seen prompts said this way?
    say: object  # (spec, index, seed) -> prompt
    background_named: bool = True  # if not, any background is right and the ones seen are counted


def _paraphrase(spec, index, seed):
    return caption(spec, np.random.default_rng([seed, 1, index]))


def _reworded(spec, index, seed):
    rng = np.random.default_rng([seed, 2, index])
    return say(spec, sample_wording(rng, "heldout", background_said_prob=1.0, case=CASES.index("lower")))


SETS = {
    "one17": PromptSet(FRAMES, 1, "trained", lambda spec, i, seed: caption(spec)),
    "frames33": PromptSet(33, 1, "trained", lambda spec, i, seed: caption(spec)),
    "two": PromptSet(FRAMES, 2, "trained", lambda spec, i, seed: caption(spec)),
    "paraphrase": PromptSet(FRAMES, 1, "trained", _paraphrase),
    "reworded": PromptSet(FRAMES, 1, "held-out", _reworded),
    "reworded33": PromptSet(33, 1, "held-out", _reworded),
    "reworded2": PromptSet(FRAMES, 2, "held-out", _reworded),
    "title": PromptSet(FRAMES, 1, "held-out", lambda spec, i, seed: say(spec, Wording(case=CASES.index("title")))),
    "caps": PromptSet(FRAMES, 1, "held-out", lambda spec, i, seed: say(spec, Wording(case=CASES.index("upper")))),
    "nobg": PromptSet(FRAMES, 1, "held-out", lambda spec, i, seed: say(spec, Wording(background_said=False)),
                      background_named=False),
}


def load_models():
    dit = load_dit(MODELS / "diffusion_models" / "shapes_world_t2v.safetensors", dtype=torch.float32)
    encoder, tokenizer = load_text_encoder(MODELS / "text_encoders" / "shapes_world_umt5.safetensors",
                                           dtype=torch.float32)
    vae = load_vae(MODELS / "vae" / "shapes_world_vae.safetensors", dtype=torch.float32)
    return dit, encoder, tokenizer, vae


def generate(models, prompts: list[str], seed: int, steps: int, cfg: float, shift: float,
             frames: int = FRAMES) -> torch.Tensor:
    """Clips [B, F, H, W, 3] in 0..1 for the prompts (one batch, noise as core draws it for the seed)."""
    dit, encoder, tokenizer, vae = models
    with torch.no_grad():
        context = encode_text(encoder, tokenizer, prompts + [""])
        latent = torch.zeros(latent_shape(len(prompts), SIZE, SIZE, frames))
        settings = SamplerSettings(seed=seed, steps=steps, cfg=cfg, shift=shift, sampler="uni_pc")
        out = generate_latent(dit, latent, context[:-1], context[-1:], settings)
        return to_images(vae.decode(out)).reshape(len(prompts), frames, SIZE, SIZE, 3)


def evaluate_set(models, prompt_set: PromptSet, split: str, count: int, args) -> dict:
    """Accuracy and what a person sees over `count` prompts of one set and split (see `report_row`)."""
    specs = sample_specs(count, seed=args.seed, split=split, second_object_prob=float(prompt_set.objects == 2))
    hits, per_object, backgrounds, first_strays, later_strays, ious = [], [], Counter(), [], [], []
    for first in range(0, count, BATCH):
        batch = specs[first:first + BATCH]
        prompts = [prompt_set.say(spec, first + i, args.seed) for i, spec in enumerate(batch)]
        clips = generate(models, prompts, args.seed + first, args.steps, args.cfg, args.shift, prompt_set.frames)
        for spec, clip in zip(batch, clips):
            analysis = analyse_clip(clip)
            hits.append(attribute_hits(spec, analysis))
            per_object += object_hits(spec, analysis)
            backgrounds[analysis.background] += 1
            strays = stray_fractions(clip, analysis)
            first_strays.append(float(strays[0]))
            later_strays += strays[1:].tolist()
            ious += [iou for per_frame in mask_ious(analysis, spec) for iou in per_frame]
    single = {attribute: float(np.mean([h[attribute] for h in per_object])) for attribute in ATTRIBUTES[1:]}
    return {"accuracy": accuracy(hits), "per_object": single,
            "backgrounds": backgrounds, "first_strays": first_strays, "later_strays": later_strays, "ious": ious}


def report_row(name: str, prompt_set: PromptSet, split: str, result: dict) -> str:
    """A markdown row: bg, colour, shape, motion (%), stray pixels as % of the frame (median / 90th
    percentile, frame 0 and the later frames), mask IoU (median / 10th percentile)."""
    scores, single = result["accuracy"], result["per_object"]
    cells = []
    for attribute in ATTRIBUTES:
        if attribute == "background" and not prompt_set.background_named:
            cells.append(", ".join(f"{bg} {n}" for bg, n in result["backgrounds"].most_common()))
        elif attribute != "background" and prompt_set.objects > 1:
            cells.append(f"{100 * scores[attribute]:.0f} % ({100 * single[attribute]:.0f} %)")
        else:
            cells.append(f"{100 * scores[attribute]:.0f} %")
    first, later, ious = (np.array(result[k]) for k in ("first_strays", "later_strays", "ious"))
    cells += [f"{100 * np.median(first):.2f} / {100 * np.quantile(first, 0.9):.2f} %",
              f"{100 * np.median(later):.2f} / {100 * np.quantile(later, 0.9):.2f} %",
              f"{np.median(ious):.2f} / {np.quantile(ious, 0.1):.2f}"]
    return f"| {name} | {split} | {prompt_set.wording} | " + " | ".join(cells) + " |"


def spread_rows(models, args) -> list[str]:
    """Start and speed spread of SPREAD_PROMPT over SPREAD_SEEDS seeds, and of the renderer over as many layouts."""
    generated = [analyse_clip(generate(models, [SPREAD_PROMPT], args.seed + k, args.steps, args.cfg, args.shift)[0])
                 for k in range(SPREAD_SEEDS)]
    spec = parse_caption(SPREAD_PROMPT)
    rendered = [analyse_clip(render_clip(replace(spec, seed=args.seed + k))) for k in range(SPREAD_SEEDS)]
    rows = []
    for source, analyses in (("shipped model, seeds", generated), ("renderer, layouts", rendered)):
        tracks = [next((t for t in a.objects if t.colour == spec.objects[0].colour), None) for a in analyses]
        s = seed_spread(tracks, SIZE)
        rows.append(f"| {source} | {s.clips} of {SPREAD_SEEDS} | {s.start_x:.2f} | {s.start_y:.2f} | "
                    f"{s.speed[0]:.2f}–{s.speed[1]:.2f} |")
    return rows


def vae_round_trip(vae, count: int = 48, frames: int = FRAMES,
                   second_object_prob: float = 0.2) -> tuple[float, dict[str, float], dict[str, float]]:
    """On held-out clips of `frames`: reconstruction PSNR (dB), and the analyser's accuracy on the
    reconstructions (per clip, and per asked object), which is the most any DiT can reach through this VAE."""
    dataset = ShapesClips(count, seed=12345, split="heldout", frames=frames, size=SIZE,
                          second_object_prob=second_object_prob)
    errors, hits, per_object = [], [], []
    with torch.no_grad():
        for first in range(0, count, 16):
            indices = range(first, min(first + 16, count))
            clips = torch.stack([dataset[i][0] for i in indices])
            reconstruction = vae.decode(vae.encode(clips)).clamp(-1, 1)
            errors.append(((reconstruction - clips) / 2).pow(2).mean(dim=(1, 2, 3, 4)))
            decoded = reconstruction.permute(0, 2, 3, 4, 1).add(1).div(2)  # [B, F, H, W, 3] in 0..1
            for i, clip in zip(indices, decoded):
                analysis = analyse_clip(clip)
                hits.append(attribute_hits(dataset.spec(i), analysis))
                per_object += object_hits(dataset.spec(i), analysis)
    mse = torch.cat(errors)
    single = {attribute: float(np.mean([h[attribute] for h in per_object])) for attribute in ATTRIBUTES[1:]}
    return (10 * torch.log10(1 / mse)).mean().item(), accuracy(hits), single


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=100, help="prompts per set and kind of combination")
    parser.add_argument("--sets", nargs="+", default=["one17"], choices=[*SETS, "all"])
    parser.add_argument("--combos", nargs="+", default=["heldout", "train"], choices=["heldout", "train"])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--cfg", type=float, default=3.0)  # the shipped workflow's
    parser.add_argument("--shift", type=float, default=3.0)
    parser.add_argument("--ceiling-clips", type=int, default=48, help="held-out clips per VAE round-trip row")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    names = list(SETS) if "all" in args.sets else args.sets

    models = load_models()
    start = time.perf_counter()
    generate(models, [SPREAD_PROMPT], args.seed, args.steps, args.cfg, args.shift)
    one_clip = time.perf_counter() - start
    print(f"{args.prompts} prompts per set and combination, seed {args.seed}, {args.steps} steps, cfg {args.cfg}, "
          f"shift {args.shift}, {torch.get_num_threads()} threads")
    print("| set | combinations | wording | background | object colour | shape | motion "
          "| stray px, frame 0 (median / p90) | stray px, later frames (median / p90) | mask IoU (median / p10) |\n"
          "|---|---|---|---|---|---|---|---|---|---|", flush=True)
    for name in names:
        for split in args.combos:
            result = evaluate_set(models, SETS[name], split, args.prompts, args)
            print(report_row(name, SETS[name], split, result), flush=True)
    print(f"\n'{SPREAD_PROMPT}' over {SPREAD_SEEDS} seeds (ranges as fractions of the frame; speed: distance "
          f"over the clip)\n| clips | tracked | start x range | start y range | speed |\n|---|---|---|---|---|")
    print("\n".join(spread_rows(models, args)), flush=True)
    for frames in (FRAMES, 33):
        psnr, ceiling, _ = vae_round_trip(models[3], args.ceiling_clips, frames)
        print(f"\nVAE round trip, {frames} frames (ceiling): " + " / ".join(f"{100 * ceiling[k]:.0f} %" for k in ATTRIBUTES))
        print(f"VAE reconstruction PSNR, held-out {frames}-frame clips: {psnr:.1f} dB")
    # Two objects are drawn smaller (render.SIDE_TWO_OBJECTS), which the VAE keeps less well.
    _, both, single = vae_round_trip(models[3], args.ceiling_clips, second_object_prob=1.0)
    print(f"VAE round trip, two objects, {FRAMES} frames (ceiling), both right (per object): "
          + " / ".join(f"{100 * both[k]:.0f} %" + (f" ({100 * single[k]:.0f} %)" if k in single else "") for k in ATTRIBUTES))
    print(f"one 17-frame clip ({args.steps} steps, cfg {args.cfg}), text to frames: {one_clip:.2f} s")


if __name__ == "__main__":
    main()
