"""Where a saved video may go, what it may be called, and the hidden file it is encoded into first.

A save is encoded into a hidden `.spacetime-<pid>-<random>.part` in its folder and only then given its
name (writer._claim), so nobody ever sees half a file. A process killed mid-encode cannot remove its
part; the next save into that folder does, once the part's process is gone (or the part is a day old).
Names are checked before encoding, so a name the file system refuses never costs a whole encode.
"""
import os
import re
import secrets
import time

from ..contained_paths import climbs_out, real_outside

NAME_MAX = 255  # bytes in one file name on the common file systems (ext4, NTFS, APFS)
COUNTER_AND_EXT = len("_00000.webm")  # what next_free_path appends to a prefix
STALE_AFTER_S = 24 * 3600
_PART = re.compile(r"\.spacetime-(?:(\d+)-)?\w+\.part")


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


def check_inside(root: str, path: str) -> None:
    """Refuse `path` unless its real location (links followed) is inside `root`'s."""
    real = real_outside(root, path)
    if real:
        raise ValueError(f"{path} is really {real}, outside the output folder {os.path.realpath(root)} (a link inside the "
                         "output folder points elsewhere): saves stay inside the output folder; choose another "
                         "filename_prefix or remove the link")


def new_part(folder: str) -> str:
    """Create an empty hidden part file in `folder` (mode from the umask, as core's files) and return it."""
    while True:
        path = os.path.join(folder, f".spacetime-{os.getpid()}-{secrets.token_hex(6)}.part")
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
            return path
        except FileExistsError:
            continue


def remove_stale_parts(folder: str) -> None:
    """Remove part files left by killed saves: their process is gone, or they are a day old."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        match = _PART.fullmatch(name)
        path = os.path.join(folder, name)
        try:
            if match and (_process_gone(match.group(1)) or time.time() - os.path.getmtime(path) > STALE_AFTER_S):
                os.unlink(path)
        except OSError:
            pass  # removed meanwhile, or not ours to remove: harmless either way


def _process_gone(pid: str | None) -> bool:
    if pid is None or os.name != "posix":  # on Windows os.kill would end the process: go by age only
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):
        return False
    return False
