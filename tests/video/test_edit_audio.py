"""Sound through the edits: each output frame carries its input frame's sound, new frames are silent."""
import pytest
import torch

from spacetime.engine.editing import blend_transition, extend, loop
from spacetime.engine.video.audio import crossfaded, frames_audio

FPS, RATE = 10, 1000  # 100 samples a frame


def per_frame_levels(count: int) -> dict:
    """A sound whose frame i is the constant level i + 1 (÷ 100): easy to trace through an edit."""
    levels = (torch.arange(count, dtype=torch.float32) + 1).repeat_interleave(RATE // FPS) / 100
    return {"waveform": levels.view(1, 1, -1), "sample_rate": RATE}


def levels_of(audio: dict) -> list[float]:
    frames = audio["waveform"][0, 0].view(-1, RATE // FPS)
    assert (frames == frames[:, :1]).all()  # each frame's sound is whole, not split across frames
    return [round(float(v) * 100) for v in frames[:, 0]]


CLIP = torch.zeros(9, 16, 16, 3)


def test_extended_clip_keeps_the_kept_frames_sound_and_new_frames_are_silent():
    timeline = extend(CLIP, 2, 6, "both", 4, 5)
    assert levels_of(frames_audio([(per_frame_levels(9), 9)], timeline.sources, FPS)) == [0, 0, 3, 4, 5, 6, 7, 0, 0]


def test_a_loop_keeps_its_clip_sound_then_silence_under_the_bridge():
    timeline = loop(CLIP, 3, 1, 5)
    assert levels_of(frames_audio([(per_frame_levels(9), 9)], timeline.sources, FPS)) == [2, 3, 4, 5, 6, 7, 8,
                                                                                          0, 0, 0, 0, 0]


def test_a_transition_carries_both_clips_sound_and_a_clip_without_sound_is_silent():
    timeline = blend_transition(CLIP[:3], CLIP[:2], 2, 5)
    assert levels_of(frames_audio([(per_frame_levels(3), 3), (per_frame_levels(2), 2)], timeline.sources, FPS)) == [
        1, 2, 3, 0, 0, 1, 2]
    assert levels_of(frames_audio([(None, 3), (per_frame_levels(2), 2)], timeline.sources, FPS)) == [0, 0, 0, 0, 0, 1, 2]
    assert frames_audio([(None, 3), (None, 2)], timeline.sources, FPS) is None


def test_a_short_sound_is_padded_with_silence():
    timeline = extend(CLIP, 0, -1, "forward", 1, 5)
    assert levels_of(frames_audio([(per_frame_levels(4), 9)], timeline.sources, FPS)) == [1, 2, 3, 4, 0, 0, 0, 0, 0, 0]


def test_mix_crossfades_the_sounds_by_the_curve():
    a = {"waveform": torch.ones(1, 1, 400) / 100, "sample_rate": RATE}
    b = {"waveform": torch.zeros(1, 1, 400), "sample_rate": RATE}
    mixed = crossfaded(a, b, torch.tensor([0.0, 0.0, 1.0, 1.0]), FPS)["waveform"][0, 0]
    assert mixed[:100].mean() == pytest.approx(0.01) and mixed[-100:].abs().max() == 0
    assert 0 < mixed[150] < 0.01  # the curve's ramp between frames 1 and 2


def test_sounds_at_two_rates_are_refused_with_the_fix():
    other = {"waveform": torch.zeros(1, 1, 800), "sample_rate": 2000}
    with pytest.raises(ValueError, match="different sample rates .*1000, 2000.*resample"):
        frames_audio([(per_frame_levels(3), 3), (other, 2)], torch.arange(5), FPS)
