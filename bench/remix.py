"""Remix on the shipped shapes-world model: plain re-noising against FlowEdit, at each named strength.

    .host/venv/bin/python bench/remix.py [--cases 20] [--seed 0] [--strengths subtle moderate strong]

Each case renders a training-split clip (17 frames, 64×64, one object), encodes it with the shipped VAE
and remixes it towards the same caption with another object colour (FlowEdit's source prompt is the
clip's own caption), through the library path the Remix node uses (remix_plan → run_plan; 20 steps,
cfg 3, shift 3, uni_pc). Per method and strength: how much the video changed (mean absolute pixel
difference to the source, 0..255), whether the new colour was adopted (the analyser's colour of the main
object), and whether the object's track stayed: its centroid per frame within 3 px of the source's on
average over the frames where both are seen; "both" is adopted and stayed.
"""
import argparse
import pathlib
import statistics
import sys

import numpy as np
import torch

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from shapes_eval import load_models  # noqa: E402  (also imports the pack as `spacetime`)
from storyboard import changed  # noqa: E402

from spacetime.engine.editing import REMIX_METHODS, STRENGTHS, remix_plan  # noqa: E402
from spacetime.engine.frames import encode_images, to_images  # noqa: E402
from spacetime.engine.generation import SamplerSettings, run_plan  # noqa: E402
from spacetime.engine.models.text_encoder import encode_text  # noqa: E402
from spacetime.engine.shapes import analyse_clip, caption, render_clip, sample_specs  # noqa: E402

FRAMES, SIZE = 17, 64
SETTINGS = dict(steps=20, cfg=3.0, shift=3.0, sampler="uni_pc")
TRACK_PX = 3.0


def centroids(frames):
    """Per frame the main object's centroid, or None where no object is seen."""
    return [f.objects[0].centroid if f.objects else None for f in analyse_clip(frames).frames]


def track_distance(source, out) -> float:
    pairs = [(a, b) for a, b in zip(centroids(source), centroids(out)) if a is not None and b is not None]
    if not pairs:
        return float("inf")
    return float(np.mean([np.hypot(a[0] - b[0], a[1] - b[1]) for a, b in pairs]))


def measure(models, specs, method, strength, seed):
    dit, encoder, tokenizer, vae = models
    rows = []
    for i, spec in enumerate(specs):
        target = changed(spec, "colour", np.random.default_rng(seed + i))
        clip = render_clip(spec, FRAMES, SIZE)
        source = encode_images(vae, clip)
        embeddings = encode_text(encoder, tokenizer, [caption(target), caption(spec), ""])
        plan = remix_plan(source, embeddings[:1], embeddings[2:], strength, method, source_prompt=embeddings[1:2])
        out = to_images(vae.decode(run_plan(dit, plan, SamplerSettings(seed=seed + i, **SETTINGS))))
        seen = analyse_clip(out).objects
        adopted = bool(seen) and seen[0].colour == target.objects[0].colour
        distance = track_distance(clip, out)
        rows.append(dict(change=float((out - clip).abs().mean() * 255), adopted=adopted,
                         stayed=distance <= TRACK_PX, distance=distance))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--methods", nargs="+", default=list(REMIX_METHODS))
    parser.add_argument("--strengths", nargs="+", default=list(STRENGTHS))
    args = parser.parse_args()
    models = load_models()
    specs = sample_specs(args.cases, seed=args.seed, split="train")
    print(f"{args.cases} cases, seed {args.seed}, {torch.get_num_threads()} threads")
    print("| method | strength | change (mean abs, 0..255) | new colour adopted | track within 3 px "
          "(median distance) | both |\n|---|---|---|---|---|---|")
    with torch.no_grad():
        for method in args.methods:
            for name in args.strengths:
                value = STRENGTHS.get(name) or float(name)
                rows = measure(models, specs, method, value, args.seed)
                share = lambda key: 100 * sum(r[key] for r in rows) / len(rows)  # noqa: E731
                both = 100 * sum(r["adopted"] and r["stayed"] for r in rows) / len(rows)
                print(f"| {method} | {name} ({value}) | {statistics.mean(r['change'] for r in rows):.1f} | "
                      f"{share('adopted'):.0f} % | {share('stayed'):.0f} % "
                      f"({statistics.median(r['distance'] for r in rows):.1f} px) | {both:.0f} % |", flush=True)


if __name__ == "__main__":
    main()
