"""Wan 2.1 text-to-video diffusion transformer (DiT).

Parameter names follow Wan's checkpoints, so a file's state dict (with any `model.diffusion_model.`
prefix stripped) loads with `strict=True`. The model predicts the flow velocity v = noise - x0.

Precision: the large matrices (attention, FFN, text embedding) compute in their weights' dtype
(bf16/fp16/fp32). The residual stream, timestep embedding, modulation, norms, patch embedding and
output head stay in float32, as Wan's reference runs them; `storage_dtype` says which weights a
loader should keep in float32.
"""
import math
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...kernels import RopeGrid, attention
from ..video_shape import LATENT_CHANNELS
from .fp8_linear import compute_dtype, weight_in
from .latent_format import WAN21, LatentFormat

HEAD_DIM = 128  # every released Wan 2.1 DiT; ComfyUI derives heads = dim // 128
PATCH = (1, 2, 2)  # (t, h, w)
EPS = 1e-6

# Weights of these modules are small and numerically sensitive: keep them in float32.
_FP32_PREFIXES = ("patch_embedding.", "time_embedding.", "time_projection.", "head.")
_FP32_NAMES = ("modulation", "norm_q", "norm_k", "norm3")

MAX_LAYERS = 64
# The weights the configuration is read from, and how many dimensions each has in every Wan 2.1 DiT.
_REQUIRED_NDIM = {"head.modulation": 3, "head.head.weight": 2, "blocks.0.ffn.0.weight": 2, "patch_embedding.weight": 5,
                  "text_embedding.0.weight": 2, "time_embedding.0.weight": 2}

# Keys that mark Wan variants this T2V model does not implement.
_VARIANT_MARKERS = {
    "img_emb.emb_pos": "first-last-frame-to-video (FLF2V)",
    "img_emb.proj.0.bias": "image-to-video (I2V)",
    "vace_patch_embedding.weight": "VACE",
    "control_adapter.conv.weight": "camera-control",
}


