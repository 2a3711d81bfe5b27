"""Compiling edits onto Wan's causal latent frames, and finishing them: given frames come back exactly."""
import pytest
import torch

from spacetime.engine.editing import (DIRECTIONS, Timeline, blend_mix, blend_transition, compile_timeline,
                                      curve_weights, extend, finish, image_to_video, loop, mask_weights,
                                      match_size)
from spacetime.engine.editing.timeline import anchor_colours

SIZE = 16


def clip(frames=17, seed=0):
    return torch.rand(frames, SIZE, SIZE, 3, generator=torch.Generator().manual_seed(seed))


def group_means(frames):
    """A stand-in encoder: latent frame g is the mean of its pixel frames (frame 0 alone, then 4 each),
    so a test can see which frames were encoded into which latent frame."""
    assert (len(frames) - 1) % 4 == 0, f"the encoder got {len(frames)} frames, not 1 + 4k"
    groups = [frames[:1]] + [frames[i:i + 4] for i in range(1, len(frames), 4)]
    means = torch.stack([g.mean() for g in groups])
    return means.reshape(1, 1, -1, 1, 1).expand(1, 16, -1, SIZE // 8, SIZE // 8).clone()


def decode_exactly(edit):
    """What a perfect model and VAE would decode: the given pixels where known, grey elsewhere."""
    return torch.where(edit.slot_known[:, None, None, None], edit.slot_pixels, torch.full_like(edit.slot_pixels, 0.5))


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("keep_start, keep_end", [(0, 0), (0, 2), (0, 4), (3, 9), (2, 16), (0, -1)])
@pytest.mark.parametrize("add", [1, 7, 12])
def test_extension_keeps_the_range_pixel_identical_and_adds_exactly(direction, keep_start, keep_end, add):
    source = clip()
    timeline = extend(source, keep_start, keep_end, direction, add, context=9)
    edit = compile_timeline(timeline, group_means)
    assert len(edit.slot_known) % 4 == 1 and edit.latent.shape[2] == edit.keep.shape[0]
    out = finish(edit, torch.rand(len(edit.slot_known), SIZE, SIZE, 3))
    kept = source[keep_start:(keep_end if keep_end >= 0 else 16) + 1]
    assert len(out) == len(kept) + add
    before = {"forward": 0, "backward": add, "both": add // 2}[direction]
    assert torch.equal(out[before:before + len(kept)], kept)


def test_held_latent_frames_are_encoded_from_their_own_pixels():
    source = clip()
    for timeline in (extend(source, 0, 8, "forward", 8, 9), extend(source, 8, 16, "backward", 8, 9),
                     loop(source, 8, 0, 5), blend_transition(source, clip(seed=1), 8, 5)):
        edit = compile_timeline(timeline, group_means)
        expected = group_means(torch.where(edit.slot_known[:, None, None, None], edit.slot_pixels, 0))
        held = edit.keep.bool()
        assert held.any()
        torch.testing.assert_close(edit.latent[:, :, held], expected[:, :, held])
        assert torch.all(edit.latent[:, :, ~held] == 0)


def test_a_run_after_frame_zero_is_encoded_after_a_still_history_of_its_first_frame():
    seen = []

    def recording(frames):
        seen.append(frames)
        return group_means(frames)

    source = clip()
    edit = compile_timeline(extend(source, 12, 16, "backward", 12, 4), recording)
    (frames,) = seen
    assert len(frames) == 13 + 4 and torch.equal(frames[:13], source[12:13].expand(13, -1, -1, -1))
    assert torch.equal(frames[13:], source[12:16])
    assert edit.keep.tolist() == [0, 0, 0, 0, 1]


def test_forward_context_is_whole_latent_frames_ending_at_the_seam():
    edit = compile_timeline(extend(clip(), 0, 6, "forward", 10, 9), group_means)  # 7 kept: the model sees 5
    assert edit.keep.tolist() == [1, 1, 0, 0, 0] and edit.slot_output[0] == 2


def test_finish_with_a_perfect_decode_returns_the_source():
    source = clip()
    edit = compile_timeline(extend(source, 0, 4, "forward", 12, 5), group_means)
    out = finish(edit, torch.where(edit.slot_known[:, None, None, None], edit.slot_pixels, source[edit.slot_output]))
    assert torch.equal(out, source)


def test_anchoring_removes_a_colour_error_the_decode_made():
    truth = clip() * 0.8 + 0.1
    known = torch.zeros(17, dtype=torch.bool)
    known[:5] = True
    error = torch.tensor([0.03, -0.02, 0.01])
    anchored = anchor_colours(truth + error, truth, known)
    torch.testing.assert_close(anchored[5:], truth[5:])


def test_anchoring_fades_a_per_pixel_error_out_over_a_few_frames():
    truth = torch.full((17, SIZE, SIZE, 3), 0.5)
    known = torch.zeros(17, dtype=torch.bool)
    known[:5] = True
    decoded = truth.clone()
    decoded[:, :4] += 0.02  # the decode is off in a band (5 grey levels), in every frame
    anchored = anchor_colours(decoded, truth, known)
    band_error = (anchored[5:, :4] - truth[5:, :4]).mean(dim=(1, 2, 3))
    assert band_error[0] < 0.002 and band_error[-1] > 0.019  # corrected at the seam, as decoded further on
    assert torch.all(band_error[1:] >= band_error[:-1] - 1e-6)


def test_image_to_video_starts_on_the_image():
    image = clip(1)[0]
    edit = compile_timeline(image_to_video(image, 17), group_means)
    assert edit.keep.tolist() == [1, 1, 0, 0, 0, 0]  # a still history of the image, then the image: held
    out = finish(edit, torch.rand(21, SIZE, SIZE, 3))
    assert len(out) == 17 and torch.equal(out[0], image)


@pytest.mark.parametrize("build", [lambda source: image_to_video(source[0], 17),
                                   lambda source: extend(source, 3, 5, "forward", 12, 5)])  # the model sees frame 5
def test_a_lone_given_first_frame_is_held_after_a_still_history_that_is_dropped(build):
    source = clip()
    edit = compile_timeline(build(source), group_means)
    first = edit.slot_pixels[4]
    assert torch.equal(edit.slot_pixels[:5], first.expand(5, -1, -1, -1)) and edit.slot_known[:5].all()
    assert edit.slot_output[:4].tolist() == [-1] * 4 and not edit.slot_known[5:].any()
    assert edit.keep[:2].tolist() == [1, 1] and not edit.keep[2:].any()
    torch.testing.assert_close(edit.latent[:, :, :2], group_means(first.expand(5, -1, -1, -1)))


def test_loop_ends_in_a_bridge_the_model_sees_the_start_after():
    source = clip()
    edit = compile_timeline(loop(source, 8, 0, 5), group_means)
    assert edit.keep.tolist() == [1, 1, 0, 0, 1]  # the clip's end, the bridge, the clip's start again
    out = finish(edit, decode_exactly(edit))
    assert len(out) == 25 and torch.equal(out[:17], source)
    assert torch.equal(edit.slot_pixels[13:17], source[:4])


def test_loop_change_frames_remake_the_ends():
    source = clip()
    out = finish(*(lambda e: (e, decode_exactly(e)))(compile_timeline(loop(source, 8, 2, 5), group_means)))
    assert len(out) == 25 and torch.equal(out[:13], source[2:15])


def test_blend_transition_keeps_both_clips():
    a, b = clip(), clip(9, seed=1)
    edit = compile_timeline(blend_transition(a, b, 8, 5), group_means)
    out = finish(edit, decode_exactly(edit))
    assert len(out) == 17 + 8 + 9 and torch.equal(out[:17], a) and torch.equal(out[25:], b)


def test_blend_mix_keeps_whole_frames_and_starts_the_rest_from_the_mixed_latents():
    a, b = clip(), clip(seed=1)
    share = curve_weights("0:0, 0.3:0, 0.7:1, 1:1", 17)
    edit = blend_mix(a, b, share, group_means)
    out = finish(edit, decode_exactly(edit))
    assert torch.equal(out[share == 0], a[share == 0]) and torch.equal(out[share == 1], b[share == 1])
    mixed = ~edit.keep.bool()
    assert mixed.any() and torch.all(edit.latent[:, :, mixed] != 0)


def test_blend_curve_is_linear_between_points_and_level_outside():
    share = curve_weights("0.25:0, 0.75:1", 5)
    torch.testing.assert_close(share, torch.tensor([0.0, 0.0, 0.5, 1.0, 1.0]))
    assert torch.equal(curve_weights("0:0.3", 3), torch.full((3,), 0.3))


@pytest.mark.parametrize("curve, message", [
    ("", "empty"), ("0:0, 1", "not 'time:value'"), ("0:0, 1.5:1", "between 0 and 1"), ("0.5:0, 0.2:1", "rise"),
])
def test_bad_blend_curves_are_explained(curve, message):
    with pytest.raises(ValueError, match=message):
        curve_weights(curve, 17)


def test_blend_of_different_sizes_is_refused_or_resized():
    a, b = clip(), torch.rand(9, 32, 48, 3)
    with pytest.raises(ValueError, match="clip B is 48×32 but clip A is 16×16: set fit to 'resize'"):
        match_size(b, a, resize=False)
    assert match_size(b, a, resize=True).shape == (9, SIZE, SIZE, 3)


@pytest.mark.parametrize("build, message", [
    (lambda: extend(clip(), 0, 17, "forward", 4, 5), r"keep range 0–17 is outside the clip, which has 17 frames \(0–16\)"),
    (lambda: extend(clip(), 9, 3, "forward", 4, 5), "the keep range 9–3 ends before it starts"),
    (lambda: extend(clip(), 17, -1, "forward", 4, 5), "the keep range 17–-1 is outside the clip, which has 17"),
    (lambda: blend_mix(clip(2), clip(2), curve_weights("0:0, 1:1", 2), group_means),
     "every one of the mix's 2 frames .as many as the shorter clip has. all of A or all of B"),
    (lambda: mask_weights(torch.full((5, 4, 4), float("nan")), 5), "the curve_mask holds 80 NaN values"),
    (lambda: blend_mix(clip(2), clip(2), curve_weights("0:0, 0.3:0, 0.7:1, 1:1", 2), group_means),
     "nothing to blend"),
    (lambda: mask_weights(torch.zeros(0, 4, 4), 5), "curve_mask is empty"),
    (lambda: extend(clip(), 0, 4, "forward", 0, 5), "frames to add is 0"),
    (lambda: extend(clip(), 0, 4, "sideways", 4, 5), "direction 'sideways'"),
    (lambda: image_to_video(clip(1)[0], 1), "length is 1; it must be at least 2"),
    (lambda: loop(clip(5), 4, 3, 5), "change_frames 3 leaves nothing of the 5-frame clip: use at most 2"),
    (lambda: blend_transition(clip(), clip(), 0, 5), "transition frames is 0"),
    (lambda: Timeline(clip(5), torch.ones(5, dtype=torch.bool), (0, 5)), "nothing to generate"),
])
def test_bad_edits_are_explained(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_finish_refuses_frames_from_another_decode():
    edit = compile_timeline(extend(clip(), 0, 4, "forward", 12, 5), group_means)
    with pytest.raises(ValueError, match="decode the edit's own latent"):
        finish(edit, torch.rand(13, SIZE, SIZE, 3))
    slots = len(edit.slot_known)
    with pytest.raises(ValueError, match=f"a batch of 2 clips: pick one with core's Image From Batch .* length {slots}"):
        finish(edit, torch.rand(2 * slots, SIZE, SIZE, 3))


def test_finish_refuses_nan_frames():
    edit = compile_timeline(extend(clip(), 0, 4, "forward", 12, 5), group_means)
    decoded = torch.rand(17, SIZE, SIZE, 3)
    decoded[9, 3, 3, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        finish(edit, decoded)


def test_anchoring_a_one_frame_bridge_removes_an_error_both_sides_share():
    truth = clip(9) * 0.8 + 0.1
    known = torch.ones(9, dtype=torch.bool)
    known[4] = False
    pattern = 0.02 * torch.rand(SIZE, SIZE, 3, generator=torch.Generator().manual_seed(3))
    anchored = anchor_colours(truth + pattern, truth, known)
    torch.testing.assert_close(anchored[4], truth[4])


def test_four_kept_frames_before_new_ones_are_all_held():
    edit = compile_timeline(extend(clip(), 0, 3, "forward", 8, 5), group_means)
    held_slots = edit.slot_known & (edit.slot_output >= 0)
    assert edit.keep.tolist() == [0, 1, 0, 0] and int(held_slots.sum()) == 4


def test_mask_weights_are_per_frame_means_stretched_and_snapped():
    mask = torch.zeros(3, 4, 4)
    mask[1] = 0.5
    mask[2] = 1.0
    torch.testing.assert_close(mask_weights(mask, 3), torch.tensor([0.0, 0.5, 1.0]))
    assert mask_weights(mask, 5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert mask_weights(torch.full((4, 4), 0.3), 2).tolist() == pytest.approx([0.3, 0.3])
    assert mask_weights(torch.tensor([0.0, 1e-6, 1.0]), 3).tolist() == [0.0, 0.0, 1.0]


def test_anchoring_colour_shift_ignores_an_object_the_decode_drew_elsewhere():
    truth = torch.full((13, SIZE, SIZE, 3), 0.5)
    known = torch.zeros(13, dtype=torch.bool)
    known[:5] = True
    decoded = truth.clone()
    decoded[4, :6, :6] = 1.0  # the known frame's decode shows an object the source does not have
    anchored = anchor_colours(decoded, truth, known)
    assert torch.equal(anchored[9:], truth[9:])  # beyond the fade: no shift of the whole frame
