import numpy as np
import pytest
import torch

from spacetime.engine.shapes.render import MOTION_VECTORS, TRAVEL, layout, render_clip
from spacetime.engine.shapes.world import COLOURS, ClipSpec, ObjectSpec, sample_specs


def test_rendering_is_deterministic_given_the_spec_seed():
    spec = sample_specs(1, seed=10, second_object_prob=1.0)[0]
    assert torch.equal(render_clip(spec), render_clip(spec))
    moved = ClipSpec(spec.background, spec.objects, seed=spec.seed + 1)
    assert not torch.equal(render_clip(spec), render_clip(moved))


def test_frames_are_image_layout_in_range_with_background_corners():
    spec = ClipSpec("gray", (ObjectSpec("triangle", "red", "up"),), seed=3)
    clip = render_clip(spec, frames=33, size=96)
    assert clip.shape == (33, 96, 96, 3) and clip.dtype == torch.float32
    assert clip.min() >= 0 and clip.max() <= 1
    assert torch.allclose(clip[:, 0, 0], torch.tensor(COLOURS["gray"]))


def test_frame_count_only_changes_how_finely_the_same_motion_is_sampled():
    spec = sample_specs(1, seed=11)[0]
    short, long = render_clip(spec, frames=17), render_clip(spec, frames=33)
    assert torch.equal(short[0], long[0]) and torch.equal(short[-1], long[-1])
    assert torch.equal(short[8], long[16])


def test_objects_are_large_inside_the_frame_apart_and_move_as_asked():
    size = 64
    for spec in sample_specs(600, seed=12, second_object_prob=0.5):
        tracks = layout(spec, size)
        for obj, track in zip(spec.objects, tracks):
            assert track.side >= 16
            path = track.centres(17)
            assert (path - track.side / 2 >= 0).all() and (path + track.side / 2 <= size).all()
            travel = track.end - track.start
            expected = np.array(MOTION_VECTORS[obj.motion])
            assert np.allclose(np.sign(travel), expected)
            assert obj.motion == "still" or np.abs(travel).max() >= TRAVEL[0] * size
        if len(tracks) == 2:
            gap = np.abs(tracks[0].centres(65) - tracks[1].centres(65)).max(axis=1)
            assert (gap > (tracks[0].side + tracks[1].side) / 2).all()


def test_objects_are_drawn_in_flat_colour():
    spec = ClipSpec("black", (ObjectSpec("square", "yellow", "still"),), seed=0)
    frame = render_clip(spec, frames=1)[0]
    colours = {tuple(p) for p in (frame.reshape(-1, 3) * 1000).round().int().tolist()}
    yellow = tuple(round(c * 1000) for c in COLOURS["yellow"])
    assert yellow in colours and len(colours) < 40  # two flat colours plus a one-pixel soft edge


def test_too_small_frames_are_refused_with_the_reason():
    spec = sample_specs(1, seed=0)[0]
    with pytest.raises(ValueError, match="16 px"):
        render_clip(spec, size=32)
