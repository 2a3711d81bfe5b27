"""File handling: counter names, never overwriting, cleaning up after failures, and clear errors."""
import errno
import os

import pytest
import torch

from spacetime.engine.video import writer
from spacetime.engine.video.reader import VideoReadError, read_metadata, read_video
from spacetime.engine.video.writer import next_free_path, write_video

CLIP = torch.rand(3, 16, 16, 3)


def files(folder):
    return sorted(os.listdir(folder))


def test_counter_continues_after_the_highest_and_keeps_existing_files(tmp_path):
    for name in ["clip_00001.mp4", "clip_00003.mp4", "clip_00009.webm", "other_00007.mp4"]:
        (tmp_path / name).write_bytes(b"keep me")
    path = next_free_path(str(tmp_path), "clip", "mp4")
    assert os.path.basename(path) == "clip_00010.mp4"  # the counter is shared by every format: one stem a save
    assert write_video(CLIP, path, 8, "mp4") == path
    assert os.path.basename(next_free_path(str(tmp_path), "clip", "mp4")) == "clip_00011.mp4"
    (tmp_path / "clip_00011.c2pa").write_bytes(b"a stale sidecar")
    assert os.path.basename(next_free_path(str(tmp_path), "clip", "webm")) == "clip_00012.webm"
    for name in ["clip_00001.mp4", "clip_00003.mp4", "clip_00009.webm", "other_00007.mp4"]:
        assert (tmp_path / name).read_bytes() == b"keep me"
    assert next_free_path(str(tmp_path / "new"), "clip", "gif").endswith("clip_00001.gif")


def test_a_taken_name_moves_on_to_the_next_counter(tmp_path):
    # A name chosen by next_free_path may be taken by the time encoding ends (another save): the
    # claim must notice, not replace.
    (tmp_path / "v_00002.webp").write_bytes(b"saved meanwhile")
    (tmp_path / "plain.webp").write_bytes(b"mine")
    assert write_video(CLIP, str(tmp_path / "v_00002.webp"), 8, "webp") == str(tmp_path / "v_00003.webp")
    assert write_video(CLIP, str(tmp_path / "plain.webp"), 8, "webp") == str(tmp_path / "plain_00001.webp")
    assert (tmp_path / "v_00002.webp").read_bytes() == b"saved meanwhile"
    assert (tmp_path / "plain.webp").read_bytes() == b"mine"
    assert files(tmp_path) == ["plain.webp", "plain_00001.webp", "v_00002.webp", "v_00003.webp"]


def test_without_hard_links_a_placeholder_still_never_overwrites(tmp_path, monkeypatch):
    def no_links(src, dst):
        raise OSError(errno.EPERM, "hard links not supported here")

    monkeypatch.setattr(writer.os, "link", no_links)
    (tmp_path / "c_00001.gif").write_bytes(b"keep me")
    path = write_video(CLIP, str(tmp_path / "c_00001.gif"), 8, "gif")
    assert path == str(tmp_path / "c_00002.gif")
    assert (tmp_path / "c_00001.gif").read_bytes() == b"keep me"
    assert read_video(path)[0].shape == CLIP.shape
    assert files(tmp_path) == ["c_00001.gif", "c_00002.gif"]


@pytest.mark.parametrize("fmt", ["mp4", "webm", "webp", "gif"])
def test_failure_mid_stream_leaves_no_file(tmp_path, fmt):
    def chunks():
        yield CLIP
        raise RuntimeError("decoder ran out of memory")

    with pytest.raises(RuntimeError, match="out of memory"):
        write_video(chunks(), str(tmp_path / f"x.{fmt}"), 8, fmt)
    assert files(tmp_path) == []


def test_bad_frames_are_refused_before_or_during_encoding_and_leave_no_file(tmp_path):
    with pytest.raises(ValueError, match="even.*32x32"):
        write_video(torch.rand(2, 33, 32, 3), str(tmp_path / "odd.mp4"), 8, "mp4")
    with pytest.raises(ValueError, match="same size"):
        write_video(iter([CLIP, torch.rand(1, 8, 8, 3)]), str(tmp_path / "mixed.webm"), 8, "webm")
    with pytest.raises(ValueError, match=r"\[N, H, W, 3\]"):
        write_video(torch.rand(2, 16, 16, 4), str(tmp_path / "rgba.gif"), 8, "gif")
    with pytest.raises(ValueError, match="empty"):
        write_video(iter([]), str(tmp_path / "none.mp4"), 8, "mp4")
    assert files(tmp_path) == []


def test_bad_arguments_say_what_to_change(tmp_path):
    with pytest.raises(ValueError, match="mp4, webm, webp, gif"):
        write_video(CLIP, str(tmp_path / "x.avi"), 8, "avi")
    with pytest.raises(ValueError, match=r"\.webm"):
        write_video(CLIP, str(tmp_path / "x.mp4"), 8, "webm")
    with pytest.raises(ValueError, match="quality"):
        write_video(CLIP, str(tmp_path / "x.mp4"), 8, "mp4", quality=101)
    with pytest.raises(ValueError, match="lower-case"):
        write_video(CLIP, str(tmp_path / "x.mp4"), 8, "mp4", metadata={"Work Flow": "{}"})
    with pytest.raises(ValueError, match="json.dumps"):
        write_video(CLIP, str(tmp_path / "x.mp4"), 8, "mp4", metadata={"seed": 42})
    with pytest.raises(ValueError, match="separator"):
        next_free_path(str(tmp_path), "sub/clip", "mp4")
    assert files(tmp_path) == []


def test_missing_file(tmp_path):
    for read in (read_video, read_metadata):
        with pytest.raises(FileNotFoundError, match="no video at"):
            read(str(tmp_path / "gone.mp4"))


@pytest.mark.parametrize("fmt", ["mp4", "webm", "webp", "gif"])
def test_corrupt_files_get_a_readable_error(tmp_path, fmt):
    good = write_video(CLIP, str(tmp_path / f"good.{fmt}"), 8, fmt)
    data = open(good, "rb").read()
    damaged = {
        "garbage": bytes(range(256)) * 8,
        "text": b"this is not a video\n",
        "header only": data[:40],
    }
    for name, content in damaged.items():
        path = tmp_path / f"{name}.{fmt}"
        path.write_bytes(content)
        with pytest.raises(VideoReadError, match="(could not decode|no video stream).*supported formats") as info:
            read_video(str(path))
        assert "Errno" not in str(info.value)


def test_a_folder_is_not_a_video(tmp_path):
    with pytest.raises(VideoReadError, match="folder"):
        read_video(str(tmp_path))
