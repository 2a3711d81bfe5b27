"""Make the CPU test host's torchvision/torchaudio importable (see shared reference comfy-host.md).

PyPI's torchvision 0.28.0 is a CUDA build whose compiled ops cannot load next to a CPU torch; its
fake-kernel registrations then fail at import. Core ComfyUI imports torchvision at start-up, so we
register those fakes only when the ops exist. torchaudio's bundled CUDA libraries are removed so it
falls back to pure Python. Runs inside the host's venv; safe to run twice.
"""
import pathlib
import site

MARK = "# spacetime: fakes only when the compiled ops loaded\n"
GUARD = (
    MARK
    + "def _spacetime_register_fake(name):\n"
    + "    from torchvision.extension import _has_ops\n"
    + "    if _has_ops():\n"
    + "        return torch.library.register_fake(name)\n"
    + "    return lambda fn: fn\n"
)


def site_dir() -> pathlib.Path:
    for entry in site.getsitepackages():
        if (pathlib.Path(entry) / "torchvision").is_dir():
            return pathlib.Path(entry)
    raise SystemExit("torchvision is not installed in this environment")


def patch_torchvision(root: pathlib.Path) -> None:
    path = root / "torchvision" / "_meta_registrations.py"
    text = path.read_text()
    if MARK in text:
        return
    text = text.replace("@torch.library.register_fake(", "@_spacetime_register_fake(")
    head, sep, rest = text.partition("\n\n\n")
    path.write_text(head + sep + GUARD + "\n\n" + rest)


def strip_torchaudio_libs(root: pathlib.Path) -> None:
    for lib in (root / "torchaudio" / "lib").glob("*.so"):
        lib.unlink()


if __name__ == "__main__":
    root = site_dir()
    patch_torchvision(root)
    strip_torchaudio_libs(root)
