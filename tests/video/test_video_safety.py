"""Saving never loses or fakes work: NaN frames are refused, one-frame and still clips save as webp,
files get core's mode, bad names are refused before encoding, a killed save's part file is cleaned
up, and a link inside the output folder never carries a save outside it."""
import math
import os
import subprocess
import sys
import time

import pytest
import torch

from spacetime.engine.finite import NotFiniteError
from spacetime.engine.part_files import STALE_AFTER_S, remove_stale_parts
from spacetime.engine.video.output_files import check_inside, folder_problem, name_problem, prefix_problem
from spacetime.engine.video.reader import read_metadata, read_video
from spacetime.engine.video.writer import write_video

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def clip(frames=3, value=None):
    return torch.rand(frames, 16, 16, 3) if value is None else torch.full((frames, 16, 16, 3), value)


def test_nan_frames_are_refused_and_leave_no_file(tmp_path):
    frames = clip()
    frames[1, 2, 3, 0] = math.nan
    with pytest.raises(NotFiniteError, match="the frame batch to save holds 1 NaN"):
        write_video(frames, str(tmp_path / "v.mp4"), 16, "mp4")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("frames, value", [(1, None), (5, 0.5), (2, 0.25)])
def test_webp_of_one_frame_or_identical_frames_keeps_frames_fps_and_metadata(tmp_path, frames, value):
    path = write_video(clip(frames, value), str(tmp_path / "v.webp"), 16, "webp", metadata={"workflow": "{}"})
    images, fps = read_video(path)
    assert len(images) == frames and read_metadata(path)["workflow"] == "{}"
    if frames > 1:
        assert fps == 16


@pytest.mark.parametrize("fmt", ["mp4", "webm", "gif"])
def test_other_formats_take_one_frame(tmp_path, fmt):
    assert len(read_video(write_video(clip(1), str(tmp_path / f"v.{fmt}"), 16, fmt))[0]) == 1


def test_saved_files_follow_the_umask_like_cores(tmp_path):
    old = os.umask(0o022)
    try:
        path = write_video(clip(), str(tmp_path / "v.gif"), 16, "gif")
    finally:
        os.umask(old)
    assert os.stat(path).st_mode & 0o777 == 0o644


@pytest.mark.parametrize("prefix, problem", [
    ("", "is empty"), ("   ", "is empty"), ("video\nname", "line break"), ("a\x00b", "control character"),
    ("x" * 300, "300 bytes long; at most 244"), ("ok/" + "é" * 130, "260 bytes long"),
    ("../outside", "leaves the output folder"), ("/etc/cron.d/x", "leaves the output folder"),
    ("a/../../b", "leaves the output folder"), ("C:evil", "leaves the output folder"),
    ("spacetime/", "ends in a folder separator"),
])
def test_bad_prefixes_are_refused_with_the_reason(prefix, problem):
    assert problem in prefix_problem(prefix)


@pytest.mark.parametrize("prefix", ["spacetime/video", "a/b/c", "clip", "ünïcode/名前", "x" * 244])
def test_good_prefixes_pass(prefix):
    assert prefix_problem(prefix) is None


def test_a_name_too_long_is_refused_before_encoding(tmp_path):
    consumed = []

    def frames():
        consumed.append(True)
        yield clip()

    with pytest.raises(ValueError, match="bytes long"):
        write_video(frames(), str(tmp_path / ("x" * 300 + ".mp4")), 16, "mp4")
    assert not consumed and os.listdir(tmp_path) == []
    assert "line break" in name_problem("a\nb.mp4")


def test_an_interrupt_mid_encode_leaves_no_partial_file(tmp_path):
    def frames():
        yield clip()
        raise KeyboardInterrupt  # what ComfyUI's interrupt and Ctrl-C look like to the writer

    with pytest.raises(KeyboardInterrupt):
        write_video(frames(), str(tmp_path / "v.mp4"), 16, "mp4")
    assert os.listdir(tmp_path) == []


def test_a_killed_saves_part_file_is_removed_by_the_next_save(tmp_path):
    """A real process killed mid-encode (as a server is) leaves its part; the next save removes it."""
    script = (f"import sys, time; sys.path[:0] = [{REPO + '/scripts'!r}, {REPO + '/tests'!r}]\n"
              "from pack_import import import_pack; import_pack('spacetime')\n"
              "import torch; from spacetime.engine.video.writer import write_video\n"
              "def frames():\n    yield torch.rand(2, 16, 16, 3)\n    time.sleep(120)\n"
              f"write_video(frames(), {str(tmp_path / 'v.mp4')!r}, 16, 'mp4')\n")
    child = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.time() + 60
        while not [n for n in os.listdir(tmp_path) if n.endswith(".part")] and time.time() < deadline:
            time.sleep(0.1)
    finally:
        child.kill()
        child.wait()
    (part,) = os.listdir(tmp_path)
    assert part.startswith(f".spacetime-{child.pid}-")
    saved = write_video(clip(), str(tmp_path / "v.mp4"), 16, "mp4")
    assert os.listdir(tmp_path) == [os.path.basename(saved)]


def test_only_stale_parts_are_removed(tmp_path):
    ours = tmp_path / f".spacetime-{os.getpid()}-0123456789ab.part"  # a save of this process, in flight
    old = tmp_path / ".spacetime-k2j4h5g6.part"  # the name scheme before the pid, a day old
    fresh_old_scheme = tmp_path / ".spacetime-a1b2c3d4.part"
    unrelated = tmp_path / ".spacetime-notes.txt"
    for path in (ours, old, fresh_old_scheme, unrelated):
        path.write_bytes(b"")
    os.utime(old, (time.time() - STALE_AFTER_S - 60,) * 2)
    remove_stale_parts(str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == sorted([ours.name, fresh_old_scheme.name, unrelated.name])


def test_a_link_inside_the_output_folder_cannot_carry_a_save_outside(tmp_path):
    output, outside = tmp_path / "output", tmp_path / "outside"
    output.mkdir()
    outside.mkdir()
    (output / "link").symlink_to(outside, target_is_directory=True)
    (output / "real").mkdir()
    check_inside(str(output), str(output / "real" / "new"))
    for escape in (output / "link", output / "link" / "deeper", output / ".." / "outside"):
        with pytest.raises(ValueError, match="outside the output folder"):
            check_inside(str(output), str(escape))


def test_a_file_where_the_prefix_needs_a_folder_is_named(tmp_path):
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "isfile").write_bytes(b"keep me")
    assert "needs the folder clips/isfile, but a file has that name" in folder_problem(str(tmp_path), "clips/isfile/x")
    assert folder_problem(str(tmp_path), "clips/new/x") is None and folder_problem(str(tmp_path), "x") is None


def test_a_gif_faster_than_its_delays_can_say_is_refused_before_writing(tmp_path):
    with pytest.raises(ValueError, match="gif plays at most 50 fps .* save at 50 fps or less, or as mp4"):
        write_video(torch.rand(3, 8, 8, 3), str(tmp_path / "fast.gif"), 60, "gif")
    assert os.listdir(tmp_path) == []
    write_video(torch.rand(3, 8, 8, 3), str(tmp_path / "fast.mp4"), 240, "mp4")
