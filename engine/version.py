"""The pack's version, read from pyproject.toml (the one place it is written), for provenance records."""
import pathlib
import re

PYPROJECT = pathlib.Path(__file__).resolve().parents[1] / "pyproject.toml"


def pack_version() -> str:
    match = re.search(r'^version\s*=\s*"([^"]+)"', PYPROJECT.read_text(), re.MULTILINE)
    return match.group(1) if match else "unknown"
