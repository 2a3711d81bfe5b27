"""The one way the pack writes a file: whole, never over someone's file, and (for keys) private."""
import errno
import os
import stat

import pytest

from spacetime.engine import part_files
from spacetime.engine.part_files import write_new, write_over


def leftovers(folder):
    return [name for name in os.listdir(folder) if name.endswith(".part")]


def test_a_new_file_is_written_once_and_a_taken_name_is_left_alone(tmp_path):
    path = str(tmp_path / "sub" / "a.json")
    assert write_new(path, b"first")
    assert not write_new(path, b"second")
    assert open(path, "rb").read() == b"first"
    assert leftovers(tmp_path / "sub") == []


def test_a_private_file_gets_its_mode_whatever_the_umask_allows(tmp_path):
    path = str(tmp_path / "key.pem")
    assert write_new(path, b"secret", mode=0o600)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


@pytest.mark.parametrize("taken", [False, True])
def test_without_hard_links_a_new_file_still_never_replaces_one(tmp_path, monkeypatch, taken):
    def no_links(src, dst):
        raise OSError(errno.EPERM, "hard links not supported here")

    monkeypatch.setattr(part_files.os, "link", no_links)
    path = tmp_path / "style.json"
    if taken:
        path.write_bytes(b"keep me")
    assert write_new(str(path), b"new") is not taken
    assert path.read_bytes() == (b"keep me" if taken else b"new")
    assert leftovers(tmp_path) == []


def test_a_cache_is_replaced_whole(tmp_path):
    path = str(tmp_path / "cache.json")
    write_over(path, b"one")
    write_over(path, b"two")
    assert open(path, "rb").read() == b"two" and leftovers(tmp_path) == []
