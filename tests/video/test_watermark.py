"""The visible watermark: drawn in the chosen corner only, at the opacity asked for."""
import pytest
import torch

from spacetime.engine.video.watermark import add_watermark

FRAMES = torch.full((3, 64, 96, 3), 0.5)


@pytest.mark.parametrize("corner, rows, cols", [
    ("bottom right", slice(32, None), slice(48, None)), ("top left", slice(None, 32), slice(None, 48)),
])
def test_text_lands_in_its_corner_only(corner, rows, cols):
    marked = add_watermark(FRAMES, "AI", 1.0, corner)
    changed = (marked != FRAMES).any(dim=-1)
    assert changed[:, rows, cols].any() and changed.sum() == changed[:, rows, cols].sum()
    assert torch.equal(changed[0], changed[2])  # the same on every frame
    assert marked.max() > 0.8  # white letters (anti-aliased at this small size)


def test_opacity_scales_the_change_and_zero_or_no_text_changes_nothing():
    half, full = add_watermark(FRAMES, "AI", 0.5), add_watermark(FRAMES, "AI", 1.0)
    assert 0 < (half - FRAMES).abs().max() < (full - FRAMES).abs().max()
    assert torch.equal(add_watermark(FRAMES, "AI", 0.0), FRAMES) and torch.equal(add_watermark(FRAMES, "", 1.0), FRAMES)


@pytest.mark.parametrize("args, message", [
    (("AI", 1.5, "bottom right"), "opacity must be between 0 and 1"),
    (("AI", 0.5, "middle"), "corner 'middle' is not one of"),
    (("A\nI", 0.5, "top left"), "line break"),
])
def test_bad_watermarks_are_explained(args, message):
    with pytest.raises(ValueError, match=message):
        add_watermark(FRAMES, *args)
