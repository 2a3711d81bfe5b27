"""Encode rendered training clips with the trained shapes-world VAE, for DiT training. Resumable.

    .host/venv/bin/python training/encode_latents.py --clips 8000

Writes training/runs/latents/latents.pt: raw latents (LATENT's convention) as float16 and the
paraphrased captions, plus the per-channel mean and std the DiT will be trained in. Latents of an
earlier encoder (another `encoder_steps` in the VAE file) are thrown away and encoding starts again.
"""
import argparse

import torch
from safetensors import safe_open

from common import DEVICE, FILES, FRAMES, RUNS, SIZE, mixed_precision, save_atomically
from spacetime.engine.models.checkpoint import load_vae
from spacetime.engine.shapes.dataset import ShapesClips

BATCH = 16
LATENTS = RUNS / "latents" / "latents.pt"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=8000)
    parser.add_argument("--seed", type=int, default=100)
    args = parser.parse_args()

    vae = load_vae(FILES["vae"], dtype=torch.float32).to(DEVICE)
    vae_steps = encoder_steps()
    dataset = ShapesClips(args.clips, seed=args.seed, frames=FRAMES, size=SIZE)
    done = torch.load(LATENTS, weights_only=True) if LATENTS.exists() else None
    if done is None or done.get("vae_steps") != vae_steps:
        done = {"latents": [], "captions": [], "vae_steps": vae_steps}
    LATENTS.parent.mkdir(parents=True, exist_ok=True)
    start = sum(len(chunk) for chunk in done["latents"])
    with torch.no_grad():
        for first in range(start, args.clips, BATCH):
            items = [dataset[i] for i in range(first, min(first + BATCH, args.clips))]
            with mixed_precision():
                latents = vae.encode(torch.stack([clip for clip, _ in items]).to(DEVICE))
            done["latents"].append(latents.half().cpu())
            done["captions"] += [text for _, text in items]
            if len(done["latents"]) % 20 == 0 or first + BATCH >= args.clips:
                latents = torch.cat(done["latents"]).float()
                done["mean"] = latents.mean(dim=(0, 2, 3, 4)).tolist()
                done["std"] = latents.std(dim=(0, 2, 3, 4)).tolist()
                save_atomically(done, LATENTS)
                print(f"{len(done['captions'])} clips encoded", flush=True)


def encoder_steps() -> str:
    """The step the VAE's encoder last changed at (files before `--decoder-only` record only trained_steps)."""
    with safe_open(str(FILES["vae"]), framework="pt") as file:
        metadata = file.metadata() or {}
    return metadata.get("encoder_steps", metadata.get("trained_steps", "unknown"))


if __name__ == "__main__":
    main()
