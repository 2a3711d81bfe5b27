"""Train the shapes world's DiT and umT5-layout text encoder jointly on encoded clips. Resumable.

    .host/venv/bin/python training/train_dit.py --minutes 45     # trains (or resumes), then exports both

Rectified flow (v = noise − x0) in the latent statistics of our VAE. Half the batches use one noise
level per clip; the other half use independent levels per latent frame (diffusion forcing), a
quarter of those with some frames clean (σ = 0), so that holding known frames — what Re-cut, Loop,
Blend and Storyboard do — is something the model has learned. 10 % of captions are dropped for
classifier-free guidance. An exponential moving average of the weights is what gets exported once it has run long enough.
Without a checkpoint in training/runs/dit/ the run continues from the shipped DiT and text encoder, in
the latent statistics they were trained in when the latents come from the same VAE encoder (the DiT
file records its `encoder_steps`), else in the new latents' statistics.
"""
import argparse
import copy

import torch

from build_tokenizer import tokenizer_bytes
from common import DEVICE, DIT, TEXT, Run, export, learning_rate, mixed_precision, shipped
from encode_latents import LATENTS
from padding_row import read_padding_as_one_row
from spacetime.engine.models.dit import DiTConfig, WanDiT
from spacetime.engine.models.latent_format import LatentFormat
from spacetime.engine.models.text_encoder import UMT5Config, UMT5Encoder
from spacetime.engine.models.tokenizer import UMT5Tokenizer
from spacetime.engine.sampling.schedule import shift_sigma

SHIFT = 3.0  # also the default the shipped workflow samples with
CAPTION_TOKENS = 32  # captions are short; padding rows are zero either way (see text_context)
CONTEXT_ROWS = 512
DROP_CAPTION = 0.1
EMA_DECAY = 0.999
EMA_WARMUP_STEPS = 5000  # 0.999^5000 < 1 %: by then the average has forgotten the initial weights
LR_WARMUP_STEPS = 200  # whenever the optimiser starts without state: Adam's first steps are full-size


def text_context(encoder, tokenizer, captions: list[str]) -> torch.Tensor:
    """[B, CAPTION_TOKENS + 1, d]: inference's 512 rows (masked padding gives the same rows at any padded
    length, zeros beyond) with the zero rows beyond CAPTION_TOKENS as one, see padding_row.py."""
    tokens, mask = tokenizer.encode(captions, length=CAPTION_TOKENS)
    tokens, mask = tokens.to(DEVICE), mask.to(DEVICE)
    hidden = encoder(tokens, mask).masked_fill(~mask.unsqueeze(-1), 0.0)
    return torch.nn.functional.pad(hidden, (0, 0, 0, 1))


def noise_levels(batch: int, frames: int, generator: torch.Generator) -> torch.Tensor:
    """σ per (clip, latent frame) [B, T]: uniform per clip, per frame, or per frame with clean frames."""
    u = torch.rand(batch, 1, generator=generator).expand(batch, frames).clone()
    per_frame = torch.rand(batch, generator=generator) < 0.5
    u[per_frame] = torch.rand(int(per_frame.sum()), frames, generator=generator)
    clean = per_frame & (torch.rand(batch, generator=generator) < 0.25)
    sigma = shift_sigma(u, SHIFT)
    sigma[clean] = sigma[clean] * (torch.rand(int(clean.sum()), frames, generator=generator) < 0.5)
    return sigma


