"""Evaluate the shipped shapes-world model: does a clip show what its prompt asked for?

    .host/venv/bin/python bench/shapes_eval.py [--prompts 100] [--steps 20] [--cfg 3] [--seed 0]

For `--prompts` held-out prompts (attribute combinations never trained on) and as many training
prompts, seeded, it generates a 17-frame 64×64 clip per prompt with the shipped DiT, text encoder and
VAE (the same loaders and sampler the nodes use), analyses each clip (background, object colour,
shape, motion direction) and prints the share of clips where each attribute matches the prompt. Also:
VAE reconstruction PSNR on held-out full-length clips with the analyser's accuracy on those
reconstructions (the ceiling a DiT can reach through this VAE), and the time of one clip end to end.
"""
import argparse
import pathlib
import sys
import time

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
                                     sample_specs)
from spacetime.engine.video_shape import latent_shape  # noqa: E402

MODELS = REPO / "models"
FRAMES, SIZE, BATCH = 17, 64, 25


def load_models():
    dit = load_dit(MODELS / "diffusion_models" / "shapes_world_t2v.safetensors", dtype=torch.float32)
    encoder, tokenizer = load_text_encoder(MODELS / "text_encoders" / "shapes_world_umt5.safetensors",
                                           dtype=torch.float32)
    vae = load_vae(MODELS / "vae" / "shapes_world_vae.safetensors", dtype=torch.float32)
    return dit, encoder, tokenizer, vae


def generate(models, prompts: list[str], seed: int, steps: int, cfg: float, shift: float) -> torch.Tensor:
    """Clips [B, F, H, W, 3] in 0..1 for the prompts (one batch, noise as core draws it for the seed)."""
    dit, encoder, tokenizer, vae = models
    with torch.no_grad():
        context = encode_text(encoder, tokenizer, prompts + [""])
        latent = torch.zeros(latent_shape(len(prompts), SIZE, SIZE, FRAMES))
        settings = SamplerSettings(seed=seed, steps=steps, cfg=cfg, shift=shift, sampler="uni_pc")
        out = generate_latent(dit, latent, context[:-1], context[-1:], settings)
        return to_images(vae.decode(out)).reshape(len(prompts), FRAMES, SIZE, SIZE, 3)


def prompt_accuracy(models, split: str, count: int, args) -> dict[str, float]:
    specs = sample_specs(count, seed=args.seed, split=split)
    hits = []
    for first in range(0, count, BATCH):
        batch = specs[first:first + BATCH]
        clips = generate(models, [caption(spec) for spec in batch], args.seed + first, args.steps, args.cfg, args.shift)
        hits += [attribute_hits(spec, analyse_clip(clip)) for spec, clip in zip(batch, clips)]
    return accuracy(hits)


def vae_round_trip(vae, count: int = 48) -> tuple[float, dict[str, float]]:
    """On held-out full-length clips: reconstruction PSNR (dB), and the analyser's accuracy on the
    reconstructions, which is the most any DiT can reach through this VAE."""
    dataset = ShapesClips(count, seed=12345, split="heldout", frames=FRAMES, size=SIZE, second_object_prob=0.2)
    errors, hits = [], []
    with torch.no_grad():
        for first in range(0, count, 16):
            indices = range(first, min(first + 16, count))
            clips = torch.stack([dataset[i][0] for i in indices])
            reconstruction = vae.decode(vae.encode(clips)).clamp(-1, 1)
            errors.append(((reconstruction - clips) / 2).pow(2).mean(dim=(1, 2, 3, 4)))
            frames = reconstruction.permute(0, 2, 3, 4, 1).add(1).div(2)
            hits += [attribute_hits(dataset.spec(i), analyse_clip(clip)) for i, clip in zip(indices, frames)]
    mse = torch.cat(errors)
    return (10 * torch.log10(1 / mse)).mean().item(), accuracy(hits)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=100)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--cfg", type=float, default=3.0)  # the shipped workflow's
    parser.add_argument("--shift", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    models = load_models()
    start = time.perf_counter()
    generate(models, ["a red circle moves left on a blue background"], args.seed, args.steps, args.cfg, args.shift)
    one_clip = time.perf_counter() - start
    table = {split: prompt_accuracy(models, split, args.prompts, args) for split in ("heldout", "train")}
    print(f"{args.prompts} prompts per split, seed {args.seed}, {args.steps} steps, cfg {args.cfg}, "
          f"shift {args.shift}, {torch.get_num_threads()} threads")
    psnr, table["VAE round trip (ceiling)"] = vae_round_trip(models[3])
    print("| prompts | background | object colour | shape | motion |\n|---|---|---|---|---|")
    for split, scores in table.items():
        print(f"| {split} | " + " | ".join(f"{100 * scores[k]:.0f} %" for k in
                                            ("background", "colour", "shape", "motion")) + " |")
    print(f"VAE reconstruction PSNR, held-out 17-frame clips: {psnr:.1f} dB")
    print(f"one 17-frame clip ({args.steps} steps, cfg {args.cfg}), text to frames: {one_clip:.2f} s")


if __name__ == "__main__":
    main()
