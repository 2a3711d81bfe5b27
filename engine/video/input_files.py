"""Files a node reads from a folder it was given (ComfyUI's input folder): never from outside it
(engine/contained_paths.py says what outside means)."""
import os

from ..contained_paths import climbs_out, real_outside

VIDEO_EXTENSIONS = (".mp4", ".webm", ".mkv", ".mov", ".avi", ".m4v", ".gif", ".webp")


def input_problem(folder: str, name: str, what: str = "file") -> str | None:
    """Why `name` cannot be read from `folder`, or None when it is a file inside it."""
    if not isinstance(name, str) or not name.strip():
        return f"no {what} chosen: pick one from the list or upload one"
    if climbs_out(name) or "\0" in name:
        return f"{what} '{name}' is outside the input folder: give a name inside it, without '..' or a leading '/'"
    path = os.path.join(folder, name)
    real = real_outside(folder, path)
    if real:
        return f"{what} '{name}' links to {real}, outside the input folder: only files in the input folder are read"
    if not os.path.isfile(path):
        return f"{what} '{name}' was not found in the input folder ({folder})"
    return None


def input_path(folder: str, name: str, what: str = "file") -> str:
    problem = input_problem(folder, name, what)
    if problem:
        raise ValueError(problem)
    return os.path.join(folder, name)


def video_names(folder: str) -> list[str]:
    """The video files directly in `folder` that may be read, sorted, for a file list (hidden files and
    links leading out of the folder left out)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return sorted(n for n in names if not n.startswith(".") and n.lower().endswith(VIDEO_EXTENSIONS)
                  and input_problem(folder, n) is None)
