"""The shapes world: what can appear in a clip, and a seeded sampler of clip specifications.

A clip shows one or two flat-coloured shapes moving in a straight line on a flat background. Colours
are few and far apart in RGB, and objects are at least 16 px, because a small VAE blurs small objects
and nearby colours away (found in the first feasibility run).

A fixed set of (shape, colour, motion) triples is held out: the train split never shows them, the
heldout split shows nothing else in its first object, so an evaluation on the heldout split measures
whether a model composes attributes it has only seen apart.
"""
from dataclasses import dataclass, field
from itertools import product

import numpy as np

SHAPES = ("circle", "square", "triangle", "diamond")
MOTIONS = ("left", "right", "up", "down", "still")

# Named colours (RGB 0..1). Every pair of object colours is >= 0.54 apart, so a colour survives blur,
# noise and a small shift and still names back to itself.
COLOURS = {
    "red": (0.88, 0.10, 0.10),
    "yellow": (1.00, 0.92, 0.10),
    "green": (0.10, 0.70, 0.15),
    "cyan": (0.05, 0.85, 0.90),
    "blue": (0.10, 0.25, 0.95),
    "purple": (0.58, 0.12, 0.75),
    "white": (0.96, 0.96, 0.96),
    "black": (0.04, 0.04, 0.04),
    "gray": (0.50, 0.50, 0.50),
}
OBJECT_COLOURS = ("red", "yellow", "green", "cyan", "blue", "purple", "white", "black")
BACKGROUNDS = ("black", "white", "gray", "blue", "green")

# An object must differ this much (RGB distance) from its background; this only rules out purple on gray.
MIN_CONTRAST = 0.5

# Held out: 32 of the 160 (shape, colour, motion) triples, by a Latin-square rule on their indices.
# For each (shape, colour) exactly one of the 5 motions is held out, for each (shape, motion) at most
# 2 of the 8 colours, for each (colour, motion) at most 1 of the 4 shapes: so every single value and
# every pair of values is still trained, and only the combination is new at test time.
HELDOUT_TRIPLES = tuple(
    (SHAPES[i], OBJECT_COLOURS[j], MOTIONS[k])
    for i, j, k in product(range(len(SHAPES)), range(len(OBJECT_COLOURS)), range(len(MOTIONS)))
    if (i + 2 * j + 3 * k) % 5 == 0
)
HELDOUT = frozenset(HELDOUT_TRIPLES)
SPLITS = ("train", "heldout")


@dataclass(frozen=True)
class ObjectSpec:
    shape: str
    colour: str
    motion: str

    def triple(self) -> tuple[str, str, str]:
        return (self.shape, self.colour, self.motion)


@dataclass(frozen=True)
class ClipSpec:
    """What a clip shows. `seed` picks the layout (sizes, start points, speeds) when it is rendered."""
    background: str
    objects: tuple[ObjectSpec, ...]
    seed: int = field(default=0, compare=False)


def contrast(colour_a: str, colour_b: str) -> float:
    return float(np.linalg.norm(np.subtract(COLOURS[colour_a], COLOURS[colour_b])))


def backgrounds_for(colours) -> list[str]:
    """Backgrounds on which every given object colour stands out."""
    return [bg for bg in BACKGROUNDS if all(contrast(bg, c) >= MIN_CONTRAST for c in colours)]


def sample_spec(rng: np.random.Generator, split: str = "train", second_object_prob: float = 0.0) -> ClipSpec:
    """One spec. The first object decides the split; a second object (distinct colour) is always a train triple."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    first = _sample_object(rng, heldout=(split == "heldout"))
    objects = [first]
    if rng.random() < second_object_prob:
        objects.append(_sample_object(rng, heldout=False, exclude_colours={first.colour}))
    # Every pair of object colours has at least two backgrounds that suit both (tested).
    background = _choice(rng, backgrounds_for([o.colour for o in objects]))
    return ClipSpec(background, tuple(objects), seed=int(rng.integers(2**31)))


def sample_specs(n: int, seed: int, split: str = "train", second_object_prob: float = 0.0) -> list[ClipSpec]:
    """n specs; spec i depends only on (seed, i), so any slice of a long run can be regenerated alone."""
    return [sample_spec(spec_rng(seed, i), split, second_object_prob) for i in range(n)]


def heldout_specs() -> list[ClipSpec]:
    """Every distinct single-object held-out prompt: each held-out triple on each background that suits it."""
    return [ClipSpec(bg, (ObjectSpec(*triple),)) for triple in HELDOUT_TRIPLES for bg in backgrounds_for([triple[1]])]


def spec_rng(seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, index])


def _sample_object(rng, heldout: bool, exclude_colours=frozenset()) -> ObjectSpec:
    if heldout:
        return ObjectSpec(*_choice(rng, HELDOUT_TRIPLES))
    while True:  # rejection keeps the remaining triples uniform; 80% of draws are accepted
        obj = ObjectSpec(_choice(rng, SHAPES), _choice(rng, OBJECT_COLOURS), _choice(rng, MOTIONS))
        if obj.triple() not in HELDOUT and obj.colour not in exclude_colours:
            return obj


def _choice(rng, options):
    return options[rng.integers(len(options))]
