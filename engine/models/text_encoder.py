"""umT5 encoder: Wan 2.1's text encoder, built from a checkpoint in the ComfyUI / Hugging Face key layout.

It is a T5 v1.1-style encoder: pre-RMSNorm sub-layers, self-attention with a learned relative
position bias and no 1/sqrt(d) score scaling, a gated GELU(tanh) feed-forward, and a final RMSNorm.
What makes it "um"T5 is that every layer owns its relative position bias (T5 shares layer 0's).

Numerics: weights live in the requested dtype and the linears run in it, but the residual stream
between sub-layers (and every RMSNorm) stays in float32. T5's activations are known to outgrow
float16; with an fp32 residual stream the only places left to guard are the attention scores (run in
float32 when the weights are float16) and each sub-layer's output (clamped to float16's finite range,
as Wan's own code does, instead of turning into inf). The encoder always returns float32.
"""
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .fp8_linear import compute_dtype, file_weights

NUM_BUCKETS = 32  # relative position buckets, half per direction
MAX_DISTANCE = 128  # distances from here on share the last bucket of their direction
NORM_EPS = 1e-6
SUPPORTED_DTYPES = (torch.float32, torch.float16, torch.bfloat16)
TOKENIZER_KEY = "spiece_model"  # ComfyUI's files carry the SentencePiece model under this key


@dataclass(frozen=True)
class UMT5Config:
    vocab_size: int
    d_model: int
    num_heads: int
    d_kv: int
    d_ff: int
    num_layers: int

    @classmethod
    def from_state_dict(cls, weights: dict) -> "UMT5Config":
        """Read the sizes off the weights (umT5-XXL: 256384, 4096, 64, 64, 10240, 24)."""
        vocab_size, d_model = _require(weights, "shared.weight").shape
        attention = "encoder.block.0.layer.0.SelfAttention."
        num_heads = _require(weights, attention + "relative_attention_bias.weight").shape[1]
        inner_dim = _require(weights, attention + "q.weight").shape[0]
        d_ff = _require(weights, "encoder.block.0.layer.1.DenseReluDense.wi_0.weight").shape[0]
        layers = {int(key.split(".")[2]) for key in weights if key.startswith("encoder.block.")}
        if layers != set(range(len(layers))):
            raise ValueError(
                f"The umT5 encoder's layers should be numbered 0..N-1, found {sorted(layers)}: "
                "the text encoder file is incomplete or damaged."
            )
        return cls(vocab_size, d_model, num_heads, inner_dim // num_heads, d_ff, len(layers))


def _require(weights: dict, key: str) -> torch.Tensor:
    if key not in weights:
        raise ValueError(
            f"This is not a umT5 text encoder: it has no `{key}`. Load Wan 2.1's text encoder "
            "(models/text_encoders/umt5_xxl_fp16.safetensors or umt5_xxl_fp8_e4m3fn_scaled.safetensors)."
        )
    return weights[key]


def relative_position_buckets(length: int, device=None) -> torch.Tensor:
    """Bias bucket [L, L] of every (query, key) pair, bidirectional as in T5's encoder.

    Buckets 0..15 hold keys at or before the query, 16..31 keys after it. Within a direction each
    distance below 8 has its own bucket, distances 8..127 share 8 log-spaced buckets and 128 onwards
    the last one. The log runs in float32, as in the original Mesh-TensorFlow code the model was
    trained with, so that bucket edges land on the same distances.
    """
    position = torch.arange(length, device=device)
    offset = position[None, :] - position[:, None]  # key position minus query position
    half = NUM_BUCKETS // 2
    exact = half // 2
    distance = offset.abs()
    log_scale = torch.log(distance.clamp(min=exact).float() / exact) / math.log(MAX_DISTANCE / exact)
    far_bucket = (exact + (log_scale * (half - exact)).long()).clamp(max=half - 1)
    return torch.where(distance < exact, distance, far_bucket) + (offset > 0).long() * half


class RMSNorm(nn.Module):
    """x / rms(x) * weight, no mean centring; computed in float32."""

    def __init__(self, dim: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + NORM_EPS)
        return x * self.weight.float()


class SelfAttention(nn.Module):
    def __init__(self, config: UMT5Config):
        super().__init__()
        inner_dim = config.num_heads * config.d_kv
        self.num_heads = config.num_heads
        self.q = nn.Linear(config.d_model, inner_dim, bias=False)
        self.k = nn.Linear(config.d_model, inner_dim, bias=False)
        self.v = nn.Linear(config.d_model, inner_dim, bias=False)
        self.o = nn.Linear(inner_dim, config.d_model, bias=False)
        self.relative_attention_bias = nn.Embedding(NUM_BUCKETS, config.num_heads)

    def forward(self, x: torch.Tensor, buckets: torch.Tensor, key_mask: torch.Tensor) -> torch.Tensor:
        batch, length, _ = x.shape
        # Unscaled T5 scores can pass float16's range; float32 attention is cheap at 512 tokens.
        attention_dtype = torch.float32 if x.dtype == torch.float16 else x.dtype

        def heads(t):
            return t.view(batch, length, self.num_heads, -1).transpose(1, 2).to(attention_dtype)

        q, k, v = heads(self.q(x)), heads(self.k(x)), heads(self.v(x))
        bias = self.relative_attention_bias(buckets).permute(2, 0, 1).unsqueeze(0).to(attention_dtype)
        # Replace (not add to) the bias at padding keys, so the sum cannot overflow to -inf.
        bias = bias.masked_fill(~key_mask[:, None, None, :], torch.finfo(attention_dtype).min)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=1.0)  # T5: no 1/sqrt(d)
        return self.o(out.transpose(1, 2).reshape(batch, length, -1).to(x.dtype))


