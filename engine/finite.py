"""NaN and Inf stop where they are found, named with the stage that made them.

A NaN is invisible downstream: clamped to 0..1 it becomes black and a saver would write an all-black
video as a success. So every stage that hands tensors on (sampler in and out, decoder in and out, saver
in) checks them and says which input carried the values and what to change.
"""
import torch


class NotFiniteError(ValueError):
    """A tensor holds NaN or Inf; the message names where it was found and what to do."""


def check_finite(tensor: torch.Tensor, what: str, fix: str) -> torch.Tensor:
    """`tensor` unchanged when every value is finite; else NotFiniteError "<what> holds ... <fix>"."""
    if not tensor.is_floating_point() or bool(torch.isfinite(tensor).all()):
        return tensor
    nan = int(torch.isnan(tensor).sum())
    inf = int(torch.isinf(tensor).sum())
    found = " and ".join(f"{count:,} {name}" for count, name in ((nan, "NaN"), (inf, "infinite")) if count)
    raise NotFiniteError(f"{what} holds {found} values (of {tensor.numel():,}). {fix}")
