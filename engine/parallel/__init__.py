"""Running one DiT call across several processes (one per device): the layout and the sharded forward.

`ParallelLayout` says how ranks divide the work; `SequenceParallel` (sequence.py) is the context a DiT
takes (`with dit.parallel(ctx):`) so that any plan samples with its tokens split across the ranks;
guidance.py splits each step's two CFG calls between two halves of the ranks (`parallel_contexts` makes
both contexts for a layout). workers.py runs them in worker processes, ray_workers.py as Ray actors.
"""
from .layout import ParallelLayout
from .sequence import SequenceParallel

__all__ = ["ParallelLayout", "SequenceParallel"]
