"""Second-generation captions: many wordings of a ClipSpec, with held-out wordings, and a reader.

The first generation's grammar (`captions`) stays what the shipped model was trained on and is
evaluated with by default. This one varies every word class (shape, colour and motion words, "on /
over / against / in front of", "background / backdrop / field"), the sentence order, the article,
the letter case and the trailing punctuation; the background may go unsaid, and two objects are
joined several ways. With every choice at 0 it says exactly what `captions.caption` says.

Held-out wordings work as the world's held-out triples do: every word, order, article and case is
trained, but a quarter of the (sentence order, letter case, article) combinations are never trained,
by a Latin-square rule, so an evaluation on them measures whether a model composes wordings it has
only seen apart. The frame of a caption (order, case, article) can be read off its text, so no
held-out caption ever equals a training one.
"""
import re
from dataclasses import dataclass
from itertools import product

import numpy as np

from .world import SPLITS, ClipSpec, ObjectSpec

# The first word of each class is the first generation's.
SHAPE_WORDS = {
    "circle": ("circle", "disc", "ball", "round shape"),
    "square": ("square", "box", "block"),
    "triangle": ("triangle", "pyramid shape", "wedge"),
    "diamond": ("diamond", "rhombus", "lozenge"),
}
COLOUR_WORDS = {
    "red": ("red", "scarlet", "crimson"),
    "yellow": ("yellow", "lemon", "golden"),
    "green": ("green", "emerald", "grass green"),
    "cyan": ("cyan", "aqua", "turquoise"),
    "blue": ("blue", "cobalt", "royal blue"),
    "purple": ("purple", "violet", "plum"),
    "white": ("white", "snow white", "pale white"),
    "black": ("black", "jet black", "dark black"),
    "gray": ("gray", "grey", "slate gray"),
}
# Each motion as a finite verb phrase and as a participle, for sentences that need one or the other.
MOTION_WORDS = {
    "left": (("moves left", "moving left"), ("slides to the left", "sliding to the left"),
             ("drifts left", "drifting left"), ("heads leftwards", "heading leftwards")),
    "right": (("moves right", "moving right"), ("slides to the right", "sliding to the right"),
              ("drifts right", "drifting right"), ("heads rightwards", "heading rightwards")),
    "up": (("moves up", "moving up"), ("rises", "rising"), ("floats upwards", "floating upwards"),
           ("climbs", "climbing")),
    "down": (("moves down", "moving down"), ("falls", "falling"), ("sinks downwards", "sinking downwards"),
             ("drops", "dropping")),
    "still": (("stays still", "staying still"), ("does not move", "not moving"), ("rests", "resting"),
              ("is motionless", "motionless")),
}
PREPOSITIONS = ("on", "over", "against", "in front of")
BACKGROUND_NOUNS = ("background", "backdrop", "field")
ARTICLES = ("a", "the", "one", "")  # "" says no article; "a" becomes "an" before a vowel
ORDERS = ("things where", "where, things", "scene with things", "there is things where")
CASES = ("lower", "sentence", "title", "upper")
PUNCTUATION = ("", ".", "!")
JOINS = (" and ", ", and ", " while ")

# Held out: (order, case, article) with (order + case + article) % 4 == 3, 16 of the 64; for every pair
# of the three, each value of the third but one is trained.
HELDOUT_FRAMES = frozenset((o, c, a) for o, c, a in product(range(len(ORDERS)), range(len(CASES)),
                                                              range(len(ARTICLES))) if (o + c + a) % 4 == 3)


@dataclass(frozen=True)
class Wording:
    """How a caption is said. Words are chosen per object by index (taken modulo the choices)."""
    order: int = 0
    case: int = 0
    article: int = 0
    punctuation: int = 0
    preposition: int = 0
    noun: int = 0
    join: int = 0
    background_said: bool = True
    shape_words: tuple[int, ...] = (0, 0)  # per object
    colour_words: tuple[int, ...] = (0, 0, 0)  # per object, then the background
    motion_words: tuple[int, ...] = (0, 0)  # per object

    def frame(self) -> tuple[int, int, int]:
        return (self.order, self.case, self.article)


def say(spec: ClipSpec, wording: Wording = Wording()) -> str:
    """The caption of spec in the given wording."""
    article = ARTICLES[wording.article]
    participle = ORDERS[wording.order] in ("scene with things", "there is things where")
    join = " and " if participle and JOINS[wording.join] == " while " else JOINS[wording.join]  # "while X moving" jars
    things = join.join(
        _noun_phrase(article, _pick(COLOUR_WORDS[o.colour], wording.colour_words[i]),
                     _pick(SHAPE_WORDS[o.shape], wording.shape_words[i]))
        + " " + _pick(MOTION_WORDS[o.motion], wording.motion_words[i])[participle]
        for i, o in enumerate(spec.objects))
    scene = _noun_phrase(article, _pick(COLOUR_WORDS[spec.background], wording.colour_words[-1]),
                         BACKGROUND_NOUNS[wording.noun])
    where = f"{PREPOSITIONS[wording.preposition]} {scene}"
    if not wording.background_said:
        sentence = {"scene with things": things, "there is things where": f"there is {things}"}.get(
            ORDERS[wording.order], things)
    else:
        sentence = {"things where": f"{things} {where}", "where, things": f"{where}, {things}",
                    "scene with things": f"{scene} with {things}",
                    "there is things where": f"there is {things} {where}"}[ORDERS[wording.order]]
    return _in_case(sentence, CASES[wording.case]) + PUNCTUATION[wording.punctuation]


