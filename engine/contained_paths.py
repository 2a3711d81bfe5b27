"""Names and paths that must stay inside a folder (ComfyUI's input and output folders, a styles folder).

Two checks, used by every reader and writer of the pack: a relative name that climbs out of its folder,
and a real location (links followed) outside the folder's real location, so that a link dropped into a
folder cannot expose or overwrite the rest of the disk for whoever can post a prompt.
"""
import os
import re


def climbs_out(name: str) -> bool:
    """Whether the relative `name` is absolute, starts at a root or a drive, or holds a '..' part."""
    parts = re.split(r"[\\/]", name)
    return (os.path.isabs(name) or name[:1] in "/\\" or re.match(r"[A-Za-z]:", name) is not None or ".." in parts)


def real_outside(folder: str, path: str) -> str | None:
    """`path`'s real location when it lies outside `folder`'s real location, else None."""
    real_folder, real = os.path.realpath(folder), os.path.realpath(path)
    return real if os.path.commonpath([real_folder, real]) != real_folder else None
