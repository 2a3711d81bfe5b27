"""The attention backends, what each needs to run, and how `auto` chooses among them.

Each backend is an object with a `name`, `masks_keys` (whether it takes a key-padding mask),
`unavailable_reason(device, dtype, head_dim)` (None when it can run such calls, else a sentence for
people) and `__call__(q, k, v, rope, key_mask)`; those with `returns_lse` also have
`with_lse(q, k, v, rope, key_mask) -> (out, lse [B, Nq, H] float32)`, for merging partial attentions.
The Triton kernels are imported on first use only, so importing this module never decides between
compiled and interpreted Triton (see `flash.launch`).
"""
import importlib
import importlib.util
import logging
from functools import lru_cache

import torch
import torch.nn.functional as F

from .adapters import FlashAttnBackend, SageAttentionBackend
from .reference import reference_attention
from .rope import RopeGrid, apply_rope

LOG = logging.getLogger("spacetime.attention")
AUTO_DTYPES = (torch.float16, torch.bfloat16)  # float32 Triton runs are for tests: auto keeps SDPA there
LSE_BLOCK_SCORES = 1 << 24  # float32 scores SDPA's log-sum-exp path holds at once (64 MB)


class SdpaBackend:
    """torch's scaled_dot_product_attention after a separate RoPE pass; runs everywhere."""

    name = "sdpa"
    masks_keys = True
    returns_lse = True  # by torch maths, a block of queries at a time: SDPA itself returns no log-sum-exp
    int8 = False  # quantises q and k to 8 bits

    def unavailable_reason(self, device, dtype, head_dim) -> str | None:
        return None

    def __call__(self, q, k, v, rope: RopeGrid | None, key_mask):
        if rope is not None:
            q, k = apply_rope(q, rope), apply_rope(k, rope)
        mask = None if key_mask is None else key_mask[:, None, None, :]
        out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
                                             attn_mask=mask).transpose(1, 2)
        if key_mask is not None:  # SDPA gives NaN where a row attends to nothing; every backend gives 0
            out = out.masked_fill(~key_mask.any(dim=1)[:, None, None, None], 0)
        return out

    def with_lse(self, q, k, v, rope: RopeGrid | None, key_mask):
        if rope is not None:
            q, k = apply_rope(q, rope), apply_rope(k, rope)
        batch, queries, heads, head_dim = q.shape
        rows = max(1, LSE_BLOCK_SCORES // (batch * heads * k.shape[1]))
        outs, lses = [], []
        for start in range(0, queries, rows):
            scores = torch.einsum("bqhd,bkhd->bhqk", q[:, start:start + rows].float(), k.float()) * head_dim ** -0.5
            if key_mask is not None:
                scores = scores.masked_fill(~key_mask[:, None, None, :], float("-inf"))
            lse = torch.logsumexp(scores, dim=-1)
            probs = torch.exp(scores - lse.clamp_min(torch.finfo(lse.dtype).min)[..., None])  # 0 if all masked
            outs.append(torch.einsum("bhqk,bkhd->bqhd", probs, v.float()))
            lses.append(lse)
        return torch.cat(outs, dim=1).to(q.dtype), torch.cat(lses, dim=2).transpose(1, 2)


class TritonBackend:
    """The pack's fused kernels (`flash`): RoPE in the loads; `int8` selects the 8-bit scheme."""

    masks_keys = True

    def __init__(self, name: str, int8: bool):
        self.name, self.int8 = name, int8
        # the 8-bit mode centres k on its mean, shifting each row's scores by a constant: softmax ignores
        # that, a log-sum-exp does not (ring attention merges blocks whose shifts differ)
        self.returns_lse = not int8

    def unavailable_reason(self, device, dtype, head_dim) -> str | None:
        problem = triton_import_error()
        if problem:
            return problem
        if device.type != "cuda" and not triton_interpreting():
            return (f"the {self.name} backend needs a CUDA device; this tensor is on {device.type} — "
                    "choose sdpa, or set TRITON_INTERPRET=1 for testing")
        from .flash.launch import unsupported_reason

        reason = unsupported_reason(device, dtype, head_dim)
        return reason and f"the {self.name} backend cannot run: {reason}"

    def __call__(self, q, k, v, rope: RopeGrid | None, key_mask):
        from .flash.launch import flash_attention

        return flash_attention(q, k, v, rope=rope, key_mask=key_mask, int8=self.int8)

    def with_lse(self, q, k, v, rope: RopeGrid | None, key_mask):
        from .flash.launch import flash_attention

        return flash_attention(q, k, v, rope=rope, key_mask=key_mask, int8=self.int8, return_lse=True)


SDPA = SdpaBackend()
TRITON = TritonBackend("triton", int8=False)
BACKENDS = {backend.name: backend for backend in
            (SDPA, TRITON, TritonBackend("triton-int8", int8=True), SageAttentionBackend(), FlashAttnBackend())}


@lru_cache(maxsize=1)
def triton_import_error() -> str | None:
    """Why `import triton` fails here (the common Windows and version-mismatch failures), or None."""
    if importlib.util.find_spec("triton") is None:
        return "triton is not installed (pip install triton; on Windows: pip install triton-windows)"
    try:
        importlib.import_module("triton")
    except Exception as error:  # a broken install raises anything from ImportError to OSError
        return f"triton is installed but does not import: {error}"
    return None


def triton_interpreting() -> bool:
    """Whether Triton would run kernels in its CPU interpreter (TRITON_INTERPRET), read now."""
    from triton import knobs

    return bool(knobs.runtime.interpret)


def choose_auto(device: torch.device, dtype: torch.dtype, head_dim: int) -> tuple[str, str]:
    """(backend name, why) for `auto`: Triton where it is compiled for this GPU, dtype and head_dim and
    its one-time self-check passes, else SDPA."""
    if device.type != "cuda":
        return "sdpa", f"tensors are on {device.type}; the Triton kernels are chosen only on CUDA"
    if dtype not in AUTO_DTYPES:
        return "sdpa", f"{dtype} is not float16/bfloat16"
    reason = TRITON.unavailable_reason(device, dtype, head_dim)
    if reason:
        return "sdpa", reason
    if triton_interpreting():
        return "sdpa", "TRITON_INTERPRET is set: interpreted kernels would be far slower than SDPA"
    failure = self_check(device, dtype, head_dim)
    if failure:
        LOG.warning("the Triton attention kernel failed its self-check on %s (%s), so auto uses sdpa: %s",
                    device, dtype, failure)
        return "sdpa", f"the Triton self-check failed: {failure}"
    return "triton", "compiled Triton kernels passed their self-check on this device"


@lru_cache(maxsize=None)
def self_check(device: torch.device, dtype: torch.dtype, head_dim: int) -> str | None:
    """Run the Triton kernel once on small random inputs (RoPE self-attention, then masked
    cross-attention) against the float64 reference; None when its error is within twice SDPA's."""
    generator = torch.Generator().manual_seed(0)
    grid = RopeGrid(2, 6, 11)  # 132 tokens: not a multiple of the tiles, so the tails are exercised
    q, k, v = (torch.randn(1, grid.tokens, 2, head_dim, generator=generator).to(device, dtype) for _ in range(3))
    key_mask = (torch.rand(1, grid.tokens, generator=generator) < 0.7).to(device)
    try:
        for rope, mask in ((grid, None), (None, key_mask)):
            expected = reference_attention(q, k, v, rope=rope, key_mask=mask)
            error = (TRITON(q, k, v, rope, mask).double() - expected).abs().max().item()
            allowed = 2 * (SDPA(q, k, v, rope, mask).double() - expected).abs().max().item() + 1e-6
            if not error <= allowed:  # also catches NaN
                return f"max error {error:.3g} vs SDPA's {allowed / 2:.3g} ({dtype}, head_dim {head_dim})"
    except Exception as error:  # a compiler or driver failure must fall back, not break the model
        return f"{type(error).__name__}: {error}"
    return None
