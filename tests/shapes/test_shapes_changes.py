import numpy as np
import pytest
import torch

from spacetime.engine.shapes.changes import render_segments, sample_change
from spacetime.engine.shapes.dataset import SceneClips
from spacetime.engine.shapes.render import layout, render_clip
from spacetime.engine.shapes.world import HELDOUT, sample_spec


@pytest.mark.parametrize("frames", [17, 33])
def test_a_change_starts_a_latent_frame_with_two_on_each_side_and_changes_one_attribute(frames):
    rng = np.random.default_rng(5)
    for _ in range(40):
        spec = sample_spec(rng, "train", 0.5)
        (first, zero), (second, start) = sample_change(rng, spec, frames)
        assert first == spec and zero == 0 and second.seed == spec.seed and second.background == spec.background
        assert (start - 1) % 4 == 0 and start >= 5 and (frames - start) >= 8
        changed = [(a, b) for a, b in zip(first.objects, second.objects) if a != b]
        assert len(changed) == 1
        (a, b), = changed
        assert a.motion == b.motion and (a.colour == b.colour) != (a.shape == b.shape)
        assert b.triple() not in HELDOUT
        assert len({o.colour for o in second.objects}) == len(second.objects)


def test_segments_splice_into_one_clip_on_the_same_track():
    rng = np.random.default_rng(8)
    spec = sample_spec(rng, "train")
    segments = sample_change(rng, spec, 17)
    start = segments[1][1]
    clip = render_segments(segments, 17, 64)
    assert torch.equal(clip[:start], render_clip(segments[0][0], 17, 64)[:start])
    assert torch.equal(clip[start:], render_clip(segments[1][0], 17, 64)[start:])
    tracks = [layout(spec, 64) for spec, _ in segments]
    assert all(np.array_equal(a.start, b.start) and np.array_equal(a.end, b.end) for a, b in zip(*tracks))


def test_too_short_for_a_change_says_so():
    with pytest.raises(ValueError, match="at least 4 latent frames"):
        sample_change(np.random.default_rng(0), sample_spec(np.random.default_rng(0)), 9)


def test_scene_clips_are_reproducible_and_mix_changes_at_the_asked_share():
    data = SceneClips(60, seed=3, frames=17, change_prob=0.5)
    changing = sum(len(data[i][1]) == 2 for i in range(60))
    assert 18 <= changing <= 42
    clip, segments = data[7]
    again, same = SceneClips(60, seed=3, frames=17, change_prob=0.5)[7]
    assert clip.shape == (3, 17, 64, 64) and torch.equal(clip, again) and segments == same
    assert SceneClips(4, seed=3, frames=1)[0][0].shape == (3, 1, 64, 64)
