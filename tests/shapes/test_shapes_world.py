from itertools import combinations, product

import numpy as np
import pytest

from spacetime.engine.shapes import world
from spacetime.engine.shapes.world import (BACKGROUNDS, COLOURS, HELDOUT, MIN_CONTRAST, MOTIONS, OBJECT_COLOURS,
                                           SHAPES, ClipSpec, ObjectSpec, backgrounds_for, sample_specs)


def test_heldout_triples_never_appear_in_train():
    specs = sample_specs(5000, seed=1, split="train", second_object_prob=0.3)
    assert not [s for s in specs if any(o.triple() in HELDOUT for o in s.objects)]


def test_heldout_split_shows_only_heldout_first_objects_and_second_objects_from_train():
    specs = sample_specs(2000, seed=2, split="heldout", second_object_prob=0.3)
    assert all(s.objects[0].triple() in HELDOUT for s in specs)
    assert all(o.triple() not in HELDOUT for s in specs for o in s.objects[1:])
    assert {s.objects[0].triple() for s in specs} == HELDOUT  # every held-out triple is asked for


@pytest.mark.parametrize("split", ["train", "heldout"])
def test_both_splits_cover_every_attribute_value(split):
    specs = sample_specs(3000, seed=3, split=split)
    objects = [o for s in specs for o in s.objects]
    assert {o.shape for o in objects} == set(SHAPES)
    assert {o.colour for o in objects} == set(OBJECT_COLOURS)
    assert {o.motion for o in objects} == set(MOTIONS)
    assert {s.background for s in specs} == set(BACKGROUNDS)


def test_every_pair_of_attribute_values_is_still_trained():
    # Held out are triples only: each (shape, colour), (shape, motion), (colour, motion) is seen in training.
    objects = {o.triple() for s in sample_specs(5000, seed=4) for o in s.objects}
    for a, b in combinations(range(3), 2):
        trained = {(t[a], t[b]) for t in objects}
        everything = {(t[a], t[b]) for t in product(SHAPES, OBJECT_COLOURS, MOTIONS)}
        assert trained == everything
    assert len(HELDOUT) == 32


def test_there_are_enough_distinct_heldout_prompts_for_an_evaluation():
    specs = world.heldout_specs()
    assert len(set(specs)) == len(specs) >= 100
    assert all(s.objects[0].triple() in HELDOUT and s.background in backgrounds_for([s.objects[0].colour])
               for s in specs)


def test_objects_stand_out_and_two_objects_differ_in_colour():
    for spec in sample_specs(3000, seed=5, second_object_prob=0.5):
        assert all(world.contrast(o.colour, spec.background) >= MIN_CONTRAST for o in spec.objects)
        assert len({o.colour for o in spec.objects}) == len(spec.objects)


def test_colour_names_are_far_apart_and_every_colour_pair_has_backgrounds():
    def smallest_gap(names):
        rgb = np.array([COLOURS[c] for c in names])
        return np.linalg.norm(rgb[:, None] - rgb[None], axis=-1)[np.triu_indices(len(rgb), 1)].min()

    assert smallest_gap(OBJECT_COLOURS) > 0.5 and smallest_gap(COLOURS) > 0.4
    assert all(len(backgrounds_for(pair)) >= 2 for pair in combinations(OBJECT_COLOURS, 2))


def test_sampling_is_seeded_and_any_prefix_regenerates_alone():
    assert sample_specs(50, seed=6) == sample_specs(50, seed=6)
    assert [s.seed for s in sample_specs(50, seed=6)] == [s.seed for s in sample_specs(50, seed=6)]
    assert sample_specs(20, seed=6) == sample_specs(50, seed=6)[:20]
    assert sample_specs(50, seed=6) != sample_specs(50, seed=7)


def test_spec_equality_ignores_the_layout_seed():
    red_circle = (ObjectSpec("circle", "red", "left"),)
    assert ClipSpec("blue", red_circle, seed=1) == ClipSpec("blue", red_circle, seed=2)


def test_unknown_split_is_refused():
    with pytest.raises(ValueError, match="split"):
        sample_specs(1, seed=0, split="test")
