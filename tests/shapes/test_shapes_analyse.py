"""The analyser must read back every attribute of rendered clips, clean or degraded like a decoded clip."""
import numpy as np
import pytest
import torch

from spacetime.engine.shapes.analyse import analyse_clip, direction
from spacetime.engine.shapes.fit import _sum_of_squares
from spacetime.engine.shapes.render import CENTROID_BELOW_CENTRE, layout, render_clip
from spacetime.engine.shapes.score import accuracy, attribute_hits
from spacetime.engine.shapes.world import COLOURS, ClipSpec, ObjectSpec, sample_specs

SPECS = sample_specs(200, seed=30, second_object_prob=0.25)


def _accuracy(clips):
    return accuracy([attribute_hits(spec, analyse_clip(clip)) for spec, clip in zip(SPECS, clips)])


def test_clean_renders_are_read_back_exactly():
    measured = _accuracy(render_clip(spec) for spec in SPECS)
    print("clean accuracy", measured)
    assert min(measured.values()) >= 0.99


def test_degraded_renders_are_read_back(degraded):
    # blur sigma 1.5 px, noise sigma 0.05, per-channel gain and offset up to 0.04
    measured = _accuracy(degraded(render_clip(spec), seed=i) for i, spec in enumerate(SPECS))
    print("degraded accuracy", measured)
    assert min(measured.values()) >= 0.95


def test_centroids_follow_the_rendered_track():
    spec = ClipSpec("white", (ObjectSpec("triangle", "blue", "down"),), seed=4)
    track = layout(spec, 64)[0]
    expected = track.centres(17) + np.array([0, CENTROID_BELOW_CENTRE["triangle"] * track.side])
    seen = np.array([frame.objects[0].centroid for frame in analyse_clip(render_clip(spec)).frames])
    assert np.abs(seen - expected).max() < 0.5


@pytest.mark.parametrize("width", [64, 65])
def test_shape_fit_sums_residuals_in_frequency_exactly_as_in_pixels(width):
    image = torch.randn(2, 64, width)
    assert torch.allclose(_sum_of_squares(torch.fft.rfft2(image), 64, width), image.square().sum(dim=(1, 2)),
                          rtol=1e-4)


def test_a_frame_without_objects_gives_the_background_and_no_objects():
    empty = torch.tensor(COLOURS["green"]).expand(5, 64, 64, 3)
    analysis = analyse_clip(empty)
    assert analysis.background == "green" and analysis.objects == ()
    assert all(frame.objects == () for frame in analysis.frames)
    spec = ClipSpec("green", (ObjectSpec("circle", "red", "left"),))
    assert attribute_hits(spec, analysis) == {"background": True, "colour": False, "shape": False, "motion": False}


def test_one_frame_is_read_as_a_still_clip():
    spec = ClipSpec("black", (ObjectSpec("diamond", "cyan", "right"),), seed=1)
    analysis = analyse_clip(render_clip(spec, frames=1)[0])
    assert [(o.colour, o.shape, o.motion) for o in analysis.objects] == [("cyan", "diamond", "still")]


@pytest.mark.parametrize("displacement, motion", [((20, 3), "right"), ((-20, 3), "left"), ((2, -20), "up"),
                                                  ((-2, 20), "down"), ((5, -4), "still")])
def test_direction_names_the_dominant_axis(displacement, motion):
    assert direction(displacement, 64) == motion


def test_frames_in_the_wrong_layout_are_refused():
    with pytest.raises(ValueError, match=r"\[F, H, W, 3\]"):
        analyse_clip(torch.zeros(17, 3, 64, 64))
