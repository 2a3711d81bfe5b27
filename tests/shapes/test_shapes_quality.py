"""Each measure of what a person sees must pass clean renders and fail the damage it is made to see."""
import numpy as np
import torch
import torch.nn.functional as F

from spacetime.engine.shapes.analyse import analyse_clip
from spacetime.engine.shapes.quality import ideal_mask, mask_iou, mask_ious, seed_spread, stray_fractions
from spacetime.engine.shapes.render import TRAVEL, render_clip
from spacetime.engine.shapes.world import COLOURS, SHAPES, ClipSpec, ObjectSpec, sample_specs

RED_ON_BLUE = ClipSpec("blue", (ObjectSpec("circle", "red", "left"),), seed=3)


def _strays(frames):
    return stray_fractions(frames, analyse_clip(frames))


def _median_iou(frames, spec):
    return float(np.median(mask_ious(analyse_clip(frames), spec)))


def test_clean_and_degraded_renders_have_no_stray_pixels(degraded):
    for i, spec in enumerate(sample_specs(12, seed=5, second_object_prob=0.5)):
        assert _strays(render_clip(spec)).max() == 0
        assert _strays(degraded(render_clip(spec), seed=i)).max() < 0.002


def test_a_blurred_edge_at_the_largest_contrast_is_not_stray(degraded):
    spec = ClipSpec("white", (ObjectSpec("square", "black", "down"),), seed=1)
    assert _strays(degraded(render_clip(spec), seed=0, blur=2.5, noise=0.0)).max() == 0


def test_specks_away_from_the_object_are_counted():
    frames = render_clip(RED_ON_BLUE).clone()
    rows, cols = torch.tensor([1, 2, 3, 60, 61]), torch.tensor([1, 62, 30, 2, 60])
    frames[5, rows, cols] = torch.tensor(COLOURS["yellow"])  # far from blue and from red
    strays = _strays(frames)
    assert strays[5] == len(rows) / 64**2
    assert (strays[torch.arange(17) != 5] == 0).all()


def test_a_speck_in_the_object_colour_or_on_its_edge_is_not_stray():
    frames = render_clip(RED_ON_BLUE).clone()
    frames[5, 1, 1] = torch.tensor(COLOURS["red"])  # the object's own colour
    assert _strays(frames).max() == 0


def test_a_whole_frame_flash_and_a_short_ghost_are_stray():
    frames = render_clip(RED_ON_BLUE).clone()
    frames[0] = torch.tensor(COLOURS["gray"])  # frame 0 flashes grey
    ghost = render_clip(ClipSpec("blue", (ObjectSpec("square", "yellow", "still"),), seed=8), frames=3)
    frames[1:4] = torch.where((ghost - frames[1:4]).abs().sum(-1, keepdim=True) > 0, ghost, frames[1:4])
    strays = _strays(frames)
    assert strays[0] == 1.0
    assert (strays[1:4] > 0.05).all()  # the ghost's area (a box side of 22-27 px, 12-18 % of the frame)
    assert (strays[4:] == 0).all()


def test_ideal_shapes_fit_their_own_renders():
    for shape in SHAPES:
        spec = ClipSpec("black", (ObjectSpec(shape, "white", "right"),), seed=2)
        assert _median_iou(render_clip(spec), spec) > 0.95, shape


def test_degraded_renders_keep_a_high_iou(degraded):
    specs = sample_specs(12, seed=6)
    ious = [_median_iou(degraded(render_clip(spec), seed=i), spec) for i, spec in enumerate(specs)]
    assert min(ious) > 0.85


def test_a_squashed_circle_and_a_wrong_shape_lose_iou():
    spec = ClipSpec("green", (ObjectSpec("circle", "white", "still"),), seed=4)
    frames = render_clip(spec)
    squashed = F.interpolate(frames.permute(0, 3, 1, 2), size=(40, 64), mode="bilinear").permute(0, 2, 3, 1)
    background = torch.tensor(COLOURS["green"]).expand(17, 12, 64, 3)
    squashed = torch.cat([background, squashed, background], dim=1)
    assert _median_iou(frames, spec) > 0.95
    assert _median_iou(squashed, spec) < 0.85
    as_square = ClipSpec("green", (ObjectSpec("square", "white", "still"),), seed=4)
    assert _median_iou(frames, as_square) < 0.9


def test_frames_without_the_object_score_zero():
    frames = render_clip(RED_ON_BLUE).clone()
    frames[10:] = torch.tensor(COLOURS["blue"])  # the object fades out for the last 7 frames
    ious = mask_ious(analyse_clip(frames), RED_ON_BLUE)[0]
    assert all(iou > 0.95 for iou in ious[:10]) and ious[10:] == [0.0] * 7
    yellow = ClipSpec("blue", (ObjectSpec("circle", "yellow", "left"),))
    assert mask_ious(analyse_clip(torch.tensor(COLOURS["blue"]).expand(3, 64, 64, 3)), yellow) == [[0.0] * 3]


def test_ideal_mask_matches_area_and_centroid():
    mask = torch.zeros(64, 64, dtype=torch.bool)
    mask[10:30, 20:44] = True  # a 20 x 24 rectangle
    ideal = ideal_mask("square", mask)
    assert abs(int(ideal.sum()) - 480) < 30
    rows, cols = torch.nonzero(ideal, as_tuple=True)
    assert abs(rows.float().mean() - 19.5) < 0.6 and abs(cols.float().mean() - 31.5) < 0.6
    assert 0.8 < mask_iou(mask, ideal) < 1.0


def test_seed_spread_sees_varied_and_repeated_layouts():
    varied = [ClipSpec("blue", RED_ON_BLUE.objects, seed=s) for s in range(8)]
    tracks = [analyse_clip(render_clip(spec)).objects[0] for spec in varied]
    spread = seed_spread(tracks, 64)
    assert spread.clips == 8 and spread.start_y > 0.2  # a left-moving object starts at any height
    assert TRAVEL[0] - 0.02 < spread.speed[0] <= spread.speed[1] < TRAVEL[1] + 0.02
    same = seed_spread([tracks[0]] * 8 + [None], 64)
    assert same.clips == 8 and same.start_x == same.start_y == 0 and same.speed[0] == same.speed[1]
    assert seed_spread([None], 64).clips == 0
