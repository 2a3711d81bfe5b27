"""Loading a video: frame range, every n-th frame, target fps, caps, sound, and refusing what will not fit
before decoding."""
import math

import numpy as np
import pytest
import torch

from spacetime.engine.video import reader
from spacetime.engine.video.reader import Selection, VideoTooLarge, load_video, probe_video
from spacetime.engine.video.writer import write_video

FRAMES, FPS = 24, 12


def numbered_clip(count=FRAMES, height=32, width=48):
    """Frame i is a flat grey of level 10*i, so a decoded frame's mean says which frame it is."""
    levels = torch.arange(count, dtype=torch.float32).mul(10).div(255)
    return levels.view(count, 1, 1, 1).expand(count, height, width, 3).contiguous()


def indices(frames: torch.Tensor) -> list[int]:
    return [round(float(frame.mean()) * 255 / 10) for frame in frames]


def tone(seconds: float, rate: int = 44100, channels: int = 2) -> dict:
    t = torch.arange(round(seconds * rate)) / rate
    waves = torch.stack([torch.sin(2 * math.pi * 220 * (c + 1) * t) for c in range(channels)]) * 0.5
    return {"waveform": waves.unsqueeze(0), "sample_rate": rate}


@pytest.fixture(scope="module")
def clip_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("load")
    return write_video(numbered_clip(), str(folder / "clip.mp4"), FPS, "mp4", quality=100,
                       audio=tone(FRAMES / FPS))


def test_probe_reads_the_header_only(clip_file):
    info = probe_video(clip_file)
    assert (info.width, info.height, info.frames, info.fps, info.has_audio) == (48, 32, FRAMES, FPS, True)


@pytest.mark.parametrize("selection, expected, fps", [
    (Selection(), list(range(FRAMES)), FPS),
    (Selection(start=3, count=5), [3, 4, 5, 6, 7], FPS),
    (Selection(start=2, every_nth=3), list(range(2, FRAMES, 3)), FPS / 3),
    (Selection(max_frames=4), [0, 1, 2, 3], FPS),
    (Selection(target_fps=6), list(range(0, FRAMES, 2)), 6),
    (Selection(target_fps=24, count=3), [0, 0, 1, 1, 2, 2], 24),
    (Selection(start=4, every_nth=2, target_fps=3, max_frames=3), [4, 8, 12], 3),
])
def test_selection_picks_the_frames_asked_for(clip_file, selection, expected, fps):
    loaded = load_video(clip_file, selection)
    assert indices(loaded.frames) == expected
    assert loaded.fps == pytest.approx(fps)
    assert selection.planned(probe_video(clip_file)) == len(expected)


def test_size_cap_scales_down_keeping_the_aspect(clip_file):
    loaded = load_video(clip_file, Selection(max_side=24, max_frames=2))
    assert loaded.frames.shape == (2, 16, 24, 3)
    assert indices(loaded.frames) == [0, 1]


def test_sound_comes_with_the_span_of_the_frames(clip_file):
    full = load_video(clip_file).audio
    assert full["sample_rate"] == 44100 and full["waveform"].shape[:2] == (1, 2)
    assert full["waveform"].shape[2] == pytest.approx(44100 * FRAMES / FPS, abs=2048)
    part = load_video(clip_file, Selection(start=6, count=6)).audio  # 0.5 s to 1 s
    assert part["waveform"].shape[2] == pytest.approx(44100 * 0.5, abs=64)
    expected = tone(FRAMES / FPS)["waveform"][0, :, 22050 + 2048:22050 + 4096]
    assert torch.allclose(part["waveform"][0, :, 2048:4096], expected, atol=0.05)  # AAC keeps the tone


def test_no_sound_is_none(tmp_path):
    path = write_video(numbered_clip(4), str(tmp_path / "quiet.webm"), FPS, "webm")
    assert load_video(path).audio is None