def sample_wording(rng: np.random.Generator, split: str = "train", background_said_prob: float = 0.8,
                   case: int | None = None) -> Wording:
    """A wording drawn uniformly among those of the split (see HELDOUT_FRAMES), in any letter case or
    only in the given one (an index into CASES)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    background_said = bool(rng.random() < background_said_prob)
    # Unsaid, "things where" and "where, things" read the same; only the first is drawn.
    orders = range(len(ORDERS)) if background_said else (0, 2, 3)
    cases = range(len(CASES)) if case is None else (case,)
    frames = [f for f in product(orders, cases, range(len(ARTICLES)))
              if (f in HELDOUT_FRAMES) == (split == "heldout")]
    order, case, article = frames[rng.integers(len(frames))]

    def picks(n):
        return tuple(int(i) for i in rng.integers(0, 12, size=n))  # 12: a multiple of every class's size

    return Wording(order, case, article, int(rng.integers(len(PUNCTUATION))), int(rng.integers(len(PREPOSITIONS))),
                   int(rng.integers(len(BACKGROUND_NOUNS))), int(rng.integers(len(JOINS))), background_said,
                   picks(2), picks(3), picks(2))


def segment_captions(segments: list[tuple[ClipSpec, int]], frames: int, wording: Wording = Wording()) -> list[str]:
    """Per-frame captions of a clip whose content changes at moments: segments are (spec, first frame),
    the first at frame 0, in order. One wording serves every segment, so neighbouring captions differ
    only in what changed, which is what per-frame contexts must teach."""
    starts = [start for _, start in segments]
    if not segments or starts[0] != 0 or any(b <= a for a, b in zip(starts, starts[1:])) or starts[-1] >= frames:
        raise ValueError(f"segments must start at frame 0 and at increasing frames under {frames}; got starts {starts}")
    texts = [say(spec, wording) for spec, _ in segments]
    return [texts[int(np.searchsorted(starts, f, side="right")) - 1] for f in range(frames)]


def read_caption(text: str) -> ClipSpec:
    """The attributes any wording of `say` names (background None when unsaid; seed 0).

    Phrases are read longest first, and each is blanked once read, so "jet black" is black and is not
    read again as "black".
    """
    words = " " + re.sub(r"[^a-z ]+", " ", text.lower()) + " "
    phrases = [(kind, value, phrase) for kind, table in _READ_TABLES for value, options in table.items()
               for phrase in options]
    found = []  # (position, kind, value)
    for kind, value, phrase in sorted(phrases, key=lambda kvp: -len(kvp[2])):
        for match in re.finditer(f"(?<= ){phrase}(?= )", words):
            found.append((match.start(), kind, value))
            words = words[:match.start()] + "#" * len(phrase) + words[match.end():]
    found.sort()
    background, objects, colour = None, [], None
    for _, kind, value in found:
        if kind == "colour":
            colour = value
        elif kind == "noun" and colour is not None:
            background, colour = colour, None
        elif kind == "shape" and colour is not None:
            objects.append([value, colour, None])
            colour = None
        elif kind == "motion" and objects and objects[-1][2] is None:
            objects[-1][2] = value
    if not objects or any(motion is None for *_, motion in objects):
        raise ValueError(f"could not read {text!r}: expected objects (colour, shape, motion) from the "
                         f"second-generation grammar, e.g. 'a red circle moves left on a blue background'")
    return ClipSpec(background, tuple(ObjectSpec(shape, colour, motion) for shape, colour, motion in objects))


_READ_TABLES = (("colour", COLOUR_WORDS), ("shape", SHAPE_WORDS), ("noun", {n: (n,) for n in BACKGROUND_NOUNS}),
                ("motion", {m: tuple(w for pair in phrases for w in pair) for m, phrases in MOTION_WORDS.items()}))


def _pick(options, index: int):
    return options[index % len(options)]


def _noun_phrase(article: str, colour: str, noun: str) -> str:
    if article == "a" and colour[0] in "aeiou":
        article = "an"
    return f"{article} {colour} {noun}".lstrip()


def _in_case(text: str, case: str) -> str:
    if case == "sentence":
        return text[0].upper() + text[1:]
    if case == "title":
        return " ".join(word[0].upper() + word[1:] for word in text.split(" "))
    return text.upper() if case == "upper" else text
