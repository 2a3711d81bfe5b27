"""Seam measurements must pass clean cuts of one render and catch steps, jumps and changes across a seam."""
import math

import pytest
import torch

from spacetime.engine.shapes.analyse import analyse_clip
from spacetime.engine.shapes.render import render_clip
from spacetime.engine.shapes.seams import background_drift, background_mask, seam_continuity, seam_ratio
from spacetime.engine.shapes.world import ClipSpec, ObjectSpec, sample_specs

RED_RIGHT = ClipSpec("gray", (ObjectSpec("circle", "red", "right"),), seed=3)
STILL = ClipSpec("black", (ObjectSpec("square", "yellow", "still"),), seed=5)


def _with(spec: ClipSpec, index: int = 0, **changes) -> ClipSpec:
    """The spec with one object's attributes changed; the layout (seeded) stays the same."""
    objects = list(spec.objects)
    objects[index] = ObjectSpec(**{**objects[index].__dict__, **changes})
    return ClipSpec(spec.background, tuple(objects), spec.seed)


def _spliced(before: torch.Tensor, after: torch.Tensor, seam: int) -> torch.Tensor:
    """Frames of `before` up to the seam, then `after`'s from there: one clip with a seam at `seam`."""
    return torch.cat([before[:seam], after[seam:]])


def _speed_change(steps_before: int, steps_after: int, seam: int = 20) -> torch.Tensor:
    """RED_RIGHT crossing its track in `steps_before` frame steps, then from the nearest point on at
    steps_before / steps_after times the speed."""
    before = render_clip(RED_RIGHT, frames=steps_before + 1)[:seam]
    resume = round(seam * steps_after / steps_before)
    return torch.cat([before, render_clip(RED_RIGHT, frames=steps_after + 1)[resume:]])


# ---------------------------------------------------------------------------------------- seam_ratio

@pytest.mark.parametrize("spec", sample_specs(4, seed=40, second_object_prob=0.5) + [RED_RIGHT])
def test_a_clean_render_split_anywhere_passes(spec):  # among them: white ground, still, two objects
    clip = render_clip(spec, frames=33)
    for seam in range(2, 31):
        result = seam_ratio(clip, seam, range(seam, 33))
        assert result.ratio <= 1.5, (seam, result)  # on the ratio alone, not only as a small jump
        assert result.passes() and result.inner_pairs == 32 - seam


def test_a_grey_step_after_the_seam_fails():
    clip = render_clip(RED_RIGHT, frames=33)
    stepped = torch.cat([clip[:16], (clip[16:] + 8 / 255).clamp(0, 1)])
    result = seam_ratio(stepped, 16, range(16, 33))
    assert result.seam_difference == pytest.approx(8, abs=1.5)
    assert result.ratio > 3 and not result.passes()
    assert seam_ratio(clip, 16, range(16, 33)).ratio == pytest.approx(1, abs=0.3)


def test_a_still_clip_passes_below_one_percent_and_fails_above():
    clip = render_clip(STILL, frames=9)
    assert seam_ratio(clip, 4, range(4, 9)).passes()
    faint = torch.cat([clip[:4], clip[4:] + 2 / 255])
    visible = torch.cat([clip[:4], clip[4:] + 4 / 255])
    assert math.isinf(seam_ratio(faint, 4, range(4, 9)).ratio)  # the generated frames never change
    assert seam_ratio(faint, 4, range(4, 9)).passes()
    assert not seam_ratio(visible, 4, range(4, 9)).passes()


def test_seam_zero_is_the_loop_seam():
    clip = render_clip(RED_RIGHT, frames=17)
    result = seam_ratio(clip, 0, range(9, 17))
    expected = float((clip[0].double() - clip[-1].double()).abs().mean() * 255)
    assert result.seam_difference == pytest.approx(expected)
    assert not result.passes()  # a one-way motion jumps back to its start
    palindrome = torch.cat([clip, clip.flip(0)[1:-1]])  # 0..16..1, which loops back to 0 smoothly
    assert seam_ratio(palindrome, 0, range(17, 31)).passes()


