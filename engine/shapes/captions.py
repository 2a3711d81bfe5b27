"""Captions for shapes clips from a small grammar, and a parser that reads one back into a ClipSpec.

Canonical form (what evaluation prompts use):
    "a red circle moves left on a blue background"
    "a red circle moves left and a white square stays still on a blue background"
Paraphrases vary the motion phrase and where the background is said, nothing else; every word
that carries an attribute is a vocabulary word, so the parser only has to find them in order.
"""
import re

import numpy as np

from .world import COLOURS, MOTIONS, SHAPES, ClipSpec, ObjectSpec

# The first phrase of each motion is canonical.
MOTION_PHRASES = {
    "left": ("moves left", "slides to the left", "moving left"),
    "right": ("moves right", "slides to the right", "moving right"),
    "up": ("moves up", "rises", "moving upwards"),
    "down": ("moves down", "falls", "moving downwards"),
    "still": ("stays still", "does not move", "standing still"),
}
# Where the background goes; {things} is the objects with their motions.
SENTENCES = (
    "{things} on a {background} background",
    "on a {background} background, {things}",
    "{things} against a {background} backdrop",
)
_BACKGROUND_NOUNS = ("background", "backdrop")
# Words that name a motion inside its phrase, for the parser.
_MOTION_WORDS = {
    "left": "left", "right": "right", "up": "up", "upwards": "up", "rises": "up",
    "down": "down", "downwards": "down", "falls": "down", "still": "still", "not": "still",
}


def caption(spec: ClipSpec, rng: np.random.Generator | None = None) -> str:
    """The canonical caption, or with `rng` a paraphrase drawn from the grammar."""
    def pick(options):
        return options[0] if rng is None else options[rng.integers(len(options))]

    things = " and ".join(f"a {o.colour} {o.shape} {pick(MOTION_PHRASES[o.motion])}" for o in spec.objects)
    return pick(SENTENCES).format(things=things, background=spec.background)


def parse_caption(text: str) -> ClipSpec:
    """Read the attributes back from any caption the grammar makes (seed 0: a caption has no layout).

    Objects are "<colour> <shape>" pairs; the background is "<colour> background|backdrop"; each
    object's motion is the motion word found between it and the next thing named.
    """
    words = re.findall(r"[a-z]+", text.lower())
    background, objects = None, []  # objects: [colour, shape, index of the word after the shape]
    for i, (word, following) in enumerate(zip(words, words[1:])):
        if word in COLOURS and following in _BACKGROUND_NOUNS:
            background = word
        elif word in COLOURS and following in SHAPES:
            objects.append((word, following, i + 2))
    if background is None or not objects:
        raise ValueError(f"could not read a caption {text!r}: expected e.g. 'a red circle moves left on a "
                         f"blue background' with colours {sorted(COLOURS)} and shapes {list(SHAPES)}")
    specs = []
    for n, (colour, shape, after) in enumerate(objects):
        until = objects[n + 1][2] - 2 if n + 1 < len(objects) else len(words)
        motions = [_MOTION_WORDS[w] for w in words[after:until] if w in _MOTION_WORDS]
        if not motions:
            raise ValueError(f"no motion for the {colour} {shape} in {text!r}; expected one of {list(MOTIONS)}")
        specs.append(ObjectSpec(shape, colour, motions[0]))
    return ClipSpec(background, tuple(specs))
