"""Reading from the input folder: names that leave it, links that lead out of it and missing files are refused."""
import os

import pytest

from spacetime.engine.video.input_files import input_path, input_problem, video_names


@pytest.fixture
def folders(tmp_path):
    inside, outside = tmp_path / "input", tmp_path / "elsewhere"
    (inside / "sub").mkdir(parents=True)
    outside.mkdir()
    (inside / "clip.mp4").write_bytes(b"x")
    (inside / "sub" / "deep.webm").write_bytes(b"x")
    (outside / "secret.mp4").write_bytes(b"x")
    os.symlink(outside / "secret.mp4", inside / "link.mp4")
    os.symlink(inside / "clip.mp4", inside / "alias.mp4")
    return inside, outside


@pytest.mark.parametrize("name, message", [
    ("../elsewhere/secret.mp4", "outside the input folder"),
    ("sub/../../elsewhere/secret.mp4", "outside the input folder"),
    ("/etc/hostname", "outside the input folder"),
    ("C:\\\\Windows\\\\x.mp4", "outside the input folder"),
    ("link.mp4", "links to"),
    ("missing.mp4", "was not found"),
    ("sub", "was not found"),
    ("", "no video chosen"),
])
def test_names_and_links_that_leave_the_folder_are_refused(folders, name, message):
    inside, _ = folders
    assert message in input_problem(str(inside), name, "video")
    with pytest.raises(ValueError, match=message):
        input_path(str(inside), name, "video")


def test_files_inside_are_read_even_through_a_link_that_stays_inside(folders):
    inside, _ = folders
    for name in ("clip.mp4", "sub/deep.webm", "alias.mp4"):
        assert input_path(str(inside), name) == os.path.join(str(inside), name)


def test_the_list_holds_the_readable_videos_directly_in_the_folder(folders):
    inside, _ = folders
    (inside / "notes.txt").write_text("x")
    (inside / ".hidden.mp4").write_bytes(b"x")
    assert video_names(str(inside)) == ["alias.mp4", "clip.mp4"]