def test_the_seam_pair_is_not_its_own_reference():
    clip = render_clip(RED_RIGHT, frames=17)
    stepped = torch.cat([clip[:8], clip[8:] + 8 / 255])
    whole = seam_ratio(stepped, 8, range(17))
    assert whole.inner_pairs == 15 and not whole.passes()


def test_generated_frames_as_slice_list_or_negative_indices_agree():
    clip = render_clip(RED_RIGHT, frames=17)
    as_range = seam_ratio(clip, 10, range(10, 17))
    assert seam_ratio(clip, 10, slice(10, None)) == as_range
    assert seam_ratio(clip, 10, [-7, -6, -5, -4, -3, -2, -1]) == as_range
    with pytest.raises(ValueError):
        seam_ratio(clip, 10, [17])


def test_fewer_than_two_generated_frames_give_no_ratio_and_only_the_still_rule():
    moving = render_clip(RED_RIGHT, frames=17)
    stepped = torch.cat([moving[:12], moving[12:] + 8 / 255])
    one = seam_ratio(stepped, 12, [12])
    assert one.inner_pairs == 0 and math.isnan(one.ratio) and math.isnan(one.median_inner)
    assert not one.passes() and not seam_ratio(stepped, 12, []).passes()
    assert seam_ratio(moving, 12, [12]).passes()  # ordinary motion at 64 px stays under 1 % of 255
    gaps = seam_ratio(stepped, 12, [12, 14, 16])  # no two of them adjacent
    assert gaps.inner_pairs == 0 and not gaps.passes()
    assert seam_ratio(stepped, 12, [12, 13]).inner_pairs == 1


@pytest.mark.parametrize("seam", [-1, 17])
def test_a_seam_outside_the_clip_is_refused(seam):
    with pytest.raises(ValueError):
        seam_ratio(render_clip(RED_RIGHT, frames=17), seam, range(10, 17))


# ----------------------------------------------------------------------------------- seam_continuity

def test_a_clean_render_keeps_everything_across_a_seam():
    clip = render_clip(RED_RIGHT, frames=33)
    # Eight frames of a 33-frame clip travel too little for the analyser's whole-clip still threshold:
    assert analyse_clip(clip[8:16]).objects[0].motion == "still"
    result = seam_continuity(clip, 16)
    assert result.before.frames == tuple(range(8, 16)) and result.after.frames == tuple(range(16, 24))
    assert (result.before.colour, result.before.shape, result.before.direction) == ("red", "circle", "right")
    assert result.kept() and result.position_jump < 0.2
    assert result.after.speed == pytest.approx(result.before.speed, rel=0.02)


def test_windows_are_cut_short_at_the_clip_ends_but_not_below_the_minimum():
    clip = render_clip(RED_RIGHT, frames=17)
    result = seam_continuity(clip, 4)
    assert result.before.frames == (0, 1, 2, 3) and len(result.after.frames) == 8 and result.kept()
    with pytest.raises(ValueError):
        seam_continuity(clip, 2)
    with pytest.raises(ValueError):
        seam_continuity(clip, 15)


@pytest.mark.parametrize("change", [{"colour": "blue"}, {"shape": "square"}])
def test_a_colour_or_shape_change_is_detected(change):
    clip = _spliced(render_clip(RED_RIGHT, frames=33), render_clip(_with(RED_RIGHT, **change), frames=33), 16)
    result = seam_continuity(clip, 16)
    kept = {"colour": result.colour_kept, "shape": result.shape_kept}
    assert kept == {name: name not in change for name in kept}
    assert result.direction_kept and result.speed_kept() and result.position_jump < 0.5
    assert not result.kept()


def test_a_reversal_is_a_direction_change():
    clip = render_clip(RED_RIGHT, frames=33)
    reversed_after = torch.cat([clip[:17], clip[:16].flip(0)])  # 0..16, then 15..0
    result = seam_continuity(reversed_after, 17)
    assert (result.before.direction, result.after.direction) == ("right", "left")
    assert not result.direction_kept and result.speed_kept()


