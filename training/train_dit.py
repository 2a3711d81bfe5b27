"""Train the shapes world's DiT and umT5-layout text encoder jointly on encoded clips. Resumable.

    .host/venv/bin/python training/train_dit.py --minutes 45     # trains (or resumes) to 45 minutes in all, then exports both

Each step draws one kind of batch (KINDS): 1-, 17- or 33-frame clips, or clips whose object changes
part-way, trained with per-frame contexts (one caption per segment, each latent frame attending to its
own), so that Storyboard's cards are something the model has learned. Every clip is worded anew each
time it is drawn (`describe`): the second-generation grammar's train wordings, a fifth of single
clips in the first generation's paraphrases.

Rectified flow (v = noise − x0) in the latent statistics of our VAE. Half the clips use one noise
level; 30 % use independent levels per latent frame (diffusion forcing); 20 % have known frames held
clean (σ = 0) at the start, the end, both ends or inside, the rest at one level, so that holding known
frames as Re-cut, Loop, Blend and Storyboard do is something the model has learned. 10 % of captions are dropped for
classifier-free guidance. An exponential moving average of the weights is what gets exported once it has run long enough.
Without a checkpoint in training/runs/dit/ the run continues from the shipped DiT and text encoder, in
the latent statistics they were trained in when the latents come from the same VAE encoder (the DiT
file records its `encoder_steps`), else in the new latents' statistics. When this run's tokenizer is
not the shipped one, the text encoder's embedding is carried over piece by piece (`carry_embedding`).
"""
import argparse
import copy
import hashlib

import numpy as np
import torch

from build_tokenizer import tokenizer_bytes
from common import DEVICE, DIT, TEXT, Run, export, learning_rate, mixed_precision, shipped
from encode_latents import latents_path, segments_from_data
from padding_row import read_padding_as_one_row
from spacetime.engine.shapes.captions import caption
from spacetime.engine.shapes.wording import sample_wording, say
from spacetime.engine.models.dit import DiTConfig, WanDiT
from spacetime.engine.models.latent_format import LatentFormat
from spacetime.engine.models.text_encoder import UMT5Config, UMT5Encoder
from spacetime.engine.models.tokenizer import UMT5Tokenizer
from spacetime.engine.sampling.schedule import shift_sigma

SHIFT = 3.0  # also the default the shipped workflow samples with
CAPTION_TOKENS = 32  # captions are short; padding rows are zero either way (see text_context)
CONTEXT_ROWS = 512
DROP_CAPTION = 0.1
# Shares of clips by noise layout; the rest (half) have one level per clip. See noise_levels.
PER_FRAME_LEVELS, KNOWN_FRAMES = 0.3, 0.2
EMA_DECAY = 0.999
EMA_WARMUP_STEPS = 5000  # 0.999^5000 < 1 %: by then the average has forgotten the initial weights
LR_WARMUP_STEPS = 200  # whenever the optimiser starts without state: Adam's first steps are full-size
# (pixel frames, changing clips?) -> (share of steps, batch): 288-320 latent frames a batch, but 128 lone
# frames (image work needs few of them, and they are cheap). Changing clips take 40 % of the steps: at 25 %
# the storyboard's second card was followed in under half of the cases.
KINDS = {(17, False): (0.33, 64), (33, False): (0.20, 32), (1, False): (0.07, 128),
         (17, True): (0.25, 64), (33, True): (0.15, 32)}
FIRST_GRAMMAR = 0.2  # share of single-segment clips said in the first generation's paraphrases


def text_context(encoder, tokenizer, captions: list[str]) -> torch.Tensor:
    """[B, CAPTION_TOKENS + 1, d]: inference's 512 rows (masked padding gives the same rows at any padded
    length, zeros beyond) with the zero rows beyond CAPTION_TOKENS as one, see padding_row.py."""
    tokens, mask = tokenizer.encode(captions, length=CAPTION_TOKENS)
    tokens, mask = tokens.to(DEVICE), mask.to(DEVICE)
    hidden = encoder(tokens, mask).masked_fill(~mask.unsqueeze(-1), 0.0)
    return torch.nn.functional.pad(hidden, (0, 0, 0, 1))


def describe(segments, rng: np.random.Generator) -> list[str]:
    """One caption per segment, in one wording drawn anew."""
    if len(segments) == 1 and rng.random() < FIRST_GRAMMAR:
        return [caption(segments[0][0], rng)]
    wording = sample_wording(rng, "train")
    return [say(spec, wording) for spec, _ in segments]


