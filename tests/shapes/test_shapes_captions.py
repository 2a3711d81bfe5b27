from itertools import product

import numpy as np
import pytest

from spacetime.engine.shapes.captions import MOTION_PHRASES, SENTENCES, caption, parse_caption
from spacetime.engine.shapes.world import ClipSpec, ObjectSpec, sample_specs


def test_canonical_captions_read_as_plain_english():
    one = ClipSpec("blue", (ObjectSpec("circle", "red", "left"),))
    assert caption(one) == "a red circle moves left on a blue background"
    two = ClipSpec("black", (ObjectSpec("circle", "red", "left"), ObjectSpec("square", "white", "still")))
    assert caption(two) == "a red circle moves left and a white square stays still on a black background"


@pytest.mark.parametrize("split", ["train", "heldout"])
def test_captions_parse_back_to_their_spec(split):
    rng = np.random.default_rng(0)
    for spec in sample_specs(500, seed=20, split=split, second_object_prob=0.4):
        assert parse_caption(caption(spec)) == spec
        assert parse_caption(caption(spec, rng)) == spec


def test_every_phrase_of_the_grammar_parses():
    for sentence, (motion, phrases) in product(SENTENCES, MOTION_PHRASES.items()):
        for phrase in phrases:
            text = sentence.format(things=f"a green diamond {phrase}", background="white")
            assert parse_caption(text) == ClipSpec("white", (ObjectSpec("diamond", "green", motion),))


def test_paraphrases_are_seeded_and_varied():
    spec = sample_specs(1, seed=21)[0]
    draws = [caption(spec, np.random.default_rng(5)) for _ in range(3)]
    assert len(set(draws)) == 1
    assert len({caption(spec, np.random.default_rng(s)) for s in range(40)}) > 3


def test_parser_tolerates_case_and_punctuation():
    text = "On a GRAY background, a Yellow Triangle rises."
    assert parse_caption(text) == ClipSpec("gray", (ObjectSpec("triangle", "yellow", "up"),))


@pytest.mark.parametrize("text", ["a red circle moves left", "a red blob moves left on a blue background",
                                  "a red circle on a blue background"])
def test_unreadable_captions_say_what_was_expected(text):
    with pytest.raises(ValueError, match="expected"):
        parse_caption(text)
