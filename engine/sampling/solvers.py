"""ODE solvers for flow models, and the names a node offers them under.

A solver only knows `denoise(x, sigma) -> x0` and the sigmas to walk; sigma is handed on exactly as the
schedule holds it (a 0-d tensor). After each step it calls `callback(step, x, x0)`; a callback that
raises (an interrupt) ends sampling before the next model call.
"""
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch

from .unipc import unipc

Denoise = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Callback = Callable[[int, torch.Tensor, torch.Tensor], None]


@torch.no_grad()
def euler(denoise: Denoise, x: torch.Tensor, sigmas: torch.Tensor, callback: Callback | None = None) -> torch.Tensor:
    """First-order steps along dx/dσ = (x − x0)/σ, which for a flow model is its velocity."""
    for i in range(len(sigmas) - 1):
        x0 = denoise(x, sigmas[i])
        velocity = (x - x0) / sigmas[i]
        x = x + velocity * (sigmas[i + 1] - sigmas[i])
        if callback is not None:
            callback(i, x, x0)
    return x


@dataclass(frozen=True)
class Solver:
    name: str
    run: Callable[..., torch.Tensor]  # run(denoise, x, sigmas, callback) -> x
    discard_penultimate_sigma: bool  # core's KSampler schedules these with flow_sigmas(discard_penultimate=True)


SOLVERS = {
    "euler": Solver("euler", euler, False),
    "uni_pc": Solver("uni_pc", partial(unipc, variant="bh1"), True),
    "uni_pc_bh2": Solver("uni_pc_bh2", partial(unipc, variant="bh2"), True),
}


def get_solver(name: str) -> Solver:
    if name not in SOLVERS:
        raise ValueError(f"Unknown sampler {name!r}: choose one of {', '.join(SOLVERS)}.")
    return SOLVERS[name]
