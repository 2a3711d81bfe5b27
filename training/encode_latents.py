"""Encode rendered training clips with the trained shapes-world VAE, for DiT training. Resumable.

    .host/venv/bin/python training/encode_latents.py --frames 17 --clips 3000 --change-prob 0.25
    .host/venv/bin/python training/encode_latents.py --frames 33 --clips 1500 --change-prob 0.25
    .host/venv/bin/python training/encode_latents.py --frames 1 --clips 2000

Writes training/runs/latents/latents_<frames>.pt: raw latents (LATENT's convention) as float16 and
what each clip shows as plain data (`segments`: per segment [background, [[shape, colour, motion],
...], first frame]), plus the per-channel mean and std. A second run with more --clips appends to it,
with its own options if they differ (`parts` records which clips each recipe made), e.g. changing
clips only: `--frames 17 --clips 3600 --change-prob 1`. Captions are not stored: training words every
clip anew each time it draws it. Latents of an earlier encoder (another `encoder_steps` in the VAE
file) are thrown away and encoding starts again.
"""
import argparse

import torch
from safetensors import safe_open

from common import DEVICE, FILES, RUNS, SIZE, mixed_precision, save_atomically
from spacetime.engine.models.checkpoint import load_vae
from spacetime.engine.shapes.dataset import SceneClips
from spacetime.engine.shapes.world import ClipSpec, ObjectSpec

BATCH = 16
LATENTS = RUNS / "latents"


def latents_path(frames: int):
    return LATENTS / f"latents_{frames}.pt"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=17)
    parser.add_argument("--clips", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=200)
    parser.add_argument("--second-object-prob", type=float, default=0.35)
    parser.add_argument("--change-prob", type=float, default=0.0, help="share of clips whose object changes")
    args = parser.parse_args()

    vae = load_vae(FILES["vae"], dtype=torch.float32).to(DEVICE)
    vae_steps = encoder_steps()
    dataset = SceneClips(args.clips, seed=args.seed + args.frames, frames=args.frames, size=SIZE,
                         second_object_prob=args.second_object_prob, change_prob=args.change_prob)
    path = latents_path(args.frames)
    done = torch.load(path, weights_only=True) if path.exists() else None
    if done is None or done.get("vae_steps") != vae_steps or done.get("frames") != args.frames:
        done = {"latents": [], "segments": [], "vae_steps": vae_steps, "frames": args.frames, "parts": []}
    path.parent.mkdir(parents=True, exist_ok=True)
    start = sum(len(chunk) for chunk in done["latents"])
    recipe = {"seed": args.seed, "second_object_prob": args.second_object_prob, "change_prob": args.change_prob}
    parts = done.setdefault("parts", [])
    if start < args.clips and (not parts or parts[-1]["recipe"] != recipe):
        # Clips from another recipe may follow: each clip carries what it shows, and parts say who made which.
        parts.append({"first": start, "recipe": recipe})
    with torch.no_grad():
        for first in range(start, args.clips, BATCH):
            items = [dataset[i] for i in range(first, min(first + BATCH, args.clips))]
            with mixed_precision():
                latents = vae.encode(torch.stack([clip for clip, _ in items]).to(DEVICE))
            done["latents"].append(latents.half().cpu())
            done["segments"] += [segments_data(segments) for _, segments in items]
            if len(done["latents"]) % 20 == 0 or first + BATCH >= args.clips:
                latents = torch.cat(done["latents"]).float()
                done["mean"] = latents.mean(dim=(0, 2, 3, 4)).tolist()
                done["std"] = latents.std(dim=(0, 2, 3, 4)).tolist()
                save_atomically(done, path)
                print(f"{len(done['segments'])} clips of {args.frames} frames encoded", flush=True)


def segments_data(segments) -> list:
    """Segments as lists of strings and ints (what torch.load(weights_only=True) reads back)."""
    return [[spec.background, [list(o.triple()) for o in spec.objects], start] for spec, start in segments]


def segments_from_data(data: list) -> tuple[tuple[ClipSpec, int], ...]:
    return tuple((ClipSpec(background, tuple(ObjectSpec(*o) for o in objects)), start)
                 for background, objects, start in data)


def encoder_steps() -> str:
    """The step the VAE's encoder last changed at (files before `--decoder-only` record only trained_steps)."""
    with safe_open(str(FILES["vae"]), framework="pt") as file:
        metadata = file.metadata() or {}
    return metadata.get("encoder_steps", metadata.get("trained_steps", "unknown"))


if __name__ == "__main__":
    main()
