"""Adapters for optional third-party attention packages, used only when the user installed them.

Both take our [B, N, H, D] layout as it is. Neither fuses Wan's RoPE (it runs as a separate pass first)
nor takes a key-padding mask (`masks_keys = False`: `attention` sends masked calls to SDPA and says so
in its log).
"""
import importlib
import importlib.util

import torch

from .rope import RopeGrid, apply_rope


class _PackageBackend:
    name: str
    module: str
    install_hint: str
    masks_keys = False
    returns_lse = False
    int8 = False  # quantises q and k to 8 bits

    def unavailable_reason(self, device, dtype, head_dim) -> str | None:
        if importlib.util.find_spec(self.module) is None:
            return f"{self.module} is not installed ({self.install_hint})"
        try:
            importlib.import_module(self.module)
        except Exception as error:  # CUDA-version mismatches surface as ImportError or OSError
            return f"{self.module} is installed but does not import: {error}"
        if device.type != "cuda":
            return f"{self.module} needs a CUDA device; this tensor is on {device.type} — choose sdpa"
        return None

    def __call__(self, q, k, v, rope: RopeGrid | None, key_mask):
        if key_mask is not None:
            raise ValueError(f"the {self.name} backend takes no key mask")
        if rope is not None:
            q, k = apply_rope(q, rope), apply_rope(k, rope)
        return self.run(importlib.import_module(self.module), q, k, v)


class SageAttentionBackend(_PackageBackend):
    """thu-ml's SageAttention (8-bit QK, FP8/FP16 PV)."""

    name = module = "sageattention"
    int8 = True
    install_hint = "pip install sageattention; it builds against your CUDA and torch versions"

    def run(self, package, q, k, v):
        return package.sageattn(q, k, v, tensor_layout="NHD", is_causal=False)


class FlashAttnBackend(_PackageBackend):
    """Dao-AILab's FlashAttention 2/3 (float16/bfloat16 only)."""

    name = module = "flash_attn"
    install_hint = "pip install flash-attn --no-build-isolation"

    def unavailable_reason(self, device, dtype, head_dim) -> str | None:
        reason = super().unavailable_reason(device, dtype, head_dim)
        if reason is None and dtype not in (torch.float16, torch.bfloat16):
            reason = f"flash_attn takes float16 or bfloat16; this call has {dtype} — choose sdpa"
        return reason

    def run(self, package, q, k, v):
        return package.flash_attn_func(q, k, v, causal=False)
