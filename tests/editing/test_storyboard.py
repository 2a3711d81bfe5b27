"""Storyboard: the text form, cards in order, per-frame prompt weights and keyframes on latent frames."""
import pytest
import torch

from spacetime.engine.editing import compile_timeline
from spacetime.engine.editing.storyboard import (Card, Storyboard, keyframe_group, keyframe_timeline, parse_storyboard,
                                                 stack_prompts, storyboard_prompts)

PROMPTS = [torch.full((1, 4, 3), float(i)) for i in range(4)]
BASE = torch.full((1, 4, 3), -1.0)


def board(*frames, transition=4):
    out = Storyboard()
    for i, frame in enumerate(frames):
        out = out.add(Card(frame, PROMPTS[i], transition, label=f"card {i}"))
    return out


def test_text_form_reads_seconds_and_frames_and_skips_comments():
    text = "# a story\n0s: a red circle moves right\n\nframe 16: a blue circle moves right\n1.5s: x\n24: y"
    assert parse_storyboard(text, fps=16) == [
        (0, "a red circle moves right", "line 2: 0s: a red circle moves right"),
        (16, "a blue circle moves right", "line 4: frame 16: a blue circle moves right"),
        (24, "x", "line 5: 1.5s: x"), (24, "y", "line 6: 24: y")]


def test_clock_times_are_minutes_and_seconds():
    assert [card[:2] for card in parse_storyboard("0:00: a red circle\n0:01.5: x\n1:00: y", fps=16)] == [
        (0, "a red circle"), (24, "x"), (960, "y")]


@pytest.mark.parametrize("text,says", [
    ("0s a red circle", "line 1 .* is not 'TIME: prompt'"),
    ("0s: x\n1:00 a blue square", "line 2 .* a clock time is minutes:seconds followed by a colon"),
    ("0s: x\n1:00:00: a blue square", "line 2 .* a clock time is minutes:seconds followed by a colon"),
    ("frame 0:02: x", "says both 'frame' and seconds"),
    ("0s: ok\n2s:   ", "line 2 .* has no prompt"),
    ("frame 2.5: x", "not a whole frame"),
    ("\n# only a comment", "empty"),
])
def test_text_that_does_not_parse_names_the_line(text, says):
    with pytest.raises(ValueError, match=says):
        parse_storyboard(text, fps=16)


def test_seconds_need_a_frame_rate():
    with pytest.raises(ValueError, match="fps is nan: give the clip's frame rate"):
        parse_storyboard("1s: x", fps=float("nan"))


def test_cards_out_of_order_are_refused_with_both_named():
    with pytest.raises(ValueError, match="card 1.*not after.*card 0"):
        board(8, 8)


def test_one_hot_weights_away_from_transitions():
    prompts, weights = storyboard_prompts(board(0, 8, transition=0), BASE, latent_frames=5, output_frames=17)
    assert prompts.shape == (2, 4, 3)
    # latent frames stand for frames 0, 2.5, 6.5, 10.5, 14.5
    assert weights.tolist() == [[1, 0], [1, 0], [1, 0], [0, 1], [0, 1]]


def test_transition_blends_linearly_around_the_card_start_and_rows_sum_to_one():
    _, weights = storyboard_prompts(board(0, 8, transition=8), BASE, latent_frames=5, output_frames=17)
    assert torch.allclose(weights.sum(1), torch.ones(5))
    assert torch.allclose(weights[:, 1], torch.tensor([0, 0, 6.5 - 4, 10.5 - 4, 8]) / 8)


def test_the_sampler_prompt_covers_the_time_before_the_first_card():
    prompts, weights = storyboard_prompts(board(8, 12, transition=0), BASE, latent_frames=5, output_frames=17)
    assert torch.equal(prompts[0], BASE[0]) and prompts.shape[0] == 3
    assert weights.argmax(1).tolist() == [0, 0, 0, 1, 2]


def test_a_card_past_the_end_says_how_long_the_clip_is():
    with pytest.raises(ValueError, match="frame 17, past the clip's end.*17 frames"):
        storyboard_prompts(board(0, 17), BASE, latent_frames=5, output_frames=17)


def test_prompts_of_different_lengths_are_padded_with_zero_rows():
    stacked = stack_prompts([torch.ones(1, 2, 3), torch.ones(1, 5, 3)])
    assert stacked.shape == (2, 5, 3) and stacked[0, 2:].abs().sum() == 0


def test_keyframes_fill_their_latent_frame():
    assert list(keyframe_group(0)) == [0]
    assert list(keyframe_group(6)) == [5, 6, 7, 8]
    assert list(keyframe_group(8)) == [5, 6, 7, 8]
    image = torch.rand(16, 32, 3)
    story = Storyboard().add(Card(0, PROMPTS[0])).add(Card(6, PROMPTS[1], image=image, label="b"))
    timeline = keyframe_timeline(story, 17, 16, 32)
    assert timeline.given.nonzero().flatten().tolist() == [5, 6, 7, 8]
    assert torch.equal(timeline.frames[6], image)


def test_a_keyframe_at_frame_zero_keeps_the_clips_latent_frames():
    """The cards' prompts are laid on the output's latent frames: no still history in front shifts them."""
    story = Storyboard().add(Card(0, PROMPTS[0], image=torch.rand(16, 32, 3), label="a"))
    edit = compile_timeline(keyframe_timeline(story, 17, 16, 32), lambda frames: torch.zeros(
        1, 16, 1 + (len(frames) - 1) // 4, 2, 4))
    assert edit.keep.tolist() == [1, 0, 0, 0, 0] and edit.slot_output.tolist() == list(range(17))


def test_keyframes_in_one_latent_frame_clash():
    image = torch.rand(16, 16, 3)
    story = Storyboard().add(Card(5, PROMPTS[0], image=image, label="a"))
    with pytest.raises(ValueError, match="'a'.*'b'.*one latent frame"):
        story.add(Card(7, PROMPTS[1], image=image, label="b"))


def test_a_keyframe_of_another_size_is_refused():
    story = Storyboard().add(Card(4, PROMPTS[0], image=torch.rand(16, 16, 3), label="a"))
    with pytest.raises(ValueError, match="16×16.*32×16"):
        keyframe_timeline(story, 17, 16, 32)
