"""Metadata keys and the provenance record stored in saved videos.

Keys are restricted to lower-case letters, digits and '_' because that is what survives every
container unchanged: Matroska/WebM upper-cases tag names (the reader lower-cases them back), and the
WebP/GIF text entries are stored as "key:value", so a ':' in a key could not be split off again.
"""
import datetime
import re

PROVENANCE_KEY = "spacetime"
GENERATOR = "Spacetime"

_KEY = re.compile(r"[a-z0-9_]+")


def check_metadata(metadata: dict[str, str] | None) -> dict[str, str]:
    """Return metadata as a plain dict, or raise ValueError naming the bad key or value."""
    checked = {}
    for key, value in (metadata or {}).items():
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise ValueError(
                f"metadata key {key!r} is not allowed: use lower-case letters, digits and '_' "
                f"(e.g. 'workflow', 'prompt', 'spacetime')"
            )
        if not isinstance(value, str):
            raise ValueError(
                f"metadata value for {key!r} is a {type(value).__name__}, not a string: "
                f"serialise it first (e.g. json.dumps)"
            )
        checked[key] = value
    return checked


def provenance(version: str, models: list[str], seed: int | None, when: datetime.datetime | None = None,
               **details) -> dict:
    """Who made the video, from what, and when: the record stored as JSON under PROVENANCE_KEY and
    signed into the C2PA manifest. `details` adds what the caller knows (prompts, sampler settings,
    model file hashes, source files). `when` defaults to now, in UTC ISO 8601, so records sort as text."""
    when = when or datetime.datetime.now(datetime.timezone.utc)
    return {
        "generator": GENERATOR,
        "version": version,
        "models": list(models),
        "seed": seed,
        "time": when.astimezone(datetime.timezone.utc).isoformat(timespec="seconds"),
        **details,
    }

