"""The second-generation grammar: every wording says the spec, held-out wordings never meet training ones."""
import numpy as np
import pytest

from spacetime.engine.shapes.captions import caption
from spacetime.engine.shapes.wording import (CASES, COLOUR_WORDS, HELDOUT_FRAMES, MOTION_WORDS, ORDERS, SHAPE_WORDS,
                                             Wording, read_caption, sample_wording, say, segment_captions)
from spacetime.engine.shapes.world import COLOURS, MOTIONS, SHAPES, ClipSpec, ObjectSpec, sample_specs

SPECS = sample_specs(300, seed=11, second_object_prob=0.4)


def _wordings(split, seed=0):
    rng = np.random.default_rng(seed)
    return [sample_wording(rng, split) for _ in SPECS]


def test_every_value_of_the_world_has_words():
    assert set(SHAPE_WORDS) == set(SHAPES) and set(COLOUR_WORDS) == set(COLOURS) and set(MOTION_WORDS) == set(MOTIONS)
    every = [w for table in (SHAPE_WORDS, COLOUR_WORDS) for words in table.values() for w in words]
    assert len(every) == len(set(every))  # no word names two values


def test_the_default_wording_is_the_first_generation_caption():
    assert all(say(spec) == caption(spec) for spec in SPECS)


@pytest.mark.parametrize("split", ["train", "heldout"])
def test_every_wording_reads_back_to_its_spec(split):
    for spec, wording in zip(SPECS, _wordings(split)):
        text = say(spec, wording)
        read = read_caption(text)
        assert read.objects == spec.objects, text
        assert read.background == (spec.background if wording.background_said else None), text


def test_held_out_wordings_are_only_in_the_held_out_split_and_never_said_in_training():
    train, heldout = _wordings("train"), _wordings("heldout")
    assert all(w.frame() not in HELDOUT_FRAMES for w in train)
    assert all(w.frame() in HELDOUT_FRAMES for w in heldout)
    many = [sample_wording(np.random.default_rng([3, i])) for i in range(3000)]
    train_texts = {say(spec, w) for spec, w in zip(SPECS * 10, many)}
    assert not train_texts & {say(spec, w) for spec, w in zip(SPECS, heldout)}
    # every single order, case and article is trained
    assert {w.order for w in many} == set(range(len(ORDERS))) and {w.case for w in many} == set(range(len(CASES)))
    assert len({w.article for w in many}) == 4 and len(HELDOUT_FRAMES) == 16


def test_a_split_can_be_drawn_in_one_letter_case():
    rng = np.random.default_rng(4)
    lower = [sample_wording(rng, "heldout", background_said_prob=1.0, case=0) for _ in range(200)]
    assert all(w.case == 0 and w.frame() in HELDOUT_FRAMES and w.background_said for w in lower)
    assert len({w.order for w in lower}) == len(ORDERS)


def test_wordings_vary_every_word_class():
    texts = [say(spec, w) for spec, w in zip(SPECS, _wordings("train"))]
    joined = " ".join(texts)
    for word in ("disc", "block", "wedge", "rhombus", "scarlet", "grey", "drifts", "rising", "over", "against",
                 "in front of", "backdrop", "field", "the ", "while", "there is"):
        assert word in joined.lower(), word
    assert any(t.isupper() for t in texts) and any(t.endswith("!") for t in texts)
    assert any(t[0].isupper() and not t.isupper() for t in texts)
    assert sum("background" in t.lower() or "backdrop" in t.lower() or "field" in t.lower() for t in texts) < len(texts)


def test_cases_articles_and_an_unsaid_background():
    spec = ClipSpec("green", (ObjectSpec("circle", "cyan", "up"),))
    assert say(spec, Wording(case=2, colour_words=(1, 0, 0))) == "An Aqua Circle Moves Up On A Green Background"
    assert say(spec, Wording(case=3, punctuation=1)) == "A CYAN CIRCLE MOVES UP ON A GREEN BACKGROUND."
    assert say(spec, Wording(order=2, article=3, noun=1)) == "green backdrop with cyan circle moving up"
    assert say(spec, Wording(order=3, background_said=False)) == "there is a cyan circle moving up"
    assert say(spec, Wording(order=1, background_said=False)) == "a cyan circle moves up"


def test_segment_captions_change_at_the_moment_and_only_in_what_changed():
    red = ClipSpec("blue", (ObjectSpec("square", "red", "left"),))
    yellow = ClipSpec("blue", (ObjectSpec("square", "yellow", "left"),))
    per_frame = segment_captions([(red, 0), (yellow, 9)], 17, Wording(order=1, preposition=2))
    assert per_frame[:9] == ["against a blue background, a red square moves left"] * 9
    assert per_frame[9:] == ["against a blue background, a yellow square moves left"] * 8
    for bad in ([(red, 2)], [(red, 0), (yellow, 0)], [(red, 0), (yellow, 17)], []):
        with pytest.raises(ValueError):
            segment_captions(bad, 17)


def test_unreadable_text_is_refused():
    with pytest.raises(ValueError):
        read_caption("a red thing on a blue background")