@dataclass
class DiTConfig:
    dim: int = 1536
    ffn_dim: int = 8960
    num_layers: int = 30
    in_dim: int = 16
    out_dim: int = 16
    text_dim: int = 4096
    freq_dim: int = 256
    num_heads: int | None = None  # None: dim // 128, as for every released checkpoint

    def __post_init__(self):
        if self.num_heads is None:
            self.num_heads = self.dim // HEAD_DIM
        if self.num_heads < 1 or self.dim % self.num_heads or (self.dim // self.num_heads) % 2:
            raise ValueError(
                f"A DiT with dim {self.dim} cannot be split into {self.num_heads} attention heads: dim must "
                f"be a multiple of the head count and the head size even (released models use dim = heads x "
                f"{HEAD_DIM}). Give num_heads explicitly (e.g. in the file's metadata) for a small model."
            )

    @property
    def head_dim(self) -> int:
        return self.dim // self.num_heads

    @classmethod
    def from_state_dict(cls, sd: dict, metadata: dict | None = None) -> "DiTConfig":
        """Detect the configuration from a T2V state dict (keys without prefix).

        Head count is dim // 128 unless the file's metadata holds `num_heads` (tiny test models).
        """
        for key, variant in _VARIANT_MARKERS.items():
            if key in sd:
                raise ValueError(
                    f"This is a Wan {variant} model (it has `{key}`); Spacetime's DiT runs the text-to-video "
                    "(T2V) models, e.g. wan2.1_t2v_1.3B_bf16.safetensors or the 14B T2V model."
                )
        missing = [key for key in _REQUIRED_NDIM if key not in sd]
        if missing:
            raise ValueError(f"Not a Wan 2.1 DiT state dict: it lacks {missing}.")
        for key, ndim in _REQUIRED_NDIM.items():
            if sd[key].ndim != ndim:
                raise ValueError(f"`{key}` has shape {tuple(sd[key].shape)}; a Wan 2.1 DiT's is {ndim}-D.")
        in_dim, out_dim = sd["patch_embedding.weight"].shape[1], sd["head.head.weight"].shape[0] // math.prod(PATCH)
        if (in_dim, out_dim) != (LATENT_CHANNELS, LATENT_CHANNELS):  # variants without a marker key
            raise ValueError(
                f"This model takes {in_dim} latent channels and gives {out_dim}; Wan 2.1 text-to-video "
                f"models take and give {LATENT_CHANNELS} (36 in: an image-to-video model such as Wan 2.2 I2V or "
                "Fun-InP; 48: Wan 2.2 TI2V-5B). Use a Wan 2.1 T2V model, e.g. wan2.1_t2v_1.3B_bf16.safetensors.")
        heads = (metadata or {}).get("num_heads")
        return cls(
            dim=sd["head.modulation"].shape[-1],
            ffn_dim=sd["blocks.0.ffn.0.weight"].shape[0],
            num_layers=block_count(sd),
            in_dim=in_dim,
            out_dim=out_dim,
            text_dim=sd["text_embedding.0.weight"].shape[1],
            freq_dim=sd["time_embedding.0.weight"].shape[1],
            num_heads=None if heads is None else int(heads),
        )


def block_count(sd: dict) -> int:
    """How many transformer blocks the keys name, checked before anything is built: numbered 0 to N-1 and
    at most MAX_LAYERS (a header naming thousands would otherwise build them all first)."""
    names = {key.split(".")[1] for key in sd if key.startswith("blocks.")}
    if not all(name.isascii() and name.isdigit() for name in names) or \
            sorted(map(int, names)) != list(range(len(names))):
        raise ValueError("its blocks are not numbered 0 to N-1 (`blocks.0.`, `blocks.1.`, ...).")
    if len(names) > MAX_LAYERS:
        raise ValueError(f"it names {len(names):,} blocks; Wan 2.1 DiTs have 30 (1.3B) or 40 (14B), and "
                         f"Spacetime builds at most {MAX_LAYERS}.")
    return len(names)


def storage_dtype(name: str, compute_dtype: torch.dtype) -> torch.dtype:
    """The dtype a loader should give parameter `name`: float32 for the small sensitive ones."""
    if name.startswith(_FP32_PREFIXES) or any(part in _FP32_NAMES for part in name.split(".")):
        return torch.float32
    return compute_dtype


def timestep_sinusoid(t: torch.Tensor, size: int) -> torch.Tensor:
    """[cos(t w), sin(t w)] with w_i = 10000^(-i / (size/2)), cos first.

    Computed in float64 as Wan's reference does: t w reaches 1000, where float32 angles are off by ~6e-5.
    """
    half = size // 2
    freqs = 10000.0 ** (-torch.arange(half, dtype=torch.float64) / half)
    angles = torch.outer(t.cpu().double(), freqs)  # on the CPU: some devices (MPS) have no float64
    return torch.cat([angles.cos(), angles.sin()], dim=1).float().to(t.device)


class RMSNorm(nn.Module):
    """RMS norm over the full model dim (not per head), computed in float32."""

    def __init__(self, dim: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        wide = x.float()
        normed = wide * torch.rsqrt(wide.pow(2).mean(-1, keepdim=True) + EPS)
        return (normed * self.weight.float()).to(x.dtype)


class Float32LayerNorm(nn.LayerNorm):
    """Affine LayerNorm computed in float32 whatever the weights' dtype."""

    def forward(self, x):
        return F.layer_norm(x.float(), self.normalized_shape, self.weight.float(), self.bias.float(), self.eps)


def _plain_norm(x):
    return F.layer_norm(x.float(), (x.shape[-1],), eps=EPS)


def _per_frame(x, scale, shift=None):
    """x [B, N, D] * scale (+ shift), where scale/shift [B, G, D] hold one row per group of N/G tokens.

    G is 1 for a uniform timestep, or the number of latent frames for per-frame timesteps (tokens are
    frame-major, so each frame's tokens are one contiguous group).
    """
    grouped = x.unflatten(1, (scale.shape[1], -1)) * scale.unsqueeze(2)
    if shift is not None:
        grouped = grouped + shift.unsqueeze(2)
    return grouped.flatten(1, 2)


class Attention(nn.Module):
    """Multi-head attention with RMS-normalised q and k; self-attention when no context is given."""

    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.q, self.k, self.v, self.o = (nn.Linear(dim, dim) for _ in range(4))
        self.norm_q, self.norm_k = RMSNorm(dim), RMSNorm(dim)

    def forward(self, x, context=None, rope: RopeGrid | None = None, backend: str = "auto", attend=attention):
        """`attend`: the attention function (a sequence-parallel shard's self-attention, or the pack's)."""
        dtype = compute_dtype(self.q)
        x = x.to(dtype)
        context = x if context is None else context.to(dtype)
        q = self._heads(self.norm_q(self.q(x)))
        k = self._heads(self.norm_k(self.k(context)))
        v = self._heads(self.v(context))
        out = attend(q, k, v, rope=rope, backend=backend, caller="spacetime-dit")
        return self.o(out.flatten(2))

    def _heads(self, x):
        return x.unflatten(2, (self.num_heads, -1))


class Block(nn.Module):
    def __init__(self, config: DiTConfig):
        super().__init__()
        dim = config.dim
        self.modulation = nn.Parameter(torch.zeros(1, 6, dim))
        self.self_attn = Attention(dim, config.num_heads)
        self.norm3 = Float32LayerNorm(dim, eps=EPS)
        self.cross_attn = Attention(dim, config.num_heads)
        self.ffn = nn.Sequential(nn.Linear(dim, config.ffn_dim), nn.GELU(approximate="tanh"),
                                 nn.Linear(config.ffn_dim, dim))

    def forward(self, x, e0, context, grid: RopeGrid, backend: str, context_weights=None, self_attend=attention):
        """x [B, N, D] float32 residual stream; e0 [B, G, 6, D] float32; context [B, L, D], or [B, K, L, D]
        with context_weights [B, T, K] (per-frame prompts). Under sequence parallelism N is this rank's
        tokens, G and T are 1 or N, and `self_attend` is its shard's self-attention."""
        shift1, scale1, gate1, shift2, scale2, gate2 = (self.modulation.float().unsqueeze(0) + e0).unbind(2)
        attn_in = _per_frame(_plain_norm(x), 1 + scale1, shift1)
        x = x + _per_frame(self.self_attn(attn_in, rope=grid, backend=backend, attend=self_attend).float(), gate1)
        x = x + self._cross_attention(self.norm3(x), context, backend, context_weights)
        ffn_in = _per_frame(_plain_norm(x), 1 + scale2, shift2)
        return x + _per_frame(self.ffn(ffn_in.to(compute_dtype(self.ffn[0]))).float(), gate2)

    def _cross_attention(self, x, context, backend, context_weights):
        """Attend to one prompt; or to each of K prompts, mixing the K results per frame by its weights."""
        if context_weights is None:
            return self.cross_attn(x, context, backend=backend).float()
        mixed = 0
        for k in range(context.shape[1]):
            out = self.cross_attn(x, context[:, k], backend=backend).float()
            mixed = mixed + _per_frame(out, context_weights[:, :, k:k + 1].float())
        return mixed


class Head(nn.Module):
    def __init__(self, config: DiTConfig):
        super().__init__()
        self.head = nn.Linear(config.dim, config.out_dim * math.prod(PATCH))
        self.modulation = nn.Parameter(torch.zeros(1, 2, config.dim))

    def forward(self, x, e):
        """x [B, N, D], e [B, G, D] (the time embedding, not e0) -> [B, N, out_dim * patch volume]."""
        shift, scale = (self.modulation.float().unsqueeze(0) + e.unsqueeze(2)).unbind(2)
        out_in = _per_frame(_plain_norm(x), 1 + scale, shift)
        return self.head(out_in.to(compute_dtype(self.head))).float()


class WanDiT(nn.Module):
    """Wan 2.1 T2V DiT: forward(x [B, C, T, H, W], timestep, context [B, L, text_dim]) -> v."""

    def __init__(self, config: DiTConfig, attention_backend: str = "auto", latent_format: LatentFormat = WAN21):
        super().__init__()
        self.config = config
        self.attention_backend = attention_backend
        self.latent_format = latent_format  # the latent statistics this model was trained in
        self.per_frame_timesteps = False  # trained to see clean known frames at timestep 0 (diffusion forcing)
        self.parallel_context = None  # set by `parallel`
        dim = config.dim
        self.patch_embedding = nn.Conv3d(config.in_dim, dim, kernel_size=PATCH, stride=PATCH)
        self.text_embedding = nn.Sequential(nn.Linear(config.text_dim, dim), nn.GELU(approximate="tanh"),
                                            nn.Linear(dim, dim))
        self.time_embedding = nn.Sequential(nn.Linear(config.freq_dim, dim), nn.SiLU(), nn.Linear(dim, dim))
        self.time_projection = nn.Sequential(nn.SiLU(), nn.Linear(dim, 6 * dim))
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.num_layers))
        self.head = Head(config)

    @contextmanager
    def parallel(self, context):
        """Within this block every forward call is sequence-parallel over `context` (an
        engine.parallel.SequenceParallel; None: on this process alone), so any plan runs sharded
        without the samplers knowing."""
        before, self.parallel_context = self.parallel_context, context
        try:
            yield self
        finally:
            self.parallel_context = before

    def forward(self, x: torch.Tensor, timestep, context: torch.Tensor,
                context_weights: torch.Tensor | None = None, parallel=None) -> torch.Tensor:
        """x: latent [B, in_dim, T, H, W] (normalised); timestep: t = sigma * 1000 as [B] (uniform) or
        [B, T] (one per latent frame); context: text embeddings [B, L, text_dim], or K prompts
        [B, K, L, text_dim] with context_weights [B, T, K] saying how much each latent frame attends to
        each (cross-attention runs per prompt and is mixed per frame: exact for one-hot weights).
        parallel: an engine.parallel.SequenceParallel whose ranks all make this call, each computing its
        slice of the tokens (default: the one set by `parallel()`, else none). Returns v in x's shape
        (out_dim channels) and dtype, on every rank."""
        batch, _, frames, height, width = x.shape
        if context_weights is not None and (context.ndim != 4 or context_weights.shape != (batch, frames, context.shape[1])):
            raise ValueError(f"per-frame prompts need context [B, K, L, D] and context_weights [B, T, K] = "
                             f"[{batch}, {frames}, K]; got {tuple(context.shape)} and {tuple(context_weights.shape)}.")
        parallel = parallel if parallel is not None else self.parallel_context
        if parallel is not None:
            parallel.layout.check(self.config.num_heads)  # before any collective: fails alike on every rank
        tokens, grid = self._patchify(x)
        e, e0 = self._time_embeddings(timestep, batch, frames, x.device)
        text = self.text_embedding(context.to(compute_dtype(self.text_embedding[0])))
        self_attend = attention
        if parallel is not None:
            shard = parallel.shard(grid)
            tokens, self_attend = shard.split(tokens), shard.self_attention
            e, e0, context_weights = shard.per_token(e), shard.per_token(e0), shard.per_token(context_weights)
        for block in self.blocks:
            tokens = block(tokens, e0, text, grid, self.attention_backend, context_weights, self_attend)
        head = self.head(tokens, e)
        out = self._unpatchify(head if parallel is None else shard.gather(head), grid)
        return out[:, :, :frames, :height, :width].to(x.dtype)

    def _patchify(self, x):
        """Pad to the patch size, embed in float32; tokens [B, N, D] in (t, h, w) row-major order."""
        pad = [0 if size % p == 0 else p - size % p for size, p in zip(x.shape[2:], PATCH)]
        if any(pad):  # circular, like ComfyUI's loader (Wan itself requires even sizes)
            x = F.pad(x, (0, pad[2], 0, pad[1], 0, pad[0]), mode="circular")
        conv = self.patch_embedding
        embedded = F.conv3d(x.float(), conv.weight.float(), conv.bias.float(), stride=PATCH)
        grid = RopeGrid(*embedded.shape[2:])
        return embedded.flatten(2).transpose(1, 2), grid

    def _time_embeddings(self, timestep, batch: int, frames: int, device):
        """e [B, G, D] and e0 [B, G, 6, D] in float32; G = 1 (uniform) or T (per-frame)."""
        t = torch.as_tensor(timestep, device=device)
        if t.ndim == 0:
            t = t.expand(batch)
        if t.ndim == 1:
            t = t[:, None]
        if t.ndim != 2 or t.shape[0] != batch or t.shape[1] not in (1, frames):
            raise ValueError(
                f"timestep has shape {tuple(t.shape)}; expected [{batch}] (one per sample) or "
                f"[{batch}, {frames}] (one per latent frame)."
            )
        sinusoid = timestep_sinusoid(t.flatten(), self.config.freq_dim)
        e = _float32_sequential(self.time_embedding, sinusoid)
        e0 = _float32_sequential(self.time_projection, e)
        return e.view(*t.shape, -1), e0.view(*t.shape, 6, -1)

    def _unpatchify(self, out, grid: RopeGrid):
        """[B, N, pt*ph*pw*C] (channel fastest within a patch) -> [B, C, T, H, W]."""
        pt, ph, pw = PATCH
        out = out.view(out.shape[0], grid.frames, grid.height, grid.width, pt, ph, pw, self.config.out_dim)
        out = out.permute(0, 7, 1, 4, 2, 5, 3, 6)
        return out.reshape(out.shape[0], self.config.out_dim, grid.frames * pt, grid.height * ph, grid.width * pw)


def _float32_sequential(layers: nn.Sequential, x):
    """Run Linear/activation layers in float32 even when their weights are stored lower (or in fp8)."""
    for layer in layers:
        x = F.linear(x, weight_in(layer, torch.float32), layer.bias.float()) if isinstance(layer, nn.Linear) else layer(x)
    return x
