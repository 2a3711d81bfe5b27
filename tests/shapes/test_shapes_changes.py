import numpy as np
import pytest
import torch

from spacetime.engine.shapes.analyse import analyse_clip
from spacetime.engine.shapes.changes import render_segments, sample_change, segment_tracks
from spacetime.engine.shapes.dataset import SceneClips
from spacetime.engine.shapes.render import layout, render_clip, turned
from spacetime.engine.shapes.world import HELDOUT, ClipSpec, ObjectSpec, sample_spec


@pytest.mark.parametrize("frames", [17, 33])
def test_a_change_starts_a_latent_frame_with_two_on_each_side_and_changes_one_attribute(frames):
    rng = np.random.default_rng(5)
    kinds = set()
    for _ in range(40):
        spec = sample_spec(rng, "train", 0.5)
        (first, zero), (second, start) = sample_change(rng, spec, frames)
        assert first == spec and zero == 0 and second.seed == spec.seed and second.background == spec.background
        assert (start - 1) % 4 == 0 and start >= 5 and (frames - start) >= 8
        changed = [(a, b) for a, b in zip(first.objects, second.objects) if a != b]
        assert len(changed) == 1
        (a, b), = changed
        assert sum(getattr(a, k) != getattr(b, k) for k in ("colour", "shape", "motion")) == 1
        assert a.motion == b.motion or len(spec.objects) == 1
        kinds.update(k for k in ("colour", "shape", "motion") if getattr(a, k) != getattr(b, k))
        assert b.triple() not in HELDOUT
        assert len({o.colour for o in second.objects}) == len(second.objects)
    assert kinds == {"colour", "shape", "motion"}


def test_a_colour_or_shape_change_splices_two_renders_on_the_same_track():
    rng = np.random.default_rng(8)
    spec = sample_spec(rng, "train", 1.0)  # two objects: never a motion change
    segments = sample_change(rng, spec, 17)
    start = segments[1][1]
    clip = render_segments(segments, 17, 64)
    assert torch.equal(clip[:start], render_clip(segments[0][0], 17, 64)[:start])
    assert torch.equal(clip[start:], render_clip(segments[1][0], 17, 64)[start:])


def test_a_motion_change_turns_where_the_object_is_and_the_analyser_sees_the_new_way():
    spec = ClipSpec("black", (ObjectSpec("square", "white", "right"),), seed=4)
    segments = ((spec, 0), (ClipSpec("black", (ObjectSpec("square", "white", "down"),), seed=4), 9))
    before, after = segment_tracks(segments, 17, 64)
    assert np.allclose(before[0].centres(17)[9], after[0].centres(17)[9])
    clip = render_segments(segments, 17, 64)
    assert torch.equal(clip[:9], render_clip(spec, 17, 64)[:9])
    assert analyse_clip(clip[:9]).objects[0].motion == "right" and analyse_clip(clip[9:]).objects[0].motion == "down"


def test_too_short_for_a_change_says_so():
    with pytest.raises(ValueError, match="at least 4 latent frames"):
        sample_change(np.random.default_rng(0), sample_spec(np.random.default_rng(0)), 9)
    track = layout(sample_spec(np.random.default_rng(0)), 64)[0]
    for frame, frames in ((0, 1), (17, 17), (-1, 17)):
        with pytest.raises(ValueError, match=f"got frame {frame} of {frames}"):
            turned(track, frame, frames, "left", 64)


def test_scene_clips_are_reproducible_and_mix_changes_at_the_asked_share():
    data = SceneClips(60, seed=3, frames=17, change_prob=0.5)
    changing = sum(len(data[i][1]) == 2 for i in range(60))
    assert 18 <= changing <= 42
    clip, segments = data[7]
    again, same = SceneClips(60, seed=3, frames=17, change_prob=0.5)[7]
    assert clip.shape == (3, 17, 64, 64) and torch.equal(clip, again) and segments == same
    assert SceneClips(4, seed=3, frames=1)[0][0].shape == (3, 1, 64, 64)
    with pytest.raises(ValueError, match="need at least 13 frames; got 9 frames with change_prob 0.25"):
        SceneClips(4, frames=9, change_prob=0.25)