def segment_weights(segments, latent_frames: int) -> torch.Tensor:
    """[T, K] one-hot: the segment each latent frame shows (a segment starts at pixel frame 1 + 4k)."""
    weights = torch.zeros(latent_frames, len(segments))
    for k, (_, start) in enumerate(segments):
        weights[(start + 3) // 4:, :] = 0
        weights[(start + 3) // 4:, k] = 1
    return weights


def noise_levels(batch: int, frames: int, generator: torch.Generator) -> torch.Tensor:
    """σ per (clip, latent frame) [B, T]: one level per clip (half the clips), independent levels per frame
    (diffusion forcing, 30 %), or known frames as the editing features hold them (20 %, `known_frames`):
    σ = 0 there and one shared level on the rest, as the sampler runs an extension, a loop or a keyframe."""
    u = torch.rand(batch, 1, generator=generator).expand(batch, frames).clone()
    layout = torch.rand(batch, generator=generator)
    known = layout >= 1 - KNOWN_FRAMES
    per_frame = (layout >= 1 - KNOWN_FRAMES - PER_FRAME_LEVELS) & ~known
    u[per_frame] = torch.rand(int(per_frame.sum()), frames, generator=generator)
    sigma = shift_sigma(u, SHIFT)
    if frames > 1:
        for row in torch.nonzero(known).flatten().tolist():
            sigma[row, known_frames(frames, generator)] = 0.0
    return sigma


def known_frames(frames: int, generator: torch.Generator) -> torch.Tensor:
    """[T] bool: 1..T-1 clean latent frames at the start (extend forward, image to video), the end (extend
    backward), both ends (loop, blend transition) or a block inside (a keyframe), drawn evenly."""
    count = 1 + int(torch.randint(frames - 1, (1,), generator=generator))
    where = int(torch.randint(4, (1,), generator=generator))
    known = torch.zeros(frames, dtype=torch.bool)
    if where == 0:
        known[:count] = True
    elif where == 1:
        known[frames - count:] = True
    elif where == 2:
        known[:(count + 1) // 2] = True
        known[frames - count // 2:] = True
    else:
        first = int(torch.randint(frames - count + 1, (1,), generator=generator))
        known[first:first + count] = True
    return known


def flow_loss(velocity: torch.Tensor, target: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Mean squared velocity error over the latent frames that carry noise: a clean frame's target
    (noise − x0) holds noise its input never saw, so it would only add noise to the gradient."""
    noisy = (sigma > 0)[:, None, :, None, None].expand_as(target)
    return (velocity.float() - target).pow(2)[noisy].mean()


def build(vocab: int, latent_format: LatentFormat):
    encoder = UMT5Encoder(UMT5Config(vocab_size=vocab, **TEXT))
    dit = WanDiT(DiTConfig(text_dim=TEXT["d_model"], **DIT), attention_backend="sdpa", latent_format=latent_format)
    torch.nn.init.zeros_(dit.head.head.weight)  # start as "predict zero velocity": a calm first step
    torch.nn.init.zeros_(dit.head.head.bias)
    return encoder, dit


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=45)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--anneal", action="store_true", help="decay --lr to zero over --minutes (cosine)")
    parser.add_argument("--from-scratch", action="store_true", help="without a checkpoint, ignore the shipped model")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    run = Run("dit")
    saved = run.load()
    start = None if saved or args.from_scratch else shipped_start()
    data = {frames: read_latents(frames) for frames in {f for f, _ in KINDS}}
    vae_steps = {d["vae_steps"] for d in data.values()}
    if len(vae_steps) != 1:
        raise SystemExit(f"the latent files come from different VAE encoders ({vae_steps}): encode them again")
    vae_steps = vae_steps.pop()
    if saved:
        latent_format = LatentFormat(tuple(saved["latent_mean"]), tuple(saved["latent_std"]))
    elif start and start["encoder_steps"] in (None, vae_steps):
        latent_format = start["latent_format"]
    else:
        latent_format = LatentFormat(tuple(data[17]["mean"]), tuple(data[17]["std"]))
    pools = latent_pools(data, latent_format)
    spiece = tokenizer_bytes()
    tokenizer = UMT5Tokenizer.from_bytes(spiece)
    vocab = (tokenizer.vocab_size + 63) // 64 * 64  # padded like the real model's vocabulary
    encoder, dit = build(vocab, latent_format)
    models = torch.nn.ModuleDict({"encoder": encoder, "dit": dit}).to(DEVICE)
    step = ema_start = optimizer_start = 0
    if start:
        if start["spiece"] != spiece:
            start["encoder"]["shared.weight"] = carry_embedding(start["encoder"]["shared.weight"], start["spiece"],
                                                                tokenizer, vocab)
        models["dit"].load_state_dict(start["dit"])
        models["encoder"].load_state_dict(start["encoder"])
        step = ema_start = optimizer_start = start["step"]
        print(f"started from the shipped DiT and text encoder ({step} steps)")
    ema = copy.deepcopy(models).requires_grad_(False)
    read_padding_as_one_row(dit, CONTEXT_ROWS - CAPTION_TOKENS)  # after the copy: the average only exports
    optimizer = torch.optim.AdamW(models.parameters(), lr=args.lr, weight_decay=0.01)
    generator = torch.Generator().manual_seed(args.seed + step)
    if saved:
        refuse_other_inputs(saved, run, spiece, vae_steps)
        models.load_state_dict(saved["models"])
        ema.load_state_dict(saved["ema"])
        optimizer.load_state_dict(saved["optimizer"])
        generator.set_state(saved["generator"])
        step, ema_start, optimizer_start = saved["step"], saved["ema_start"], saved["optimizer_start"]
        run.resume_clock(saved.get("minutes", 0.0))
        print(f"resumed at step {step}, {run.elapsed_minutes():.1f} minutes in")

    def checkpoint():
        run.save({"models": models.state_dict(), "ema": ema.state_dict(), "optimizer": optimizer.state_dict(),
                  "generator": generator.get_state(), "step": step, "ema_start": ema_start,
                  "optimizer_start": optimizer_start, "minutes": run.elapsed_minutes(),
                  "tokenizer_sha256": hashlib.sha256(spiece).hexdigest(), "vae_steps": vae_steps,
                  "latent_mean": list(latent_format.mean), "latent_std": list(latent_format.std)})

    kinds = list(KINDS)
    shares = torch.tensor([KINDS[kind][0] for kind in kinds])
    models.train()
    while run.elapsed_minutes() < args.minutes:
        for group in optimizer.param_groups:
            warmup = min(1.0, (step - optimizer_start + 1) / LR_WARMUP_STEPS)
            group["lr"] = warmup * learning_rate(args.lr, run.elapsed_minutes() / args.minutes, args.anneal)
        kind = kinds[int(torch.multinomial(shares, 1, generator=generator))]
        z0, segments = pools[kind].draw(KINDS[kind][1], generator)
        rng = np.random.default_rng(int(torch.randint(2**31, (1,), generator=generator)))
        texts = [[""] * len(s) if rng.random() < DROP_CAPTION else describe(s, rng) for s in segments]
        sigma = noise_levels(len(segments), z0.shape[2], generator).to(DEVICE)
        noise = torch.randn(z0.shape, generator=generator).to(DEVICE)
        s = sigma[:, None, :, None, None]
        x = s * noise + (1 - s) * z0
        with mixed_precision():
            if kind[1]:  # per-frame contexts: [B, K, L, D] and each latent frame's one-hot weights [B, T, K]
                context = torch.stack([text_context(encoder, tokenizer, t) for t in zip(*texts)], dim=1)
                weights = torch.stack([segment_weights(segs, z0.shape[2]) for segs in segments]).to(DEVICE)
                velocity = dit(x, sigma * 1000, context, context_weights=weights)
            else:
                velocity = dit(x, sigma * 1000, text_context(encoder, tokenizer, [t for t, in texts]))
        loss = flow_loss(velocity, noise - z0, sigma)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(models.parameters(), 1.0)
        optimizer.step()
        with torch.no_grad():
            for average, current in zip(ema.parameters(), models.parameters()):
                average.lerp_(current, 1 - EMA_DECAY)
        step += 1
        if step % 50 == 0:
            run.log(step=step, minutes=run.elapsed_minutes(), loss=loss.item(), kind=f"{kind[0]}{'c' * kind[1]}")
        if step % 250 == 0:
            checkpoint()
    checkpoint()
    metadata = {"spacetime_model": "shapes_world", "per_frame_timesteps": "true", "trained_steps": str(step),
                "num_heads": str(DIT["num_heads"]),
                "encoder_steps": vae_steps, **latent_format.metadata()}
    # An average over fewer steps than its horizon still holds much of its start: use it only after.
    final = ema if step - ema_start >= EMA_WARMUP_STEPS else models
    export("dit", {k: v.cpu() for k, v in final["dit"].state_dict().items()}, metadata)
    text_weights = {**{k: v.cpu() for k, v in final["encoder"].state_dict().items()}, "spiece_model": torch.frombuffer(bytearray(spiece), dtype=torch.uint8)}
    export("text_encoder", text_weights, {"spacetime_model": "shapes_world", "trained_steps": str(step)})
    print(f"exported after {step} steps")


def refuse_other_inputs(saved: dict, run: Run, spiece: bytes, vae_steps: str) -> None:
    """A checkpoint resumes only with the tokenizer and the VAE encoder's latents it was trained on."""
    was = saved.get("tokenizer_sha256"), saved.get("vae_steps")
    now = hashlib.sha256(spiece).hexdigest(), vae_steps
    for what, before, current in zip(("tokenizer", "VAE encoder (encoder_steps)"), was, now):
        if before is not None and before != current:
            raise SystemExit(f"{run.checkpoint} was trained with another {what} ({before[:16]} against now "
                             f"{current[:16]}): move the checkpoint away to start from the shipped model, or put "
                             f"back what it was trained with.")


def read_latents(frames: int) -> dict:
    path = latents_path(frames)
    if not path.exists():
        raise SystemExit(f"no latents of {frames}-frame clips at {path}: run encode_latents.py --frames {frames} first")
    return torch.load(path, weights_only=True)


class LatentPool:
    """The normalised latents of one kind of clip, and what each shows; draws random batches."""

    def __init__(self, latents: torch.Tensor, segments: list):
        self.latents, self.segments = latents, segments

    def draw(self, batch: int, generator: torch.Generator):
        index = torch.randint(len(self.segments), (batch,), generator=generator)
        return self.latents[index.to(self.latents.device)], [self.segments[i] for i in index.tolist()]


def latent_pools(data: dict, latent_format: LatentFormat) -> dict:
    """One pool per KINDS entry: a frame count's clips with one segment, or with a change."""
    pools = {}
    normalised = {frames: latent_format.normalize(torch.cat(d["latents"]).float()) for frames, d in data.items()}
    for frames, changes in KINDS:
        latents = normalised[frames]
        segments = [segments_from_data(s) for s in data[frames]["segments"]]
        keep = [i for i, s in enumerate(segments) if (len(s) > 1) == changes]
        if not keep:
            raise SystemExit(f"no {'changing ' * changes}clips of {frames} frames: encode them "
                             f"(encode_latents.py --frames {frames}{' --change-prob 0.25' * changes})")
        pools[frames, changes] = LatentPool(latents[keep].to(DEVICE), [segments[i] for i in keep])
    return pools


def carry_embedding(old: torch.Tensor, old_spiece: bytes, tokenizer: UMT5Tokenizer, vocab: int) -> torch.Tensor:
    """An embedding [vocab, d] for a new tokenizer from one trained with another: each new piece starts
    as the mean of the old rows its text tokenised into, so words both know keep what they meant."""
    old_tokenizer = UMT5Tokenizer.from_bytes(old_spiece)
    new = old.new_zeros(vocab, old.shape[1])
    new[:3] = old[:3]  # padding, end and unknown keep their ids
    for piece_id in range(3, tokenizer.vocab_size):
        text = tokenizer.processor.id_to_piece(piece_id).replace("\u2581", " ")
        ids = [i for i in old_tokenizer.processor.encode(text) if i < old.shape[0]] or [2]
        new[piece_id] = old[ids].mean(dim=0)
    return new


def shipped_start() -> dict:
    """The shipped DiT and text encoder weights, the encoder's tokenizer, their step count, and the latent
    format and VAE encoder (None: not recorded, taken to be the current one) they were trained in."""
    dit, metadata = shipped("dit")
    encoder, _ = shipped("text_encoder")
    spiece = encoder.pop("spiece_model").numpy().tobytes()
    return {"dit": dit, "encoder": encoder, "spiece": spiece, "step": int(metadata.get("trained_steps", 0)),
            "latent_format": LatentFormat.from_metadata(metadata), "encoder_steps": metadata.get("encoder_steps")}


if __name__ == "__main__":
    main()
