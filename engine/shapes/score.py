"""Scoring an analysed clip against the spec it was asked for: one hit or miss per attribute."""
from .analyse import ClipAnalysis, ObjectTrack
from .world import ClipSpec, ObjectSpec

ATTRIBUTES = ("background", "colour", "shape", "motion")


def attribute_hits(spec: ClipSpec, analysis: ClipAnalysis) -> dict[str, bool]:
    """Per attribute: did the clip show what the spec asked, for every object?

    Each asked object is compared with the seen object of its colour, else with the most-seen object
    left over, so a wrong colour costs the colour and not also the shape and motion.
    """
    pairs = list(zip(spec.objects, _match(spec.objects, analysis.objects)))
    hits = {"background": analysis.background == spec.background}
    for attribute in ATTRIBUTES[1:]:
        hits[attribute] = all(seen is not None and getattr(seen, attribute) == getattr(asked, attribute)
                              for asked, seen in pairs)
    return hits


def accuracy(hits: list[dict[str, bool]]) -> dict[str, float]:
    """Fraction of clips with each attribute right."""
    return {a: sum(h[a] for h in hits) / len(hits) for a in ATTRIBUTES} if hits else {}


def _match(asked: tuple[ObjectSpec, ...], seen: tuple[ObjectTrack, ...]) -> list[ObjectTrack | None]:
    left = list(seen)
    matched = [next((t for t in left if t.colour == obj.colour), None) for obj in asked]
    for track in matched:
        if track is not None:
            left.remove(track)
    return [track if track is not None else (left.pop(0) if left else None) for track in matched]
