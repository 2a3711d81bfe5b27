"""Which state a file is in: SHA-256 of model files for provenance, computed once per file, and a cheap
stamp that changes when a file is replaced.

A Wan 14B file is tens of GB: hashing it on every save would cost a minute each time. The digest is
kept by real path and reused while the file's state (file_state: inode, size, modification time) stays the
same; with a cache file it also survives restarts (a JSON map, rewritten atomically).
"""
import hashlib
import json
import os

from .part_files import write_over

_CHUNK = 8 << 20


def file_state(path) -> tuple | None:
    """(real path, inode, size, mtime in ns) of a file, or None when it is missing: what changes when the file
    is replaced or rewritten, even by a copy that keeps its modification time (a new inode) or within one
    second. For ComfyUI's fingerprints and the model cache, which must not serve a file's old contents."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return os.path.realpath(path), stat.st_ino, stat.st_size, stat.st_mtime_ns


class HashCache:
    def __init__(self, cache_file: str | None = None):
        self.cache_file = cache_file
        self._known: dict[str, list] = self._load()

    def sha256(self, path: str) -> str:
        state = file_state(path)
        if state is None:
            raise FileNotFoundError(f"no file at {path}")
        real, stamp = state[0], list(state[1:])
        known = self._known.get(real)
        if known and known[:-1] == stamp:
            return known[-1]
        digest = hashlib.sha256()
        with open(real, "rb") as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
        self._known[real] = [*stamp, digest.hexdigest()]
        self._store()
        return digest.hexdigest()

    def _load(self) -> dict:
        try:
            with open(self.cache_file, encoding="utf-8") as f:
                known = json.load(f)
        except (TypeError, OSError, ValueError):  # no cache file yet, or a damaged one: start afresh
            return {}
        ok = isinstance(known, dict) and all(
            isinstance(v, list) and len(v) == 4 and isinstance(v[3], str) for v in known.values())
        return known if ok else {}

    def _store(self) -> None:
        if not self.cache_file:
            return
        write_over(self.cache_file, json.dumps(self._known).encode())
