"""Which devices the workers run on, from the text a user types: "cpu:2", "cuda:0,1" or "cuda:all"."""
import re

import torch

from .layout import ParallelLayout

FORMS = ('"cpu:N" (N worker processes on the CPU), "cuda:I,J,…" (one worker on each of those GPUs) or '
         '"cuda:all" (one on every GPU torch sees)')
MAX_WORKERS = 64


def parse_devices(text: str, here: bool = True) -> tuple[str, ...]:
    """One torch device name per worker, in rank order; ValueError saying what to write instead.

    here False (Ray actors, on any machine of the cluster): GPU numbers are not checked against this
    machine's GPUs, since only how many there are counts (Ray chooses which), and "cuda:all" is refused."""
    kind, colon, rest = text.strip().lower().partition(":")
    rest = rest.replace(" ", "")
    if not colon or kind not in ("cpu", "cuda"):
        raise ValueError(f"devices {text!r} is not a device list: write {FORMS}.")
    if kind == "cpu":
        if not re.fullmatch(r"\d+", rest, re.ASCII) or not 1 <= int(rest) <= MAX_WORKERS:
            raise ValueError(f"devices {text!r}: after 'cpu:' give how many worker processes, 1 to {MAX_WORKERS} "
                             f"(e.g. cpu:2).")
        return ("cpu",) * int(rest)
    if not here:
        if not re.fullmatch(r"\d+(,\d+)*", rest, re.ASCII):
            raise ValueError(f"devices {text!r}: for Ray actors give one GPU number per worker, e.g. cuda:0,1,2,3 "
                             f"for 4 GPUs anywhere in the cluster (Ray chooses which; 'all' would count only this "
                             f"machine's).")
        indices = [int(part) for part in rest.split(",")]
        if len(set(indices)) != len(indices) or len(indices) > MAX_WORKERS:
            raise ValueError(f"devices {text!r}: give each GPU number once, at most {MAX_WORKERS}.")
        return tuple(f"cuda:{index}" for index in indices)
    available = torch.cuda.device_count()
    if available == 0:
        raise ValueError(f"devices {text!r}: torch sees no CUDA GPU on this machine; use cpu:N.")
    if rest == "all":
        return tuple(f"cuda:{index}" for index in range(available))
    if not re.fullmatch(r"\d+(,\d+)*", rest, re.ASCII):
        raise ValueError(f"devices {text!r}: after 'cuda:' give GPU numbers separated by commas (e.g. cuda:0,1) "
                         f"or 'all'.")
    indices = [int(part) for part in rest.split(",")]
    if len(set(indices)) != len(indices):
        raise ValueError(f"devices {text!r} names a GPU twice: give each GPU once.")
    missing = [index for index in indices if index >= available]
    if missing:
        raise ValueError(f"devices {text!r}: torch sees {available} GPU(s), cuda:0 to cuda:{available - 1}; "
                         f"there is no cuda:{missing[0]}.")
    return tuple(f"cuda:{index}" for index in indices)


def layout_for(workers: int, ulysses: int, ring: int, cfg: int = 1) -> ParallelLayout:
    """The layout of `workers` ranks: `cfg` halves (1 or 2) of `ring` ring groups of `ulysses` each;
    ulysses 0 = as many as fill them."""
    if ring < 1 or ulysses < 0:
        raise ValueError(f"the ring degree must be at least 1 and the Ulysses degree at least 0 (0: the devices "
                         f"left); got ulysses {ulysses}, ring {ring}.")
    split = "" if cfg == 1 else f"CFG split {cfg} x "
    if workers % cfg:
        raise ValueError(f"{workers} device(s) do not split into {cfg} CFG halves: the CFG split needs an even "
                         f"number of devices (2, 4, 6, ...); turn it off or give one more device.")
    if ulysses == 0:
        if workers % (cfg * ring):
            halves = " in each of the 2 CFG halves" if cfg > 1 else ""
            raise ValueError(f"{workers} device(s) do not split into {ring} rings{halves}: give a ring degree that "
                             f"divides {workers // cfg} ({_choices(workers // cfg, cfg)}).")
        ulysses = workers // (cfg * ring)
    if cfg * ulysses * ring != workers:
        raise ValueError(f"{split}Ulysses degree {ulysses} x ring degree {ring} is {cfg * ulysses * ring} ranks, "
                         f"but the devices give {workers}: make the product {workers} ({_choices(workers // cfg, cfg)};"
                         f" or set ulysses to 0 to use every device).")
    return ParallelLayout(ulysses, ring, cfg)


def _choices(ranks: int, cfg: int) -> str:
    """The (ulysses, ring) pairs that fill `ranks` ranks per CFG half, for messages."""
    pairs = [f"ulysses {ranks // ring} x ring {ring}" for ring in range(1, ranks + 1) if ranks % ring == 0]
    return ("per CFG half: " if cfg > 1 else "") + ", ".join(pairs)