def test_too_large_is_refused_before_decoding_with_what_fits(clip_file, monkeypatch):
    def no_decoding(*args):
        raise AssertionError("decoded although it could not fit")

    monkeypatch.setattr(reader, "_source", no_decoding)
    frame = 48 * 32 * reader.BYTES_PER_PIXEL
    with pytest.raises(VideoTooLarge) as refused:
        load_video(clip_file, memory_limit=10 * frame)
    message = str(refused.value)
    assert "24 frames of 48x32" in message and "max_frames 10" in message and "every_nth 3" in message
    side = int(message.split("max_side ")[1].split(" ")[0])
    assert Selection(max_side=side).size(48, 32)[0] * Selection(max_side=side).size(48, 32)[1] * 24 <= 10 * 48 * 32
    with pytest.raises(VideoTooLarge, match="one frame alone"):
        load_video(clip_file, memory_limit=frame // 2)


def test_a_file_that_understates_its_length_is_stopped_at_the_limit(clip_file, monkeypatch):
    real = probe_video(clip_file)
    monkeypatch.setattr(reader, "probe_video", lambda path: reader.VideoInfo(
        real.width, real.height, 2, real.fps, real.has_audio))
    with pytest.raises(VideoTooLarge, match="declares 2 frames but has more: reading stopped after 5 frames"):
        load_video(clip_file, memory_limit=5 * 48 * 32 * reader.BYTES_PER_PIXEL)


@pytest.mark.parametrize("selection, message", [
    (Selection(every_nth=0), "every_nth >= 1"),
    (Selection(start=-1), "start, count"),
    (Selection(target_fps=-2), "target_fps"),
])
def test_bad_selections_are_explained(clip_file, selection, message):
    with pytest.raises(ValueError, match=message):
        load_video(clip_file, selection)


def test_webp_and_gif_probe_and_load(tmp_path):
    for fmt in ("webp", "gif"):
        path = write_video(numbered_clip(6), str(tmp_path / f"c.{fmt}"), 10, fmt, quality=100)
        info = probe_video(path)
        assert (info.width, info.height, info.has_audio) == (48, 32, False)
        assert info.frames in (6, None) or fmt == "gif"
        assert indices(load_video(path, Selection(start=1, every_nth=2)).frames) == [1, 3, 5]


def test_audio_is_muxed_only_where_the_format_has_a_track(tmp_path):
    with pytest.raises(ValueError, match="gif has no audio track: save as mp4 or webm"):
        write_video(numbered_clip(4), str(tmp_path / "a.gif"), FPS, "gif", audio=tone(0.3))
    path = write_video(numbered_clip(4), str(tmp_path / "a.webm"), FPS, "webm", audio=tone(2.0, rate=44100, channels=1))
    sound = load_video(path).audio
    assert sound["sample_rate"] == 48000 and sound["waveform"].shape[1] == 1  # Opus: resampled to 48 kHz
    assert sound["waveform"].shape[2] == pytest.approx(48000 * 4 / FPS, abs=1200)  # cut to the video
    assert np.abs(sound["waveform"].numpy()).max() > 0.3


@pytest.mark.parametrize("fmt", ["mp4", "webm"])
def test_sound_at_a_rate_the_codec_lacks_is_resampled_and_no_samples_is_no_sound(tmp_path, fmt):
    path = write_video(numbered_clip(4), str(tmp_path / f"odd.{fmt}"), FPS, fmt, audio=tone(1.0, rate=1000))
    assert load_video(path).audio["sample_rate"] == 48000
    path = write_video(numbered_clip(4), str(tmp_path / f"empty.{fmt}"), FPS, fmt, audio=tone(0.0))
    assert load_video(path).audio is None and len(load_video(path).frames) == 4


@pytest.mark.parametrize("fmt, keep", [("mp4", 0.9), ("webp", 0.5)])
def test_a_file_cut_short_is_refused_as_incomplete(tmp_path, fmt, keep):
    path = write_video(numbered_clip(17), str(tmp_path / f"whole.{fmt}"), FPS, fmt)
    data = open(path, "rb").read()
    cut = tmp_path / f"cut.{fmt}"
    cut.write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(ValueError, match="incomplete"):
        load_video(str(cut))
    assert len(load_video(path).frames) == 17