def build(vocab: int, latent_format: LatentFormat):
    encoder = UMT5Encoder(UMT5Config(vocab_size=vocab, **TEXT))
    dit = WanDiT(DiTConfig(text_dim=TEXT["d_model"], **DIT), attention_backend="sdpa", latent_format=latent_format)
    torch.nn.init.zeros_(dit.head.head.weight)  # start as "predict zero velocity": a calm first step
    torch.nn.init.zeros_(dit.head.head.bias)
    return encoder, dit


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=45)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--anneal", action="store_true", help="decay --lr to zero over --minutes (cosine)")
    parser.add_argument("--from-scratch", action="store_true", help="without a checkpoint, ignore the shipped model")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    run = Run("dit")
    saved = run.load()
    start = None if saved or args.from_scratch else shipped_start()
    data = torch.load(LATENTS, weights_only=True)
    latents, captions = torch.cat(data["latents"]).float(), data["captions"]
    if saved:
        latent_format = LatentFormat(tuple(saved["latent_mean"]), tuple(saved["latent_std"]))
    elif start and start["encoder_steps"] in (None, data["vae_steps"]):
        latent_format = start["latent_format"]
    else:
        latent_format = LatentFormat(tuple(data["mean"]), tuple(data["std"]))
    z_all = latent_format.normalize(latents).to(DEVICE)
    spiece = tokenizer_bytes()
    tokenizer = UMT5Tokenizer.from_bytes(spiece)
    vocab = (tokenizer.vocab_size + 63) // 64 * 64  # padded like the real model's vocabulary
    encoder, dit = build(vocab, latent_format)
    models = torch.nn.ModuleDict({"encoder": encoder, "dit": dit}).to(DEVICE)
    step = ema_start = optimizer_start = 0
    if start:
        models["dit"].load_state_dict(start["dit"])
        models["encoder"].load_state_dict(start["encoder"])
        step = ema_start = optimizer_start = start["step"]
        print(f"started from the shipped DiT and text encoder ({step} steps)")
    ema = copy.deepcopy(models).requires_grad_(False)
    read_padding_as_one_row(dit, CONTEXT_ROWS - CAPTION_TOKENS)  # after the copy: the average only exports
    optimizer = torch.optim.AdamW(models.parameters(), lr=args.lr, weight_decay=0.01)
    generator = torch.Generator().manual_seed(args.seed + step)
    if saved:
        models.load_state_dict(saved["models"])
        ema.load_state_dict(saved["ema"])
        optimizer.load_state_dict(saved["optimizer"])
        generator.set_state(saved["generator"])
        step, ema_start, optimizer_start = saved["step"], saved["ema_start"], saved["optimizer_start"]
        print(f"resumed at step {step}")

    def checkpoint():
        run.save({"models": models.state_dict(), "ema": ema.state_dict(), "optimizer": optimizer.state_dict(),
                  "generator": generator.get_state(), "step": step, "ema_start": ema_start,
                  "optimizer_start": optimizer_start,
                  "latent_mean": list(latent_format.mean), "latent_std": list(latent_format.std)})

    models.train()
    while run.elapsed_minutes() < args.minutes:
        for group in optimizer.param_groups:
            warmup = min(1.0, (step - optimizer_start + 1) / LR_WARMUP_STEPS)
            group["lr"] = warmup * learning_rate(args.lr, run.elapsed_minutes() / args.minutes, args.anneal)
        index = torch.randint(len(captions), (args.batch,), generator=generator)
        z0 = z_all[index.to(DEVICE)]
        texts = ["" if torch.rand(1, generator=generator) < DROP_CAPTION else captions[i] for i in index.tolist()]
        sigma = noise_levels(args.batch, z0.shape[2], generator).to(DEVICE)
        noise = torch.randn(z0.shape, generator=generator).to(DEVICE)
        s = sigma[:, None, :, None, None]
        x = s * noise + (1 - s) * z0
        with mixed_precision():
            velocity = dit(x, sigma * 1000, text_context(encoder, tokenizer, texts))
        loss = (velocity.float() - (noise - z0)).pow(2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(models.parameters(), 1.0)
        optimizer.step()
        with torch.no_grad():
            for average, current in zip(ema.parameters(), models.parameters()):
                average.lerp_(current, 1 - EMA_DECAY)
        step += 1
        if step % 50 == 0:
            run.log(step=step, minutes=run.elapsed_minutes(), loss=loss.item())
        if step % 500 == 0:
            checkpoint()
    checkpoint()
    metadata = {"spacetime_model": "shapes_world", "per_frame_timesteps": "true", "trained_steps": str(step),
                "num_heads": str(DIT["num_heads"]),
                "encoder_steps": data["vae_steps"], **latent_format.metadata()}
    # An average over fewer steps than its horizon still holds much of its start: use it only after.
    final = ema if step - ema_start >= EMA_WARMUP_STEPS else models
    export("dit", {k: v.cpu() for k, v in final["dit"].state_dict().items()}, metadata)
    text_weights = {**{k: v.cpu() for k, v in final["encoder"].state_dict().items()}, "spiece_model": torch.frombuffer(bytearray(spiece), dtype=torch.uint8)}
    export("text_encoder", text_weights, {"spacetime_model": "shapes_world", "trained_steps": str(step)})
    print(f"exported after {step} steps")


def shipped_start() -> dict:
    """The shipped DiT and text encoder weights, their step count, and the latent format and VAE encoder
    (None: not recorded, taken to be the current one) they were trained in."""
    dit, metadata = shipped("dit")
    encoder, _ = shipped("text_encoder")
    encoder.pop("spiece_model")
    return {"dit": dit, "encoder": encoder, "step": int(metadata.get("trained_steps", 0)),
            "latent_format": LatentFormat.from_metadata(metadata), "encoder_steps": metadata.get("encoder_steps")}


if __name__ == "__main__":
    main()