def test_a_speed_change_of_30_percent_is_detected_and_of_5_percent_is_not():
    faster = seam_continuity(_speed_change(39, 30), 20)
    assert faster.after.speed / faster.before.speed == pytest.approx(1.3, abs=0.03)
    assert not faster.speed_kept() and faster.direction_kept and faster.colour_kept
    slightly = seam_continuity(_speed_change(42, 40), 20)
    assert slightly.after.speed / slightly.before.speed == pytest.approx(1.05, abs=0.03)
    assert slightly.speed_kept() and slightly.kept()


@pytest.mark.parametrize("seed", [0, 1])
def test_continuity_reads_decoded_looking_clips_too(degraded, seed):
    # blur 1.5 px, per-channel shift up to 0.04, noise sigma 0.05: speeds come within about 4 %
    clean = seam_continuity(degraded(render_clip(RED_RIGHT, frames=33), seed), 16)
    assert clean.kept() and clean.position_jump < 0.5
    assert not seam_continuity(degraded(_speed_change(39, 30), seed), 20).speed_kept()
    assert seam_continuity(degraded(_speed_change(42, 40), seed), 20).kept()


def test_a_still_object_keeps_its_speed():
    result = seam_continuity(render_clip(STILL, frames=17), 8)
    assert result.before.direction == result.after.direction == "still"
    assert result.speed_kept() and result.kept()


def test_the_loop_seam_compares_the_clip_end_with_its_start():
    clip = render_clip(RED_RIGHT, frames=17)
    result = seam_continuity(clip, 0)
    assert result.before.frames == tuple(range(9, 17)) and result.after.frames == tuple(range(8))
    assert result.kept()  # same object and motion at both ends ...
    assert result.position_jump > 10  # ... but it jumps back across the frame


def test_with_two_objects_the_main_one_is_followed_by_colour_else_by_position():
    spec = next(s for s in sample_specs(50, seed=41, second_object_prob=1.0) if len(s.objects) == 2)
    clip = render_clip(spec, frames=33)
    clean = seam_continuity(clip, 16)
    assert clean.after.colour == clean.before.colour and clean.kept()
    main = [o.colour for o in spec.objects].index(clean.before.colour)
    used = {o.colour for o in spec.objects} | {spec.background}
    new = next(c for c in ("white", "black", "cyan", "yellow") if c not in used)
    spliced = _spliced(clip, render_clip(_with(spec, main, colour=new), frames=33), 16)
    recoloured = seam_continuity(spliced, 16)
    assert recoloured.after.colour == new and recoloured.position_jump < 0.5  # not the other object
    assert not recoloured.colour_kept and recoloured.shape_kept and recoloured.speed_kept()


# --------------------------------------------------------------------------------- background_drift

def test_a_brightened_copy_drifts_by_its_offset_and_keeps_the_object_colour():
    clip = render_clip(RED_RIGHT, frames=9)
    same = background_drift(clip, clip)
    assert same.drift == 0 and same.colour_kept and same.original_colour == "red"
    assert same.original_background == pytest.approx((0.5, 0.5, 0.5), abs=1e-6)
    brighter = background_drift(clip, (clip + 0.05).clamp(0, 1))
    assert brighter.drift == pytest.approx(5.0, abs=0.01)
    assert brighter.colour_kept and brighter.edited_colour == "red"


def test_a_recoloured_object_leaves_the_background_but_not_the_colour():
    clip = render_clip(RED_RIGHT, frames=9)
    result = background_drift(clip, render_clip(_with(RED_RIGHT, colour="blue"), frames=9))
    assert result.drift < 0.01 and not result.colour_kept
    assert (result.original_colour, result.edited_colour) == ("red", "blue")


def test_the_background_mask_leaves_out_objects_and_their_edges():
    clip = render_clip(RED_RIGHT, frames=5)
    mask = background_mask(clip)
    gray = (clip - 0.5).abs().amax(dim=-1) < 1e-6
    assert mask.shape == clip.shape[:3] and not (mask & ~gray).any()
    assert mask.float().mean() > 0.6  # most of the frame is still measured
