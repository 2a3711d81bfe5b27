"""Train the shapes-world VAE: Wan 2.1's VAE layout at a small base width, on rendered clips. Resumable.

    .host/venv/bin/python training/train_vae.py --minutes 40        # trains (or resumes) to 40 minutes in all, and exports

Trains encode → decode through the same causal, chunked code that inference uses (frame 0 alone,
then 4-frame chunks), on `--short-frames` clips with every `--full-every`-th batch at `--full-frames`, so decoding
long clips is what is learned. Only the encoder mean is used (LATENT's convention); a small penalty
keeps latents near unit scale. Loss: squared error plus a little L1, with the pixels on and around the
objects weighted up (they are a few percent of a frame and all of what is hard). The export goes to
models/vae/. Without a checkpoint in training/runs/vae/ the run continues from the shipped VAE.

`--decoder-only` freezes the encoder: the latents, and so the DiT trained on them, stay valid while
the decoder learns to draw them better. The export records the step the encoder last changed at
(`encoder_steps`), which is what tells encode_latents.py whether its latents are still current.
"""
import argparse

import torch
import torch.nn.functional as F

from common import DEVICE, FRAMES, SIZE, VAE_DIM, Run, export, learning_rate, mixed_precision, psnr, shipped
from spacetime.engine.models.vae import WanVAE
from spacetime.engine.shapes.dataset import SceneClips

LATENT_PENALTY = 1e-3
OBJECT_WEIGHT = 4.0  # extra loss weight on pixels within 2 px of an object


def object_weights(clips: torch.Tensor, edge_weight: float = 0.0) -> torch.Tensor:
    """[B, 1, F, H, W] loss weights: 1 on the background, 1 + OBJECT_WEIGHT on and near the objects, and
    `edge_weight` more on their outlines (within 1 px of the object's edge).

    The background is flat and covers most of every clip, so its colour is the per-channel median.
    Outlines are where a shape is told from another: a decoder that blurs them rounds a diamond's
    corners, and the analyser (and a person) then sees a circle.
    """
    background = clips.flatten(2).median(dim=2).values[..., None, None, None]
    on_object = ((clips - background).abs().amax(dim=1, keepdim=True) > 0.1).float()
    near_object = F.max_pool3d(on_object, (1, 5, 5), stride=1, padding=(0, 2, 2))
    grown = F.max_pool3d(on_object, (1, 3, 3), stride=1, padding=(0, 1, 1))
    shrunk = -F.max_pool3d(-on_object, (1, 3, 3), stride=1, padding=(0, 1, 1))
    return 1 + OBJECT_WEIGHT * near_object + edge_weight * (grown - shrunk)


def batch_of(dataset: SceneClips, start: int, size: int, frames: int) -> torch.Tensor:
    return torch.stack([dataset[start + i][0][:, :frames] for i in range(size)])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=40)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--short-frames", type=int, default=9)
    parser.add_argument("--full-frames", type=int, default=FRAMES, help="the full length (33: long clips)")
    parser.add_argument("--full-every", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--anneal", action="store_true", help="decay --lr to zero over --minutes (cosine)")
    parser.add_argument("--decoder-only", action="store_true", help="freeze the encoder (keeps latents valid)")
    parser.add_argument("--from-scratch", action="store_true", help="without a checkpoint, ignore the shipped VAE")
    parser.add_argument("--edge-weight", type=float, default=0.0, help="extra loss weight on object outlines")
    parser.add_argument("--second-object-prob", type=float, default=0.2,
                        help="share of clips with two objects (drawn smaller: their corners are the hardest)")
    parser.add_argument("--change-prob", type=float, default=0.0,
                        help="share of clips whose object changes colour, shape or motion part-way (a storyboard's "
                             "cards): a decoder that never saw one smears a colour change into a wrong colour")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    run = Run("vae")
    model = WanVAE(dim=VAE_DIM).to(DEVICE)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    step = encoder_steps = 0
    saved = run.load()
    if saved:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        step = saved["step"]
        encoder_steps = saved.get("encoder_steps", step)
        torch.set_rng_state(saved["rng"])
        run.resume_clock(saved.get("minutes", 0.0))
        print(f"resumed at step {step}, {run.elapsed_minutes():.1f} minutes in")
    elif not args.from_scratch:
        weights, metadata = shipped("vae")
        model.load_state_dict(weights)
        step = int(metadata.get("trained_steps", 0))
        encoder_steps = int(metadata.get("encoder_steps", step))
        print(f"started from the shipped VAE ({step} steps)")
    encoder = [model.encoder, model.conv1]
    if args.decoder_only:
        # Frozen parameters get no gradient, and AdamW skips them: the optimiser state stays compatible.
        for part in encoder:
            part.requires_grad_(False)

    def checkpoint():
        run.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
                  "encoder_steps": encoder_steps, "rng": torch.get_rng_state(), "minutes": run.elapsed_minutes()})
    dataset = SceneClips(10**9, seed=args.seed + 1, frames=args.full_frames, size=SIZE,
                         second_object_prob=args.second_object_prob, change_prob=args.change_prob)
    model.train()
    while run.elapsed_minutes() < args.minutes:
        for group in optimizer.param_groups:  # set every step: a resumed optimiser would keep its old rate
            group["lr"] = learning_rate(args.lr, run.elapsed_minutes() / args.minutes, args.anneal)
        frames = args.full_frames if step % args.full_every == 0 else args.short_frames
        clips = batch_of(dataset, step * args.batch, args.batch, frames).to(DEVICE)
        with mixed_precision():
            with torch.set_grad_enabled(not args.decoder_only):
                mu = model.encode(clips)
            reconstruction = torch.cat(list(model.decode_frames(mu, clamp=False)), dim=2).float()
        # Squared error weighs the objects (a few pixels far off) more than L1, which settles for background.
        error = reconstruction - clips
        weights = object_weights(clips, args.edge_weight)
        loss = (weights * (error.pow(2) + 0.1 * error.abs())).mean() + LATENT_PENALTY * mu.pow(2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        step += 1
        if not args.decoder_only:
            encoder_steps = step
        if step % 25 == 0:
            run.log(step=step, minutes=run.elapsed_minutes(), frames=frames, loss=loss.item(),
                    psnr=psnr(reconstruction.detach(), clips), latent_rms=mu.pow(2).mean().sqrt().item())
        if step % 200 == 0:
            checkpoint()
    checkpoint()
    metadata = {"spacetime_model": "shapes_world", "trained_steps": str(step), "encoder_steps": str(encoder_steps)}
    path = export("vae", {k: v.cpu() for k, v in model.state_dict().items()}, metadata)
    print(f"exported {path} after {step} steps")


if __name__ == "__main__":
    main()
