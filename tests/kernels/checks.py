"""Inputs and error measures shared by the kernel tests."""
import pytest
import torch

from spacetime.kernels.backends import triton_import_error

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
needs_triton = pytest.mark.skipif(triton_import_error() is not None, reason=str(triton_import_error()))
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="compiled Triton needs a CUDA GPU")


def random_qkv(batch, queries, heads, head_dim, dtype=torch.float32, keys=None, seed=0):
    """Fresh N(0, 1) q [B, Nq, H, D] and k, v [B, Nk, H, D] on the test device."""
    generator = torch.Generator().manual_seed(seed)
    keys = keys or queries
    shapes = ((batch, queries, heads, head_dim), (batch, keys, heads, head_dim), (batch, keys, heads, head_dim))
    return tuple(torch.randn(shape, generator=generator).to(DEVICE, dtype) for shape in shapes)


def random_key_mask(batch, keys, seed=0):
    """About 70 % of the keys attended, at least one per batch row."""
    generator = torch.Generator().manual_seed(seed)
    mask = torch.rand(batch, keys, generator=generator) < 0.7
    mask[:, 0] = True
    return mask.to(DEVICE)


def poisoned_like(q):
    """An output buffer full of NaN: any element the kernel fails to write shows up."""
    return torch.full_like(q, float("nan"))


def max_error(out, expected):
    return (out.double() - expected.double()).abs().max().item()


def relative_error(out, expected):
    return max_error(out, expected) / expected.abs().max().item()


def cosine(out, expected):
    return torch.nn.functional.cosine_similarity(out.double().flatten(), expected.double().flatten(), dim=0).item()


def relative_l1(out, expected):
    return ((out.double() - expected.double()).abs().sum() / expected.double().abs().sum()).item()
