"""The CFG split: each step's conditional and unconditional DiT calls on two halves of the ranks at once.

For a layout with cfg 2, ranks 0 … W/2 − 1 compute every guided call's conditional prediction and ranks
W/2 … W − 1 its unconditional one, each half sequence-parallel over its own group (or one rank alone).
Rank p of the first half and rank p of the second then swap their x0 (the half's whole prediction, which
every rank of a half holds after its gather), and both combine the two as the single-process CFG layer
does (engine/sampling/denoisers.py), so every rank goes on with the same latent.
"""
from dataclasses import dataclass

import torch
import torch.distributed as dist

from .layout import ParallelLayout
from .sequence import SequenceParallel


@dataclass
class CfgSplit:
    """This rank's half (`branch` 0: conditional, 1: unconditional) and the two-rank group it swaps in."""

    branch: int
    pair: dist.ProcessGroup

    def exchange(self, mine: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(x0_cond, x0_uncond) from this rank's prediction and its partner's (the same shape and dtype)."""
        both = [torch.empty_like(mine) for _ in range(2)]
        dist.all_gather(both, mine.contiguous(), group=self.pair)  # in pair order: the conditional half first
        return both[0], both[1]


def parallel_contexts(layout: ParallelLayout) -> tuple[SequenceParallel | None, CfgSplit | None]:
    """On every rank of the world, together: the sequence-parallel context of this rank's DiT calls (None:
    it makes them alone) and its CFG split (None: no split). The world's size must be the layout's."""
    world = dist.get_world_size()
    if world != layout.world_size:
        raise ValueError(f"the layout {layout} needs {layout.world_size} ranks; this process group has {world}.")
    if layout.cfg == 1:
        return (SequenceParallel(layout) if world > 1 else None), None
    half = world // 2
    branch, position = divmod(dist.get_rank(), half)
    # Every rank makes every world group, in the same order (dist.new_group is collective over the world).
    pairs = [dist.new_group([p, p + half]) for p in range(half)]
    halves = [dist.new_group(list(range(start, start + half))) for start in (0, half)] if half > 1 else None
    sequence = SequenceParallel(layout.sequence, halves[branch]) if half > 1 else None
    return sequence, CfgSplit(branch, pairs[position])
