"""Every file the pack writes is written whole into a hidden part file beside it, then given its name.

A part is `.spacetime-<pid>-<random>.part`, so nobody ever sees half a file. A process killed while
writing cannot remove its part; the next save into that folder does, once the part's process is gone
(or the part is a day old). A new file is named by a hard link, which, unlike a rename, fails when the
name was taken meanwhile, so no save ever replaces someone's file; where the file system has no hard
links, an O_EXCL placeholder reserves the name (also atomic) and the part is renamed over it.
"""
import errno
import os
import re
import secrets
import time

STALE_AFTER_S = 24 * 3600
_PART = re.compile(r"\.spacetime-(?:(\d+)-)?\w+\.part")
_NO_HARD_LINKS = (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EXDEV)


def new_part(folder: str, mode: int = 0o666) -> str:
    """Create an empty part file in `folder` (`mode` less the umask; core's files get 0o666) and return it."""
    while True:
        path = os.path.join(folder, f".spacetime-{os.getpid()}-{secrets.token_hex(6)}.part")
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode))
            return path
        except FileExistsError:
            continue


def link_new(part: str, path: str) -> bool:
    """Give the finished `part` the name `path` unless that name is taken (then False, and `part` stays)."""
    try:
        os.link(part, path)
        os.unlink(part)
        return True
    except FileExistsError:
        return False
    except OSError as e:
        if e.errno not in _NO_HARD_LINKS:
            raise
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    try:
        os.replace(part, path)
    except OSError:
        os.unlink(path)  # our empty placeholder, not someone's file
        raise
    return True


def write_new(path: str, data: bytes, mode: int = 0o666) -> bool:
    """Write `data` as the new file `path`, all at once; False (nothing written) when `path` exists."""
    part = _written_part(path, data, mode)
    try:
        return link_new(part, path)
    finally:
        _remove(part)


def write_over(path: str, data: bytes) -> None:
    """Write `data` to `path` all at once, replacing the file there (for the pack's own caches)."""
    part = _written_part(path, data, 0o666)
    try:
        os.replace(part, path)
    finally:
        _remove(part)


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


def _written_part(path: str, data: bytes, mode: int) -> str:
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    part = new_part(folder, mode)
    try:
        with open(part, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
    except BaseException:
        _remove(part)
        raise
    return part


def _remove(part: str) -> None:
    if os.path.exists(part):
        os.unlink(part)


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
