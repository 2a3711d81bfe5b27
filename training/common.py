"""What the shapes-world training scripts share: the model sizes, resumable runs, logging, export."""
import json
import math
import os
import pathlib
import sys
import time

import torch

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
from pack_import import import_pack  # noqa: E402

import_pack("spacetime")

RUNS = REPO / "training" / "runs"
SHIPPED = REPO / "models"
FILES = {
    "vae": SHIPPED / "vae" / "shapes_world_vae.safetensors",
    "dit": SHIPPED / "diffusion_models" / "shapes_world_t2v.safetensors",
    "text_encoder": SHIPPED / "text_encoders" / "shapes_world_umt5.safetensors",
}

# The shapes world's clips and the model sizes (chosen to train on 2 CPU cores in hours).
FRAMES, SIZE = 17, 64  # the shipped workflow shows them at 8 fps
VAE_DIM = 12
DIT = dict(dim=128, ffn_dim=384, num_layers=4, num_heads=2, in_dim=16, out_dim=16, freq_dim=256)
TEXT = dict(d_model=128, num_heads=2, d_kv=32, d_ff=256, num_layers=2)


DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")


def mixed_precision():
    """bf16 autocast for training forwards where bf16 is fast: GPUs, and CPUs with AMX or AVX-512 BF16
    (1.4× faster VAE steps on one). Elsewhere bf16 is emulated and far slower (an AVX2-only EPYC took 50 s
    for a VAE encode that float32 does in 1 s): float32 there.

    Weights, optimiser state and losses stay float32.
    """
    return torch.autocast(DEVICE.type, dtype=torch.bfloat16, enabled=DEVICE.type == "cuda" or _cpu_has_bf16())


def _cpu_has_bf16() -> bool:
    try:
        cpu = pathlib.Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux: assume the slow case
        return False
    return "amx_bf16" in cpu or "avx512_bf16" in cpu


def shipped(kind: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The shipped file's weights (copied out of the mapping, since training overwrites the file) and metadata.

    Runs start from them when their checkpoint is gone: training/runs/ is not in git, the models are.
    """
    from spacetime.engine.models.checkpoint import read_state_dict

    weights, metadata = read_state_dict(FILES[kind])
    return {key: value.clone() for key, value in weights.items()}, metadata


def write_atomically(path: pathlib.Path, write) -> None:
    """write(temporary path), then rename: an interrupted save never destroys the previous file, and a
    process that has the old file memory-mapped keeps reading the old pages."""
    temporary = path.with_suffix(".tmp")
    write(temporary)
    os.replace(temporary, path)


def save_atomically(state, path: pathlib.Path) -> None:
    write_atomically(path, lambda temporary: torch.save(state, temporary))


class Run:
    """A training run folder: a resumable checkpoint and a tab-separated log."""

    def __init__(self, name: str):
        self.folder = RUNS / name
        self.folder.mkdir(parents=True, exist_ok=True)
        self.checkpoint = self.folder / "checkpoint.pt"
        self.log_path = self.folder / "log.tsv"
        self.started = time.monotonic()

    def load(self) -> dict | None:
        if not self.checkpoint.exists():
            return None
        return torch.load(self.checkpoint, map_location="cpu", weights_only=True)

    def save(self, state: dict) -> None:
        save_atomically(state, self.checkpoint)

    def log(self, **values) -> None:
        new = not self.log_path.exists()
        with open(self.log_path, "a") as log:
            if new:
                log.write("\t".join(values) + "\n")
            log.write("\t".join(f"{v:.6g}" if isinstance(v, float) else str(v) for v in values.values()) + "\n")
        print("  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items()), flush=True)

    def elapsed_minutes(self) -> float:
        """Minutes trained, over every process of the run (see `resume_clock`)."""
        return (time.monotonic() - self.started) / 60

    def resume_clock(self, minutes: float) -> None:
        """Count `minutes` already trained by earlier processes, so that --minutes and an annealed
        learning rate span the whole run, not each restart."""
        self.started -= minutes * 60


def export(kind: str, weights: dict, metadata: dict) -> pathlib.Path:
    """Write a shipped model file (safetensors, with our metadata as strings), atomically."""
    from safetensors.torch import save_file

    path = FILES[kind]
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {key: value if isinstance(value, str) else json.dumps(value) for key, value in metadata.items()}
    tensors = {k: v.contiguous() for k, v in weights.items()}
    write_atomically(path, lambda temporary: save_file(tensors, str(temporary), metadata=meta))
    return path


def learning_rate(base: float, done: float, anneal: bool) -> float:
    """The step's learning rate when `done` (0..1) of the run's time is spent: base, or with anneal a
    cosine from base down to zero at the run's end.

    Late in training a constant rate keeps the weights hopping around a minimum; decaying it lets a
    run's last steps settle (the VAE decoder sat at ~27.5 dB training PSNR for 1,500 steps at a
    constant 5e-4, and climbed to ~30 dB annealed from 3e-4).
    """
    if not anneal:
        return base
    return base * 0.5 * (1 + math.cos(math.pi * min(1.0, done)))


def psnr(reconstruction: torch.Tensor, target: torch.Tensor) -> float:
    """PSNR in dB of videos in [-1, 1] (computed on 0..1)."""
    mse = ((reconstruction.clamp(-1, 1) - target) / 2).pow(2).mean().item()
    return 10 * torch.log10(torch.tensor(1.0 / max(mse, 1e-12))).item()