class GatedGeluFeedForward(nn.Module):
    def __init__(self, config: UMT5Config):
        super().__init__()
        self.wi_0 = nn.Linear(config.d_model, config.d_ff, bias=False)  # gate
        self.wi_1 = nn.Linear(config.d_model, config.d_ff, bias=False)
        self.wo = nn.Linear(config.d_ff, config.d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.wo(F.gelu(self.wi_0(x), approximate="tanh") * self.wi_1(x))


def _add_to_residual(residual: torch.Tensor, update: torch.Tensor) -> torch.Tensor:
    if update.dtype == torch.float16:
        update = update.clamp(-torch.finfo(torch.float16).max, torch.finfo(torch.float16).max)
    return residual + update.float()


class AttentionSubLayer(nn.Module):
    def __init__(self, config: UMT5Config):
        super().__init__()
        self.layer_norm = RMSNorm(config.d_model)
        self.SelfAttention = SelfAttention(config)  # capitalised: the checkpoint's key name

    def forward(self, x, buckets, key_mask):
        normed = self.layer_norm(x).to(compute_dtype(self.SelfAttention.q))
        return _add_to_residual(x, self.SelfAttention(normed, buckets, key_mask))


class FeedForwardSubLayer(nn.Module):
    def __init__(self, config: UMT5Config):
        super().__init__()
        self.layer_norm = RMSNorm(config.d_model)
        self.DenseReluDense = GatedGeluFeedForward(config)  # the checkpoint's key name

    def forward(self, x):
        normed = self.layer_norm(x).to(compute_dtype(self.DenseReluDense.wo))
        return _add_to_residual(x, self.DenseReluDense(normed))


class EncoderBlock(nn.Module):
    def __init__(self, config: UMT5Config):
        super().__init__()
        self.layer = nn.ModuleList([AttentionSubLayer(config), FeedForwardSubLayer(config)])

    def forward(self, x, buckets, key_mask):
        return self.layer[1](self.layer[0](x, buckets, key_mask))


class EncoderStack(nn.Module):
    def __init__(self, config: UMT5Config):
        super().__init__()
        self.block = nn.ModuleList([EncoderBlock(config) for _ in range(config.num_layers)])
        self.final_layer_norm = RMSNorm(config.d_model)

    def forward(self, x, key_mask):
        buckets = relative_position_buckets(x.shape[1], device=x.device)
        for block in self.block:
            x = block(x, buckets, key_mask)
        return self.final_layer_norm(x)


class UMT5Encoder(nn.Module):
    """The umT5 encoder; parameter names follow the checkpoint, so its state dict loads strictly."""

    def __init__(self, config: UMT5Config):
        super().__init__()
        self.config = config
        self.shared = nn.Embedding(config.vocab_size, config.d_model)
        self.encoder = EncoderStack(config)

    @classmethod
    def from_state_dict(cls, state_dict: dict, dtype: torch.dtype = torch.float32) -> "UMT5Encoder":
        """Build the encoder from a text encoder file's tensors (its `spiece_model` is skipped).

        Plain fp32/fp16/bf16 files and ComfyUI's fp8 and "scaled fp8" files are accepted: the weights
        compute in `dtype`, on the device the tensors are on; fp8 layers keep their fp8 weights.
        """
        if dtype not in SUPPORTED_DTYPES:
            raise ValueError(f"The umT5 encoder runs in float32, float16 or bfloat16, not {dtype}.")
        state_dict = {key: tensor for key, tensor in state_dict.items() if key != TOKENIZER_KEY}
        config = UMT5Config.from_state_dict(state_dict)
        with torch.device("meta"):  # no memory is spent on parameters that are replaced at once
            model = cls(config)
        weights = file_weights(state_dict, lambda key: dtype, model=model)
        _check_keys(model, weights)
        model.load_state_dict(weights, strict=True, assign=True)
        return model.eval().requires_grad_(False)

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Last hidden state [B, L, d_model] in float32 for tokens [B, L] and their mask [B, L] (bool).

        Padding keys are masked out; padding rows still get values (zero them if needed, as
        `encode_text` does).
        """
        if tokens.max() >= self.config.vocab_size:
            raise ValueError(
                f"Token id {int(tokens.max())} is outside the encoder's vocabulary of "
                f"{self.config.vocab_size}: the tokenizer does not belong to this text encoder."
            )
        x = self.shared(tokens).float()
        return self.encoder(x, mask.to(device=x.device, dtype=torch.bool))


def _check_keys(model: nn.Module, weights: dict) -> None:
    expected = set(model.state_dict())
    missing, unexpected = sorted(expected - set(weights)), sorted(set(weights) - expected)
    if missing or unexpected:
        raise ValueError(
            "The text encoder file does not match a umT5 encoder: "
            f"{len(missing)} missing weights (e.g. {missing[:3]}), "
            f"{len(unexpected)} unexpected (e.g. {unexpected[:3]}). "
            "Expected Wan 2.1's umT5-XXL encoder with unprefixed keys, such as models/text_encoders/"
            "umt5_xxl_fp16.safetensors."
        )


@torch.no_grad()
def encode_text(encoder: UMT5Encoder, tokenizer, texts: list[str]) -> torch.Tensor:
    """Prompts → Wan's text context [B, 512, d_model] (float32), padding rows zeroed as Wan does."""
    tokens, mask = tokenizer.encode(texts)
    device = encoder.shared.weight.device
    tokens, mask = tokens.to(device), mask.to(device)
    return encoder(tokens, mask).masked_fill(~mask.unsqueeze(-1), 0.0)
