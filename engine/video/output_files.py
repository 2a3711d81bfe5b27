"""Where a saved video may go and what it may be called (the part file it is written into first is
engine/part_files.py's). Names are checked before encoding, so a name the file system refuses never costs
a whole encode.
"""
import os
import re

from ..contained_paths import climbs_out, real_outside

NAME_MAX = 255  # bytes in one file name on the common file systems (ext4, NTFS, APFS)
COUNTER_AND_EXT = len("_00000.webm")  # what next_free_path appends to a prefix


def name_problem(name: str, what: str = "the file name", room: int = NAME_MAX) -> str | None:
    """Why `name` (one path component) cannot be a file name of at most `room` bytes, or None."""
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return f"{what} {name!r} holds a line break or another control character: use plain text"
    if len(name.encode()) > room:
        return f"{what} '{name[:24]}…' is {len(name.encode())} bytes long; at most {room} fit in a file name here"
    return None


def prefix_problem(prefix: str) -> str | None:
    """Why a save node's filename_prefix ("folder/name") cannot be used, or None."""
    if not prefix.strip():
        return "filename_prefix is empty: give a name such as spacetime/video"
    if climbs_out(prefix):
        return f"filename_prefix '{prefix}' leaves the output folder: use a relative name without '..'"
    parts = re.split(r"[\\/]", prefix)
    if not parts[-1]:
        return f"filename_prefix '{prefix}' ends in a folder separator: add a file name (e.g. {prefix}video)"
    for i, part in enumerate(parts):
        room = NAME_MAX - COUNTER_AND_EXT * (i == len(parts) - 1)  # the last part gets the counter and extension
        problem = name_problem(part, "filename_prefix part", room)
        if problem:
            return problem
    return None


def folder_problem(root: str, prefix: str) -> str | None:
    """Why the folders of `prefix` cannot be made under `root` (one of them is a file), or None."""
    folder = root
    for part in re.split(r"[\\/]", prefix)[:-1]:
        folder = os.path.join(folder, part)
        if os.path.exists(folder) and not os.path.isdir(folder):
            return (f"filename_prefix '{prefix}' needs the folder {os.path.relpath(folder, root)}, but a file has "
                    "that name in the output folder: choose another filename_prefix")
    return None


def check_inside(root: str, path: str) -> None:
    """Refuse `path` unless its real location (links followed) is inside `root`'s."""
    real = real_outside(root, path)
    if real:
        raise ValueError(f"{path} is really {real}, outside the output folder {os.path.realpath(root)} (a link inside the "
                         "output folder points elsewhere): saves stay inside the output folder; choose another "
                         "filename_prefix or remove the link")
