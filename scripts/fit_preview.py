"""Fit the live preview's latent→RGB map of a model's VAE and store it in models/latent_preview.json.

    .host/venv/bin/python scripts/fit_preview.py                  # the shipped shapes-world model
    .host/venv/bin/python scripts/fit_preview.py --name "Wan 2.1" \\
        --vae ComfyUI/models/vae/wan_2.1_vae.safetensors --dit ComfyUI/models/diffusion_models/wan2.1_t2v_1.3B_bf16.safetensors

Shapes-world clips are encoded by the VAE and decoded again; the decoded frames, averaged onto the latent
grid (8×8 pixels, the 1 or 4 frames of each latent frame), are the targets of a least-squares fit of
16 weights per colour and a bias. The DiT file names the latent space (its latent mean and std), which
is how the Sampler finds the map. Held-out clips (another seed, the held-out split) give the per-channel
Pearson correlation of preview and decode, written beside the map with the false-colour projection's.
Other entries in the file are kept.
"""
import argparse
import json
import pathlib
import sys

import torch

from pack_import import import_pack

import_pack("spacetime")
from spacetime.engine.models.checkpoint import read_state_dict, load_vae  # noqa: E402
from spacetime.engine.models.latent_format import LatentFormat  # noqa: E402
from spacetime.engine.preview import (PREVIEW_MAPS, PreviewMap, channel_correlations,  # noqa: E402
                                      fit_preview_map, latents_and_colours, pca_rgb)
from spacetime.engine.shapes.dataset import ShapesClips  # noqa: E402

FIT_SEED, HELDOUT_SEED = 11, 12


def clips(count: int, seed: int, split: str, frames: int) -> torch.Tensor:
    data = ShapesClips(count, seed=seed, split=split, frames=frames)
    return torch.stack([data[i][0] for i in range(count)])


def pca_colours(latents: torch.Tensor) -> torch.Tensor:
    """The false-colour projection of every latent frame, [N, 3, T, h, w]."""
    return torch.stack([torch.stack([pca_rgb(clip[:, t]) for t in range(clip.shape[1])], dim=1) for clip in latents])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", default="shapes-world")
    parser.add_argument("--vae", default="models/vae/shapes_world_vae.safetensors")
    parser.add_argument("--dit", default="models/diffusion_models/shapes_world_t2v.safetensors",
                        help="a DiT trained on this VAE's latents: its latent mean/std name the latent space")
    parser.add_argument("--clips", type=int, default=48, help="clips to fit on (17 frames, 64×64)")
    parser.add_argument("--heldout-clips", type=int, default=16)
    args = parser.parse_args()
    torch.manual_seed(0)
    vae = load_vae(args.vae, torch.float32)
    latent_format = LatentFormat.from_metadata(read_state_dict(args.dit)[1])
    latents, colours = latents_and_colours(vae, clips(args.clips, FIT_SEED, "train", 17))
    fitted = fit_preview_map(latents, colours)
    weights = [[round(v, 5) for v in row] for row in fitted.weights.tolist()]
    bias = [round(v, 5) for v in fitted.bias.tolist()]
    rounded = PreviewMap(torch.tensor(weights), torch.tensor(bias))  # what the file will hold

    held_latents, held_colours = latents_and_colours(vae, clips(args.heldout_clips, HELDOUT_SEED, "heldout", 17))
    fitted_r = channel_correlations(torch.stack([rounded.rgb(clip) for clip in held_latents]), held_colours)
    pca_r = channel_correlations(pca_colours(held_latents), held_colours)
    entry = {
        "name": args.name, "vae": pathlib.Path(args.vae).name, "dit": pathlib.Path(args.dit).name,
        "fitted_on": f"{args.clips} shapes-world clips (seed {FIT_SEED}, train split), 17 frames of 64x64",
        "heldout_correlation": {
            "clips": f"{args.heldout_clips} (seed {HELDOUT_SEED}, heldout split)",
            "fitted_rgb": [round(r, 4) for r in fitted_r], "false_colour_rgb": [round(r, 4) for r in pca_r]},
        "latent_mean": list(latent_format.mean), "latent_std": list(latent_format.std),
        "weights": weights, "bias": bias,
    }
    document = json.loads(PREVIEW_MAPS.read_text()) if PREVIEW_MAPS.exists() else {"maps": []}
    document["maps"] = [m for m in document["maps"] if m["name"] != args.name] + [entry]
    PREVIEW_MAPS.write_text(json.dumps(document, indent=1) + "\n")
    print(f"{args.name}: held-out correlation per channel (R, G, B): fitted {entry['heldout_correlation']['fitted_rgb']}, "
          f"false colour {entry['heldout_correlation']['false_colour_rgb']}; wrote {PREVIEW_MAPS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
