"""Scoring an analysed clip against the spec it was asked for: one hit or miss per attribute."""
from .analyse import ClipAnalysis, ObjectTrack
from .world import ClipSpec, ObjectSpec

ATTRIBUTES = ("background", "colour", "shape", "motion")


def attribute_hits(spec: ClipSpec, analysis: ClipAnalysis) -> dict[str, bool]:
    """Per attribute: did the clip show what the spec asked, for every object?"""
    per_object = object_hits(spec, analysis)
    hits = {"background": analysis.background == spec.background}
    for attribute in ATTRIBUTES[1:]:
        hits[attribute] = all(obj[attribute] for obj in per_object)
    return hits


def object_hits(spec: ClipSpec, analysis: ClipAnalysis) -> list[dict[str, bool]]:
    """Per asked object: is its colour, shape and motion right?

    Each asked object is compared with its `match_objects` track, so a wrong colour costs the colour
    and not also the shape and motion.
    """
    return [{attribute: seen is not None and getattr(seen, attribute) == getattr(asked, attribute)
             for attribute in ATTRIBUTES[1:]}
            for asked, seen in zip(spec.objects, match_objects(spec.objects, analysis.objects))]


def accuracy(hits: list[dict[str, bool]]) -> dict[str, float]:
    """Fraction of clips with each attribute right."""
    return {a: sum(h[a] for h in hits) / len(hits) for a in ATTRIBUTES} if hits else {}


def match_objects(asked: tuple[ObjectSpec, ...], seen: tuple[ObjectTrack, ...]) -> list[ObjectTrack | None]:
    """The seen track for each asked object: the one of its colour, else the most-seen one left over."""
    left = list(seen)
    matched = [next((t for t in left if t.colour == obj.colour), None) for obj in asked]
    for track in matched:
        if track is not None:
            left.remove(track)
    return [track if track is not None else (left.pop(0) if left else None) for track in matched]
